package dashboard

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/stacktrace"
	"github.com/getflytrap/flytrap/internal/store"
)

// eventView is an event laid out for the issue page. Every string in it
// came from an SDK: the templates print them as text (html/template
// escapes them for their context) and link a URL only when httpURL
// accepts it.
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
	Breadcrumbs   []breadcrumbView
	User          *userView
	Request       *requestView
	Tags          []event.Tag
	Contexts      string // indented JSON
	Extra         string
	Notes         []string
	// Unreadable is set when the stored payload could not be decoded;
	// the row's columns are still shown.
	Unreadable bool
	// MessageStack holds the frames of a synthetic exception (the stack
	// an SDK attaches to a captured message), shown under the message
	// rather than as an exception.
	MessageStack *exceptionView
	// Lambda is the AWS Lambda invocation the event happened in.
	Lambda *lambdaView
}

// exceptionView is one exception of the chain.
type exceptionView struct {
	Type, Value, Module string
	Mechanism           string
	Handled             string
	RawStack            string
	// Groups are the frames, most recent call first, in runs of in-app
	// frames and of library frames; library runs render collapsed.
	Groups     []frameGroup
	FrameCount int
	// Cause is set on every exception but the outermost: it is what the
	// one above it was raised while handling.
	Cause bool
}

// frameGroup is a run of frames that are all in-app or all not.
type frameGroup struct {
	InApp  bool
	Frames []frameView
}

// frameView is one stack frame.
type frameView struct {
	Location string // file, else module, else absolute path
	AbsPath  string // shown when it adds to the file as sent
	Function string
	Package  string
	Line     int
	Column   int
	InApp    bool
	// Code is the source around the line, when the SDK or the source map
	// supplied it; Open says the frame starts expanded (the most recent
	// in-app frame).
	Code []codeLine
	Open bool
	// File is the frame's file as sent (its file name, else its absolute
	// path); Raw is set to it when Location shows a shorter form.
	File, Raw string
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
	Time     time.Time
	Type     string
	Category string
	Level    string
	Message  string
	Data     string // compact JSON
}

// userView is the affected user.
type userView struct {
	ID, Email, Username, IPHash string
	Data                        string
}

// requestView is the HTTP request the event happened in.
type requestView struct {
	Method      string
	URL         string
	QueryString string
	Headers     [][2]string
	Data        string
}

func newEventView(row store.EventRow) *eventView {
	v := &eventView{
		ID: row.EventID, Timestamp: row.Timestamp,
		Level: row.Level, Release: row.Release, Environment: row.Environment,
	}
	if d := row.Received.Sub(row.Timestamp); d > time.Second || d < -time.Second {
		rcv := row.Received
		v.ReceivedLater = &rcv
	}
	var ev event.Event
	if err := json.Unmarshal(row.Payload, &ev); err != nil {
		v.Unreadable = true
		return v
	}
	v.Platform, v.Dist, v.ServerName, v.Logger = ev.Platform, ev.Dist, ev.ServerName, ev.Logger
	v.Transaction, v.Message, v.Handled = ev.Transaction, ev.Message, yesNo(ev.Handled)
	if ev.SDK != nil {
		v.SDK = ev.SDK.Name
		if ev.SDK.Version != "" {
			v.SDK += " " + ev.SDK.Version
		}
	}
	for i := len(ev.Exceptions) - 1; i >= 0; i-- {
		if ev.Exceptions[i].Synthetic() && v.MessageStack == nil {
			ms := newExceptionView(ev.Exceptions[i])
			v.MessageStack = &ms
			if v.Message == "" {
				v.Message = ms.Value
			}
			continue
		}
		ex := newExceptionView(ev.Exceptions[i])
		ex.Cause = i < len(ev.Exceptions)-1
		v.Exceptions = append(v.Exceptions, ex)
	}
	for _, b := range ev.Breadcrumbs {
		v.Breadcrumbs = append(v.Breadcrumbs, breadcrumbView{Time: b.Timestamp, Type: b.Type, Category: b.Category,
			Level: b.Level, Message: b.Message, Data: compactJSON(b.Data)})
	}
	if u := ev.User; u != nil {
		v.User = &userView{ID: u.ID, Email: u.Email, Username: u.Username, IPHash: u.IPHash, Data: indentJSON(u.Data)}
	}
	if rq := ev.Request; rq != nil {
		v.Request = &requestView{Method: rq.Method, URL: rq.URL, QueryString: rq.QueryString, Headers: rq.Headers, Data: indentJSON(rq.Data)}
	}
	v.Tags, v.Notes = ev.Tags, ev.Notes
	v.Contexts, v.Extra = indentJSON(ev.Contexts), indentJSON(ev.Extra)
	v.Lambda = newLambdaView(ev.Lambda())
	return v
}

func newExceptionView(ex event.Exception) exceptionView {
	v := exceptionView{Type: ex.Type, Value: ex.Value, Module: ex.Module, RawStack: ex.RawStack, FrameCount: len(ex.Frames)}
	if m := ex.Mechanism; m != nil {
		v.Mechanism, v.Handled = m.Type, yesNo(m.Handled)
	}
	// When the SDK and the processor marked no frame in-app, every frame
	// is shown: collapsing them all would hide the whole trace.
	anyInApp := false
	for _, f := range ex.Frames {
		anyInApp = anyInApp || isInApp(f)
	}
	opened := false
	names := stacktrace.DisplayNames(ex.Frames)
	for i := len(ex.Frames) - 1; i >= 0; i-- {
		f := ex.Frames[i]
		fv := newFrameView(f, !anyInApp || isInApp(f))
		fv.shorten(names[i])
		if fv.InApp && len(fv.Code) > 0 && !opened {
			fv.Open, opened = true, true
		}
		if n := len(v.Groups); n == 0 || v.Groups[n-1].InApp != fv.InApp {
			v.Groups = append(v.Groups, frameGroup{InApp: fv.InApp})
		}
		g := &v.Groups[len(v.Groups)-1]
		g.Frames = append(g.Frames, fv)
	}
	return v
}

func isInApp(f event.Frame) bool { return f.InApp != nil && *f.InApp }

func newFrameView(f event.Frame, inApp bool) frameView {
	v := frameView{Function: f.Function, Package: f.Package, Line: f.Lineno, Column: f.Colno, InApp: inApp, File: f.Filename}
	if v.File == "" {
		v.File = f.AbsPath
	}
	switch {
	case f.Filename != "":
		v.Location = f.Filename
	case f.Module != "":
		v.Location = f.Module
	default:
		v.Location = f.AbsPath
	}
	if f.AbsPath != "" && f.AbsPath != v.Location {
		v.AbsPath = f.AbsPath
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
	for i, line := range f.PreContext {
		v.Code = append(v.Code, codeLine{Number: number(i - len(f.PreContext)), Text: line})
	}
	v.Code = append(v.Code, codeLine{Number: number(0), Text: f.ContextLine, Current: true})
	for i, line := range f.PostContext {
		v.Code = append(v.Code, codeLine{Number: number(i + 1), Text: line})
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

// indentJSON pretty-prints raw JSON for a <pre>; "" for empty or null.
func indentJSON(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	return reencode(raw, "  ")
}

// compactJSON is raw JSON on one line, for a table cell. A string value is
// shown without its quotes.
func compactJSON(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" || string(raw) == "{}" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return reencode(raw, "")
}

// reencode formats JSON for reading. Stored payloads escape <, > and & as
// \u003c and so on (encoding/json's default); decoding and encoding again
// without that escaping shows the characters themselves, which the
// template then escapes for HTML. Objects come out with sorted keys.
func reencode(raw json.RawMessage, indent string) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep big integers and exact decimals as sent
	var v any
	if err := dec.Decode(&v); err != nil {
		return string(raw)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return string(raw)
	}
	return strings.TrimSuffix(b.String(), "\n")
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
