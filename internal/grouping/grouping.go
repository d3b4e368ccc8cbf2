// Package grouping decides which issue an event belongs to: it reduces an
// event to a list of grouping components and hashes them. Events with the
// same hash are the same issue.
package grouping

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/getflytrap/flytrap/internal/event"
)

// Version names the grouping algorithm. It is stored with every issue so
// that a change to the algorithm (which changes hashes) can be told apart
// from a genuinely new issue; bump it whenever Group's output changes for
// any event.
const Version = "2026-12g"

// rules are the parts of the algorithm that changed from one Version to
// the next, kept so that Previous can compute the hashes an event had
// under earlier versions and its issue survives an upgrade.
type rules struct {
	version string
	// synthetic: a synthetic exception's type takes no part (2026-12).
	synthetic bool
	// minified: a symbolicated frame's function name that its map did not
	// replace takes no part (2026-12b).
	minified bool
	// variables: fingerprint variables other than "{{ default }}" are
	// resolved (2026-12c).
	variables bool
	// stable: names generated per deployment, process or run are made
	// stable (2026-12c).
	stable bool
	// native: a native frame with an address and nothing else takes part
	// by its image and offset (2026-12d); before, ingest dropped such
	// frames.
	native bool
	// byPackage: a native frame the SDK did not flag is in-app by its
	// package (2026-12d); before, the path rules judged it, which call a
	// frame without a file or module library code (see
	// event.Frame.PathInApp).
	byPackage bool
	// template: a log message sent with its template, params and
	// formatted text groups by the template (2026-12d); before, ingest
	// kept only the SDK's formatted text (see
	// event.Event.MessageFormattedBySDK).
	template bool
	// jsFunctions: a JavaScript frame's function takes part by the last
	// part of its dotted name, and not at all when that is a placeholder
	// for an anonymous function (2026-12e, see jsFunction); before, "?"
	// was a name, so every anonymous function of a file was one.
	jsFunctions bool
	// contextLines: a frame's source line takes part on the platforms of
	// contextLinePlatforms (2026-12e, see contextLine).
	contextLines bool
	// exceptionGroups: of an exception group only its distinct children
	// and the group take part, or the one error its children all are
	// (2026-12f, see exceptionsForGrouping); before, every exception of
	// the list did, as a chain.
	exceptionGroups bool
	// scopeNames: a symbolicated frame's function that symbolication
	// found to be the source's (event.Frame.OriginalFunction: a name the
	// minifier kept, such as a method's, as the SDK sent it) takes part
	// though the map did not replace it (2026-12g); before, only a name
	// the map replaced did, so two methods that call alike were one.
	scopeNames bool
}

// current are the rules of Version.
var current = rules{version: Version, synthetic: true, minified: true, variables: true, stable: true, native: true, byPackage: true, template: true,
	jsFunctions: true, contextLines: true, exceptionGroups: true, scopeNames: true}

// earlier are the rules of the versions before Version, newest first,
// whose issues an event still finds (see Previous).
var earlier = []rules{
	{version: "2026-12f", synthetic: true, minified: true, variables: true, stable: true, native: true, byPackage: true, template: true,
		jsFunctions: true, contextLines: true, exceptionGroups: true},
	{version: "2026-12e", synthetic: true, minified: true, variables: true, stable: true, native: true, byPackage: true, template: true,
		jsFunctions: true, contextLines: true},
	{version: "2026-12d", synthetic: true, minified: true, variables: true, stable: true, native: true, byPackage: true, template: true},
	{version: "2026-12c", synthetic: true, minified: true, variables: true, stable: true},
	{version: "2026-12b", synthetic: true, minified: true},
	{version: "2026-12", synthetic: true},
	{version: "2026-11"},
}

// The grouping methods, in order of precedence.
const (
	// MethodFingerprint: the SDK sent a custom fingerprint.
	MethodFingerprint = "fingerprint"
	// MethodLambdaTimeout: an AWS Lambda function ran into its timeout;
	// the function's name.
	MethodLambdaTimeout = "lambda-timeout"
	// MethodException: exception types and stack frames, or the type and
	// masked value of exceptions without frames.
	MethodException = "exception"
	// MethodMessage: the masked message of an event without a usable
	// exception.
	MethodMessage = "message"
	// MethodFallback: nothing else to go on; level and culprit.
	MethodFallback = "fallback"
)

// Result is how an event was grouped.
type Result struct {
	// Hash identifies the issue: 32 lowercase hex characters.
	Hash string
	// Version is the grouping algorithm that produced Hash.
	Version string
	// Method is one of the Method constants.
	Method string
	// Components are the values Hash was computed from, in order, for
	// showing why events were grouped together.
	Components []string
	// MainExceptionID is the Mechanism.ExceptionID of the exception
	// that should title the event in place of the outermost one: the one
	// kind of error all the children of an exception group are (see
	// exceptionsForGrouping). Nil otherwise; the processor copies it to
	// event.Event.MainExceptionID.
	MainExceptionID *int
}

// Group computes the grouping of an event.
//
// A custom Fingerprint wins; each "{{ default }}" entry in it expands to the
// default components, and a fingerprint made only of such entries groups
// exactly like no fingerprint. The other variables Sentry resolves in the
// fingerprints SDKs send ("{{ transaction }}", "{{ type }}", "{{ tags.NAME }}"
// and so on, see resolveVariable) are replaced by their values; any other
// entry is taken as written. Otherwise a Lambda timeout (see
// event.LambdaTimeout) is grouped by its function alone: the seconds in its
// wording vary and its stack is the SDK's timer, the same for every
// function. Otherwise, if an exception has frames or a
// type, the components are, for each exception of the chain, its type
// followed by its frames (module, or normalized file name, and function of
// the in-app frames, or of all frames when none is in-app), or by its masked
// value when it has no frames; a synthetic exception's type is left out.
// Of an exception group (exceptions whose mechanisms carry exception_id,
// parent_id and is_exception_group) only some exceptions take part, by
// Sentry's rules (see exceptionsForGrouping): its children are siblings, not
// a chain, and a group of copies of one error is that error's issue.
// A native frame without a function (not symbolicated) takes part by its
// package's file name and its offset into that image, never by its absolute
// address, which changes with every run (see nativePosition). On the
// platforms whose SDKs send real source, a frame's source line takes part
// as well (see contextLine), and a JavaScript function by the last part of
// its name, or not at all when it is anonymous (see jsFunction): these
// tell apart the anonymous functions of one file.
// Line and column numbers never take part, so that editing unrelated code
// does not split an issue, and neither do the parts of names that change
// with every deployment, process or run (see stableFrame). Otherwise the
// masked message (Message, else the outermost exception value) is used,
// and as a last resort the level and culprit.
//
// Frames are expected to have been symbolicated and marked in-app before
// grouping: minified function names change with every build, and a
// symbolicated frame whose map gave it no name has its function left out.
func Group(ev *event.Event) Result { return group(ev, current) }

// Previous returns the hashes ev had under the earlier versions of the
// algorithm that differ from now, its hash (Group's), newest first. When no issue has
// an event's hash, the store looks for one with a previous hash and moves
// it to the new hash (store.SaveRequest.Previous), so that upgrading
// Flytrap neither splits an issue nor alerts of it as new; Sentry calls
// this a grouping config transition. What changed before grouping runs,
// in ingest or the in-app stage, is replayed from what the event keeps of
// it (see rules).
func Previous(ev *event.Event, now string) []string {
	var out []string
	for _, r := range earlier {
		if h := group(ev, r).Hash; h != now && !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

// group groups an event by the rules of one version.
func group(ev *event.Event, r rules) Result {
	def := defaultGrouping(ev, r)
	if len(ev.Fingerprint) == 0 {
		return def
	}
	var comps []string
	custom := false
	for _, fp := range ev.Fingerprint {
		name, isVar := fingerprintVariable(fp)
		if isVar && name == "default" {
			comps = append(comps, def.Components...)
			continue
		}
		custom = true
		if isVar && r.variables {
			if v, ok := resolveVariable(name, ev, r); ok {
				fp = v
			}
		}
		comps = append(comps, fp)
	}
	if !custom {
		return def
	}
	res := newResult(MethodFingerprint, comps, r)
	// As in Sentry, a custom fingerprint changes the issue, not which
	// exception names it.
	res.MainExceptionID = def.MainExceptionID
	return res
}

// defaultGrouping groups an event as if it had no custom fingerprint.
func defaultGrouping(ev *event.Event, r rules) Result {
	if fn, ok := ev.LambdaTimeout(); ok {
		return newResult(MethodLambdaTimeout, []string{"function=" + fn}, r)
	}
	exs, main := ev.Exceptions, (*int)(nil)
	if r.exceptionGroups {
		exs, main = exceptionsForGrouping(ev.Platform, exs, r)
	}
	if comps := exceptionComponents(ev.Platform, exs, r); comps != nil {
		res := newResult(MethodException, comps, r)
		res.MainExceptionID = main
		return res
	}
	msg := message(ev, r)
	for i := len(ev.Exceptions) - 1; i >= 0 && msg == ""; i-- {
		msg = ev.Exceptions[i].Value
	}
	if msg != "" {
		return newResult(MethodMessage, []string{"message=" + MaskMessage(msg)}, r)
	}
	return newResult(MethodFallback, []string{"level=" + ev.Level, "culprit=" + ev.Culprit()}, r)
}

// message is the message that groups ev by the rules: the template of a
// log message, or before 2026-12d the text the SDK sent beside it.
func message(ev *event.Event, r rules) string {
	if !r.template && ev.MessageFormattedBySDK && ev.MessageFormatted != "" {
		return ev.MessageFormatted
	}
	return ev.Message
}

// exceptionComponents returns the components of an exception chain, or nil
// when no exception has a type or usable frames: such an event is better
// grouped by its message.
func exceptionComponents(platform string, exs []event.Exception, r rules) []string {
	var comps []string
	usable := false
	for _, ex := range exs {
		frames := frameComponents(platform, ex.Frames, ex.RawFrames, r)
		typ := ex.Type
		if ex.Synthetic() && r.synthetic {
			// As in Sentry: the SDK made the exception up to carry a
			// stack, so its type (absent, or a signal name) is no part
			// of the error's identity.
			typ = ""
		}
		usable = usable || typ != "" || len(frames) > 0
		comps = append(comps, "type="+typ)
		if len(frames) > 0 {
			comps = append(comps, frames...)
		} else {
			comps = append(comps, "value="+MaskMessage(ex.Value))
		}
	}
	if !usable {
		return nil
	}
	return comps
}

// frameComponents returns two components per frame, its location and its
// function, for the in-app frames, or for all frames when none is in-app,
// and a third, its source line, where that takes part (see contextLine).
// raw are the frames as sent when symbolication rewrote some (see
// event.Exception.RawFrames): a rewritten frame whose map gave no name
// keeps its minified one, which the next build renames, so its function
// takes no part. Names generated per deployment, process or run are made
// stable first (see stableFrame).
func frameComponents(platform string, frames, raw []event.Frame, r rules) []string {
	inApp := 0
	for i := range frames {
		// Before 2026-12d ingest dropped frames known by their address
		// alone: under those rules they cannot make the frames with names
		// count as library code. (Nothing identifies them below either.)
		if isInApp(&frames[i], r) && (r.native || !addressOnly(frames[i])) {
			inApp++
		}
	}
	var comps []string
	var prevLoc, prevFn, prevLine string
	for i, f := range frames {
		if inApp > 0 && !isInApp(&f, r) {
			continue
		}
		if r.stable {
			f = stableFrame(platform, f)
		}
		loc, fn := frameLocation(f), "function="+strings.TrimSpace(f.Function)
		if r.jsFunctions && isJavaScript(platform) {
			fn = "function=" + jsFunction(f.Function)
		}
		if r.minified && len(raw) == len(frames) && minifiedName(f, raw[i]) && !(r.scopeNames && f.OriginalFunction) {
			fn = "function="
		}
		if fn == "function=" && r.native {
			if pkg, off, ok := nativePosition(f); ok {
				loc, fn = pkg, off
			}
		}
		// Only a frame with a source line that takes part has a third
		// component, so the frames of the other platforms, and of SDKs
		// that send no source, hash as they did before 2026-12e.
		line := ""
		if r.contextLines {
			line = contextLine(platform, &f)
		}
		if loc == "file=" && fn == "function=" && line == "" {
			// Nothing identifies this frame.
			continue
		}
		// A recursion repeats the same frame a varying number of times;
		// counting the repeats would split one bug into an issue per depth.
		if len(comps) > 0 && loc == prevLoc && fn == prevFn && line == prevLine {
			continue
		}
		prevLoc, prevFn, prevLine = loc, fn, line
		comps = append(comps, loc, fn)
		if line != "" {
			comps = append(comps, line)
		}
	}
	return comps
}

// isInApp reports whether f is the app's code by the rules: by its package
// when the in-app stage judged it so, or before 2026-12d by its path.
func isInApp(f *event.Frame, r rules) bool {
	if !r.byPackage && f.PathInApp != nil {
		return *f.PathInApp
	}
	return f.InApp != nil && *f.InApp
}

// addressOnly reports whether f is a native frame known by its address
// alone, one that ingest dropped before grouping version 2026-12d.
func addressOnly(f event.Frame) bool {
	return f.InstructionAddr != "" && f.Filename == "" && f.AbsPath == "" && f.Function == "" && f.Module == "" && f.Lineno == 0
}

// minifiedName reports whether f, a frame symbolication made of raw, still
// has raw's function name: the map named no function there, so the name is
// the minifier's.
func minifiedName(f, raw event.Frame) bool {
	rewritten := f.AbsPath != raw.AbsPath || f.Lineno != raw.Lineno || f.Colno != raw.Colno
	return rewritten && f.Function != "" && f.Function == raw.Function
}

// nativePosition identifies a native frame without a function (not
// symbolicated) by its package's file name and its offset into that image:
// the absolute address moves with every run (address space layout
// randomization), the offset only with a new build. ok is false when the
// package or its load address is unknown; the absolute address alone never
// takes part.
func nativePosition(f event.Frame) (pkg, offset string, ok bool) {
	name := strings.TrimSpace(f.PackageName())
	off, ok := f.ImageOffset()
	if name == "" || !ok {
		return "", "", false
	}
	return "package=" + name, "offset=" + event.FormatAddr(off), true
}

// frameLocation is the location component of a frame: its module if the SDK
// named one (stable across deployments by construction), else its
// normalized file name.
func frameLocation(f event.Frame) string {
	if m := strings.TrimSpace(f.Module); m != "" {
		return "module=" + m
	}
	file := f.Filename
	if file == "" {
		file = f.AbsPath
	}
	return "file=" + normalizeFilename(file)
}

// newResult hashes components into a Result of the rules' version.
func newResult(method string, comps []string, r rules) Result {
	return Result{Hash: hashComponents(method, comps), Version: r.version, Method: method, Components: comps}
}

// hashComponents hashes the method and components, each preceded by its
// length. Length prefixes make the encoding of a list injective, so ["ab",
// "c"] and ["a", "bc"] cannot collide the way a plain concatenation would;
// the method keeps a custom fingerprint from colliding with a default
// grouping that happens to have the same components.
func hashComponents(method string, comps []string) string {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, s := range append([]string{method}, comps...) {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
		h.Write([]byte(s))
	}
	// 128 bits are plenty to keep the issues of one project apart.
	return hex.EncodeToString(h.Sum(nil)[:16])
}
