package dashboard

import (
	"cmp"
	"encoding/json"
	"strconv"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/stacktrace"
	"github.com/getflytrap/flytrap/internal/store"
)

// eventView is an event laid out for the issue page. Every string in it
// came from an SDK: the templates print them as text (html/template
// escapes them for their context) and link a URL only when httpURL
// accepts it. Every string and list went through the page's budget, so
// the page is bounded whatever the event holds; the *Cut fields count the
// entries of a list left out.
type eventView struct {
	ID        string
	Timestamp time.Time
	// ReceivedLater is when Flytrap received the event, set only when
	// that differs from its timestamp (an SDK that queued it offline).
	ReceivedLater *time.Time
	Level         string
	Platform      string
	Release       string
	Dist          string
	Environment   string
	ServerName    string
	Logger        string
	Transaction   string
	Message       string
	Handled       string // "yes", "no" or "" when unknown
	SDK           string
	Exceptions    []exceptionView // outermost first
	ExceptionsCut int
	// Threads are the process's other threads, shown collapsed below
	// the exceptions.
	Threads        []threadView
	ThreadsCut     int
	Breadcrumbs    []breadcrumbView
	BreadcrumbsCut int
	User           *userView
	Request        *requestView
	Tags           []kvRow
	TagsCut        int
	// Contexts are the event's contexts, a card each, in the order sent.
	Contexts    []contextView
	ContextsCut int
	Extra       string
	// ExtraNotes are what the SDK said it did to extra's values, named
	// by their path.
	ExtraNotes []string
	Notes      []string
	NotesCut   int
	// MessageTemplate and MessageParams are the logentry template and
	// params (compact JSON) Message was filled in from
	// (event.MessageFormatted).
	MessageTemplate, MessageParams string
	// Unreadable is set when the stored payload could not be decoded;
	// the row's columns are still shown.
	Unreadable bool
	// MessageStack holds the frames of a synthetic exception (the stack
	// an SDK attaches to a captured message), shown under the message
	// rather than as an exception.
	MessageStack *exceptionView
	// Lambda is the AWS Lambda invocation the event happened in.
	Lambda *lambdaView
	// Symbolicated says source maps rewrote some of the event's frames,
	// whose minified originals it also holds; Minified says the page
	// shows those instead.
	Symbolicated, Minified bool
	// Unmapped counts the frames symbolication could not map.
	Unmapped int
	// JavaScript says source maps could apply: symbolication ran on the
	// event, or it is from a JavaScript SDK.
	JavaScript bool
}

// maxIndent is the deepest indent of an exception group's tree the
// stylesheet has (exc-indent-N); deeper exceptions line up with it.
const maxIndent = 4

// exceptionView is one exception of the chain.
type exceptionView struct {
	Type, Value, Module string
	// TypeNote and ValueNote are what the SDK said it did to the type
	// and the value (see annotate).
	TypeNote, ValueNote string
	Mechanism           string
	Handled             string
	RawStack            string
	// Groups are the frames, most recent call first, in runs of in-app
	// frames and of library frames; library runs render collapsed.
	Groups     []frameGroup
	FrameCount int
	// AnyInApp says some frame is the application's; without one, every
	// frame is shown and none is badged.
	AnyInApp bool
	// FramesCut counts the oldest frames left out.
	FramesCut int
	// Cause is set on every exception but the outermost of a chain: it
	// is what the one above it was raised while handling.
	Cause bool
	// Of an exception group (see event.Event.ExceptionTree): Indent is
	// how far below the exception raised this one is, up to maxIndent
	// levels of indent; Group marks a group, whose children follow it;
	// InGroup marks one of a group's errors; Source is where its parent
	// holds it ("errors[0]", "exceptions[1]", "__cause__").
	Indent  int
	Group   bool
	InGroup bool
	Source  string
	// anns are the exception's event.Exception.Annotations, put on the
	// page once its frames' variables are laid out (see newEventView);
	// frameAt maps the index in the event of each frame shown to it.
	anns    []event.Annotation
	frameAt map[int]*frameView
}

// threadView is one of the other threads: its stack laid out as an
// exception's.
type threadView struct {
	ID, Name         string
	Crashed, Current bool
	Stack            exceptionView
}

// frameGroup is a run of frames shown alike: library frames, collapsed
// (Library), or the others.
type frameGroup struct {
	Library bool
	Frames  []frameView
}

// frameView is one stack frame.
type frameView struct {
	Location string // file, else module, else absolute path
	AbsPath  string // shown when it adds to the file as sent
	Function string
	// Package is the file name of a native frame's image (binary or
	// library), PackagePath its path as sent when that is longer.
	Package, PackagePath string
	// Address is where an unsymbolicated native frame (no function) was,
	// Offset how far into its package that is.
	Address, Offset string
	Line            int
	Column          int
	InApp           bool
	// Code is the source around the line, when the SDK or the source map
	// supplied it; Open says the frame starts expanded (the most recent
	// in-app frame).
	Code    []codeLine
	CodeCut int
	Open    bool
	// File is the frame's file as sent (its file name, else its absolute
	// path); Raw is set to it when Location shows a shorter form.
	File, Raw string
	// Unmapped is why symbolication left this minified frame as it was.
	Unmapped *unmappedReason
	// Vars are the frame's local variables in the order stored (by
	// name), shown with its source; VarsCut counts those left out.
	Vars    []varView
	VarsCut int
	// Notes are what the SDK said it did to the frame's values other
	// than the variables shown (see annotate).
	Notes []string
	// vars is the frame's event.Frame.Vars, laid out into Vars once
	// everything the page shows before the JSON blocks is (see
	// newEventView).
	vars json.RawMessage
}

// varView is one local variable of a frame. Value is its JSON, bounded
// like extra's: a string without its quotes, a number or boolean as sent
// (Block false), or an object or array pretty-printed (Block true).
type varView struct {
	Name, Value string
	Block       bool
	// Note is what the SDK said it did to the value (see annotate).
	Note string
}

// unmappedReason is an event.Unmapped* reason as the page words it.
type unmappedReason struct {
	Label, Help string
}

// unmappedReasons word each reason symbolication gives; docs/sourcemaps.md
// explains them at length.
var unmappedReasons = map[string]unmappedReason{
	event.UnmappedNoMap:      {"no source map", "No uploaded source map matches this file for the event's release: upload that build's map, then re-symbolicate. Another release's map is never used, nor one whose debug ID is not this file's; the event's notes say which uploads have this file."},
	event.UnmappedOtherFile:  {"map for another file", "The source map found for this file says it was built for a different file."},
	event.UnmappedOutOfRange: {"position not in map", "The source map, or the minified file uploaded with it, has no such line and column: it belongs to another build; the event's notes say how to fix it."},
	event.UnmappedBrokenMap:  {"unreadable source map", "The source map is not valid, too large, or points outside itself; the event's notes say why."},
	event.UnmappedAmbiguous:  {"several maps match", "Several uploaded files with this file name match it equally well; upload under URLs that end like its path, or inject debug IDs."},
}

// shorten shows the frame's file under its display name (see
// stacktrace.DisplayNames), keeping the name as sent for the tooltip.
func (f *frameView) shorten(name string) {
	if name == "" || name == f.Location || f.Location != f.File {
		return
	}
	f.Raw, f.Location = f.Location, name
}

// codeLine is one line of a frame's source context.
type codeLine struct {
	Number  int // 0 when the frame has no line number
	Text    string
	Current bool
}

// breadcrumbView is one breadcrumb.
type breadcrumbView struct {
	Time time.Time
	// OtherDay is set when the breadcrumb is not of the event's UTC day,
	// so its time is shown with its date: a breadcrumb of last year must
	// not read as of the event's morning.
	OtherDay bool
	Type     string
	Category string
	Level    string
	Message  string
	Data     string // compact JSON
	// Note is what the SDK said it did to the message or data (see
	// annotateBreadcrumbs).
	Note string
}

// userView is the affected user.
type userView struct {
	ID, Email, Username, IPHash string
	Data                        string
	// IDNote, EmailNote and UsernameNote are what the SDK said it did to
	// those values, Notes what it did to others (see annotate).
	IDNote, EmailNote, UsernameNote string
	Notes                           []string
}

// requestView is the HTTP request the event happened in.
type requestView struct {
	Method      string
	URL         string
	QueryString string
	Headers     [][2]string
	HeadersCut  int
	// Body is the request body as data, as Sentry shows it: the fields
	// of a JSON object (sent as one, or as a string that parses as one)
	// or of a form body; BodyCut counts the fields left out. Data is the
	// body otherwise: a JSON array indented, else the text as sent.
	Body    []kvRow
	BodyCut int
	Data    string
	// Notes are the SDK's annotations (see annotate) of values shown
	// elsewhere than on a body field.
	Notes []string
}

// kvRow is one field of data shown as a key/value list: of a request
// body, of a context. Value is a string as text, anything else as compact
// JSON. Note is what the SDK said it did to the value (see annotate).
type kvRow struct{ Key, Value, Note string }

// contextView is one of the event's contexts: Title is a known context's
// name as Sentry words it ("Operating System"), else its key as sent.
type contextView struct {
	Title   string
	Rows    []kvRow
	RowsCut int
	// Notes are what the SDK said it did to values not on a row (see
	// annotateContexts); name is the context's key as sent.
	Notes []string
	name  string
}

// contextTitles are the titles of the contexts Sentry names, by key or
// by their "type" member.
var contextTitles = map[string]string{
	"app": "App", "browser": "Browser", "device": "Device", "os": "Operating System",
	"client_os": "Client Operating System", "runtime": "Runtime", "trace": "Trace",
}

// newEventView lays out a stored event, taking its text from b in order of
// importance: the short facts, the message and the exceptions first, then
// the request, notes, tags and breadcrumbs, and the JSON blocks last. With
// minified, exceptions that source maps rewrote show their frames as sent.
func newEventView(row store.EventRow, b *budget, minified bool) *eventView {
	v := &eventView{
		ID: row.EventID, Timestamp: row.Timestamp,
		Level: b.text(row.Level), Release: b.text(row.Release), Environment: b.text(row.Environment),
	}
	if d := row.Received.Sub(row.Timestamp); d > time.Second || d < -time.Second {
		rcv := row.Received
		v.ReceivedLater = &rcv
	}
	var ev event.Event
	if err := event.Unmarshal(row.Payload, &ev); err != nil {
		v.Unreadable = true
		return v
	}
	v.Platform, v.Dist, v.ServerName = b.text(ev.Platform), b.text(ev.Dist), b.text(ev.ServerName)
	v.Logger, v.Transaction, v.Handled = b.text(ev.Logger), b.text(ev.Transaction), ev.Handled.String()
	if ev.SDK != nil {
		sdk := ev.SDK.Name
		if ev.SDK.Version != "" {
			sdk += " " + ev.SDK.Version
		}
		v.SDK = b.text(sdk)
	}
	if u := ev.User; u != nil {
		v.User = &userView{ID: b.text(u.ID), Email: b.text(u.Email), Username: b.text(u.Username), IPHash: b.text(u.IPHash)}
	}
	v.Message = b.text(ev.Text())
	if ev.MessageFormatted != "" {
		v.MessageTemplate = b.text(ev.Message)
	}
	v.MessageParams = b.compactJSON(ev.MessageParams)
	// An exception group shows as its tree, a chain outermost first.
	tree := ev.ExceptionTree()
	for i := range ev.Exceptions {
		if !b.item(i) {
			v.ExceptionsCut = len(ev.Exceptions) - i
			break
		}
		j := len(ev.Exceptions) - 1 - i
		if tree != nil {
			j = tree[i].Index
		}
		exc := ev.Exceptions[j]
		for _, f := range exc.Frames {
			if f.Unmapped != "" {
				v.Unmapped++
			}
		}
		if len(exc.RawFrames) > 0 {
			v.Symbolicated = true
			if minified {
				exc.Frames = exc.RawFrames
			}
		}
		ex := newExceptionView(exc, b)
		// A synthetic exception without a type only carries the message's
		// stack (captureMessage with attachStacktrace): shown under the
		// message. One with a type stands for an error the SDK could not
		// capture as one, such as the Error @sentry/node makes up for a
		// plain object a promise rejected with: an exception, with its
		// mechanism, as Sentry shows it.
		if ev.Exceptions[j].Synthetic() && exc.Type == "" && v.MessageStack == nil {
			v.MessageStack = &ex
			if v.Message == "" {
				v.Message = ex.Value
			}
			continue
		}
		ex.Cause = i > 0
		if tree != nil {
			m := exc.Mechanism
			ex.Indent, ex.InGroup, ex.Group, ex.Source = min(tree[i].Depth, maxIndent), tree[i].InGroup, m.IsExceptionGroup, b.text(m.Source)
			ex.Cause = i > 0 && !tree[i].InGroup
		}
		v.Exceptions = append(v.Exceptions, ex)
	}
	if rq := ev.Request; rq != nil {
		v.Request = &requestView{Method: b.text(rq.Method), URL: b.text(rq.URL), QueryString: b.text(rq.QueryString)}
		for i, h := range rq.Headers {
			if !b.item(i) {
				v.Request.HeadersCut = len(rq.Headers) - i
				break
			}
			v.Request.Headers = append(v.Request.Headers, [2]string{b.text(h[0]), b.text(h[1])})
		}
	}
	for i, n := range ev.Notes {
		if !b.item(i) {
			v.NotesCut = len(ev.Notes) - i
			break
		}
		v.Notes = append(v.Notes, b.text(n))
	}
	for i, t := range ev.Tags {
		if !b.item(i) {
			v.TagsCut = len(ev.Tags) - i
			break
		}
		v.Tags = append(v.Tags, kvRow{Key: b.text(t.Key), Value: b.text(t.Value)})
	}
	v.Lambda = newLambdaView(ev.Lambda(), b)
	for i, c := range ev.Breadcrumbs {
		if !b.item(i) {
			v.BreadcrumbsCut = len(ev.Breadcrumbs) - i
			break
		}
		v.Breadcrumbs = append(v.Breadcrumbs, breadcrumbView{Time: c.Timestamp, OtherDay: !sameUTCDay(c.Timestamp, ev.Timestamp),
			Type: b.text(c.Type), Category: b.text(c.Category),
			Level: b.text(c.Level), Message: b.text(c.Message), Data: b.entryCompactJSON(c.Data)})
	}
	// The other threads come after everything but the JSON blocks: they
	// are context, and an event may hold a hundred of them.
	for i, th := range ev.Threads {
		if !b.item(i) {
			v.ThreadsCut = len(ev.Threads) - i
			break
		}
		v.Threads = append(v.Threads, threadView{ID: b.text(th.ID), Name: b.text(th.Name), Crashed: th.Crashed, Current: th.Current,
			Stack: newExceptionView(event.Exception{Frames: th.Frames, Annotations: th.Annotations}, b)})
	}
	// Frames' local variables are the first of the JSON blocks: they say
	// what the failing code was working on.
	v.eachFrame(func(f *frameView) { f.layOutVars(b) })
	// What the SDK said it did to values goes beside them, the variables
	// among them.
	if v.MessageStack != nil {
		v.MessageStack.annotate(b)
	}
	for i := range v.Exceptions {
		v.Exceptions[i].annotate(b)
	}
	for i := range v.Threads {
		v.Threads[i].Stack.annotate(b)
	}
	if u := ev.User; u != nil && v.User != nil {
		v.User.annotate(u.Annotations, b)
	}
	if rq := ev.Request; rq != nil {
		v.Request.layOutBody(rq, b)
		v.Request.annotate(rq.Annotations, b)
	}
	if u := ev.User; u != nil {
		v.User.Data = b.indentJSON(u.Data)
	}
	v.layOutContexts(ev.Contexts, b)
	v.Extra = b.indentJSON(ev.Extra)
	if a := ev.Annotations; a != nil {
		v.annotateBreadcrumbs(a.Breadcrumbs, b)
		v.annotateContexts(a.Contexts, b)
		v.annotateTags(a.Tags, b)
		eachAnnotation(a.Extra, b, func(a event.Annotation, text string) {
			v.ExtraNotes = append(v.ExtraNotes, b.text(pathNote(a.Path, text)))
		})
	}
	v.Minified = minified && v.Symbolicated
	v.JavaScript = v.Symbolicated || v.Unmapped > 0 || ev.Platform == "javascript" || ev.Platform == "node"
	return v
}

// eachFrame calls fn with every frame the page shows, in page order.
func (v *eventView) eachFrame(fn func(*frameView)) {
	stack := func(ex *exceptionView) {
		for i := range ex.Groups {
			for j := range ex.Groups[i].Frames {
				fn(&ex.Groups[i].Frames[j])
			}
		}
	}
	if v.MessageStack != nil {
		stack(v.MessageStack)
	}
	for i := range v.Exceptions {
		stack(&v.Exceptions[i])
	}
	for i := range v.Threads {
		stack(&v.Threads[i].Stack)
	}
}

// layOutVars takes the frame's variables from b: each an item of a list,
// its name as text and its value through the bounded JSON rendering extra
// and contexts use. Stored vars are an object (ingest makes them one); it
// is read member by member, never decoded whole.
func (f *frameView) layOutVars(b *budget) {
	raw := f.vars
	f.vars = nil
	if len(raw) == 0 {
		return
	}
	f.VarsCut, _ = b.eachMember(raw, func(name string, val json.RawMessage) {
		vv := varView{Name: b.text(name)}
		switch val[0] {
		case '{', '[':
			vv.Value, vv.Block = b.entryIndentJSON(val), true
			if vv.Value == "" {
				vv.Value = string(val) // "{}" or "[]": the indented form is ""
			}
		case 'n':
			vv.Value = "null"
		case '"':
			if vv.Value = b.entryCompactJSON(val); vv.Value == "" {
				vv.Value = `""`
			}
		default:
			vv.Value = b.entryCompactJSON(val)
		}
		f.Vars = append(f.Vars, vv)
	})
}

func newExceptionView(ex event.Exception, b *budget) exceptionView {
	v := exceptionView{Type: b.text(ex.Type), Value: b.text(ex.Value), Module: b.text(ex.Module), FrameCount: len(ex.Frames)}
	if m := ex.Mechanism; m != nil {
		v.Mechanism, v.Handled = b.text(m.Type), yesNo(m.Handled)
	}
	// When the SDK and the processor marked no frame in-app, every frame
	// is shown, since collapsing them all would hide the whole trace, but
	// none is badged as the application's: it is not.
	anyInApp := false
	for _, f := range ex.Frames {
		anyInApp = anyInApp || isInApp(f)
	}
	v.AnyInApp = anyInApp
	opened := false
	names := stacktrace.DisplayNames(ex.Frames)
	for i := range ex.Frames {
		if !b.item(i) {
			v.FramesCut = len(ex.Frames) - i
			break
		}
		j := len(ex.Frames) - 1 - i
		f := ex.Frames[j]
		fv := newFrameView(f, isInApp(f), b)
		if n := names[j]; n != "" && n != fv.File {
			fv.shorten(b.text(n))
		}
		library := anyInApp && !fv.InApp
		if !library && (len(fv.Code) > 0 || fv.vars != nil) && !opened {
			fv.Open, opened = true, true
		}
		if n := len(v.Groups); n == 0 || v.Groups[n-1].Library != library {
			v.Groups = append(v.Groups, frameGroup{Library: library})
		}
		g := &v.Groups[len(v.Groups)-1]
		g.Frames = append(g.Frames, fv)
	}
	if len(ex.Annotations) > 0 {
		v.anns, v.frameAt = ex.Annotations, map[int]*frameView{}
		j := len(ex.Frames)
		for g := range v.Groups {
			for k := range v.Groups[g].Frames {
				j--
				v.frameAt[j] = &v.Groups[g].Frames[k]
			}
		}
	}
	// The raw stack is shown only without frames; charging it otherwise
	// would spend the page on text nobody sees.
	if len(v.Groups) == 0 {
		v.RawStack = b.text(ex.RawStack)
	}
	return v
}

func isInApp(f event.Frame) bool { return f.InApp != nil && *f.InApp }

func newFrameView(f event.Frame, inApp bool, b *budget) frameView {
	v := frameView{Function: b.text(f.Function), Line: f.Lineno, Column: f.Colno, InApp: inApp}
	// A file before a module: sentry-go sends a Go frame's package as
	// its module and its file only as abs_path, and "main:39" says less
	// than "main.go:39". A module is the location of frames with no file.
	loc := cmp.Or(f.Filename, f.AbsPath, f.Module)
	v.Location = b.text(loc)
	// A native frame is where it is in an image: "main in crashy", or
	// unsymbolicated "0x55d0c0a011f0 in crashy + 0x11f0". (.NET's
	// package, an assembly name beside a file, says nothing more.)
	if f.Package != "" && (f.InstructionAddr != "" || loc == "") {
		v.Package = b.text(f.PackageName())
		if f.Package != f.PackageName() {
			v.PackagePath = b.text(f.Package)
		}
	}
	if f.Function == "" && f.InstructionAddr != "" {
		v.Address = b.text(f.InstructionAddr)
		if off, ok := f.ImageOffset(); ok && f.Package != "" {
			v.Offset = event.FormatAddr(off)
		}
	}
	if r, ok := unmappedReasons[f.Unmapped]; ok {
		v.Unmapped = &r
	}
	if len(f.Vars) > 0 && string(f.Vars) != "null" && string(f.Vars) != "{}" {
		v.vars = f.Vars
	}
	if loc == f.Filename || loc == f.AbsPath {
		v.File = v.Location
	}
	if f.AbsPath != "" && f.AbsPath != loc {
		v.AbsPath = b.text(f.AbsPath)
	}
	if f.ContextLine == "" && len(f.PreContext) == 0 && len(f.PostContext) == 0 {
		return v
	}
	// Line numbers count back from the frame's line; without one the
	// lines are shown unnumbered.
	number := func(offset int) int {
		if f.Lineno <= 0 || f.Lineno+offset <= 0 {
			return 0
		}
		return f.Lineno + offset
	}
	var lines []codeLine
	for i, line := range f.PreContext {
		lines = append(lines, codeLine{Number: number(i - len(f.PreContext)), Text: line})
	}
	lines = append(lines, codeLine{Number: number(0), Text: f.ContextLine, Current: true})
	for i, line := range f.PostContext {
		lines = append(lines, codeLine{Number: number(i + 1), Text: line})
	}
	for i, l := range lines {
		if !b.item(i) {
			v.CodeCut = len(lines) - i
			break
		}
		l.Text = b.text(l.Text)
		v.Code = append(v.Code, l)
	}
	return v
}

func yesNo(b *bool) string {
	switch {
	case b == nil:
		return ""
	case *b:
		return "yes"
	default:
		return "no"
	}
}

// Position formats a frame's position for its heading: "app.js:42:13".
func (f frameView) Position() string {
	s := f.Location
	if f.Line > 0 {
		s += ":" + strconv.Itoa(f.Line)
		if f.Column > 0 {
			s += ":" + strconv.Itoa(f.Column)
		}
	}
	return s
}

// sameUTCDay reports whether a and b fall on the same day in UTC.
func sameUTCDay(a, b time.Time) bool {
	ay, am, ad := a.UTC().Date()
	by, bm, bd := b.UTC().Date()
	return ay == by && am == bm && ad == bd
}
