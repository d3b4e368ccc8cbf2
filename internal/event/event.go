// Package event defines the normalized event model that every wire format is
// decoded into and that the processor, store and API share.
package event

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Source says which wire format an event arrived in.
type Source string

// The wire formats ingest accepts.
const (
	SourceSentry  Source = "sentry"
	SourceFlytrap Source = "flytrap"
)

// CurrentShape is the Shape this release's ingest gives the events it
// queues. A queue message an older release queued (an upgrade while events
// wait) holds only what that ingest kept: before shape 1 no mechanism tree
// of an exception group, no native frame of an address alone, no log
// template beside the text. Today's grouping then gives it another hash
// than the one today's ingest gives the same error, and the processor
// tells the store so (store.SaveRequest.FromOlderIngest). Bump it when
// ingest starts keeping a field that grouping reads.
const CurrentShape uint8 = 1

// Event is one occurrence of an error, normalized from any supported SDK.
// Everything in it came from an SDK and is untrusted.
type Event struct {
	EventID     string    `json:"event_id"` // 32 lowercase hex characters
	ProjectID   int64     `json:"project_id"`
	Source      Source    `json:"source"`
	Timestamp   time.Time `json:"timestamp"`
	Received    time.Time `json:"received"`
	Platform    string    `json:"platform,omitempty"`
	Level       string    `json:"level"` // fatal, error, warning, info, debug
	Logger      string    `json:"logger,omitempty"`
	Message     string    `json:"message,omitempty"` // logentry.formatted, else logentry.message (a template when sent with params)
	Transaction string    `json:"transaction,omitempty"`
	Release     string    `json:"release,omitempty"`
	Dist        string    `json:"dist,omitempty"`
	Environment string    `json:"environment,omitempty"`
	ServerName  string    `json:"server_name,omitempty"`
	// Site is the legacy site attribute, which Sentry keeps only as the
	// site tag.
	Site string `json:"site,omitempty"`
	// MessageFormatted is the text of a log message sent as a template
	// and params: the SDK's own (see MessageFormattedBySDK), else Message
	// with MessageParams filled in by ingest, as Sentry's Relay does; empty
	// otherwise. Titles and pages show it in place of Message (see Text),
	// while grouping masks Message, the template, so that every rendering
	// of one template is one issue.
	MessageFormatted string `json:"message_formatted,omitempty"`
	// MessageFormattedBySDK says MessageFormatted is the text the SDK sent
	// beside its template and params (logentry.formatted), which Message
	// held before grouping version 2026-12d. Ingest's filling-in looks the
	// same, so without this mark grouping.Previous could not tell which
	// text those versions grouped such an event by.
	MessageFormattedBySDK bool `json:"message_formatted_by_sdk,omitempty"`
	// SessionsOnly marks a queue message that carries Sessions or Crons
	// and nothing else: no error to store. It sits beside the other bool
	// so that the two share a word: Event stays within 568 bytes, which
	// with the allocator's 8-byte header fit its 576-byte size class.
	SessionsOnly bool `json:"sessions_only,omitempty"`
	// Handled is FlagNo for crashes the SDK caught globally, FlagUnknown
	// when unknown. A Flag rather than a *bool shares the bools' word,
	// which leaves room for Annotations within the size class.
	Handled Flag `json:"handled,omitempty"`
	// Shape is the revision of ingest's normalization that made the event:
	// CurrentShape when this release's ingest queued it, 0 when a release
	// before shapes were counted did. See CurrentShape.
	Shape uint8 `json:"shape,omitempty"`
	// LoopbackIP is set by ingest when the user's IP address, which it
	// keeps only hashed, or the request's X-Forwarded-For header, which it
	// does not keep, was 127.0.0.1 or ::1, for the localhost inbound
	// filter (internal/inbound). It sits with the other small fields (see
	// SessionsOnly).
	LoopbackIP bool `json:"loopback_ip,omitempty"`
	// MessageParams are logentry.params as the SDK sent them (a list for
	// "%s" and "{}", an object for "%(name)s" and "{name}"), whether or not
	// they fitted the template.
	MessageParams json.RawMessage `json:"message_params,omitempty"`
	// SDKCulprit is the culprit the SDK named, if any; the issue takes it
	// in place of the computed Culprit, as Sentry does.
	SDKCulprit string `json:"culprit,omitempty"`
	// Fingerprint is the SDK's custom grouping key; "{{ default }}" stands
	// for the default grouping components.
	Fingerprint []string    `json:"fingerprint,omitempty"`
	Tags        []Tag       `json:"tags,omitempty"`
	User        *User       `json:"user,omitempty"`
	Exceptions  []Exception `json:"exceptions,omitempty"`
	// MainExceptionID is the Mechanism.ExceptionID of the exception that
	// titles the issue when grouping picked one other than the outermost:
	// the one kind of error an exception group holds, as Sentry's
	// main_exception_id (see grouping.Result.MainExceptionID). Nil
	// otherwise.
	MainExceptionID *int `json:"main_exception_id,omitempty"`
	// Threads are the process's threads other than those whose stacks
	// went to an exception: shown beside the crash (a deadlock, an ANR),
	// never part of its grouping.
	Threads     []Thread        `json:"threads,omitempty"`
	Breadcrumbs []Breadcrumb    `json:"breadcrumbs,omitempty"`
	Request     *Request        `json:"request,omitempty"`
	Contexts    json.RawMessage `json:"contexts,omitempty"`
	Extra       json.RawMessage `json:"extra,omitempty"`
	SDK         *SDK            `json:"sdk,omitempty"`
	// Notes are processing remarks shown with the event (e.g. "no source map
	// for app.min.js"), never errors that stopped processing.
	Notes []string `json:"notes,omitempty"`
	// Annotations are what the SDK's _meta said of the event's extra,
	// contexts, tags and breadcrumbs; nil when it said nothing, which a pointer
	// keeps cheap (see SessionsOnly). The request, the user and the
	// exceptions carry their own.
	Annotations *Annotations `json:"annotations,omitempty"`
	// Feedback is set, and the error fields above are empty, on a queue
	// message of user feedback: it travels through the queue as an event
	// does, so it is as durable, and the processor stores it as feedback
	// rather than as an occurrence of an issue.
	Feedback *Feedback `json:"feedback,omitempty"`
	// Sessions are the release-health session updates and aggregates of
	// an envelope. On a message of its own (an envelope of sessions
	// alone) the error fields above are empty; beside an envelope's
	// error event they ride on its message, so that reporting an error
	// and the session it ended costs one queue message.
	Sessions *Sessions `json:"sessions,omitempty"`
	// Crons are an envelope's cron monitor check-ins; like Sessions they
	// ride on its first event's message or on one of their own. A
	// pointer keeps Event in its allocation size class (see
	// SessionsOnly), so that events without check-ins cost no more.
	Crons *Crons `json:"crons,omitempty"`
}

// Flag is a yes or no that may be unknown, in one byte. Its JSON is true,
// false, or nothing (omitempty) when unknown.
type Flag uint8

// A Flag's values.
const (
	FlagUnknown Flag = iota
	FlagNo
	FlagYes
)

// FlagOf is b as a Flag: FlagUnknown for nil.
func FlagOf(b *bool) Flag {
	switch {
	case b == nil:
		return FlagUnknown
	case *b:
		return FlagYes
	default:
		return FlagNo
	}
}

// String is "yes", "no", or "" when unknown.
func (f Flag) String() string {
	switch f {
	case FlagYes:
		return "yes"
	case FlagNo:
		return "no"
	default:
		return ""
	}
}

// MarshalJSON writes true or false; omitempty leaves out FlagUnknown.
func (f Flag) MarshalJSON() ([]byte, error) {
	if f == FlagUnknown {
		return []byte("null"), nil
	}
	return strconv.AppendBool(nil, f == FlagYes), nil
}

// UnmarshalJSON reads true, false or null (FlagUnknown).
func (f *Flag) UnmarshalJSON(b []byte) error {
	var v *bool
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = FlagOf(v)
	return nil
}

// Annotations are the SDK's _meta notes on an event's extra, contexts,
// tags and breadcrumbs, each path from the root of its interface: a tag's
// is its key, a breadcrumb's starts with its index in Breadcrumbs.
type Annotations struct {
	Extra       []Annotation `json:"extra,omitempty"`
	Tags        []Annotation `json:"tags,omitempty"`
	Contexts    []Annotation `json:"contexts,omitempty"`
	Breadcrumbs []Annotation `json:"breadcrumbs,omitempty"`
}

// Crons are what ingest keeps of an envelope's check_in items.
type Crons struct {
	CheckIns []CheckIn `json:"check_ins"`
}

// Sessions are what ingest keeps of an envelope's session and sessions
// items: only what release health counts.
type Sessions struct {
	Updates    []SessionUpdate    `json:"updates,omitempty"`
	Aggregates []SessionAggregate `json:"aggregates,omitempty"`
}

// Session statuses as SDKs send them.
const (
	SessionOK       = "ok"
	SessionExited   = "exited"
	SessionErrored  = "errored"
	SessionCrashed  = "crashed"
	SessionAbnormal = "abnormal"
)

// SessionUpdate is one session item: the state of one session (SID) at one
// moment. SDKs send several per session, the first with Init set.
type SessionUpdate struct {
	Release     string `json:"release"`
	Environment string `json:"environment,omitempty"`
	// Started is when the session started; every update of a session
	// carries the same, so its counts all go to one hour.
	Started time.Time `json:"started"`
	// SID identifies the session, DID (a salted hash of what the SDK
	// sent) its user; DID is empty for none.
	SID    string `json:"sid"`
	DID    string `json:"did,omitempty"`
	Init   bool   `json:"init,omitempty"`
	Status string `json:"status"`
	// Errored is true when the session has had an error: errors > 0, or
	// a status of errored, crashed or abnormal.
	Errored bool `json:"errored,omitempty"`
}

// SessionAggregate is one entry of a sessions item: how many sessions of a
// release and environment that started in one period (a minute in the
// JavaScript SDKs) ended in each way. Server SDKs send these instead of a
// session per request.
type SessionAggregate struct {
	Release     string    `json:"release"`
	Environment string    `json:"environment,omitempty"`
	Started     time.Time `json:"started"`
	DID         string    `json:"did,omitempty"`
	Exited      int64     `json:"exited,omitempty"`
	Errored     int64     `json:"errored,omitempty"`
	Crashed     int64     `json:"crashed,omitempty"`
	Abnormal    int64     `json:"abnormal,omitempty"`
}

// Feedback is what a user wrote about a problem: Sentry's feedback item
// (contexts.feedback of an event of type "feedback", sent by
// captureFeedback and the feedback widget) or its legacy user_report.
type Feedback struct {
	Message string `json:"message"`
	Name    string `json:"name,omitempty"`
	Email   string `json:"email,omitempty"`
	// URL is the page the user was on.
	URL string `json:"url,omitempty"`
	// AssociatedEventID is the error event the feedback is about (32
	// lowercase hex digits), empty for feedback about nothing in
	// particular.
	AssociatedEventID string `json:"associated_event_id,omitempty"`
	// Source is how it was given: the SDK's "api" or "widget",
	// "user_report" for the legacy item, or "crash_report_embed_form" for
	// the crash-report dialog ingest serves to showReportDialog.
	Source string `json:"source,omitempty"`
}

// MaxFeedbackMessage is the most characters of a feedback message kept,
// Sentry's limit.
const MaxFeedbackMessage = 4096

// Tag is one key/value pair; a list keeps the SDK's order and allows the
// list-of-pairs form older SDKs send.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// User identifies who was affected. Raw IP addresses are never stored:
// IPHash is a salted hash, or empty when IP collection is disabled.
type User struct {
	ID       string          `json:"id,omitempty"`
	Email    string          `json:"email,omitempty"`
	Username string          `json:"username,omitempty"`
	IPHash   string          `json:"ip_hash,omitempty"`
	Data     json.RawMessage `json:"data,omitempty"`
	// Annotations are what the SDK's _meta said of the user's values (see
	// Request.Annotations).
	Annotations []Annotation `json:"annotations,omitempty"`
}

// Exception is one error in a chain; the last one is the outermost, as in
// the Sentry protocol.
type Exception struct {
	Type      string     `json:"type,omitempty"`
	Value     string     `json:"value,omitempty"`
	Module    string     `json:"module,omitempty"`
	Mechanism *Mechanism `json:"mechanism,omitempty"`
	// RawStack is a text stack trace (Flytrap SDKs) not yet parsed into
	// Frames; the processor parses it and keeps it for display.
	RawStack string `json:"raw_stack,omitempty"`
	// CodeContexts are source lines the Flytrap SDKs send beside a text
	// stack; the processor attaches them to the matching frames.
	CodeContexts []CodeContext `json:"code_contexts,omitempty"`
	Frames       []Frame       `json:"frames,omitempty"`
	// RawFrames are the frames as the SDK sent them (minified), set only
	// when symbolication rewrote Frames; like Sentry's raw_stacktrace
	// beside stacktrace, so the original positions are never lost and
	// symbolication can run again from them.
	RawFrames []Frame `json:"raw_frames,omitempty"`
	// Annotations are what the SDK's _meta said of the exception's type
	// and value and of its frames' values (see Request.Annotations): a
	// frame's under "frames" and its index in Frames, which RawFrames
	// shares. They live here rather than on Frame, which every stack of
	// every event holds many of.
	Annotations []Annotation `json:"annotations,omitempty"`
}

// Thread is one thread of the process at the time of the event.
type Thread struct {
	ID      string  `json:"id,omitempty"`
	Name    string  `json:"name,omitempty"`
	Crashed bool    `json:"crashed,omitempty"`
	Current bool    `json:"current,omitempty"`
	Frames  []Frame `json:"frames,omitempty"`
	// Annotations are what the SDK's _meta said of the thread's frames'
	// values, as an exception's (see Exception.Annotations): under
	// "frames" and the frame's index in Frames.
	Annotations []Annotation `json:"annotations,omitempty"`
}

// CodeContext is the source a Flytrap SDK captured for a stack location.
type CodeContext struct {
	// File is as the SDK sent it: a path (server SDKs) or, from the
	// browser SDKs, the stack line up to the line number, such as
	// "at renderCart (http://host/app.js".
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
	// Context is plain source text, lines separated by "\n": ingest
	// removes the extra JSON encoding the SDKs apply. The SDKs send lines
	// Line-5 through Line+5, clamped at the file's start and end; the
	// processor splits them into the frame's pre_context, context_line
	// and post_context by Line. One line is the frame's line itself.
	Context string `json:"context,omitempty"`
}

// Mechanism says how an exception was captured.
type Mechanism struct {
	Type    string `json:"type,omitempty"`
	Handled *bool  `json:"handled,omitempty"`
	// Synthetic marks an exception the SDK made up to carry a stack, such
	// as the one captureMessage attaches: its type (often absent, or a
	// signal name) says nothing about the error.
	Synthetic bool `json:"synthetic,omitempty"`
	// ExceptionID and ParentID place the exception in a tree: the SDKs
	// that send exception groups (Python's ExceptionGroup, JavaScript's
	// AggregateError, .NET's AggregateException) and chains with IDs number
	// every exception of the event, 0 for the one raised, and give the
	// others the number of the exception that holds them. Nil when not sent.
	ExceptionID *int `json:"exception_id,omitempty"`
	ParentID    *int `json:"parent_id,omitempty"`
	// IsExceptionGroup marks an exception whose children (those with its
	// ExceptionID as their ParentID) are siblings that happened together,
	// not causes of each other.
	IsExceptionGroup bool `json:"is_exception_group,omitempty"`
	// Source is where the parent holds the exception: "__cause__",
	// "__context__", "cause", "errors[1]", "exceptions[0]".
	Source string `json:"source,omitempty"`
}

// Synthetic reports whether the SDK made the exception up to carry a stack
// (see Mechanism.Synthetic).
func (ex *Exception) Synthetic() bool {
	return ex.Mechanism != nil && ex.Mechanism.Synthetic
}

// Frame is one stack frame, ordered oldest call first (Sentry order).
type Frame struct {
	Filename    string   `json:"filename,omitempty"`
	AbsPath     string   `json:"abs_path,omitempty"`
	Function    string   `json:"function,omitempty"`
	Module      string   `json:"module,omitempty"`
	Package     string   `json:"package,omitempty"`
	Lineno      int      `json:"lineno,omitempty"`
	Colno       int      `json:"colno,omitempty"`
	InApp       *bool    `json:"in_app,omitempty"`
	ContextLine string   `json:"context_line,omitempty"`
	PreContext  []string `json:"pre_context,omitempty"`
	PostContext []string `json:"post_context,omitempty"`
	// Vars are the frame's local variables as the SDK sent them
	// (sentry-python, PHP, Java, Ruby, sentry-go with
	// IncludeLocalVariables): a JSON object of name to value, trimmed by
	// ingest like extra and scrubbed like it. Shown with the frame, never
	// part of its grouping.
	Vars json.RawMessage `json:"vars,omitempty"`
	// DebugID links a minified frame to its source map (symbolication).
	DebugID string `json:"debug_id,omitempty"`
	// Unmapped says why symbolication left this frame of minified
	// JavaScript as it was (one of the Unmapped* reasons); empty for a
	// frame it mapped or did not try.
	Unmapped string `json:"unmapped,omitempty"`
	// OriginalFunction says symbolication found Function to be the
	// original source's name, though it may be the name the SDK sent:
	// named by its declaration in the uploaded minified file, or a name
	// the minifier kept (a method's). Grouping then counts it (see
	// grouping's scopeNames rule).
	OriginalFunction bool `json:"original_function,omitempty"`
	// InstructionAddr is where a native frame (sentry-native, Cocoa, Rust
	// or C++ without debug info) was executing; SymbolAddr is the start of
	// its function and ImageAddr where its image (Package, the binary or
	// library) was loaded. All three are lowercase hex ("0x1a2b"). An
	// AddrMode of "rel:N" says the addresses are relative to the N-th
	// debug image rather than absolute ("abs", the default). Ingest fills
	// Package and ImageAddr from the event's debug images when the SDK
	// left them out (see ImageOffset).
	InstructionAddr string `json:"instruction_addr,omitempty"`
	SymbolAddr      string `json:"symbol_addr,omitempty"`
	ImageAddr       string `json:"image_addr,omitempty"`
	AddrMode        string `json:"addr_mode,omitempty"`
	// PathInApp is what the in-app stage's path rules say of a frame the
	// SDK did not flag but that it judged by its package instead (a native
	// frame, see stacktrace.MarkInApp), set only when the two disagree.
	// Grouping versions before 2026-12d saw the path rules' verdict, and
	// once InApp is set nothing else tells a verdict by package from the
	// SDK's own flag, so grouping.Previous needs it to find their issues.
	PathInApp *bool `json:"path_in_app,omitempty"`
}

// ImageOffset is a native frame's instruction address relative to the
// start of its image. Unlike the absolute address, which address space
// layout randomization moves on every run, it is the same in every run of
// one build. ok is false when the frame has no address or its image's is
// unknown.
func (f *Frame) ImageOffset() (offset uint64, ok bool) {
	addr, ok := ParseAddr(f.InstructionAddr)
	if !ok {
		return 0, false
	}
	if strings.HasPrefix(f.AddrMode, "rel:") {
		return addr, true
	}
	img, ok := ParseAddr(f.ImageAddr)
	if !ok || addr < img {
		return 0, false
	}
	return addr - img, true
}

// PackageName is the file name of the frame's package, without its
// directory: "libfoo.so" for "/usr/lib/libfoo.so", "UIKit" for
// "/System/Library/Frameworks/UIKit.framework/UIKit".
func (f *Frame) PackageName() string {
	p := strings.TrimRight(f.Package, `/\`)
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

// ParseAddr reads an address as the Sentry protocol writes it: hex with a
// "0x" prefix, or decimal.
func ParseAddr(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	base := 10
	if h, ok := strings.CutPrefix(s, "0x"); ok {
		s, base = h, 16
	} else if h, ok := strings.CutPrefix(s, "0X"); ok {
		s, base = h, 16
	}
	n, err := strconv.ParseUint(s, base, 64)
	return n, err == nil
}

// FormatAddr writes an address as Frame's fields hold it.
func FormatAddr(n uint64) string { return "0x" + strconv.FormatUint(n, 16) }

// Why a frame could not be mapped to its original source (Frame.Unmapped).
const (
	// UnmappedNoMap: no uploaded source map matches the frame's file.
	UnmappedNoMap = "no_map"
	// UnmappedOtherFile: the map found by release or file name says it
	// belongs to a different minified file.
	UnmappedOtherFile = "other_file"
	// UnmappedOutOfRange: the map has no mapping at the frame's line and
	// column, or the minified file uploaded with it has no such line or
	// column: the frame is of another build.
	UnmappedOutOfRange = "out_of_range"
	// UnmappedBrokenMap: the map could not be read (not JSON, not a
	// version 3 source map, too large, or mappings that point outside it).
	UnmappedBrokenMap = "broken_map"
	// UnmappedAmbiguous: only the file name matched, and several files
	// of one release with different maps match it equally well.
	UnmappedAmbiguous = "ambiguous_map"
)

// Breadcrumb is one step the application took before the event.
type Breadcrumb struct {
	Timestamp time.Time       `json:"timestamp,omitempty"`
	Type      string          `json:"type,omitempty"`
	Category  string          `json:"category,omitempty"`
	Level     string          `json:"level,omitempty"`
	Message   string          `json:"message,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
}

// Request describes the HTTP request being handled when the event happened.
type Request struct {
	Method      string          `json:"method,omitempty"`
	URL         string          `json:"url,omitempty"`
	QueryString string          `json:"query_string,omitempty"`
	Headers     [][2]string     `json:"headers,omitempty"`
	Data        json.RawMessage `json:"data,omitempty"`
	// Annotations are what the SDK's _meta said of the request's values:
	// that it removed, replaced or cut them before sending, and why.
	Annotations []Annotation `json:"annotations,omitempty"`
}

// Annotation is an SDK's _meta note on one value: the first of its
// remarks, and the value's length before the SDK cut or removed it.
type Annotation struct {
	// Path leads to the value from the annotated interface's root (for a
	// request: "data", "bam"), list indexes in decimal.
	Path []string `json:"path"`
	// Rule is the remark's rule: !raw, !config, !limit (the SDK's own), or
	// a data scrubbing rule such as @password.
	Rule string `json:"rule,omitempty"`
	// Type is the remark's kind, as in Sentry: x removed, s substituted,
	// m masked, p pseudonymized, e encrypted, a annotated.
	Type string `json:"type,omitempty"`
	// Len is the value's original length, 0 when the SDK gave none.
	Len int `json:"len,omitempty"`
}

// FormBody reports whether the request's Content-Type header says its
// body is a form (application/x-www-form-urlencoded): scrubbing reads it
// pair by pair then, and the dashboard shows it as fields.
func (r *Request) FormBody() bool {
	for _, h := range r.Headers {
		if strings.EqualFold(strings.TrimSpace(h[0]), "Content-Type") {
			mt, _, _ := strings.Cut(h[1], ";")
			return strings.EqualFold(strings.TrimSpace(mt), "application/x-www-form-urlencoded")
		}
	}
	return false
}

// SDK names the client library that sent the event.
type SDK struct {
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
}

// Levels in order of severity; the first is the default.
var Levels = []string{"error", "fatal", "warning", "info", "debug"}

// ValidLevel reports whether l is one of Levels.
func ValidLevel(l string) bool {
	for _, v := range Levels {
		if v == l {
			return true
		}
	}
	return false
}

// Tag returns the value of the first tag with key k.
func (e *Event) Tag(k string) (string, bool) {
	for _, t := range e.Tags {
		if t.Key == k {
			return t.Value, true
		}
	}
	return "", false
}

// Text is the message as titles and pages show it: MessageFormatted when
// ingest filled the params into a template, else Message.
func (e *Event) Text() string {
	if e.MessageFormatted != "" {
		return e.MessageFormatted
	}
	return e.Message
}

// MaxTitleText is how many characters of an exception value or a message
// an issue title keeps, as in Sentry (ErrorEvent.compute_title).
const MaxTitleText = 100

// Title is the issue title: "Type: value" of the main exception (see
// MainException), else the message. A synthetic exception's type names no error, so such an
// event is titled by its message, else by the exception's value. A Lambda
// timeout (see LambdaTimeout) is "Lambda timeout: FUNCTION", whatever the
// SDK or runtime worded it as.
//
// A title is one line, for lists, alerts and page titles: of a multi-line
// value or message (errors.Join, pydantic and SQL errors, Cocoa crashes)
// it takes the first line that is not blank, cut to MaxTitleText
// characters, as Sentry does. The event keeps the whole text.
func (e *Event) Title() string {
	if fn, ok := e.LambdaTimeout(); ok {
		return "Lambda timeout: " + fn
	}
	if i := e.MainException(); i >= 0 {
		ex := e.Exceptions[i]
		if ex.Synthetic() {
			ex.Type = ""
			if m := e.Text(); m != "" {
				ex.Value = m
			}
		}
		typ, value := firstLine(ex.Type), TitleLine(ex.Value)
		switch {
		case typ != "" && value != "":
			return typ + ": " + value
		case typ != "":
			return typ
		case value != "":
			return value
		}
	}
	if m := TitleLine(e.Text()); m != "" {
		return m
	}
	return "<unlabeled event>"
}

// MainException is the index in Exceptions of the exception that titles
// the event: the one MainExceptionID names, else the outermost; -1 when
// there is none.
func (e *Event) MainException() int {
	if id := e.MainExceptionID; id != nil {
		for i, ex := range e.Exceptions {
			if m := ex.Mechanism; m != nil && m.ExceptionID != nil && *m.ExceptionID == *id {
				return i
			}
		}
	}
	return len(e.Exceptions) - 1
}

// CulpritException is the index in Exceptions of the exception whose
// frames name the culprit: the main exception (see MainException), or the
// outermost when the main one has no frames, as a child of a Python
// exception group that was never raised; -1 when there is none.
func (e *Event) CulpritException() int {
	i := e.MainException()
	if i >= 0 && len(e.Exceptions[i].Frames) == 0 {
		return len(e.Exceptions) - 1
	}
	return i
}

// Culprit is where the error happened: the transaction if the SDK named one,
// else the innermost in-app frame (or innermost frame) of the culprit
// exception (see CulpritException).
func (e *Event) Culprit() string {
	if e.Transaction != "" {
		return e.Transaction
	}
	if i := e.CulpritException(); i >= 0 {
		frames := e.Exceptions[i].Frames
		pick := -1
		for i := len(frames) - 1; i >= 0; i-- {
			if frames[i].InApp != nil && *frames[i].InApp {
				pick = i
				break
			}
		}
		if pick < 0 && len(frames) > 0 {
			pick = len(frames) - 1
		}
		if pick >= 0 {
			f := frames[pick]
			loc := f.Module
			if loc == "" {
				loc = f.Filename
			}
			if loc == "" {
				loc = f.AbsPath
			}
			if loc == "" {
				// A native frame is in its image: "crashy in main", or
				// unsymbolicated "crashy + 0x11f0".
				loc = f.PackageName()
				if off, ok := f.ImageOffset(); ok && loc != "" && f.Function == "" {
					loc += " + " + FormatAddr(off)
				}
			}
			switch {
			case loc != "" && f.Function != "":
				return loc + " in " + f.Function
			case loc != "":
				return loc
			default:
				return f.Function
			}
		}
	}
	return ""
}

// Check-in statuses: the three SDKs send, and the two Flytrap writes for a
// monitor that did not check in on time or ran too long.
const (
	CheckInInProgress = "in_progress"
	CheckInOK         = "ok"
	CheckInError      = "error"
	CheckInMissed     = "missed"
	CheckInTimeout    = "timeout"
)

// CheckIn is one check_in envelope item (Sentry Crons): a run of a
// scheduled job starting (in_progress) or ending (ok, error). An
// in_progress check-in is finished by a later one with the same ID.
type CheckIn struct {
	// ID is the SDK's check_in_id, 32 lowercase hex digits.
	ID string `json:"id"`
	// Slug names the monitor in its project: lowercase letters, digits,
	// '-' and '_', at most 50 characters, as Sentry keeps it.
	Slug string `json:"slug"`
	// LegacySlug is the slug earlier releases, which dropped non-ASCII
	// letters, made of the same monitor_slug, when it differs from Slug
	// ("caf" for "Café"): the store renames the project's monitor of that
	// slug to Slug rather than let it go missed after an upgrade.
	LegacySlug string `json:"legacy_slug,omitempty"`
	Status     string `json:"status"`
	// Duration is the run's length in seconds as the SDK measured it;
	// nil when it sent none.
	Duration    *float64 `json:"duration,omitempty"`
	Release     string   `json:"release,omitempty"`
	Environment string   `json:"environment,omitempty"`
	// Config, sent with the check-in, creates the monitor or replaces
	// its settings.
	Config *MonitorConfig `json:"config,omitempty"`
	// Received is when ingest received it (moved by no clock drift:
	// schedules are judged by the server's clock).
	Received time.Time `json:"received"`
}

// Monitor schedule types.
const (
	ScheduleCrontab  = "crontab"
	ScheduleInterval = "interval"
)

// MonitorConfig is a check-in's monitor_config, validated by ingest.
type MonitorConfig struct {
	// ScheduleType is ScheduleCrontab, with Crontab a standard five-field
	// expression, or ScheduleInterval, every Interval Unit (minute, hour,
	// day, week, month or year).
	ScheduleType string `json:"schedule_type"`
	Crontab      string `json:"crontab,omitempty"`
	Interval     int64  `json:"interval,omitempty"`
	Unit         string `json:"unit,omitempty"`
	// MarginMinutes is how late a check-in may arrive before the run
	// counts as missed; MaxRuntimeMinutes how long a run may stay
	// in_progress before it counts as timed out.
	MarginMinutes     int64 `json:"margin_minutes"`
	MaxRuntimeMinutes int64 `json:"max_runtime_minutes"`
	// Timezone is the IANA zone a crontab is read in; "" is UTC.
	Timezone string `json:"timezone,omitempty"`
	// FailureThreshold is how many failures in a row make the monitor
	// failing, RecoveryThreshold how many oks in a row make it ok again.
	FailureThreshold  int64 `json:"failure_threshold"`
	RecoveryThreshold int64 `json:"recovery_threshold"`
}
