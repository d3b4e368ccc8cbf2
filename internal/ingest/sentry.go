package ingest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/getflytrap/flytrap/internal/debugid"
	"github.com/getflytrap/flytrap/internal/event"
)

// decodeSentry normalizes one Sentry event payload. Only a payload that is
// not a JSON object is an error; every field is read tolerantly, because
// fifteen years of SDKs disagree about shapes (see the sentry-samples
// corpus the tests run).
func (d *decoder) decodeSentry(payload []byte, projectID int64, hdr envelopeHeader) (*event.Event, error) {
	obj, err := parseJSONObject(payload)
	if err != nil {
		return nil, err
	}
	drift := d.clockDrift(hdr.sentAt)
	ev := &event.Event{
		EventID:     d.eventID(obj["event_id"], hdr.eventID),
		ProjectID:   projectID,
		Source:      event.SourceSentry,
		Timestamp:   d.timestamp(obj["timestamp"], drift),
		Received:    d.received,
		Platform:    d.str(at("platform"), obj["platform"], maxName),
		Level:       d.level(at("level"), obj["level"], "error"),
		Logger:      d.str(at("logger"), obj["logger"], maxName),
		Transaction: d.str(at("transaction"), obj["transaction"], maxName),
		Release:     d.name(at("release"), obj["release"], event.ReleaseProblem),
		Dist:        d.str(at("dist"), obj["dist"], maxName),
		Environment: d.name(at("environment"), obj["environment"], event.EnvironmentProblem),
		ServerName:  d.str(at("server_name"), obj["server_name"], maxName),
		Site:        d.str(at("site"), obj["site"], maxName),
		SDKCulprit:  strings.TrimSpace(d.str(at("culprit"), obj["culprit"], maxName)),
		Fingerprint: d.fingerprint(obj["fingerprint"]),
		Contexts:    d.rawObject(at("contexts"), obj["contexts"]),
		Extra:       d.rawObject(at("extra"), obj["extra"]),
		SDK:         d.sdk(obj["sdk"]),
	}
	var env string
	// The SDK's notes on what it removed, replaced or cut, by interface.
	sdkMeta, _ := obj["_meta"].(map[string]any)
	var tagNotes []event.Annotation
	ev.Tags, env, tagNotes = d.tags(obj["tags"], sdkMeta["tags"])
	if ev.Environment == "" && event.EnvironmentProblem(env) == "" {
		// A tag's value is within event.MaxNameLength already.
		ev.Environment = event.CutName(env)
	}
	d.message(ev, obj)
	reqName, reqV := legacy(obj, "request", "sentry.interfaces.Http")
	name, v := legacy(obj, "user", "sentry.interfaces.User")
	ev.User, ev.LoopbackIP = d.user(at(name), v, d.inferIP(obj["sdk"]), d.remoteAddr(reqV))
	if ev.User != nil {
		ev.User.Annotations = d.annotations("user", sdkMeta[name], userFields)
	}
	ev.Request = d.request(at(reqName), reqV)
	ev.LoopbackIP = ev.LoopbackIP || d.loopbackHeader
	if ev.Request != nil {
		ev.Request.Annotations = d.annotations("request", sdkMeta[reqName], requestFields)
	}
	name, v = legacy(obj, "breadcrumbs", "sentry.interfaces.Breadcrumbs")
	var crumbNotes []event.Annotation
	ev.Breadcrumbs, crumbNotes = d.breadcrumbs(at(name), v, drift, sdkMeta[name])
	extraNotes := d.annotations("extra", sdkMeta["extra"], nil)
	ctxNotes := d.annotations("contexts", sdkMeta["contexts"], nil)
	if crumbNotes != nil || extraNotes != nil || ctxNotes != nil || tagNotes != nil {
		ev.Annotations = &event.Annotations{Extra: extraNotes, Contexts: ctxNotes, Breadcrumbs: crumbNotes, Tags: tagNotes}
	}
	meta := d.readDebugMeta(obj["debug_meta"])
	ev.Exceptions, ev.Threads = d.exceptionsWithStacks(obj, &meta, sdkMeta)
	ev.Handled = event.FlagOf(handled(ev.Exceptions))
	ev.Notes = d.finish()
	return ev, nil
}

// legacy returns the first present key of a field that old SDKs (protocol
// versions up to 6) sent under its sentry.interfaces.* name.
func legacy(obj map[string]any, names ...string) (string, any) {
	for _, n := range names {
		if v := obj[n]; v != nil {
			return n, v
		}
	}
	return names[0], nil
}

// message reads logentry (current), sentry.interfaces.Message (legacy) or
// message, which may be a plain string or a logentry-shaped object, into
// ev.Message: the formatted text, else the template. Params are kept, and
// a template sent with params but without formatted text is filled in
// (event.FormatLogEntry) as ev.MessageFormatted, which titles and pages show,
// and one sent with params and formatted text keeps that text there;
// ev.Message keeps the template, which grouping masks, so "Order %s not
// found" with any order is one issue.
func (d *decoder) message(ev *event.Event, obj map[string]any) {
	for _, name := range []string{"logentry", "sentry.interfaces.Message", "message"} {
		switch x := obj[name].(type) {
		case nil:
		case map[string]any:
			formatted := d.str(at(name+".formatted"), x["formatted"], maxMessage)
			template := d.str(at(name+".message"), x["message"], maxMessage)
			if formatted == "" && template == "" {
				continue
			}
			ev.Message = cmp.Or(formatted, template)
			params := x["params"]
			if params == nil {
				return
			}
			switch p := params.(type) {
			case []any:
				if len(p) == 0 {
					return // Python's logging formats nothing without args
				}
			case map[string]any:
				if len(p) == 0 {
					return
				}
			}
			ev.MessageParams = d.raw(at(name+".params"), params)
			raw, ok := x["message"].(string)
			if formatted != "" {
				// sentry-python's logging integration sends all three:
				// grouping goes by the template, as in Sentry, or every
				// order number would open an issue; pages show the text.
				if template != "" && template != formatted {
					ev.Message, ev.MessageFormatted, ev.MessageFormattedBySDK = template, formatted, true
				}
				return
			}
			if !ok {
				return
			}
			if f, ok := event.FormatLogEntry(raw, params, maxMessage); !ok {
				d.note("%s.message was not formatted: its params do not fit its placeholders", name)
			} else if f = d.clamp(at(name+".message, filled in from its params,"), f, maxMessage); f != template {
				ev.MessageFormatted = f
			}
			return
		default:
			if s := d.str(at(name), x, maxMessage); s != "" {
				ev.Message = s
				return
			}
		}
	}
}

// fingerprint reads the custom grouping key; non-string entries are
// stringified rather than dropped so the key stays as specific as sent.
func (d *decoder) fingerprint(v any) []string {
	items := d.list(at("fingerprint"), v)
	if len(items) > maxFingerprint {
		d.note("fingerprint cut to its first %d of %d entries", maxFingerprint, len(items))
		items = items[:maxFingerprint]
	}
	var out []string
	for i, it := range items {
		out = append(out, d.textItem(at("fingerprint"), i, it, maxTag))
	}
	return out
}

// tags reads an object (sorted by key, as objects have no order after
// decoding) or a list of [key, value] pairs (order kept), and keeps the
// tags Relay keeps (its TagEntry and normalize_event_tags):
//
//   - spaces in a key become dashes, and both ends of key and value are
//     trimmed; a number or boolean value is written as text;
//   - a key or value that is empty, longer than event.MaxTagChars
//     characters, a key of other characters than letters, digits and
//     "_.:-", a value with a line break or another control character, or
//     an object or list, drops the tag (not cut: a cut value would count
//     as a value of its own);
//   - the keys Sentry derives from the event's own fields (release, dist,
//     user, filename, function) and those of the server's "sentry:"
//     namespace are dropped: sentry:user is derived by the server (an SDK's
//     copy is stale at best and may carry a raw IP address), and
//     sentry:release stands for release in Sentry;
//   - a second tag of a key is dropped, the first kept;
//   - an environment tag is the event's environment when the event has
//     none, as old SDKs sent it, and is not a tag.
//
// Relay leaves what it dropped in the event's _meta; Flytrap leaves a
// note naming the keys and why. A null value is no tag and no note, as in
// Relay. It returns the tags and the environment tag's value, and the
// notes of tree, the tags' _meta, on the values of those kept, each under
// the tag's key.
func (d *decoder) tags(v any, tree any) ([]event.Tag, string, []event.Annotation) {
	var (
		out      []event.Tag
		env      string
		overflow int
		refused  []string
		seen     = map[string]bool{}
		anns     []event.Annotation
		notes    annotator
	)
	meta, _ := tree.(map[string]any)
	refuse := func(k, why string) {
		refused = append(refused, fmt.Sprintf("%q (%s)", clamp(k, 40), why))
	}
	// add keeps the tag k: val, and the notes of note, its value's _meta.
	add := func(k string, val, note any) {
		k = strings.TrimSpace(strings.ReplaceAll(k, " ", "-"))
		var value string
		switch x := val.(type) {
		case nil:
			return
		case string:
			value = strings.TrimSpace(x)
		case map[string]any, []any:
			refuse(k, "the value is an object or a list, not text")
			return
		default:
			value = compactJSON(x)
		}
		why := event.TagKeyProblem(k)
		switch {
		case why != "":
		case reservedTagKey(k):
			why = "Sentry sets this tag from the event's own field"
		case strings.HasPrefix(k, "sentry:"):
			why = "the sentry: prefix is the server's"
		default:
			why = event.TagValueProblem(value)
		}
		switch {
		case why != "":
			refuse(k, why)
		case k == "environment":
			env = value
		case seen[k]:
			refuse(k, "a tag of this key came before")
		case len(out) == maxTags:
			overflow++
		default:
			seen[k] = true
			out = append(out, event.Tag{Key: k, Value: value})
			anns = notes.add(anns, note, []string{k}, nil)
		}
	}
	defer func() {
		if len(refused) > 0 {
			const listed = 5
			n, more := len(refused), ""
			if n > listed {
				more = fmt.Sprintf("; and %d more", n-listed)
				refused = refused[:listed]
			}
			d.note("dropped %d tags, as Sentry does: %s%s", n, strings.Join(refused, "; "), more)
		}
		if overflow > 0 {
			d.note("dropped %d tags beyond the first %d", overflow, maxTags)
		}
		d.noteDropped("tags", &notes)
	}()
	switch x := v.(type) {
	case nil:
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			add(k, x[k], meta[k])
		}
	case []any:
		for i, p := range x {
			pair, ok := p.([]any)
			if !ok || len(pair) != 2 {
				if p != nil {
					d.note("dropped tags[%d]: expected a [key, value] pair", i)
				}
				continue
			}
			k, ok := pair[0].(string)
			if !ok {
				d.note("dropped tags[%d]: the key is not a string", i)
				continue
			}
			pm, _ := meta[strconv.Itoa(i)].(map[string]any)
			add(k, pair[1], pm["1"])
		}
	default:
		d.wrongType(at("tags"), "an object or a list of pairs", v)
	}
	return out, env, anns
}

// reservedTagKey reports whether Sentry sets the tag k from the event's
// own fields and drops an SDK's (Relay's normalize_event_tags).
func reservedTagKey(k string) bool {
	switch k {
	case "release", "dist", "user", "filename", "function":
		return true
	}
	return false
}

func (d *decoder) sdk(v any) *event.SDK {
	m := d.object(at("sdk"), v)
	s := event.SDK{Name: d.str(at("sdk.name"), m["name"], maxName), Version: d.str(at("sdk.version"), m["version"], maxName)}
	if s == (event.SDK{}) {
		return nil
	}
	return &s
}

// user reads the user interface. The IP address is hashed (or dropped)
// here so a raw address never reaches the queue. A missing address is the
// request's REMOTE_ADDR when a server SDK sent one. The sender's address
// is used for "{{auto}}" (older SDKs) and, when the SDK's infer_ip setting
// is "auto" (current browser SDKs), for a still missing address too;
// "never" means neither, so "{{auto}}" is dropped. It also reports
// whether that address is a loopback one, which the localhost inbound
// filter needs and the hash hides.
func (d *decoder) user(path where, v any, inferIP, remoteAddr string) (*event.User, bool) {
	m := d.object(path, v)
	u := event.User{
		ID:       d.str(path.field(".id"), m["id"], maxName),
		Email:    d.str(path.field(".email"), m["email"], maxName),
		Username: d.str(path.field(".username"), m["username"], maxName),
		Data:     d.rawObject(path.field(".data"), m["data"]),
	}
	ip := d.str(path.field(".ip_address"), m["ip_address"], maxName)
	if ip != "" && ip != "{{auto}}" {
		if _, err := netip.ParseAddr(strings.TrimSpace(ip)); err != nil {
			// Relay drops what is not an address; hashing it would
			// count a made-up string as a user.
			d.note("dropped %s.ip_address: not an IP address", path)
			ip = ""
		}
	}
	if ip == "" {
		// Server SDKs (sentry-go, sentry-python's WSGI) send the peer
		// as request.env.REMOTE_ADDR rather than as the user: Relay
		// makes it the user's address, before inferring the sender's.
		ip = remoteAddr
	}
	switch {
	case ip == "{{auto}}" && inferIP != "never", ip == "" && inferIP == "auto":
		ip = d.clientIP
	case ip == "{{auto}}":
		ip = ""
	}
	u.IPHash = d.hashIP(ip)
	loopback := isLoopback(ip)
	if u.ID == "" && u.Email == "" && u.Username == "" && u.IPHash == "" && u.Data == nil {
		return nil, loopback
	}
	return &u, loopback
}

// isLoopback reports whether ip is 127.0.0.1 or ::1, the addresses
// Relay's localhost filter knows (not the rest of 127.0.0.0/8).
func isLoopback(ip string) bool {
	a, err := netip.ParseAddr(strings.TrimSpace(ip))
	if err != nil {
		return false
	}
	a = a.Unmap()
	return a == netip.AddrFrom4([4]byte{127, 0, 0, 1}) || a == netip.IPv6Loopback()
}

// remoteAddr returns the address a server SDK sent as the request's
// env.REMOTE_ADDR ("{{auto}}" is the sender's), or "" when it sent none
// that parses. The rest of env is not kept (docs/privacy.md).
func (d *decoder) remoteAddr(request any) string {
	r, _ := request.(map[string]any)
	env, _ := r["env"].(map[string]any)
	addr, _ := env["REMOTE_ADDR"].(string)
	if addr == "{{auto}}" {
		return d.clientIP
	}
	if _, err := netip.ParseAddr(strings.TrimSpace(addr)); err != nil {
		return ""
	}
	return addr
}

// inferIP reads sdk.settings.infer_ip ("auto", "never" or "legacy"), which
// replaced the "{{auto}}" user IP in current SDKs.
func (d *decoder) inferIP(sdk any) string {
	m, _ := sdk.(map[string]any)
	settings := d.object(at("sdk.settings"), m["settings"])
	return strings.ToLower(d.str(at("sdk.settings.infer_ip"), settings["infer_ip"], maxName))
}

// request reads the HTTP request interface.
func (d *decoder) request(path where, v any) *event.Request {
	m := d.object(path, v)
	if m == nil {
		return nil
	}
	r := event.Request{
		Method:      strings.ToUpper(d.str(path.field(".method"), m["method"], 32)),
		URL:         d.str(path.field(".url"), m["url"], maxPath),
		QueryString: d.queryString(path.field(".query_string"), m["query_string"]),
		Headers:     d.headers(path.field(".headers"), m["headers"]),
		Data:        d.raw(path.field(".data"), m["data"]),
	}
	if r.Method == "" && r.URL == "" && r.QueryString == "" && r.Headers == nil && r.Data == nil {
		return nil
	}
	return &r
}

// Bounds on the _meta annotations kept of one of an event's interfaces.
const (
	maxAnnotations    = 50
	maxAnnotationPath = 8  // keys deep
	maxAnnotationKey  = 64 // bytes of a key or rule
)

// requestFields are the request's members whose annotations are kept: the
// ones Flytrap keeps (it keeps no cookies nor env).
var requestFields = []string{"method", "url", "query_string", "headers", "data"}

// exceptionFields are an exception's members whose annotations are kept
// beside its frames'.
var exceptionFields = []string{"type", "value"}

// frameFields are a frame's members whose annotations are kept: the ones
// the page shows.
var frameFields = []string{"filename", "abs_path", "function", "module", "package", "context_line", "pre_context", "post_context", "vars"}

// breadcrumbFields are a breadcrumb's members whose annotations are kept.
var breadcrumbFields = []string{"message", "data"}

// userFields are the user's members whose annotations are kept; its IP
// address is kept only hashed, and never shown.
var userFields = []string{"id", "email", "username", "data"}

// annotationTypes are the kinds of remark Sentry's _meta knows (see
// event.Annotation).
const annotationTypes = "xsmpea"

// annotations reads an SDK's _meta tree of one interface (such as
// _meta.request, which sentry-python sends for a form field it did not
// keep: {"data": {"bam": {"": {"len": 0, "rem": [["!raw", "x"]]}}}}):
// each node's "" member annotates the value at its path, under one of
// fields. What is not an annotation is ignored, as Relay ignores it. of
// names the interface in the note on those dropped over the bound.
func (d *decoder) annotations(of string, tree any, fields []string) []event.Annotation {
	var a annotator
	out := a.add(nil, tree, nil, fields)
	d.noteDropped(of, &a)
	return out
}

// noteDropped notes the annotations a dropped over maxAnnotations.
func (d *decoder) noteDropped(of string, a *annotator) {
	if a.dropped > 0 {
		d.note("kept the SDK's first %d _meta annotations of the %s, not %d more", maxAnnotations, of, a.dropped)
	}
}

// annotator collects the _meta annotations of one interface, which may
// land on several values (an exception chain's exceptions), at most
// maxAnnotations of them in all.
type annotator struct {
	kept, dropped int
}

// add appends to out the annotations of a _meta tree node that stands for
// the value at prefix (a path Flytrap made, such as "frames", "2"): the
// node's own, and those of its members, of only fields at its top (of
// any when fields is nil).
func (a *annotator) add(out []event.Annotation, tree any, prefix, fields []string) []event.Annotation {
	var walk func(node map[string]any, path []string)
	walk = func(node map[string]any, path []string) {
		if m, ok := node[""].(map[string]any); ok && len(path) > 0 {
			if ann, ok := annotation(m); ok {
				if a.kept == maxAnnotations {
					a.dropped++
				} else {
					a.kept++
					ann.Path = slices.Clone(path)
					out = append(out, ann)
				}
			}
		}
		if len(path) == maxAnnotationPath {
			return
		}
		keys := make([]string, 0, len(node))
		for k, v := range node {
			if _, ok := v.(map[string]any); ok && k != "" && (len(path) > len(prefix) || fields == nil || slices.Contains(fields, k)) {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			walk(node[k].(map[string]any), append(path, clamp(noControls(k), maxAnnotationKey)))
		}
	}
	if root, ok := tree.(map[string]any); ok {
		walk(root, slices.Clip(prefix))
	}
	return out
}

// annotation reads one _meta annotation: {"rem": [[rule, type, start,
// end], ...], "len": n}. Only the first remark is kept, as the page shows
// one; ok is false for one that says nothing Flytrap shows.
func annotation(a map[string]any) (ann event.Annotation, ok bool) {
	if rem, _ := a["rem"].([]any); len(rem) > 0 {
		if r, _ := rem[0].([]any); len(r) > 0 {
			rule, _ := r[0].(string)
			ann.Rule = clamp(noControls(rule), maxAnnotationKey)
			if len(r) > 1 {
				if t, _ := r[1].(string); len(t) == 1 && strings.Contains(annotationTypes, t) {
					ann.Type = t
				}
			}
		}
	}
	if n, _ := a["len"].(json.Number); n != "" {
		if l, err := strconv.ParseInt(string(n), 10, 32); err == nil && l > 0 {
			ann.Len = int(l)
		}
	}
	return ann, ann.Rule != "" || ann.Type != "" || ann.Len > 0
}

// queryString accepts a string (with or without "?"), an object, or a list
// of [key, value] pairs, and returns the encoded form.
func (d *decoder) queryString(path where, v any) string {
	var q []string
	add := func(k string, val any) {
		// Cut once, joined: a value over the limit makes the whole so.
		q = append(q, url.QueryEscape(k)+"="+url.QueryEscape(d.text(path, val, math.MaxInt)))
	}
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return d.clamp(path, strings.TrimPrefix(x, "?"), maxPath)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if x[k] != nil {
				add(k, x[k])
			}
		}
	case []any:
		for _, p := range x {
			if pair, ok := p.([]any); ok && len(pair) == 2 {
				if k, ok := pair[0].(string); ok {
					if pair[1] == nil {
						add(k, "")
					} else {
						add(k, pair[1])
					}
				}
			}
		}
	default:
		d.wrongType(path, "a string, object or list of pairs", v)
	}
	return d.clamp(path, strings.Join(q, "&"), maxPath)
}

// filteredHeaders never keep their values: credentials, and addresses of
// the end user that would defeat IP hashing.
var filteredHeaders = map[string]bool{
	"authorization": true, "proxy-authorization": true, "cookie": true, "set-cookie": true,
	"x-api-key": true, "x-sentry-auth": true, "x-auth-token": true, "x-csrf-token": true,
	"x-forwarded-for": true, "x-real-ip": true, "forwarded": true, "true-client-ip": true,
	"cf-connecting-ip": true, "x-client-ip": true, "x-original-for": true,
}

// headers accepts an object or a list of [name, value] pairs; a value may
// itself be a list (repeated header).
func (d *decoder) headers(path where, v any) [][2]string {
	var out [][2]string
	add := func(k string, val any) {
		k = strings.TrimSpace(k)
		if k == "" || val == nil || len(out) >= maxHeaders {
			return
		}
		var s string
		if list, ok := val.([]any); ok {
			parts := make([]string, 0, len(list))
			for _, p := range list {
				parts = append(parts, anyText(p, math.MaxInt))
			}
			s = strings.Join(parts, ", ")
		} else {
			s = anyText(val, math.MaxInt)
		}
		s = d.clampKey(path, k, s, maxPath)
		if filteredHeaders[strings.ToLower(k)] {
			// Relay's localhost filter compares the whole value.
			if strings.EqualFold(k, "X-Forwarded-For") && (s == "127.0.0.1" || s == "::1") {
				d.loopbackHeader = true
			}
			s = "[Filtered]"
		}
		out = append(out, [2]string{d.clamp(path, k, maxName), s})
	}
	switch x := v.(type) {
	case nil:
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			add(k, x[k])
		}
	case []any:
		for _, p := range x {
			if pair, ok := p.([]any); ok && len(pair) == 2 {
				if k, ok := pair[0].(string); ok {
					add(k, pair[1])
				}
			}
		}
	default:
		d.wrongType(path, "an object or a list of pairs", v)
	}
	return out
}

// breadcrumbs keeps the most recent maxBreadcrumbs entries (SDKs append, so
// the last ones are the newest). It also returns the notes of tree, their
// _meta, on the messages and data of those kept, each under the index the
// breadcrumb was kept at.
func (d *decoder) breadcrumbs(path where, v any, drift time.Duration, tree any) ([]event.Breadcrumb, []event.Annotation) {
	items := d.values(path, v)
	first := 0 // the index sent of items[0]
	if len(items) > maxBreadcrumbs {
		d.note("kept the last %d of %d breadcrumbs", maxBreadcrumbs, len(items))
		first = len(items) - maxBreadcrumbs
		items = items[first:]
	}
	var (
		out   []event.Breadcrumb
		anns  []event.Annotation
		notes annotator
	)
	meta, _ := tree.(map[string]any)
	if m, ok := v.(map[string]any); ok && m["values"] != nil {
		meta, _ = meta["values"].(map[string]any)
	}
	list := path.list()
	for i, it := range items {
		p := list.item(i)
		m := d.object(p, it)
		if m == nil {
			continue
		}
		b := event.Breadcrumb{
			Type:     d.str(p.field(".type"), m["type"], maxName),
			Category: d.str(p.field(".category"), m["category"], maxName),
			Level:    d.level(p.field(".level"), m["level"], ""),
			Message:  d.str(p.field(".message"), m["message"], maxMessage),
			Data:     d.rawObject(p.field(".data"), m["data"]),
		}
		// A breadcrumb without a usable time keeps the zero time: making
		// one up would misorder the trail.
		if t, ok := parseTimestamp(m["timestamp"]); ok {
			if t = t.Add(drift); encodable(t) {
				b.Timestamp = t
			}
		}
		anns = notes.add(anns, meta[strconv.Itoa(first+i)], []string{strconv.Itoa(len(out))}, breadcrumbFields)
		out = append(out, b)
	}
	d.noteDropped("breadcrumbs", &notes)
	return out, anns
}

// exceptionsWithStacks reads the exception chain and gives it frames from
// wherever the SDK put them: each exception's own stacktrace, the thread
// its thread_id names, or, for the outermost exception, the top-level
// stacktrace (legacy and attach_stacktrace events) or the crashed thread. An
// event with no exception but such a stack (sentry-go's CaptureMessage with
// AttachStacktrace sends its stack as the current thread) gets one
// synthetic exception without type or value, as the JavaScript SDKs send
// it themselves: the stack is kept and shown under the message, and the
// title stays the message. The threads whose stacks no exception took are
// returned beside the exceptions. sdkMeta is the event's _meta, whose
// notes on the exceptions' own values and frames, and on the top-level
// stacktrace's and threads' frames, go with the frames wherever they
// went, bounded per interface (exceptions, stacktrace, threads).
func (d *decoder) exceptionsWithStacks(obj map[string]any, meta *debugMeta, sdkMeta map[string]any) ([]event.Exception, []event.Thread) {
	name, v := legacy(obj, "exception", "sentry.interfaces.Exception")
	excs, threadIDs := d.exceptions(at(name), v, meta, sdkMeta[name])
	threads := d.values(at("threads"), obj["threads"])
	threadMeta := itemsMeta(obj["threads"], sdkMeta["threads"])
	var threadNotes annotator
	defer d.noteDropped("threads", &threadNotes)
	// A thread's frames go to one exception, the outermost that names
	// it: otherwise 25 chained exceptions naming one thread would carry
	// its stack 25 times, and a 1 MiB event could become 25 MiB. For the
	// same reason a thread whose frames an exception took is not kept
	// among the other threads.
	var taken []int // indexes in threads
	threadFrames := func(match func(map[string]any) bool) ([]event.Frame, []event.Annotation) {
		frames, sent, i := d.threadFrames(threads, meta, match)
		if len(frames) == 0 {
			return nil, nil
		}
		taken = append(taken, i)
		return frames, frameAnnotations(&threadNotes, nil, threadMeta(i)["stacktrace"], sent)
	}
	given := map[string]bool{}
	for i := len(excs) - 1; i >= 0; i-- {
		if id := threadIDs[i]; len(excs[i].Frames) == 0 && id != "" && !given[id] {
			given[id] = true
			var anns []event.Annotation
			excs[i].Frames, anns = threadFrames(func(t map[string]any) bool {
				return t["id"] != nil && anyText(t["id"], 64) == id
			})
			excs[i].Annotations = append(excs[i].Annotations, anns...)
		}
	}
	if n := len(excs); n == 0 || len(excs[n-1].Frames) == 0 {
		sname, sv := legacy(obj, "stacktrace", "sentry.interfaces.Stacktrace")
		frames, sent := d.stackFrames(at(sname), sv, meta)
		var stackNotes annotator
		anns := frameAnnotations(&stackNotes, nil, sdkMeta[sname], sent)
		d.noteDropped("stacktrace", &stackNotes)
		if len(frames) == 0 {
			frames, anns = threadFrames(func(t map[string]any) bool { return t["crashed"] == true })
		}
		if len(frames) == 0 {
			frames, anns = threadFrames(func(t map[string]any) bool { return t["current"] == true })
		}
		switch {
		case len(frames) == 0:
		case n == 0:
			excs = append(excs, event.Exception{Frames: frames, Mechanism: &event.Mechanism{Synthetic: true}, Annotations: anns})
		default:
			excs[n-1].Frames = frames
			excs[n-1].Annotations = append(excs[n-1].Annotations, anns...)
		}
	}
	// A thread_id alone kept an exception alive in case its thread had
	// the frames; without them it says nothing.
	excs = slices.DeleteFunc(excs, func(ex event.Exception) bool {
		return ex.Type == "" && ex.Value == "" && len(ex.Frames) == 0
	})
	return excs, d.otherThreads(threads, taken, meta, threadMeta, &threadNotes)
}

// itemsMeta returns the _meta of each item of a list sent as {"values":
// [...]} or bare (see decoder.values), by the index sent; nil when tree
// has none.
func itemsMeta(v, tree any) func(i int) map[string]any {
	m, _ := tree.(map[string]any)
	if obj, ok := v.(map[string]any); ok && obj["values"] != nil {
		m, _ = m["values"].(map[string]any)
	}
	return func(i int) map[string]any {
		item, _ := m[strconv.Itoa(i)].(map[string]any)
		return item
	}
}

// otherThreads reads the threads whose frames no exception took, the first
// maxThreads of them, each with the notes notes keeps of its frames'
// _meta. A thread without a stack is kept for its name (the
// thread list of an ANR or a deadlock); one with neither ID, name nor
// frames is skipped.
func (d *decoder) otherThreads(threads []any, taken []int, meta *debugMeta, threadMeta func(int) map[string]any, notes *annotator) []event.Thread {
	if len(threads) > maxThreads {
		d.note("kept the first %d of %d threads", maxThreads, len(threads))
	}
	var out []event.Thread
	list := at("threads").list()
	for i, t := range threads {
		if len(out) == maxThreads {
			break
		}
		m, ok := t.(map[string]any)
		if !ok || slices.Contains(taken, i) {
			continue
		}
		p := list.item(i)
		th := event.Thread{
			Name:    d.str(p.field(".name"), m["name"], maxName),
			Crashed: m["crashed"] == true,
			Current: m["current"] == true,
		}
		var sent []int
		th.Frames, sent = d.stackFrames(p.field(".stacktrace"), m["stacktrace"], meta)
		if m["id"] != nil {
			th.ID = d.text(p.field(".id"), m["id"], 64)
		}
		if th.ID == "" && th.Name == "" && len(th.Frames) == 0 {
			continue
		}
		th.Annotations = frameAnnotations(notes, nil, threadMeta(i)["stacktrace"], sent)
		out = append(out, th)
	}
	return out
}

// exceptions reads the chain: {"values": [...]}, a bare list (sentry-go),
// or a single exception object (old raven clients). Null and empty entries
// are skipped. It also returns each kept exception's thread_id. tree is
// the chain's _meta: each kept exception takes the notes on its type,
// value and frames.
func (d *decoder) exceptions(path where, v any, meta *debugMeta, tree any) ([]event.Exception, []string) {
	var items []any
	// itemMeta is the _meta of the i-th exception sent.
	itemMeta := func(i int) map[string]any {
		m, _ := tree.(map[string]any)
		m, _ = m[strconv.Itoa(i)].(map[string]any)
		return m
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		if vs, ok := x["values"]; ok {
			items = d.list(path.field(".values"), vs)
			tm, _ := tree.(map[string]any)
			tree = tm["values"]
		} else {
			items = []any{x}
			itemMeta = func(int) map[string]any { m, _ := tree.(map[string]any); return m }
		}
	case []any:
		items = x
	default:
		d.wrongType(path, "an object or a list", v)
		return nil, nil
	}
	first := 0 // the index sent of items[0]
	if len(items) > maxExceptions {
		// The last exception is the outermost one, which titles the
		// issue; inner causes are cut first.
		d.note("kept the last %d of %d chained exceptions", maxExceptions, len(items))
		first = len(items) - maxExceptions
		items = items[first:]
	}
	var notes annotator
	defer d.noteDropped("exceptions", &notes)
	var (
		out       []event.Exception
		threadIDs []string
	)
	values := path.field(".values").list()
	for i, it := range items {
		p := values.item(i)
		m := d.object(p, it)
		if m == nil {
			continue
		}
		ex := event.Exception{
			Type:      d.str(p.field(".type"), m["type"], maxName),
			Value:     d.str(p.field(".value"), m["value"], maxMessage),
			Module:    d.str(p.field(".module"), m["module"], maxName),
			Mechanism: d.mechanism(p.field(".mechanism"), m["mechanism"]),
		}
		var sent []int
		ex.Frames, sent = d.stackFrames(p.field(".stacktrace"), m["stacktrace"], meta)
		if em := itemMeta(first + i); em != nil {
			ex.Annotations = frameAnnotations(&notes, notes.add(nil, em, nil, exceptionFields), em["stacktrace"], sent)
		}
		var tid string
		if m["thread_id"] != nil {
			tid = anyText(m["thread_id"], 64)
		}
		if ex.Type == "" && ex.Value == "" && len(ex.Frames) == 0 && tid == "" {
			continue
		}
		out = append(out, ex)
		threadIDs = append(threadIDs, tid)
	}
	return out, threadIDs
}

func (d *decoder) mechanism(path where, v any) *event.Mechanism {
	m := d.object(path, v)
	if m == nil {
		return nil
	}
	mech := event.Mechanism{Type: d.str(path.field(".type"), m["type"], maxName), Handled: d.boolPtr(path.field(".handled"), m["handled"])}
	if s := d.boolPtr(path.field(".synthetic"), m["synthetic"]); s != nil {
		mech.Synthetic = *s
	}
	mech.ExceptionID = d.exceptionID(path.field(".exception_id"), m["exception_id"])
	mech.ParentID = d.exceptionID(path.field(".parent_id"), m["parent_id"])
	if g := d.boolPtr(path.field(".is_exception_group"), m["is_exception_group"]); g != nil {
		mech.IsExceptionGroup = *g
	}
	mech.Source = d.str(path.field(".source"), m["source"], maxName)
	if mech == (event.Mechanism{}) {
		return nil
	}
	return &mech
}

// exceptionID reads a mechanism's exception_id or parent_id: a whole
// number from 0 up, as the SDKs count the exceptions of an event. Anything
// else is dropped with a note, and the exception is then outside the tree.
func (d *decoder) exceptionID(path where, v any) *int {
	if v == nil {
		return nil
	}
	n, ok := v.(json.Number)
	if !ok {
		d.wrongType(path, "a whole number", v)
		return nil
	}
	id, err := strconv.ParseInt(string(n), 10, 32)
	if err != nil || id < 0 {
		d.note("dropped %s: %q is not a whole number from 0 to %d", path, string(n), math.MaxInt32)
		return nil
	}
	i := int(id)
	return &i
}

// handled derives the event's handled flag from the chain's mechanisms: an
// event is unhandled if any exception says so, as Sentry decides it.
func handled(excs []event.Exception) *bool {
	known, all := false, true
	for _, ex := range excs {
		if ex.Mechanism != nil && ex.Mechanism.Handled != nil {
			known = true
			all = all && *ex.Mechanism.Handled
		}
	}
	if !known {
		return nil
	}
	return &all
}

// threadFrames returns the frames of the first thread match accepts, the
// index sent of each (see stackFrames), and the thread's index.
func (d *decoder) threadFrames(threads []any, meta *debugMeta, match func(map[string]any) bool) ([]event.Frame, []int, int) {
	for i, t := range threads {
		if m, ok := t.(map[string]any); ok && match(m) {
			frames, sent := d.stackFrames(at("threads").item(i).field(".stacktrace"), m["stacktrace"], meta)
			return frames, sent, i
		}
	}
	return nil, nil, -1
}

// frameAnnotations appends to out the notes of a stacktrace's _meta on
// its frames, each under "frames" and the index of the frame it went to
// (sent holds the index sent of each frame kept): a frame cut or skipped
// takes its notes with it.
func frameAnnotations(a *annotator, out []event.Annotation, tree any, sent []int) []event.Annotation {
	st, _ := tree.(map[string]any)
	frames, ok := st["frames"].(map[string]any)
	if !ok {
		frames = st // a bare list of frames
	}
	for kept, i := range sent {
		out = a.add(out, frames[strconv.Itoa(i)], []string{"frames", strconv.Itoa(kept)}, frameFields)
	}
	return out
}

// stackFrames reads {"frames": [...]} (or a bare frame list) oldest call
// first, and returns the index sent of each frame kept, by which its _meta
// notes find it (see frameAnnotations). Frames without any location are
// skipped. Over maxFrames, the middle is cut: the outermost calls say where
// the work came from, the innermost where it failed.
func (d *decoder) stackFrames(path where, v any, meta *debugMeta) ([]event.Frame, []int) {
	var items []any
	frames := path.field(".frames")
	switch x := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		items = d.list(frames, x["frames"])
	case []any:
		items = x
	default:
		d.wrongType(path, "an object with frames", v)
		return nil, nil
	}
	// sentIndex is the index sent of items[i].
	sentIndex := func(i int) int { return i }
	if n := len(items); n > maxFrames {
		d.note("%s: omitted %d frames from the middle of %d", path, n-maxFrames, n)
		items = slices.Concat(items[:maxFrames/2], items[n-maxFrames/2:])
		sentIndex = func(i int) int {
			if i < maxFrames/2 {
				return i
			}
			return i + n - maxFrames
		}
	}
	var (
		out  []event.Frame
		sent []int
	)
	frames = frames.list()
	for i, it := range items {
		p := frames.item(i)
		m := d.object(p, it)
		if m == nil {
			continue
		}
		f := event.Frame{
			Filename:    d.str(p.field(".filename"), m["filename"], maxPath),
			AbsPath:     d.str(p.field(".abs_path"), m["abs_path"], maxPath),
			Function:    d.str(p.field(".function"), m["function"], maxName),
			Module:      d.str(p.field(".module"), m["module"], maxName),
			Package:     d.str(p.field(".package"), m["package"], maxPath),
			Lineno:      d.lineNumber(p.field(".lineno"), m["lineno"]),
			Colno:       d.lineNumber(p.field(".colno"), m["colno"]),
			InApp:       d.boolPtr(p.field(".in_app"), m["in_app"]),
			ContextLine: d.str(p.field(".context_line"), m["context_line"], maxLine),
			PreContext:  d.contextLines(p.field(".pre_context"), m["pre_context"], true),
			PostContext: d.contextLines(p.field(".post_context"), m["post_context"], false),
			Vars:        d.frameVars(p.field(".vars"), m["vars"]),
		}
		// Native SDKs (sentry-native, Cocoa, Rust without debug
		// information) send frames that are an address and nothing else.
		if v := m["instruction_addr"]; v != nil {
			f.InstructionAddr = d.addr(p.field(".instruction_addr"), v)
			f.SymbolAddr = d.addr(p.field(".symbol_addr"), m["symbol_addr"])
			f.ImageAddr = d.addr(p.field(".image_addr"), m["image_addr"])
			if mode := d.str(p.field(".addr_mode"), m["addr_mode"], maxName); mode != "abs" {
				f.AddrMode = mode
			}
		}
		if f.Filename == "" && f.AbsPath == "" && f.Function == "" && f.Module == "" && f.Package == "" && f.Lineno == 0 && f.InstructionAddr == "" {
			continue
		}
		f.DebugID = frameDebugID(m["debug_id"], f, meta.ids)
		meta.locate(&f)
		out = append(out, f)
		sent = append(sent, sentIndex(i))
	}
	return out, sent
}

// frameVars keeps a frame's local variables as JSON, trimmed to
// maxFrameVars as extra is to maxRawJSON: a frame's variables are shown
// beside it, and one large variable must not take the others with it. A
// list (what some SDKs send for positional arguments) is kept as an object
// keyed by index, as Relay reads it, so vars are always name to value.
// Empty ones are dropped as noise.
func (d *decoder) frameVars(path where, v any) json.RawMessage {
	switch x := v.(type) {
	case nil:
		return nil
	case map[string]any:
		if len(x) == 0 {
			return nil
		}
	case []any:
		if len(x) == 0 {
			return nil
		}
		m := make(map[string]any, len(x))
		for i, e := range x {
			m[strconv.Itoa(i)] = e
		}
		v = m
	default:
		d.wrongType(path, "an object", v)
		return nil
	}
	return d.rawWithin(path, v, maxFrameVars)
}

// contextLines reads pre/post_context. Over the limit, the lines nearest
// the frame's line are kept: the end of pre_context, the start of
// post_context.
func (d *decoder) contextLines(path where, v any, pre bool) []string {
	items := d.list(path, v)
	if len(items) > maxContextLines {
		if pre {
			items = items[len(items)-maxContextLines:]
		} else {
			items = items[:maxContextLines]
		}
	}
	var out []string
	for i, it := range items {
		if it == nil {
			out = append(out, "")
			continue
		}
		out = append(out, d.textItem(path, i, it, maxLine))
	}
	return out
}

// debugMeta is what an event's debug_meta images say: for minified
// JavaScript, each file's source map debug ID; for native code, where each
// binary and library was loaded.
type debugMeta struct {
	// ids maps a minified file's URL to its source map's debug ID.
	ids map[string]string
	// images are the native images in the order sent, which addr_mode
	// "rel:N" counts in (an entry that is not a native image is zero);
	// byAddr holds the ones with a size, by load address.
	images []nativeImage
	byAddr []nativeImage
}

// nativeImage is a binary or library loaded into the crashed process.
type nativeImage struct {
	file       string // code_file: the path it was loaded from
	addr, size uint64
}

// readDebugMeta reads the debug_meta images of the JavaScript SDKs (type
// "sourcemap") and of the native ones (elf, macho, pe, apple, ...; the
// oldest Cocoa SDKs name the file "name", not "code_file").
func (d *decoder) readDebugMeta(v any) debugMeta {
	meta, _ := v.(map[string]any)
	images, _ := meta["images"].([]any)
	dm := debugMeta{ids: map[string]string{}}
	list := at("debug_meta.images").list()
	for i, img := range images {
		m, _ := img.(map[string]any)
		file, _ := m["code_file"].(string)
		if m["type"] == "sourcemap" {
			raw, _ := m["debug_id"].(string)
			id, ok := debugid.Canonical(raw)
			if file != "" && ok {
				dm.ids[file] = id
			}
			continue
		}
		if file == "" {
			file, _ = m["name"].(string)
		}
		addr, okAddr := anyAddr(m["image_addr"])
		size, _ := anyAddr(m["image_size"])
		if file == "" || !okAddr {
			continue
		}
		// Entries before this one that are no native image stay zero,
		// so that images[i] is entry i; the JavaScript SDKs' events,
		// with none, allocate nothing here.
		dm.images = append(dm.images, make([]nativeImage, i-len(dm.images))...)
		im := nativeImage{file: d.clamp(list.item(i).field(".code_file"), file, maxPath), addr: addr, size: size}
		dm.images = append(dm.images, im)
		if size > 0 && addr+size > addr {
			dm.byAddr = append(dm.byAddr, im)
		}
	}
	slices.SortFunc(dm.byAddr, func(a, b nativeImage) int { return cmp.Compare(a.addr, b.addr) })
	return dm
}

// locate gives a native frame the package and image address of the image
// its address is in, unless the SDK named them: an absolute address is
// looked up among the images' ranges, and "rel:N" names image N. The
// offset into the image (event.Frame.ImageOffset) is what stays the same
// across runs of one build.
func (dm *debugMeta) locate(f *event.Frame) {
	if f.InstructionAddr == "" || len(dm.images) == 0 {
		return
	}
	if n, ok := strings.CutPrefix(f.AddrMode, "rel:"); ok {
		i, err := strconv.Atoi(n)
		if err != nil || i < 0 || i >= len(dm.images) {
			return
		}
		// The addresses are already offsets into the image.
		if f.Package == "" {
			f.Package = dm.images[i].file
		}
		return
	}
	addr, _ := event.ParseAddr(f.InstructionAddr)
	// The last image loaded at or below addr, if addr is inside it.
	i, found := slices.BinarySearchFunc(dm.byAddr, addr, func(im nativeImage, a uint64) int { return cmp.Compare(im.addr, a) })
	if !found {
		i--
	}
	if i < 0 || addr-dm.byAddr[i].addr >= dm.byAddr[i].size {
		return
	}
	img := dm.byAddr[i]
	if f.Package == "" {
		f.Package = img.file
	}
	if f.ImageAddr == "" {
		f.ImageAddr = event.FormatAddr(img.addr)
	}
}

// addr reads a native address: a hex string ("0x7f3a1c029d90", any
// case and leading zeros), a decimal string or a JSON number. It is stored
// as lowercase hex without leading zeros, so equal addresses compare
// equal.
func (d *decoder) addr(path where, v any) string {
	if v == nil {
		return ""
	}
	n, ok := anyAddr(v)
	if !ok {
		d.wrongType(path, "an address", v)
		return ""
	}
	return event.FormatAddr(n)
}

// anyAddr reads an address or a size as addr accepts it.
func anyAddr(v any) (uint64, bool) {
	switch x := v.(type) {
	case string:
		return event.ParseAddr(strings.TrimSpace(x))
	case json.Number:
		n, err := strconv.ParseUint(string(x), 10, 64)
		return n, err == nil
	}
	return 0, false
}

// frameDebugID takes a frame's own debug_id if it has one, else the one
// debug_meta gives for its file.
func frameDebugID(own any, f event.Frame, ids map[string]string) string {
	raw, _ := own.(string)
	if id, ok := debugid.Canonical(raw); ok {
		return id
	}
	if id, ok := ids[f.AbsPath]; ok && f.AbsPath != "" {
		return id
	}
	return ids[f.Filename]
}
