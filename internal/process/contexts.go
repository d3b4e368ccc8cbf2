package process

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/useragent"
)

// maxEventTags is ingest's bound on the tags an event keeps; tags from
// contexts replace tags of their name but add no more than that.
const maxEventTags = 100

// noteUABudget is the note on an event whose User-Agent was not parsed
// because too many new ones came at once (useragent.Parse).
const noteUABudget = "browser, OS and device not derived from the User-Agent: too many new User-Agents at once"

// clientContexts is the contexts stage. First, as Sentry's Relay does
// (normalize_user_agent), it derives the browser, OS and device contexts
// from the request's User-Agent header, each only when the SDK sent no
// context of that name: what the SDK says wins. The OS is
// contexts["os"] for a JavaScript event, whose page's OS it is, and
// contexts["client_os"] for any other, whose contexts["os"] is the
// server's. Then it promotes contexts to tags as Sentry does (see
// contextTags), so that `browser:"Mobile Safari"` and `has:browser`
// search browser events.
//
// It runs after scrubbing, so it derives nothing from a header scrubbing
// filtered, and before grouping, which never reads what it adds.
func clientContexts(ev *event.Event) {
	top := contextMap(ev.Contexts)
	if ua := userAgent(ev.Request); ua != "" {
		top = deriveFromUserAgent(ev, top, ua)
	}
	tags, dropped := contextTags(top)
	for _, t := range tags {
		setTag(ev, t)
	}
	if len(dropped) > 0 {
		ev.Notes = append(ev.Notes, "not tagged from contexts, as Sentry does not: "+strings.Join(dropped, "; "))
	}
}

// contextMap decodes the top level of contexts: nil when there are none
// or they are not an object (ingest only ever keeps an object).
func contextMap(raw json.RawMessage) map[string]json.RawMessage {
	if len(raw) == 0 {
		return nil
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(raw, &top) != nil {
		return nil
	}
	return top
}

// userAgent is the first User-Agent header of r, whatever its case.
func userAgent(r *event.Request) string {
	if r == nil {
		return ""
	}
	for _, h := range r.Headers {
		if strings.EqualFold(h[0], "User-Agent") {
			return h[1]
		}
	}
	return ""
}

// The contexts derived from a User-Agent, with the fields and "type"
// Relay gives them.
type (
	browserContext struct {
		Name    string `json:"name"`
		Version string `json:"version,omitempty"`
		Type    string `json:"type"`
	}
	osContext struct {
		Name    string `json:"name"`
		Version string `json:"version,omitempty"`
		Type    string `json:"type"`
	}
	deviceContext struct {
		Family string `json:"family"`
		Model  string `json:"model,omitempty"`
		Brand  string `json:"brand,omitempty"`
		Type   string `json:"type"`
	}
)

// derived is a context derived from the User-Agent, and its name.
type derived struct {
	key string
	v   any
}

// deriveFromUserAgent adds to ev.Contexts the contexts ua tells of that
// the event has none of by that name, and returns top with them.
func deriveFromUserAgent(ev *event.Event, top map[string]json.RawMessage, ua string) map[string]json.RawMessage {
	osKey := "client_os"
	if ev.Platform == "javascript" {
		osKey = "os"
	}
	_, hasBrowser := top["browser"]
	_, hasOS := top[osKey]
	_, hasDevice := top["device"]
	if hasBrowser && hasOS && hasDevice {
		return top // nothing to derive: spare the parse
	}
	info, ok := useragent.Parse(ua)
	if !ok {
		ev.Notes = append(ev.Notes, noteUABudget)
		return top
	}
	var add []derived
	if b := info.Browser; !hasBrowser && b.Name != "" {
		add = append(add, derived{"browser", browserContext{b.Name, b.Version, "browser"}})
	}
	if o := info.OS; !hasOS && o.Name != "" {
		add = append(add, derived{osKey, osContext{o.Name, o.Version, "os"}})
	}
	if d := info.Device; !hasDevice && d.Family != "" {
		add = append(add, derived{"device", deviceContext{d.Family, d.Model, d.Brand, "device"}})
	}
	if len(add) == 0 {
		return top
	}
	raw := bytes.TrimSpace(ev.Contexts)
	if len(raw) == 0 || string(raw) == "null" {
		raw = []byte("{}")
	}
	if raw[0] != '{' {
		return top // not an object: ingest never keeps one, and it is not ours to fix
	}
	if top == nil {
		top = map[string]json.RawMessage{}
	}
	// The new members go first, spliced in: the SDK's contexts keep their
	// bytes and order, and nothing is decoded and encoded again.
	var b bytes.Buffer
	b.WriteByte('{')
	for i, a := range add {
		if i > 0 {
			b.WriteByte(',')
		}
		start := b.Len()
		// The key is one of three names; the values are strings, kept as
		// they are (">=10", not "\u003e=10"): whoever shows them escapes them.
		b.WriteString(`"` + a.key + `":`)
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if enc.Encode(a.v) != nil {
			return top // strings only: cannot happen
		}
		b.Truncate(b.Len() - 1) // Encode's newline
		top[a.key] = json.RawMessage(bytes.Clone(b.Bytes()[start+len(a.key)+3:]))
	}
	rest := bytes.TrimSpace(raw[1:])
	if len(rest) > 0 && rest[0] != '}' {
		b.WriteByte(',')
	}
	b.Write(rest)
	ev.Contexts = b.Bytes()
	return top
}

// contextFields are the fields of a context that Sentry makes tags of.
type contextFields struct {
	Type    any `json:"type"`
	Name    any `json:"name"`
	Version any `json:"version"`
	Browser any `json:"browser"`
	OS      any `json:"os"`
	Runtime any `json:"runtime"`
	Model   any `json:"model"`
	Family  any `json:"family"`
	Rooted  any `json:"rooted"`
}

// contextTags returns the tags Sentry derives from contexts (the
// context_to_tag_mapping of sentry/interfaces/contexts.py, with the
// fields Relay computes), under each context's name, ALIAS below. A
// context's type is its "type", else its name.
//
//   - browser: ALIAS is "name version" (the context's own "browser" if it
//     has one; the name alone without a version), ALIAS.name the name;
//   - os: ALIAS likewise ("os" field, else "name version"), ALIAS.name,
//     and ALIAS.rooted "yes" or "no";
//   - runtime: ALIAS is "name version" (its own "runtime" if it has one;
//     nothing without both), ALIAS.name the name;
//   - device: ALIAS is the model, ALIAS.family the family.
//
// A tag is judged by the rules ingest applies to an SDK's tags
// (event.TagKeyProblem, event.TagValueProblem): one that fails them is
// left out, as in Sentry, and described in dropped, the key quoted and
// the reason. Contexts go in the order of their names.
func contextTags(top map[string]json.RawMessage) (tags []event.Tag, dropped []string) {
	if len(top) == 0 {
		return nil, nil
	}
	aliases := make([]string, 0, len(top))
	for alias, raw := range top {
		// Only a context that could be one of the four is decoded.
		if isTagged(alias) || bytes.Contains(raw, []byte(`"type"`)) {
			aliases = append(aliases, alias)
		}
	}
	slices.Sort(aliases)
	add := func(key, value string) {
		value = strings.TrimSpace(value)
		if value == "" {
			return // the context has no such field
		}
		why := cmp.Or(event.TagKeyProblem(key), event.TagValueProblem(value))
		if why != "" {
			dropped = append(dropped, fmt.Sprintf("%q (%s)", event.Clamp(key, 40), why))
			return
		}
		tags = append(tags, event.Tag{Key: key, Value: value})
	}
	for _, alias := range aliases {
		var c contextFields
		if json.Unmarshal(top[alias], &c) != nil {
			continue // not an object: no fields to tag
		}
		typ := alias
		if s, ok := c.Type.(string); ok && s != "" {
			typ = s
		}
		name, version := event.Scalar(c.Name), event.Scalar(c.Version)
		switch typ {
		case "browser":
			add(alias, cmp.Or(event.Scalar(c.Browser), joined(name, version)))
			add(alias+".name", name)
		case "os":
			add(alias, cmp.Or(event.Scalar(c.OS), joined(name, version)))
			add(alias+".name", name)
			if r, ok := c.Rooted.(bool); ok {
				add(alias+".rooted", map[bool]string{true: "yes", false: "no"}[r])
			}
		case "runtime":
			rt := event.Scalar(c.Runtime)
			if rt == "" && name != "" && version != "" {
				rt = name + " " + version
			}
			add(alias, rt)
			add(alias+".name", name)
		case "device":
			add(alias, event.Scalar(c.Model))
			add(alias+".family", event.Scalar(c.Family))
		}
	}
	return tags, dropped
}

// isTagged reports whether a context of this name without a "type" is of
// a type Sentry tags.
func isTagged(alias string) bool {
	switch alias {
	case "browser", "os", "runtime", "device":
		return true
	}
	return false
}

// joined is "name version", the name alone without a version, and
// nothing without a name: Relay's computed browser and os fields.
func joined(name, version string) string {
	switch {
	case name == "":
		return ""
	case version == "":
		return name
	}
	return name + " " + version
}

// setTag sets t on ev, replacing any tags of its key, as Sentry's set_tag
// does for tags derived from contexts; a new key is not added once the
// event has maxEventTags tags.
func setTag(ev *event.Event, t event.Tag) {
	had := len(ev.Tags)
	ev.Tags = slices.DeleteFunc(ev.Tags, func(o event.Tag) bool { return o.Key == t.Key })
	if len(ev.Tags) == had && had >= maxEventTags {
		return
	}
	ev.Tags = append(ev.Tags, t)
}
