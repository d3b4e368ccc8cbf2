package dashboard

import (
	"bytes"
	"encoding/json"
	"net/url"
	"slices"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/getflytrap/flytrap/internal/event"
)

// Key/value data: the request body and the contexts are shown as Sentry
// shows them, a list of fields, rather than as one block of JSON. They are
// read at render time from the stored (scrubbed) event, member by member
// through the page's budget, as frames' variables are.

// layOutBody takes the request's body from b: the fields of a JSON object
// or a form body when it is one, else the body as it was sent.
func (r *requestView) layOutBody(rq *event.Request, b *budget) {
	raw := bytes.TrimSpace(rq.Data)
	if len(raw) == 0 || string(raw) == "null" {
		return
	}
	if raw[0] == '"' {
		// SDKs send a body they did not parse (sentry-go's, any JSON or
		// form body) as a string.
		s, ok := decodeString(raw)
		if !ok {
			r.Data = b.text(string(raw))
			return
		}
		t := strings.TrimSpace(s)
		switch {
		case t == "":
			return
		case t[0] == '{':
			if rows, cut, ok := b.members([]byte(t)); ok {
				r.Body, r.BodyCut = rows, cut
				return
			}
		case t[0] == '[' && json.Valid([]byte(t)):
			r.Data = b.indentJSON([]byte(t))
			return
		}
		if isForm(t, rq.FormBody()) {
			r.Body, r.BodyCut = b.formFields(t)
			return
		}
		r.Data = b.text(s)
		return
	}
	if rows, cut, ok := b.members(raw); ok {
		r.Body, r.BodyCut = rows, cut
		return
	}
	r.Data = b.indentJSON(raw)
}

// layOutContexts takes the event's contexts from b, a card each: an
// object's members as its fields, any other value as the one field named
// by the context's key.
func (v *eventView) layOutContexts(raw json.RawMessage, b *budget) {
	v.ContextsCut, _ = b.eachMember(raw, func(name string, val json.RawMessage) {
		c := contextView{Title: contextTitle(name, val), name: name}
		if c.Title == name {
			c.Title = b.text(name)
		}
		rows, cut, ok := b.members(val)
		if !ok {
			rows = []kvRow{{Key: c.Title, Value: b.value(val)}}
		}
		// The type of a known context, or one that repeats its key, says
		// again what the title says.
		rows = slices.DeleteFunc(rows, func(r kvRow) bool {
			return r.Key == "type" && (r.Value == name || contextTitles[r.Value] == c.Title)
		})
		c.Rows, c.RowsCut = rows, cut
		v.Contexts = append(v.Contexts, c)
	})
}

// contextTitle is the title of context name: Sentry's for a known key or
// type, else the name.
func contextTitle(name string, val json.RawMessage) string {
	if t, ok := contextTitles[name]; ok {
		return t
	}
	var typed struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(val, &typed) == nil {
		if t, ok := contextTitles[typed.Type]; ok {
			return t
		}
	}
	return name
}

// members lays out a JSON object as fields, each an item of the page: its
// key as text and its value as b.value shows it. ok is false when raw is
// not a JSON object.
func (b *budget) members(raw []byte) (rows []kvRow, cut int, ok bool) {
	cut, ok = b.eachMember(raw, func(name string, val json.RawMessage) {
		rows = append(rows, kvRow{Key: b.text(name), Value: b.value(val)})
	})
	return rows, cut, ok
}

// eachMember calls fn with each member of the JSON object raw, in order,
// while b has room for another item, and returns how many members it left
// unread. ok is false when raw is not a JSON object. raw is validated
// whole first, so a value that breaks off halfway is not shown as the
// members before the break.
func (b *budget) eachMember(raw []byte, fn func(name string, val json.RawMessage)) (cut int, ok bool) {
	if !jsontext.Value(raw).IsValid(clientJSON...) {
		return 0, false
	}
	dec := getDecoder(raw)
	defer putDecoder(dec)
	if tok, err := dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return 0, false
	}
	for i := 0; dec.PeekKind() == '"'; i++ {
		key, err := dec.ReadToken()
		if err != nil {
			return 0, true
		}
		name := key.String()
		val, err := dec.ReadValue()
		if err != nil {
			return 0, true
		}
		if !b.item(i) {
			n, _ := skipMembers(dec)
			return 1 + n/2, true
		}
		// The decoder's copy lasts until its next read; raw's is fn's to keep.
		end := int(dec.InputOffset())
		fn(name, raw[end-len(val):end])
	}
	return 0, true
}

// value is one field's JSON value for a key/value list: a string as text,
// anything else as compact JSON, empty objects, arrays and strings and
// null as written, so a field never looks absent.
func (b *budget) value(val json.RawMessage) string {
	switch s := string(val); s {
	case "null", "{}", "[]", `""`:
		b.charge(len(s))
		return s
	}
	return b.compactJSON(val)
}

// isForm reports whether s reads as a form body: declared says the
// request's Content-Type says it is one; otherwise it must parse cleanly,
// every pair a key and a value that unescape, with no spaces and no key
// that reads as part of a URL ("https://host/path?a=1" is not a form).
func isForm(s string, declared bool) bool {
	if declared {
		return true
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return false
	}
	for p := range strings.SplitSeq(s, "&") {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" || strings.ContainsAny(k, "/?#:") {
			return false
		}
		if _, err := url.QueryUnescape(k); err != nil {
			return false
		}
		if _, err := url.QueryUnescape(v); err != nil {
			return false
		}
	}
	return true
}

// formFields lays out a form body's fields in the order sent, each an item
// of the page, unescaped; a part that does not unescape is shown as sent.
func (b *budget) formFields(s string) (rows []kvRow, cut int) {
	i := 0
	for p := range strings.SplitSeq(s, "&") {
		if p == "" {
			continue
		}
		if cut > 0 || !b.item(i) {
			cut++
			continue
		}
		i++
		k, v, _ := strings.Cut(p, "=")
		rows = append(rows, kvRow{Key: b.text(unescapeForm(k)), Value: b.text(unescapeForm(v))})
	}
	return rows, cut
}

func unescapeForm(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}
