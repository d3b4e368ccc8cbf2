package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"

	"github.com/getflytrap/flytrap/internal/event"
)

// flytrapKind is which of the two original Flytrap endpoints was called.
type flytrapKind int

const (
	flytrapError     flytrapKind = iota // POST /api/errors
	flytrapRejection                    // POST /api/rejections
)

// decodeFlytrap normalizes a body of the original Flytrap SDKs
// (flytrap-javascript, flytrap-express, flytrap_flask):
//
//	{"data": {"error": {"name", "message", "stack"}, "codeContexts": [...],
//	          "handled", "timestamp", "project_id", "method", "path", "ip",
//	          "os", "browser", "runtime"}}
//
// with "value" instead of "error" and "codeContexts" for rejections. It
// returns the project the body names; the caller checks it against the key.
// The text stack is kept raw for the processor to parse.
func (d *decoder) decodeFlytrap(kind flytrapKind, body []byte) (*event.Event, int64, error) {
	obj, err := parseJSONObject(body)
	if err != nil {
		return nil, 0, fmt.Errorf("the body is %v; Flytrap SDKs send {\"data\": {...}}", err)
	}
	data, ok := obj["data"].(map[string]any)
	if !ok {
		return nil, 0, fmt.Errorf("the body must be {\"data\": {...}}, but \"data\" is %s", jsonKind(obj["data"]))
	}
	pid, ok := flytrapProjectID(data["project_id"])
	if !ok {
		return nil, 0, fmt.Errorf("data.project_id must be the project's numeric ID, e.g. \"42\" (see the project's SDK settings); got %s", clamp(compactJSON(data["project_id"]), 64))
	}
	handled := d.boolPtr(at("data.handled"), data["handled"])
	ex := event.Exception{Mechanism: &event.Mechanism{Handled: handled}}
	switch kind {
	case flytrapError:
		e, ok := data["error"].(map[string]any)
		if !ok {
			return nil, 0, errors.New("data.error must be an object with name, message and stack")
		}
		ex.Type = d.str(at("data.error.name"), e["name"], maxName)
		if ex.Type == "" {
			// Whatever reached /api/errors was thrown; JavaScript's
			// base class is the honest default.
			ex.Type = "Error"
		}
		ex.Value = d.str(at("data.error.message"), e["message"], maxMessage)
		ex.RawStack = d.str(at("data.error.stack"), e["stack"], maxStack)
		ex.CodeContexts = d.codeContexts(data["codeContexts"])
		ex.Mechanism.Type = "onerror"
	case flytrapRejection:
		ex.Type = "UnhandledRejection"
		ex.Value = d.rejectionValue(data)
		ex.Mechanism.Type = "onunhandledrejection"
	}
	ev := &event.Event{
		EventID:    newEventID(),
		ProjectID:  pid,
		Source:     event.SourceFlytrap,
		Timestamp:  d.timestamp(data["timestamp"], 0),
		Received:   d.received,
		Platform:   flytrapPlatform(data, ex.RawStack),
		Level:      "error",
		Exceptions: []event.Exception{ex},
	}
	ev.Handled = event.FlagOf(handled)
	for _, k := range []string{"os", "browser", "runtime"} {
		// Read past the tag limit, so a value over it is dropped by the
		// rule every tag passes rather than cut to fit.
		v := strings.TrimSpace(d.str(at("data."+k), data[k], maxPath))
		if v == "" {
			continue
		}
		if why := event.TagValueProblem(v); why != "" {
			d.note("data.%s is not a tag: %s", k, why)
			continue
		}
		ev.Tags = append(ev.Tags, event.Tag{Key: k, Value: v})
	}
	method := strings.ToUpper(d.str(at("data.method"), data["method"], 32))
	path := d.str(at("data.path"), data["path"], maxPath)
	if method != "" || path != "" {
		ev.Request = &event.Request{Method: method, URL: path}
	}
	ip := firstForwardedIP(d.str(at("data.ip"), data["ip"], maxName))
	if h := d.hashIP(ip); h != "" {
		ev.User = &event.User{IPHash: h}
	}
	ev.LoopbackIP = isLoopback(ip)
	ev.Notes = d.finish()
	return ev, pid, nil
}

// flytrapProjectID accepts the string the SDKs send ("42") or a number.
func flytrapProjectID(v any) (int64, bool) {
	switch x := v.(type) {
	case string:
		return parseProjectID(strings.TrimSpace(x))
	case json.Number:
		return parseProjectID(string(x))
	}
	return 0, false
}

// rejectionValue renders the rejected value: strings as they are, anything
// else as JSON. JSON.stringify drops an undefined value, so a missing key
// means `Promise.reject()` / `reject(undefined)`.
func (d *decoder) rejectionValue(data map[string]any) string {
	v, ok := data["value"]
	if !ok {
		return "undefined"
	}
	return d.text(at("data.value"), v, maxMessage)
}

// codeContexts reads the source snippets the SDKs send per stack location.
func (d *decoder) codeContexts(v any) []event.CodeContext {
	items := d.list(at("data.codeContexts"), v)
	if len(items) > maxFrames {
		d.note("kept the first %d of %d code contexts", maxFrames, len(items))
		items = items[:maxFrames]
	}
	var out []event.CodeContext
	list := at("data.codeContexts")
	for i, it := range items {
		p := list.item(i)
		m := d.object(p, it)
		if m == nil {
			continue
		}
		c := event.CodeContext{
			File:   d.str(p.field(".file"), m["file"], maxPath),
			Line:   d.lineNumber(p.field(".line"), m["line"]),
			Column: d.lineNumber(p.field(".column"), m["column"]),
			// Unlimited here: the body is already bounded, and cutting
			// the encoded text would break its JSON; sourceText bounds
			// the decoded lines.
			Context: d.sourceText(p.field(".context"), d.str(p.field(".context"), m["context"], math.MaxInt)),
		}
		if c != (event.CodeContext{}) {
			out = append(out, c)
		}
	}
	return out
}

// maxSourceLines bounds a Flytrap code context: the SDKs send the frame's
// line and five either side, and the lines after the limit are dropped so
// the frame's line, counted from the start, stays where it was.
const maxSourceLines = 2*maxContextLines + 1

// sourceText normalizes a code context to plain source lines joined by
// "\n". The SDKs JSON-encode the lines once more before putting them in
// the JSON body (flytrap_flask calls json.dumps, the Express SDK
// JSON.stringify), so a context that is a JSON string literal is decoded;
// anything else, including a literal that does not decode, is taken as the
// source text itself, so a hand-written single line keeps working.
func (d *decoder) sourceText(path where, s string) string {
	if t := strings.TrimSpace(s); len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' {
		var decoded string
		if json.Unmarshal([]byte(t), &decoded) == nil {
			s = decoded
		}
	}
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	if len(lines) > maxSourceLines {
		lines = lines[:maxSourceLines]
	}
	for i, l := range lines {
		lines[i] = d.clamp(path, l, maxLine)
	}
	return strings.Join(lines, "\n")
}

// firstForwardedIP picks the client's address from an X-Forwarded-For
// value, which the Express and Flask SDKs send as is ("203.0.113.9,
// 10.0.0.1"): the first entry that is an IP address, optionally with a
// port. Without one, the text is returned unchanged, to be hashed as sent.
func firstForwardedIP(s string) string {
	for entry := range strings.SplitSeq(s, ",") {
		entry = strings.TrimSpace(entry)
		if a, err := netip.ParseAddr(entry); err == nil {
			return a.String()
		}
		if ap, err := netip.ParseAddrPort(entry); err == nil {
			return ap.Addr().String()
		}
	}
	return s
}

// flytrapPlatform names the SDK's language for the processor's stack
// parser and the UI: flytrap_flask sends Python tracebacks, the JavaScript
// SDKs a runtime of "Node.js vX" (server) or none (browser).
func flytrapPlatform(data map[string]any, stack string) string {
	runtime, _ := data["runtime"].(string)
	switch {
	case strings.HasPrefix(strings.TrimSpace(stack), "Traceback (most recent call last)"):
		return "python"
	case strings.HasPrefix(strings.ToLower(runtime), "node"):
		return "node"
	default:
		return "javascript"
	}
}
