// Package symbolicate maps the frames of minified JavaScript back to the
// original source with uploaded source maps. It is the processor's
// symbolicate stage (process.Symbolicator), between parsing stacks and
// marking in-app frames, so code contexts, in-app marking and grouping
// all see the original files and functions.
package symbolicate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/getflytrap/flytrap/internal/event"
)

// Maps finds the source map of the minified file a frame points into,
// and reads that file (artifact.Map.Minified); the artifact store
// implements it.
type Maps interface {
	Find(ctx context.Context, q artifact.Query) (artifact.Map, error)
	Source(ctx context.Context, minified string) ([]byte, error)
}

// Defaults for zero Config fields.
const (
	// DefaultCacheBytes bounds the parsed maps kept in memory: under half
	// of the processor Lambda's default 512 MB, leaving room for a parse.
	DefaultCacheBytes = 192 << 20
	// DefaultMaxMapSize bounds one parsed map (see Config.MaxMapSize):
	// a map of about 25 MB, more than large applications ship.
	DefaultMaxMapSize = 96 << 20
	// DefaultSourceCacheBytes bounds the minified files kept for naming
	// frames, with their indexes (see Config.SourceCacheBytes).
	DefaultSourceCacheBytes = 48 << 20
	// DefaultFoundTTL is how long a file's map, once found, is used
	// without asking Maps again.
	DefaultFoundTTL = time.Minute
	// DefaultNotFoundTTL is how long a file without a map is not looked
	// up again.
	DefaultNotFoundTTL = 10 * time.Second
	// findEntries bounds the remembered Find answers.
	findEntries = 10000
	// maxNotes bounds the notes one event gets about its frames.
	maxNotes = 10
)

// notePrefix starts every note this package puts on an event, so running
// again replaces them.
const notePrefix = "symbolication: "

// Config configures a Symbolicator.
type Config struct {
	// Maps finds source maps; required.
	Maps Maps
	// CacheBytes bounds the estimated size of the parsed maps kept, least
	// recently used first out; 0 means DefaultCacheBytes.
	CacheBytes int64
	// MaxMapSize is the largest estimated parsed size of one map (its
	// length plus 24 bytes per mapping segment); a larger map is a broken
	// map, never parsed. 0 means DefaultMaxMapSize.
	MaxMapSize int64
	// SourceCacheBytes bounds the minified files kept for naming frames,
	// with their indexes, least recently used first out; 0 means
	// DefaultSourceCacheBytes.
	SourceCacheBytes int64
	// FoundTTL and NotFoundTTL are how long Find's answer for a file is
	// reused; 0 means DefaultFoundTTL and DefaultNotFoundTTL. The short
	// not-found TTL keeps a flood of unmapped frames off the store while
	// letting a map uploaded late be used soon.
	FoundTTL, NotFoundTTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Symbolicator rewrites events' JavaScript frames to their original
// source. It is safe for concurrent use; its caches are shared by every
// caller, so one Symbolicator should serve all of a process's workers.
type Symbolicator struct {
	cfg   Config
	maps  *mapCache
	finds *findCache
	names *names
}

// New returns a Symbolicator. A Config without Maps is a wiring mistake
// and panics.
func New(cfg Config) *Symbolicator {
	if cfg.Maps == nil {
		panic("symbolicate: Config.Maps is required")
	}
	if cfg.CacheBytes <= 0 {
		cfg.CacheBytes = DefaultCacheBytes
	}
	if cfg.MaxMapSize <= 0 {
		cfg.MaxMapSize = DefaultMaxMapSize
	}
	if cfg.SourceCacheBytes <= 0 {
		cfg.SourceCacheBytes = DefaultSourceCacheBytes
	}
	if cfg.FoundTTL <= 0 {
		cfg.FoundTTL = DefaultFoundTTL
	}
	if cfg.NotFoundTTL <= 0 {
		cfg.NotFoundTTL = DefaultNotFoundTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Symbolicator{cfg: cfg, maps: newMapCache(cfg.CacheBytes), finds: newFindCache(findEntries), names: newNames(cfg.SourceCacheBytes)}
}

// Symbolicate rewrites each JavaScript frame of ev that a source map
// covers: file, line, column, function and the source lines around it.
// The frames as sent are kept in each exception's RawFrames; a frame that
// could not be mapped keeps its place and says why in Frame.Unmapped, and
// the event gets a note per file. An exception that has RawFrames is
// symbolicated again from them, so running twice gives the same event.
// The error is only ever Maps failing, worth a retry.
func (s *Symbolicator) Symbolicate(ctx context.Context, ev *event.Event) error {
	return s.run(ctx, ev, false)
}

// Resymbolicate is Symbolicate without the remembered answers of Maps:
// for a stored event whose maps were uploaded after it was processed.
// Parsed maps are still shared, being keyed by their content.
func (s *Symbolicator) Resymbolicate(ctx context.Context, ev *event.Event) error {
	return s.run(ctx, ev, true)
}

func (s *Symbolicator) run(ctx context.Context, ev *event.Event, fresh bool) error {
	r := &eventRun{s: s, ev: ev, fresh: fresh, found: map[artifact.Query]lookup{}, noted: map[string]bool{}}
	var notes []string
	for _, n := range ev.Notes {
		if !strings.HasPrefix(n, notePrefix) {
			notes = append(notes, n)
		}
	}
	for i := range ev.Exceptions {
		if err := r.exception(ctx, &ev.Exceptions[i]); err != nil {
			return err
		}
	}
	ev.Notes = append(notes, r.notes...)
	return nil
}

// eventRun is the symbolication of one event.
type eventRun struct {
	s     *Symbolicator
	ev    *event.Event
	fresh bool
	// found memoizes each file's map for the event: a stack's frames
	// mostly share one bundle.
	found map[artifact.Query]lookup
	notes []string
	noted map[string]bool
}

// lookup is a file's map, or why there is none.
type lookup struct {
	pm *parsedMap
	// file is the minified file the map was stored for.
	file string
	// upload names the release (and dist) of the upload a map found by
	// file name came from, "" for any other map.
	upload string
	// minified is the blob of the minified file the map was found
	// through, "" when it was uploaded alone, and minifiedSize its size.
	minified     string
	minifiedSize int64
	reason       string
	detail       string
}

// hasCodeContext reports whether a Flytrap SDK sent the source of frame f
// of ex.
func hasCodeContext(ex *event.Exception, f *event.Frame) bool {
	return slices.ContainsFunc(ex.CodeContexts, func(c event.CodeContext) bool { return c.Locates(f) })
}

// readable reports whether the SDK read the source of f's file, at f or at
// another frame of the same file: a file it could read was not minified,
// though SDKs send the source of some frames only (a Flytrap SDK, of the
// innermost).
func readable(ex *event.Exception, f *event.Frame) bool {
	file := frameFile(f)
	return slices.ContainsFunc(ex.Frames, func(g event.Frame) bool {
		return frameFile(&g) == file && (g.ContextLine != "" || hasCodeContext(ex, &g))
	})
}

func (r *eventRun) exception(ctx context.Context, ex *event.Exception) error {
	if len(ex.RawFrames) > 0 {
		ex.Frames = slices.Clone(ex.RawFrames)
	}
	raw := slices.Clone(ex.Frames)
	// A stored event symbolicated without success has its reasons on the
	// frames as sent; they are the rewritten frames' to carry.
	for i := range raw {
		raw[i].Unmapped, raw[i].OriginalFunction = "", false
	}
	mapped := false
	// caller is the original name at the previous (calling) frame's
	// position: the identifier it called, which names this frame when its
	// minified file is not there to name it by its declarations (see
	// names.go). It is only a guess: a callback is named by the parameter
	// it was called through.
	caller := ""
	for j := range ex.Frames {
		f := &ex.Frames[j]
		f.Unmapped, f.OriginalFunction = "", false
		name := caller
		caller = ""
		if !candidate(f) {
			continue
		}
		l, err := r.lookup(ctx, f)
		if err != nil {
			return err
		}
		var src *minified
		if l.reason == "" {
			if src, err = r.source(ctx, l); err != nil {
				return err
			}
			// The SDK read this line from the file that ran (a Node
			// server's): a map found for an uploaded file that has
			// another line there is another file's, which shares only
			// the name.
			if src != nil && f.ContextLine != "" && !src.hasLine(f.Lineno, f.Colno, f.ContextLine) {
				continue
			}
			// The map covers its own minified file, uploaded with it: a
			// position past that file's lines, or past the end of its line,
			// is of another build, which the map would move to the nearest
			// mapping before it, a plausible wrong line.
			if src != nil {
				if why := src.outside(f.Lineno, f.Colno); why != "" {
					l.reason, l.detail = event.UnmappedOutOfRange, outOfRange(f, " ("+why+")")
				}
			}
		}
		if l.reason == "" {
			var pos position
			pos, err = l.pm.lookup(f.Lineno, f.Colno)
			switch {
			case errors.Is(err, errOutOfRange):
				l.reason, l.detail = event.UnmappedOutOfRange, outOfRange(f, "")
			case err != nil:
				l.reason, l.detail = event.UnmappedBrokenMap, brokenDetail(frameFile(f), err)
			default:
				// Without a release, any release's upload of the file
				// name may have been used: say whose, as nothing
				// confirms the event ran that build.
				if file := frameFile(f); r.ev.Release == "" && l.upload != "" {
					r.note("upload "+file, fmt.Sprintf("the event has no release: %s was mapped with the source map uploaded for release %s",
						file, l.upload))
				}
				original := false
				if src != nil {
					name, original = r.name(l, src, f.Function, f.Lineno, f.Colno)
				}
				rewrite(f, pos, name, l.pm, mapURL(frameFile(f), src))
				f.OriginalFunction = original
				caller = pos.name
				mapped = true
				continue
			}
		}
		// A file the SDK read the source of (a Node server's) was not
		// minified: that it has no map is nothing to report. A Flytrap
		// SDK sends that source as a code context, which a later stage
		// puts on the frame.
		if l.reason == event.UnmappedNoMap && readable(ex, f) {
			continue
		}
		f.Unmapped = l.reason
		r.note(l.reason+" "+frameFile(f), l.detail)
	}
	ex.RawFrames = nil
	if mapped {
		ex.RawFrames = raw
	}
	return nil
}

// lookup finds the map of f's file, once per event.
func (r *eventRun) lookup(ctx context.Context, f *event.Frame) (lookup, error) {
	q := artifact.Query{ProjectID: r.ev.ProjectID, DebugID: f.DebugID, Release: r.ev.Release, Dist: r.ev.Dist, AbsPath: frameFile(f)}
	if l, ok := r.found[q]; ok {
		return l, nil
	}
	l, err := r.find(ctx, q)
	if err != nil {
		return lookup{}, err
	}
	switch {
	case l.reason != "":
	case l.pm.err != nil:
		l.reason, l.detail = event.UnmappedBrokenMap, brokenDetail(q.AbsPath, l.pm.err)
	case q.DebugID == "" && !madeFor(l.pm.file, q.AbsPath, l.file):
		// A debug ID is the map's identity; found by release or file
		// name, a map whose "file" names another bundle was uploaded
		// beside the wrong file.
		l.reason = event.UnmappedOtherFile
		l.detail = fmt.Sprintf("the source map found for %s was made for %s", q.AbsPath, event.Clamp(l.pm.file, maxPath))
	}
	r.found[q] = l
	return l, nil
}

// find asks the caches, then Maps, for the map of q.
func (r *eventRun) find(ctx context.Context, q artifact.Query) (lookup, error) {
	s := r.s
	now := s.cfg.Now()
	if !r.fresh {
		if res, ok := s.finds.get(q, now); ok {
			if res.reason != "" {
				return lookup{reason: res.reason, detail: res.detail}, nil
			}
			if pm, ok := s.maps.peek(res.key); ok {
				return lookup{pm: pm, file: res.file, upload: res.upload, minified: res.minified, minifiedSize: res.minifiedSize}, nil
			}
		}
	}
	m, err := s.cfg.Maps.Find(ctx, q)
	var (
		amb   *artifact.AmbiguousError
		other *artifact.OtherReleasesError
		alone *artifact.WithoutMapError
		build *artifact.OtherBuildError
		l     lookup
	)
	switch {
	case errors.As(err, &other):
		l = lookup{reason: event.UnmappedNoMap, detail: event.Clamp(other.Error(), maxLine)}
	case errors.As(err, &alone):
		l = lookup{reason: event.UnmappedNoMap, detail: event.Clamp(alone.Error(), maxLine)}
	case errors.As(err, &build):
		l = lookup{reason: event.UnmappedNoMap, detail: event.Clamp(build.Error(), maxLine)}
	case errors.Is(err, artifact.ErrNotFound):
		l = lookup{reason: event.UnmappedNoMap, detail: "no source map uploaded for " + q.AbsPath}
	case errors.As(err, &amb):
		l = lookup{reason: event.UnmappedAmbiguous, detail: event.Clamp(amb.Error(), maxLine)}
	case err != nil:
		return lookup{}, fmt.Errorf("find the source map of %s: %w", q.AbsPath, err)
	}
	if l.reason != "" {
		// Remembered briefly: an upload that gives the file a map should
		// apply soon.
		s.finds.put(q, resolved{reason: l.reason, detail: l.detail, expires: now.Add(s.cfg.NotFoundTTL)})
		return l, nil
	}
	key := m.Key
	if key == "" {
		sum := sha256.Sum256(m.Body)
		key = hex.EncodeToString(sum[:])
	}
	pm := s.maps.get(key, m.Body, s.parse)
	upload := ""
	if m.Release != "" {
		upload = artifact.ReleaseName(m.Release, m.Dist)
	}
	s.finds.put(q, resolved{key: key, file: m.File, upload: upload, minified: m.Minified, minifiedSize: m.MinifiedSize, expires: now.Add(s.cfg.FoundTTL)})
	return lookup{pm: pm, file: m.File, upload: upload, minified: m.Minified, minifiedSize: m.MinifiedSize}, nil
}

func (s *Symbolicator) parse(body []byte) *parsedMap { return parseMap(body, s.cfg.MaxMapSize) }

// note adds a note about a file once per event.
func (r *eventRun) note(key, text string) {
	if r.noted[key] || len(r.notes) >= maxNotes {
		return
	}
	r.noted[key] = true
	r.notes = append(r.notes, notePrefix+text)
}

// outOfRange is the note of a frame whose position the map does not
// cover, why adding what showed it.
func outOfRange(f *event.Frame, why string) string {
	return fmt.Sprintf("line %d, column %d is outside the source map of %s%s: it may be from another build; "+
		"upload the maps of this build, or give each build its own release or debug IDs", f.Lineno, f.Colno, frameFile(f), why)
}

func brokenDetail(file string, err error) string {
	return "the source map of " + file + " cannot be used: " + strings.TrimPrefix(err.Error(), errBrokenMap.Error()+": ")
}

// candidate reports whether f is a frame of JavaScript a map could cover:
// one with a debug ID, or a line in a .js, .mjs or .cjs file that is not
// Node's own or an installed package's.
func candidate(f *event.Frame) bool {
	if f.Lineno <= 0 {
		return false
	}
	if f.DebugID != "" {
		return true
	}
	p := strings.ToLower(frameFile(f))
	if strings.HasPrefix(p, "node:") || strings.HasPrefix(p, "internal/") ||
		strings.HasPrefix(p, "node_modules/") || strings.Contains(p, "/node_modules/") {
		return false
	}
	p = stripQuery(p)
	return strings.HasSuffix(p, ".js") || strings.HasSuffix(p, ".mjs") || strings.HasSuffix(p, ".cjs")
}

// frameFile is the file a frame names: its absolute path, else its file
// name, as sent.
func frameFile(f *event.Frame) string {
	if f.AbsPath != "" {
		return f.AbsPath
	}
	return f.Filename
}

func stripQuery(p string) string {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		return p[:i]
	}
	return p
}

// madeFor reports whether a map whose "file" is mapFile fits the frame's
// file or the file the map was stored for; a map without "file" fits any.
func madeFor(mapFile, frameFile, storedFile string) bool {
	if mapFile == "" {
		return true
	}
	base := path.Base(stripQuery(mapFile))
	return base == path.Base(stripQuery(frameFile)) || (storedFile != "" && base == path.Base(stripQuery(storedFile)))
}

// rewrite makes f the original-source frame at pos, its path the source
// resolved against the map's URL mapURL. Its module was derived from the
// minified file, and its context lines are the minified ones: both go,
// the context replaced from the map's sourcesContent. The file name stays
// the source's own, which grouping reads: the same wherever the bundle
// was served from.
func rewrite(f *event.Frame, pos position, name string, pm *parsedMap, mapURL string) {
	f.AbsPath = event.Clamp(resolveSource(mapURL, pos.source), maxPath)
	f.Filename = displaySource(event.Clamp(pos.source, maxPath))
	f.Lineno, f.Colno = pos.line, pos.column
	if name != "" {
		f.Function = name
	}
	f.Module, f.DebugID = "", ""
	f.PreContext, f.ContextLine, f.PostContext, _ = pm.context(pos.source, pos.line)
	// Library code bundled into the app is not the app's, whatever the
	// SDK said of the bundle.
	if strings.Contains(pos.source, "node_modules/") {
		f.InApp = new(bool)
	}
}

// mapURL is where the map of the minified file at file was loaded from:
// the file's sourceMappingURL resolved against it. Without the file's
// text, or for an inline data: map, it is the file itself: a map beside
// its file (the usual <file>.map) resolves sources the same way.
func mapURL(file string, src *minified) string {
	if src == nil {
		return file
	}
	ref := artifact.SourceMappingURL(src.body)
	if ref == "" || strings.HasPrefix(ref, "data:") {
		return file
	}
	return resolveSource(file, ref)
}

// resolveSource resolves a map's source (sourceRoot already joined by the
// library) against the map's URL, as the source map spec says: a relative
// source such as ../src/cart.js is relative to the map. An absolute URL
// (webpack://, https://) or path stays as it is, and so does every source
// of a map whose URL is not absolute (an upload's name such as
// ~/static/app.js, a Windows path), which there is nothing to resolve
// against. A file path (a Node server's) is joined as a path, keeping its
// spaces rather than escaping them as a URL would.
func resolveSource(mapURL, source string) string {
	ref, err := url.Parse(source)
	if err != nil || ref.Scheme != "" || source == "" || strings.Contains(mapURL, `\`) {
		return source
	}
	base, err := url.Parse(mapURL)
	switch {
	case err != nil:
		return source
	case base.Scheme == "":
		if !path.IsAbs(mapURL) || path.IsAbs(source) {
			return source
		}
		return path.Join(path.Dir(stripQuery(mapURL)), source)
	case len(base.Scheme) == 1:
		// C:/app/dist/app.js: a drive letter, not a scheme.
		return source
	}
	return base.ResolveReference(ref).String()
}

// displaySource is a map's source as a file name: without the webpack://
// namespace and the ./ and ../ that lead out of the bundle's directory.
func displaySource(src string) string {
	if rest, ok := strings.CutPrefix(src, "webpack://"); ok {
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			src = rest[i+1:]
		}
	}
	for {
		switch {
		case strings.HasPrefix(src, "./"):
			src = src[2:]
		case strings.HasPrefix(src, "../"):
			src = src[3:]
		default:
			if src == "" {
				return "."
			}
			return src
		}
	}
}
