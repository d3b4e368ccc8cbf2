package scrub

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/event"
)

var on = Config{Enabled: true}

// location puts one key/value pair into an event where SDKs put such pairs
// and reads the value back after scrubbing.
type location struct {
	name string
	loc  string // the Result location it counts under
	put  func(ev *event.Event, k, v string)
	get  func(t *testing.T, ev *event.Event, k string) string
}

func jsonObject(k, v string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{k: v})
	return b
}

// member decodes raw as an object and returns the string at path.
func member(t *testing.T, raw []byte, path ...string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("scrubbed JSON %s does not decode: %v", raw, err)
	}
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s: no object at %q", raw, p)
		}
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

// pairValue finds k in a "k=v<sep>k=v" string.
func pairValue(t *testing.T, s, sep, k string) string {
	t.Helper()
	for p := range strings.SplitSeq(s, sep) {
		pk, pv, _ := strings.Cut(strings.TrimSpace(p), "=")
		if un, err := url.QueryUnescape(pk); err == nil && un == k {
			if un, err := url.QueryUnescape(pv); err == nil && pv != Filtered {
				return un
			}
			return pv
		}
	}
	t.Fatalf("%q has no key %q", s, k)
	return ""
}

var locations = []location{
	{"request.data object", LocRequestData,
		func(ev *event.Event, k, v string) { ev.Request = &event.Request{Data: jsonObject(k, v)} },
		func(t *testing.T, ev *event.Event, k string) string { return member(t, ev.Request.Data, k) }},
	{"request.data form string", LocRequestData,
		func(ev *event.Event, k, v string) {
			s, _ := json.Marshal("a=1&" + url.QueryEscape(k) + "=" + url.QueryEscape(v))
			ev.Request = &event.Request{Data: s}
		},
		func(t *testing.T, ev *event.Event, k string) string {
			var s string
			if err := json.Unmarshal(ev.Request.Data, &s); err != nil {
				t.Fatal(err)
			}
			return pairValue(t, s, "&", k)
		}},
	{"request.data declared form with spaces", LocRequestData,
		func(ev *event.Event, k, v string) {
			s, _ := json.Marshal("note=see you soon&" + url.QueryEscape(k) + "=" + url.QueryEscape(v))
			ev.Request = &event.Request{Headers: [][2]string{{"Content-Type", "application/x-www-form-urlencoded"}}, Data: s}
		},
		func(t *testing.T, ev *event.Event, k string) string {
			var s string
			if err := json.Unmarshal(ev.Request.Data, &s); err != nil {
				t.Fatal(err)
			}
			return pairValue(t, s, "&", k)
		}},
	{"request.data raw JSON string", LocRequestData,
		func(ev *event.Event, k, v string) {
			s, _ := json.Marshal(string(jsonObject(k, v)))
			ev.Request = &event.Request{Data: s}
		},
		func(t *testing.T, ev *event.Event, k string) string {
			var s string
			if err := json.Unmarshal(ev.Request.Data, &s); err != nil {
				t.Fatal(err)
			}
			return member(t, []byte(s), k)
		}},
	{"request.query_string", LocRequestQuery,
		func(ev *event.Event, k, v string) {
			ev.Request = &event.Request{QueryString: "page=2&" + url.QueryEscape(k) + "=" + url.QueryEscape(v)}
		},
		func(t *testing.T, ev *event.Event, k string) string {
			return pairValue(t, ev.Request.QueryString, "&", k)
		}},
	{"request.url", LocRequestURL,
		func(ev *event.Event, k, v string) {
			ev.Request = &event.Request{URL: "https://shop.example.com/cart?" + url.QueryEscape(k) + "=" + url.QueryEscape(v) + "#top"}
		},
		func(t *testing.T, ev *event.Event, k string) string {
			_, q, _ := strings.Cut(ev.Request.URL, "?")
			q, _, _ = strings.Cut(q, "#")
			return pairValue(t, q, "&", k)
		}},
	{"request.headers", LocRequestHeaders,
		func(ev *event.Event, k, v string) {
			ev.Request = &event.Request{Headers: [][2]string{{"Accept", "text/html"}, {k, v}}}
		},
		func(t *testing.T, ev *event.Event, k string) string { return ev.Request.Headers[1][1] }},
	{"extra", LocExtra,
		func(ev *event.Event, k, v string) { ev.Extra = jsonObject(k, v) },
		func(t *testing.T, ev *event.Event, k string) string { return member(t, ev.Extra, k) }},
	{"extra in a list", LocExtra,
		func(ev *event.Event, k, v string) {
			ev.Extra = json.RawMessage(`{"items":[` + string(jsonObject(k, v)) + `]}`)
		},
		func(t *testing.T, ev *event.Event, k string) string {
			var x struct{ Items []map[string]string }
			if err := json.Unmarshal(ev.Extra, &x); err != nil || len(x.Items) != 1 {
				t.Fatalf("extra %s: %v", ev.Extra, err)
			}
			return x.Items[0][k]
		}},
	{"extra pair list", LocExtra,
		func(ev *event.Event, k, v string) {
			b, _ := json.Marshal(map[string]any{"headers": [][2]string{{"Accept", "text/html"}, {k, v}}})
			ev.Extra = b
		},
		func(t *testing.T, ev *event.Event, k string) string {
			var x struct{ Headers [][2]string }
			if err := json.Unmarshal(ev.Extra, &x); err != nil || len(x.Headers) != 2 || x.Headers[1][0] != k {
				t.Fatalf("extra %s: %v", ev.Extra, err)
			}
			return x.Headers[1][1]
		}},
	{"contexts", LocContexts,
		func(ev *event.Event, k, v string) {
			ev.Contexts = json.RawMessage(`{"app":` + string(jsonObject(k, v)) + `}`)
		},
		func(t *testing.T, ev *event.Event, k string) string { return member(t, ev.Contexts, "app", k) }},
	{"breadcrumbs.data", LocBreadcrumbData,
		func(ev *event.Event, k, v string) {
			ev.Breadcrumbs = []event.Breadcrumb{{Category: "http", Data: jsonObject(k, v)}}
		},
		func(t *testing.T, ev *event.Event, k string) string { return member(t, ev.Breadcrumbs[0].Data, k) }},
	{"user.data", LocUserData,
		func(ev *event.Event, k, v string) { ev.User = &event.User{ID: "7", Data: jsonObject(k, v)} },
		func(t *testing.T, ev *event.Event, k string) string { return member(t, ev.User.Data, k) }},
	{"frames.vars", LocFrameVars,
		func(ev *event.Event, k, v string) {
			ev.Exceptions = []event.Exception{{Type: "E", Frames: []event.Frame{{Function: "f"}, {Function: "g", Vars: jsonObject(k, v)}}}}
		},
		func(t *testing.T, ev *event.Event, k string) string {
			return member(t, ev.Exceptions[0].Frames[1].Vars, k)
		}},
	{"frames.vars nested", LocFrameVars,
		func(ev *event.Event, k, v string) {
			ev.Exceptions = []event.Exception{{Type: "E", Frames: []event.Frame{{Function: "f", Vars: json.RawMessage(`{"self":` + string(jsonObject(k, v)) + `}`)}}}}
		},
		func(t *testing.T, ev *event.Event, k string) string {
			return member(t, ev.Exceptions[0].Frames[0].Vars, "self", k)
		}},
	{"threads' frames.vars", LocFrameVars,
		func(ev *event.Event, k, v string) {
			ev.Threads = []event.Thread{{Name: "worker", Frames: []event.Frame{{Function: "run", Vars: jsonObject(k, v)}}}}
		},
		func(t *testing.T, ev *event.Event, k string) string {
			return member(t, ev.Threads[0].Frames[0].Vars, k)
		}},
}

// TestFieldsByLocation is the field × location table: every default
// sensitive key is filtered wherever key/value pairs occur, and ordinary
// keys are left alone. Cookies, filtered one by one, are in TestCookies.
func TestFieldsByLocation(t *testing.T) {
	fields := []struct {
		key, value string
		filtered   bool
	}{
		{"password", "hunter2", true},
		{"user_password", "hunter2", true},
		{"passwd", "hunter2", true},
		{"mysql_pwd", "hunter2", true},
		{"secret", "s3", true},
		{"client_secret", "s3", true},
		{"api_key", "k1", true},
		{"apikey", "k1", true},
		{"X-Api-Key", "k1", true},
		{"auth", "x", true},
		{"Authorization", "Bearer xyz", true},
		{"credentials", "c", true},
		{"token", "secret", true},
		{"access_token", "t", true},
		{"csrftoken", "t", true},
		{"X-CSRF-Token", "t", true},
		{"session", "s", true},
		{"sessionid", "abc123", true},
		{"private_key", "pk", true},
		{"privateKey", "pk", true},
		{"access_key", "ak", true},
		{"AWS_ACCESS_KEY_ID", "AKIA", true},
		{"ssn", "078-05-1120", true},
		{"user_ssn", "078-05-1120", true},
		{"card", "4111111111111111", true},
		{"card_number", "4111111111111111", true},
		{"creditCard", "4111111111111111", true},
		{"cvv", "123", true},
		{"theme", "dark", false},
		{"classname", "Button", false},
		{"username", "ann", false},
		{"discard", "yes", false},
		{"order_id", "1842", false},
	}
	for _, l := range locations {
		for _, f := range fields {
			t.Run(l.name+"/"+f.key, func(t *testing.T) {
				var ev event.Event
				l.put(&ev, f.key, f.value)
				res := Scrub(&ev, on)
				got := l.get(t, &ev, f.key)
				want, wantCount := f.value, 0
				if f.filtered {
					want, wantCount = Filtered, 1
				}
				if got != want || res.Counts[l.loc] != wantCount || res.Total() != wantCount {
					t.Errorf("%s = %q, counts %v; want %q, %d at %s", f.key, got, res.Counts, want, wantCount, l.loc)
				}
			})
		}
	}
}

func TestSafeAndExtraFields(t *testing.T) {
	c := Config{Enabled: true, SafeFields: []string{"Session-ID", "card"}, ExtraFields: []string{"Order-Ref"}}
	for _, l := range locations {
		for _, f := range []struct {
			key, value, want string
		}{
			{"session_id", "abc", "abc"},                     // safe, normalized like keys
			{"card", "4111111111111111", "4111111111111111"}, // safe: not even masked
			{"sessionToken", "abc", Filtered},                // only the exact safe name is safe
			{"order_ref", "R-1", Filtered},                   // extra field
			{"my_order_ref_2", "R-1", Filtered},              // extra fields match as substrings
		} {
			t.Run(l.name+"/"+f.key, func(t *testing.T) {
				var ev event.Event
				l.put(&ev, f.key, f.value)
				Scrub(&ev, c)
				if got := l.get(t, &ev, f.key); got != f.want {
					t.Errorf("%s = %q, want %q", f.key, got, f.want)
				}
			})
		}
	}
}

// TestText covers masking in free text, in every place free text is kept.
func TestText(t *testing.T) {
	texts := []struct {
		in, want string
		n        int
	}{
		{"charge 4111111111111111 failed", "charge [creditcard] failed", 1},
		{"card 4111 1111 1111 1111.", "card [creditcard].", 1},
		{"card 5500-0000-0000-0004 and 378282246310005", "card [creditcard] and [creditcard]", 2},
		{"4111111111111112 fails Luhn", "4111111111111112 fails Luhn", 0},
		{"order 1234567890123456", "order 1234567890123456", 0},
		{"at 1700000000000 ms (1700000000001)", "at 1700000000000 ms (1700000000001)", 0},
		{"id 41111111111111111111111", "id 41111111111111111111111", 0},
		{"from 203.0.113.7:443", "from [ip]:443", 1},
		{"hosts 10.0.0.1,192.168.1.254", "hosts [ip],[ip]", 2},
		{"version 1.2.3.4.5 of 2.0.0", "version 1.2.3.4.5 of 2.0.0", 0},
		{"libfoo v1.2.3.4", "libfoo v1.2.3.4", 0},
		{"Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0.0.0 Safari/537.36", "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0.0.0 Safari/537.36", 0},
		{"fetch http://10.0.0.1/health failed", "fetch http://[ip]/health failed", 1},
		{"bad quad 256.1.1.1", "bad quad 256.1.1.1", 0},
		{"peer 2001:db8::1. Retry", "peer [ip]. Retry", 1},
		{"[fe80::1ff:fe23:4567:890a]:80", "[[ip]]:80", 1},
		{"mapped ::ffff:192.0.2.1", "mapped [ip]", 1},
		{"std::string and Foo::Bar", "std::string and Foo::Bar", 0},
		{"at 12:30:00 on 2026-12-03T09:38:33.123Z", "at 12:30:00 on 2026-12-03T09:38:33.123Z", 0},
		{"uuid 9ec79c33-ec99-42ab-8353-589fcb2e04dc", "uuid 9ec79c33-ec99-42ab-8353-589fcb2e04dc", 0},
		// Relay's @urlauth and @pemkey: what QA sent, and its edges.
		{"could not connect: postgres://app:s3cr3tpw@db.internal:5432/shop", "could not connect: postgres://app:[Filtered]@db.internal:5432/shop", 1},
		{"mysql://root:hunter2@10.1.2.3/app", "mysql://root:[Filtered]@[ip]/app", 2},
		{"redis://:p4ssw0rd@cache:6379/0", "redis://:[Filtered]@cache:6379/0", 1},
		{"amqp://guest:p@ss@broker/vhost?heartbeat=10", "amqp://guest:[Filtered]@broker/vhost?heartbeat=10", 1},
		{"http://10.0.0.1/health?verbose=1", "http://[ip]/health?verbose=1", 1},
		{"ssh://git@example.com:22/repo and http://user:@host/ and http://host:8080/a@b", "ssh://git@example.com:22/repo and http://user:@host/ and http://host:8080/a@b", 0},
		{"key -----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- loaded", "key -----BEGIN RSA PRIVATE KEY-----\n[Filtered]\n-----END RSA PRIVATE KEY----- loaded", 1},
		{"-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----", "-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----", 0},
		{"cut: -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE", "cut: -----BEGIN OPENSSH PRIVATE KEY-----\n[Filtered]\n", 1},
	}
	places := []struct {
		name, loc string
		put       func(*event.Event, string)
		get       func(*event.Event) string
	}{
		{"message", LocMessage, func(ev *event.Event, s string) { ev.Message = s }, func(ev *event.Event) string { return ev.Message }},
		{"exception value", LocExceptionValue,
			func(ev *event.Event, s string) { ev.Exceptions = []event.Exception{{Type: "E", Value: s}} },
			func(ev *event.Event) string { return ev.Exceptions[0].Value }},
		{"breadcrumb message", LocBreadcrumbMessage,
			func(ev *event.Event, s string) { ev.Breadcrumbs = []event.Breadcrumb{{Message: s}} },
			func(ev *event.Event) string { return ev.Breadcrumbs[0].Message }},
		{"extra value", LocExtra,
			func(ev *event.Event, s string) { ev.Extra = jsonObject("note", s) },
			func(ev *event.Event) string { var m map[string]string; json.Unmarshal(ev.Extra, &m); return m["note"] }},
	}
	for _, p := range places {
		for _, tt := range texts {
			t.Run(p.name+"/"+tt.in, func(t *testing.T) {
				var ev event.Event
				p.put(&ev, tt.in)
				res := Scrub(&ev, on)
				if got := p.get(&ev); got != tt.want || res.Counts[p.loc] != tt.n {
					t.Errorf("%q became %q (counts %v); want %q, %d", tt.in, got, res.Counts, tt.want, tt.n)
				}
			})
		}
	}
}

func TestURLs(t *testing.T) {
	ev := event.Event{
		Request:     &event.Request{URL: "http://203.0.113.7/login?user=ann&token=secret&cc=4111111111111111"},
		Breadcrumbs: []event.Breadcrumb{{Message: "GET /pay?api_key=k&card=4111111111111111 from 10.0.0.1, card 4111 1111 1111 1111"}},
	}
	res := Scrub(&ev, on)
	want := "http://[ip]/login?user=ann&token=[Filtered]&cc=[creditcard]"
	if ev.Request.URL != want || res.Counts[LocRequestURL] != 3 {
		t.Errorf("URL = %q (%v), want %q", ev.Request.URL, res.Counts, want)
	}
	want = "GET /pay?api_key=[Filtered]&card=[Filtered] from [ip], card [creditcard]"
	if got := ev.Breadcrumbs[0].Message; got != want || res.Counts[LocBreadcrumbMessage] != 4 {
		t.Errorf("breadcrumb message = %q (%v), want %q", got, res.Counts, want)
	}
}

func TestCookies(t *testing.T) {
	ev := event.Event{
		Request: &event.Request{
			Headers: [][2]string{{"Cookie", "sessionid=abc; theme=dark"}, {"Set-Cookie", "sid=1"}},
			Data:    json.RawMessage(`{"cookies":{"sessionid":"abc","theme":"dark"},"cookie":"csrftoken=x; theme=dark"}`),
		},
	}
	res := Scrub(&ev, on)
	if h := ev.Request.Headers; h[0][1] != Filtered || h[1][1] != Filtered {
		t.Errorf("cookie headers = %v, want both filtered whole", h)
	}
	want := `{"cookie":"csrftoken=[Filtered]; theme=[Filtered]","cookies":{"sessionid":"[Filtered]","theme":"[Filtered]"}}`
	if string(ev.Request.Data) != want {
		t.Errorf("request.data = %s\nwant           %s", ev.Request.Data, want)
	}
	if res.Counts[LocRequestHeaders] != 2 || res.Counts[LocRequestData] != 4 {
		t.Errorf("counts = %v", res.Counts)
	}
}

// TestCookieJars is the security review's finding: session cookies whose
// names match no sensitive field (Express's connect.sid, PHP's PHPSESSID,
// GitHub's _gh_sess, sid) were kept in extra and contexts, as were a bare
// cookie value and a Set-Cookie value split per cookie. Under a cookie key
// every value is filtered and only the names are kept; Set-Cookie and
// other keys named after cookies are filtered whole.
func TestCookieJars(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		// The reproduction.
		{`{"cookies":{"connect.sid":"s%3AEXPRESS1.sig","PHPSESSID":"PHP2","sid":"SID5","_gh_sess":"GH3"},"cookie":"BAREVALUE8","set_cookie":"connect.sid=EXPRESS9; Path=/; HttpOnly"}`,
			`{"cookie":"[Filtered]","cookies":{"PHPSESSID":"[Filtered]","_gh_sess":"[Filtered]","connect.sid":"[Filtered]","sid":"[Filtered]"},"set_cookie":"[Filtered]"}`},
		{`{"response":{"headers":{"Set-Cookie":"sid=SC1; Path=/"},"cookies":"sid=RC3"}}`,
			`{"response":{"cookies":"sid=[Filtered]","headers":{"Set-Cookie":"[Filtered]"}}}`},
		// Set-Cookie is filtered whole however it is spelled, as any key
		// named after cookies is.
		{`{"set_cookie":"SC5","setCookie":"a=1","Set-Cookie":["a=1","b=2"],"mycookie":"a=SC6"}`,
			`{"Set-Cookie":"[Filtered]","mycookie":"[Filtered]","setCookie":"[Filtered]","set_cookie":"[Filtered]"}`},
		// A cookie string keeps its names and spacing; a segment with no
		// "=" is a value, filtered whole; empty values stay.
		{`{"cookie":"a=1;b=2;  c=x=y; flag; d=; ;"}`,
			`{"cookie":"a=[Filtered];b=[Filtered];  c=[Filtered]; [Filtered]; d=; ;"}`},
		// Lists of pairs (Sentry's request.cookies shape), of strings and
		// of objects; anything else under a name is filtered whole.
		{`{"cookies":[["sid","S1"],["theme",""],"a=1; b=2",{"tok":"T"},["x","y","z"]]}`,
			`{"cookies":[["sid","[Filtered]"],["theme",""],"a=[Filtered]; b=[Filtered]",{"tok":"[Filtered]"},["[Filtered]","[Filtered]","[Filtered]"]]}`},
		{`{"cookies":{"n":12345,"o":{"v":"x"},"l":["x"],"t":true,"e":"","z":null}}`,
			`{"cookies":{"e":"","l":"[Filtered]","n":"[Filtered]","o":"[Filtered]","t":"[Filtered]","z":null}}`},
		{`{"cookies":12345,"cookie":null}`, `{"cookie":null,"cookies":"[Filtered]"}`},
	} {
		ev := event.Event{Extra: json.RawMessage(tt.in), Contexts: json.RawMessage(tt.in)}
		Scrub(&ev, on)
		if string(ev.Extra) != tt.want || string(ev.Contexts) != tt.want {
			t.Errorf("%s\nscrubbed to %s\nwant        %s", tt.in, ev.Extra, tt.want)
		}
	}
}

// Session cookies' names are sensitive keys outside a cookie jar too: an
// app that logs its session as extra.sid or a frame's PHPSESSID variable.
func TestSessionKeys(t *testing.T) {
	ev := event.Event{Extra: json.RawMessage(`{"connect.sid":"E1","PHPSESSID":"P2","sid":"S3","_gh_sess":"G4","express:sess":"X5","user":{"sid":"S6"},"inside":"keep","assess":"keep","process_id":7}`)}
	res := Scrub(&ev, on)
	want := `{"PHPSESSID":"[Filtered]","_gh_sess":"[Filtered]","assess":"keep","connect.sid":"[Filtered]","express:sess":"[Filtered]","inside":"keep","process_id":7,"sid":"[Filtered]","user":{"sid":"[Filtered]"}}`
	if string(ev.Extra) != want || res.Counts[LocExtra] != 6 {
		t.Errorf("extra = %s (%v)\nwant    %s", ev.Extra, res.Counts, want)
	}
	ev = event.Event{Request: &event.Request{QueryString: "sid=S1&page=2", URL: "https://x.example/p?connect.sid=C2"}}
	Scrub(&ev, on)
	if ev.Request.QueryString != "sid=[Filtered]&page=2" || ev.Request.URL != "https://x.example/p?connect.sid=[Filtered]" {
		t.Errorf("request = %+v", ev.Request)
	}
}

// A safe field names a cookie whose value is kept.
func TestCookieSafeField(t *testing.T) {
	ev := event.Event{Extra: json.RawMessage(`{"cookies":{"theme":"dark","sid":"S"},"cookie":"theme=dark; sid=S","jar":{"cookies":[["theme","dark"]]}}`)}
	Scrub(&ev, Config{Enabled: true, SafeFields: []string{"theme"}})
	want := `{"cookie":"theme=dark; sid=[Filtered]","cookies":{"sid":"[Filtered]","theme":"dark"},"jar":{"cookies":[["theme","dark"]]}}`
	if string(ev.Extra) != want {
		t.Errorf("extra = %s\nwant    %s", ev.Extra, want)
	}
}

// TestPairLists is the QA finding: headers sent as [name, value] pairs
// outside request.headers (Sentry's own shape for headers, cookies and
// env) were kept as sent, where the same keys in an object were filtered.
// A list of pairs is read by name; other lists are not.
func TestPairLists(t *testing.T) {
	for _, tt := range []struct {
		name, in, want string
		count          int
	}{
		// The reproduction.
		{"response headers", `{"response":{"headers":[["Set-Cookie","sid=secretP3; HttpOnly"],["Content-Type","text/html"]]}}`,
			`{"response":{"headers":[["Set-Cookie","[Filtered]"],["Content-Type","text/html"]]}}`, 1},
		{"extra headers", `{"headers":[["Authorization","Bearer secretP2"]]}`,
			`{"headers":[["Authorization","[Filtered]"]]}`, 1},
		{"cookie pair", `{"request_headers":[["cookie","a=secretP5; theme=dark"]]}`,
			`{"request_headers":[["cookie","a=[Filtered]; theme=[Filtered]"]]}`, 2},
		// env-like lists, with values of every kind under a sensitive name.
		{"env", `[["DATABASE_PASSWORD","pw"],["HOME","/root"],["api_key",{"k":"v"}],["token",null],["secret",""],["csrf",7]]`,
			`[["DATABASE_PASSWORD","[Filtered]"],["HOME","/root"],["api_key","[Filtered]"],["token",null],["secret",""],["csrf","[Filtered]"]]`, 3},
		// A plain name's value is scrubbed as any value is.
		{"plain value", `[["Referer","https://h/p?token=T1"],["x","4111111111111111"]]`,
			`[["Referer","https://h/p?token=[Filtered]"],["x","[creditcard]"]]`, 2},
		// Lists that are not lists of pairs are read item by item.
		{"strings", `{"l":["password","hunter2"],"m":["a","b"]}`, `{"l":["password","hunter2"],"m":["a","b"]}`, 0},
		{"tuples", `[["a","b"],["c","d"]]`, `[["a","b"],["c","d"]]`, 0},
		{"mixed", `[["token","T2"],"x"]`, `[["token","T2"],"x"]`, 0},
		{"long", `[["token","T3","x"]]`, `[["token","T3","x"]]`, 0},
		{"object name", `[[{"token":"T4"},"x"]]`, `[[{"token":"[Filtered]"},"x"]]`, 1},
		// A name masked when scrubbed is read as masked, so that the
		// next pass reads it so too.
		{"masked name", `[[4111111111111111,"x"],["a","b"]]`, `[["[creditcard]","[Filtered]"],["a","b"]]`, 2},
	} {
		ev := event.Event{Extra: json.RawMessage(tt.in)}
		res := Scrub(&ev, on)
		if string(ev.Extra) != tt.want || res.Total() != tt.count {
			t.Errorf("%s: %s\nscrubbed to %s (%v)\nwant        %s (%d)", tt.name, tt.in, ev.Extra, res.Counts, tt.want, tt.count)
		}
		again := event.Event{Extra: ev.Extra}
		if res := Scrub(&again, on); res.Total() != 0 {
			t.Errorf("%s: second pass scrubbed %v: %s", tt.name, res.Counts, again.Extra)
		}
	}
	// A safe field keeps its value in a pair as in an object.
	ev := event.Event{Extra: json.RawMessage(`[["session_token","S"],["token","T"]]`)}
	Scrub(&ev, Config{Enabled: true, SafeFields: []string{"session_token"}})
	if want := `[["session_token","S"],["token","[Filtered]"]]`; string(ev.Extra) != want {
		t.Errorf("with a safe field: %s, want %s", ev.Extra, want)
	}
}

// TestFullwidthKeys is the QA finding: a fullwidth "ｃｏｏｋｉｅ" key kept
// its value. Keys are folded (NFKC) to be classified, and stored as sent.
func TestFullwidthKeys(t *testing.T) {
	ev := event.Event{
		Extra: json.RawMessage(`{"ｃｏｏｋｉｅ":"sid=FW1; theme=dark","ｐａｓｓｗｏｒｄ":"FW2","headers":[["Ａｕｔｈｏｒｉｚａｔｉｏｎ","Bearer FW3"]],"ｔｈｅｍｅ":"dark"}`),
		Request: &event.Request{
			Headers:     [][2]string{{"Ｃｏｏｋｉｅ", "sid=FW4"}},
			QueryString: "%EF%BD%94%EF%BD%8F%EF%BD%8B%EF%BD%85%EF%BD%8E=FW5&page=2",
		},
	}
	res := Scrub(&ev, on)
	want := `{"headers":[["Ａｕｔｈｏｒｉｚａｔｉｏｎ","[Filtered]"]],"ｃｏｏｋｉｅ":"sid=[Filtered]; theme=[Filtered]","ｐａｓｓｗｏｒｄ":"[Filtered]","ｔｈｅｍｅ":"dark"}`
	if string(ev.Extra) != want {
		t.Errorf("extra = %s\nwant    %s", ev.Extra, want)
	}
	if h := ev.Request.Headers[0]; h != [2]string{"Ｃｏｏｋｉｅ", Filtered} {
		t.Errorf("header = %q, want its value filtered", h)
	}
	if q := ev.Request.QueryString; q != "%EF%BD%94%EF%BD%8F%EF%BD%8B%EF%BD%85%EF%BD%8E=[Filtered]&page=2" {
		t.Errorf("query string = %q", q)
	}
	if res.Total() != 6 {
		t.Errorf("counts = %v, want 6 values", res.Counts)
	}
}

func TestObjectsUnderSensitiveKeys(t *testing.T) {
	ev := event.Event{Extra: json.RawMessage(`{"auth":{"user":"ann","pass":"x"},"token":null,"password":"","secret":42,"n":4111111111111111}`)}
	res := Scrub(&ev, on)
	want := `{"auth":"[Filtered]","n":"[creditcard]","password":"","secret":"[Filtered]","token":null}`
	if string(ev.Extra) != want || res.Counts[LocExtra] != 3 {
		t.Errorf("extra = %s (%v)\nwant    %s", ev.Extra, res.Counts, want)
	}
}

// TestUnchangedBytes checks that JSON with nothing to scrub keeps its exact
// bytes: re-encoding would reorder keys and reformat numbers for nothing.
func TestUnchangedBytes(t *testing.T) {
	in := json.RawMessage(`{"z": 1.50, "a": [1, 2]}`)
	ev := event.Event{Extra: in}
	Scrub(&ev, on)
	if string(ev.Extra) != string(in) {
		t.Errorf("extra = %s, want it untouched", ev.Extra)
	}
}

func TestDepthCap(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 200) + `"4111111111111111"` + strings.Repeat(`}`, 200)
	ev := event.Event{Extra: json.RawMessage(deep)}
	res := Scrub(&ev, on)
	if !json.Valid(ev.Extra) || strings.Contains(string(ev.Extra), "4111") || res.Counts[LocExtra] != 1 {
		t.Errorf("deep extra = %.80s… (%v), want the deep part filtered", ev.Extra, res.Counts)
	}
	if !strings.Contains(string(ev.Extra), `"a":"[Filtered]"`) {
		t.Errorf("deep extra = %s, want the cut marked", ev.Extra)
	}
}

func TestDisabledAndDropIP(t *testing.T) {
	newEvent := func() event.Event {
		return event.Event{
			Message: "card 4111111111111111",
			User:    &event.User{IPHash: "abc"},
			Request: &event.Request{QueryString: "token=secret"},
		}
	}
	tests := []struct {
		name     string
		c        Config
		message  string
		query    string
		userKept bool
		scrubbed int
	}{
		{"default", Config{Enabled: true}, "card [creditcard]", "token=[Filtered]", true, 2},
		{"off", Config{}, "card 4111111111111111", "token=secret", true, 0},
		{"off, drop IP", Config{DropIP: true}, "card 4111111111111111", "token=secret", false, 0},
		{"on, drop IP", Config{Enabled: true, DropIP: true}, "card [creditcard]", "token=[Filtered]", false, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := newEvent()
			res := Scrub(&ev, tt.c)
			if ev.Message != tt.message || ev.Request.QueryString != tt.query || (ev.User != nil) != tt.userKept || res.Total() != tt.scrubbed {
				t.Errorf("message %q, query %q, user %+v, total %d", ev.Message, ev.Request.QueryString, ev.User, res.Total())
			}
		})
	}
	t.Run("drop IP keeps the user's identity", func(t *testing.T) {
		ev := event.Event{User: &event.User{ID: "7", IPHash: "abc"}}
		Scrub(&ev, Config{DropIP: true})
		if ev.User == nil || ev.User.ID != "7" || ev.User.IPHash != "" {
			t.Errorf("user = %+v, want id 7 without IP hash", ev.User)
		}
	})
}

func TestNote(t *testing.T) {
	tests := []struct {
		counts map[string]int
		want   string
	}{
		{nil, ""},
		{map[string]int{LocExtra: 1}, "Scrubbed 1 value (extra: 1)"},
		{map[string]int{LocRequestQuery: 1, LocRequestData: 2}, "Scrubbed 3 values (request.query_string: 1, request.data: 2)"},
		{map[string]int{LocTags: 1, LocExceptionType: 1, LocCulprit: 2}, "Scrubbed 4 values (culprit: 2, exception.type: 1, tags: 1)"},
	}
	for _, tt := range tests {
		if got := (Result{Counts: tt.counts}).Note(); got != tt.want {
			t.Errorf("Note(%v) = %q, want %q", tt.counts, got, tt.want)
		}
	}
}

// TestAcceptance is the example: a form of the Sentry request
// interface with a password, a card number and a token.
func TestAcceptance(t *testing.T) {
	ev := event.Event{Request: &event.Request{
		Method:      "POST",
		URL:         "https://shop.example.com/checkout",
		QueryString: "token=secret",
		Data:        json.RawMessage(`{"password":"hunter2","card":"4111111111111111"}`),
	}}
	res := Scrub(&ev, on)
	if got, want := string(ev.Request.Data), `{"card":"[Filtered]","password":"[Filtered]"}`; got != want {
		t.Errorf("request.data = %s, want %s", got, want)
	}
	if ev.Request.QueryString != "token=[Filtered]" {
		t.Errorf("query string = %q", ev.Request.QueryString)
	}
	if got, want := res.Note(), "Scrubbed 3 values (request.query_string: 1, request.data: 2)"; got != want {
		t.Errorf("note = %q, want %q", got, want)
	}
}

func FuzzScrub(f *testing.F) {
	f.Add("card 4111 1111 1111 1111 from 2001:db8::1", []byte(`{"password":"x","a":[{"token":1}],"s":"{\"secret\":2}"}`))
	f.Add("v1.2.3.4 at 10.0.0.1.", []byte(`"a=1&session=2"`))
	f.Add("", []byte(`{"cookies":"sid=1; x=2","n":378282246310005}`))
	f.Add("", []byte(`{"cookie":"a=1; bare; =x; b=","cookies":[["s",1],{"t":{"u":2}},"v"],"set_cookie":{"a":1}}`))
	f.Add("", []byte(`{"headers":[["Set-Cookie","sid=1"],["cookie","a=1"],[4111111111111111,"x"],["token",{"a":1}]],"l":[["a","b"],"c"]}`))
	f.Add("ｃｏｏｋｉｅ", []byte(`{"ｃｏｏｋｉｅ":"a=1","𝐭𝐨𝐤𝐞𝐧":"x","ｔｈｅｍｅ":"dark"}`))
	f.Add("std::string", []byte(`not json ::1`))
	f.Add("postgres://app:pw@db/shop -----BEGIN EC PRIVATE KEY-----\nMHc", []byte(`"redis://:pw@cache"`))
	f.Add("https://h/#/r?token=1#a=2 /p#x=1&session=3", []byte(`"https://u:p@h/p#a=1"`))
	f.Fuzz(func(t *testing.T, text string, data []byte) {
		ev := event.Event{
			Message:     text,
			SDKCulprit:  text,
			Tags:        []event.Tag{{Key: "blocked-uri", Value: text}},
			Exceptions:  []event.Exception{{Type: text, Value: text, Module: text, Mechanism: &event.Mechanism{Type: text}, RawStack: text}},
			Breadcrumbs: []event.Breadcrumb{{Message: text, Data: data}},
			Request:     &event.Request{URL: text, QueryString: text, Headers: [][2]string{{text, text}}, Data: data},
			Extra:       data,
		}
		res := Scrub(&ev, on)
		if json.Valid(data) && !json.Valid(ev.Extra) {
			t.Fatalf("valid JSON %q scrubbed to invalid %q", data, ev.Extra)
		}
		// Scrubbing is idempotent: nothing a pass leaves is sensitive.
		again := ev
		again.Request = &event.Request{}
		*again.Request = *ev.Request
		res2 := Scrub(&again, on)
		if res2.Total() != 0 {
			t.Fatalf("second pass scrubbed %v after first %v: %s", res2.Counts, res.Counts, fmt.Sprint(ev.Message, ev.Extra))
		}
	})
}

// BenchmarkScrub scrubs an event with 100 breadcrumbs that repeat their
// keys and hold URLs with queries, the bulk of a 50 KB event.
func BenchmarkScrub(b *testing.B) {
	crumbs := make([]event.Breadcrumb, 100)
	for i := range crumbs {
		crumbs[i] = event.Breadcrumb{
			Message: fmt.Sprintf("GET https://api.example.com/v1/items?page=%d&sort=desc took %d ms on worker-7", i, i%40),
			Data:    jsonObject("url", fmt.Sprintf("https://api.example.com/v1/items?page=%d", i)),
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		ev := event.Event{Breadcrumbs: slices.Clone(crumbs)}
		if res := Scrub(&ev, on); res.Total() != 0 {
			b.Fatalf("scrubbed %v", res.Counts)
		}
	}
}

// BenchmarkScrubStoredEvent decodes and scrubs a queued 50 KB Python event
// whose 29 frames each carry three local variables and rows a handler
// fetched, as the processor's decode and scrub stages do with the load
// tool's events (internal/bench/envelope.go).
func BenchmarkScrubStoredEvent(b *testing.B) {
	var frames []string
	for i := range 29 {
		var rows []string
		for r := range 7 {
			rows = append(rows, fmt.Sprintf(`"row_%d":{"id":%d,"note":"customer invoice payment retry after the card was declined by the issuer twice","status":"pending"}`, r*29+i, (r*29+i)*7919%10007))
		}
		frames = append(frames, fmt.Sprintf(`{"filename":"app/svc/m%d.py","function":"handle_%d","lineno":%d,"in_app":true,`+
			`"context_line":"total = order.total + discount(customer, cart)","vars":{"order_id":%d,"retries":%d,%s,"user":"customer invoice"}}`,
			i, i, 10+i, 100000+i*7919, i%5, strings.Join(rows, ",")))
	}
	var crumbs []string
	for i := range 100 {
		crumbs = append(crumbs, fmt.Sprintf(`{"message":"GET https://api.example.com/v1/items?page=%d&sort=desc took %d ms","data":{"url":"https://api.example.com/v1/items?page=%d"}}`, i, i%40, i))
	}
	raw := []byte(`{"event_id":"c2b7f1a4e5d94b0f8a6e3d2c1b0a9f8e","project_id":1,"level":"error","exceptions":[{"type":"ValueError","value":"bad","frames":[` +
		strings.Join(frames, ",") + `]}],"breadcrumbs":[` + strings.Join(crumbs, ",") + `]}`)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		var ev event.Event
		if err := json.Unmarshal(raw, &ev); err != nil {
			b.Fatal(err)
		}
		if res := Scrub(&ev, on); res.Total() != 0 {
			b.Fatalf("scrubbed %v", res.Counts)
		}
	}
}

// A log message's params are scrubbed like extra data, and its filled-in
// text (QA #3) like a message; a param filtered by its key is filled in
// again from the scrubbed params, so the secret is in neither.
func TestLogMessageParams(t *testing.T) {
	tests := []struct {
		name                    string
		ev                      event.Event
		wantFormatted, wantPars string
	}{
		{"a key", event.Event{Message: "login as %(user)s with %(password)s", MessageFormatted: "login as ann with hunter2",
			MessageParams: json.RawMessage(`{"password":"hunter2","user":"ann"}`)},
			"login as ann with [Filtered]", `{"password":"[Filtered]","user":"ann"}`},
		{"a card number in a list", event.Event{Message: "charge %s failed", MessageFormatted: "charge 4111111111111111 failed",
			MessageParams: json.RawMessage(`["4111111111111111"]`)},
			"charge [creditcard] failed", `["[creditcard]"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := tt.ev
			Scrub(&ev, on)
			if ev.MessageFormatted != tt.wantFormatted || string(ev.MessageParams) != tt.wantPars {
				t.Errorf("formatted %q, params %s; want %q, %s", ev.MessageFormatted, ev.MessageParams, tt.wantFormatted, tt.wantPars)
			}
		})
	}
}

// A frame's local variables are scrubbed as extra is: by key, card numbers
// and URL passwords in values, nested at any depth; the frames as sent
// that symbolication keeps are scrubbed too but not counted twice; the
// project's settings apply; and the note names frames.vars.
func TestFrameVars(t *testing.T) {
	secrets := `{"password":"x","card":"4111 1111 1111 1111","dsn":"postgres://u:pw@h/db","order":{"note":"paid with 5500-0000-0000-0004","id":7}}`
	newEvent := func() event.Event {
		return event.Event{Exceptions: []event.Exception{{Type: "E",
			Frames:    []event.Frame{{Function: "pay", Vars: json.RawMessage(secrets)}},
			RawFrames: []event.Frame{{Function: "a", Vars: json.RawMessage(secrets)}},
		}}}
	}
	want := `{"card":"[Filtered]","dsn":"postgres://u:[Filtered]@h/db","order":{"id":7,"note":"paid with [creditcard]"},"password":"[Filtered]"}`

	ev := newEvent()
	res := Scrub(&ev, on)
	ex := ev.Exceptions[0]
	if got := string(ex.Frames[0].Vars); got != want {
		t.Errorf("vars\n%s\nwant\n%s", got, want)
	}
	if got := string(ex.RawFrames[0].Vars); got != want {
		t.Errorf("raw frame's vars\n%s\nwant\n%s", got, want)
	}
	if got, wantNote := res.Note(), "Scrubbed 4 values (frames.vars: 4)"; got != wantNote {
		t.Errorf("note %q, want %q", got, wantNote)
	}

	t.Run("scrubbing off", func(t *testing.T) {
		ev := newEvent()
		if res := Scrub(&ev, Config{}); res.Total() != 0 || string(ev.Exceptions[0].Frames[0].Vars) != secrets {
			t.Errorf("vars %s, counts %v: want them as sent", ev.Exceptions[0].Frames[0].Vars, res.Counts)
		}
	})
	t.Run("safe and extra fields", func(t *testing.T) {
		ev := newEvent()
		ev.Exceptions[0].Frames[0].Vars = json.RawMessage(`{"card":"4111 1111 1111 1111","order":{"iban":"DE89370400440532013000"},"password":"x"}`)
		Scrub(&ev, Config{Enabled: true, SafeFields: []string{"card"}, ExtraFields: []string{"IBAN"}})
		if got, want := string(ev.Exceptions[0].Frames[0].Vars), `{"card":"4111 1111 1111 1111","order":{"iban":"[Filtered]"},"password":"[Filtered]"}`; got != want {
			t.Errorf("vars %s, want %s", got, want)
		}
	})
	t.Run("nested deeper than the scrubber walks", func(t *testing.T) {
		deep := strings.Repeat(`{"a":`, 40) + `"4111111111111111"` + strings.Repeat(`}`, 40)
		ev := event.Event{Exceptions: []event.Exception{{Frames: []event.Frame{{Function: "f", Vars: json.RawMessage(deep)}}}}}
		res := Scrub(&ev, on)
		got := string(ev.Exceptions[0].Frames[0].Vars)
		if strings.Contains(got, "4111") || !strings.Contains(got, `"`+Filtered+`"`) || res.Counts[LocFrameVars] != 1 {
			t.Errorf("vars %s, counts %v: want the part beyond %d levels filtered", got, res.Counts, maxDepth)
		}
	})
	t.Run("nothing to scrub leaves the bytes alone", func(t *testing.T) {
		vars := json.RawMessage(`{"order_id":1842,"user":"ann"}`)
		ev := event.Event{Exceptions: []event.Exception{{Frames: []event.Frame{{Function: "f", Vars: vars}}}}}
		if res := Scrub(&ev, on); res.Total() != 0 || &ev.Exceptions[0].Frames[0].Vars[0] != &vars[0] {
			t.Errorf("counts %v; vars re-encoded: %s", res.Counts, ev.Exceptions[0].Frames[0].Vars)
		}
	})
}

// TestURLFragments: a fragment of key=value pairs (OAuth's implicit flow,
// a hash router's query) is filtered by key like a query, anything else in
// it masked as text, wherever URLs are scrubbed.
func TestURLFragments(t *testing.T) {
	urls := []struct {
		in, want string
		n        int
	}{
		{"https://h/p?x=1#access_token=SEC_FRAG", "https://h/p?x=1#access_token=[Filtered]", 1},
		{"https://app.example.com/callback#access_token=SEC&token_type=Bearer&expires_in=3600&state=af0ifjsldkj",
			"https://app.example.com/callback#access_token=[Filtered]&token_type=[Filtered]&expires_in=3600&state=af0ifjsldkj", 2},
		{"https://h/#/reset?token=SEC&step=2", "https://h/#/reset?token=[Filtered]&step=2", 1},
		{"/app#/pay?card=4111111111111111", "/app#/pay?card=[Filtered]", 1},
		{"https://h/p#4111111111111111", "https://h/p#[creditcard]", 1},
		{"https://bob:pw@h/p#id_token=x", "https://bob:[Filtered]@h/p#id_token=[Filtered]", 2},
		{"https://h/docs#section-2", "https://h/docs#section-2", 0},
		{"https://h/p?a=1#top", "https://h/p?a=1#top", 0},
	}
	places := []struct {
		name, loc string
		put       func(*event.Event, string)
		get       func(*event.Event) string
	}{
		{"request.url", LocRequestURL, func(ev *event.Event, s string) { ev.Request = &event.Request{URL: s} },
			func(ev *event.Event) string { return ev.Request.URL }},
		{"breadcrumb message", LocBreadcrumbMessage, func(ev *event.Event, s string) { ev.Breadcrumbs = []event.Breadcrumb{{Message: "navigation to " + s}} },
			func(ev *event.Event) string { return strings.TrimPrefix(ev.Breadcrumbs[0].Message, "navigation to ") }},
		{"breadcrumb data", LocBreadcrumbData, func(ev *event.Event, s string) { ev.Breadcrumbs = []event.Breadcrumb{{Data: jsonObject("to", s)}} },
			func(ev *event.Event) string {
				var m map[string]string
				json.Unmarshal(ev.Breadcrumbs[0].Data, &m)
				return m["to"]
			}},
		{"culprit", LocCulprit, func(ev *event.Event, s string) { ev.SDKCulprit = "GET " + s },
			func(ev *event.Event) string { return strings.TrimPrefix(ev.SDKCulprit, "GET ") }},
		{"tag", LocTags, func(ev *event.Event, s string) { ev.Tags = []event.Tag{{Key: "blocked-uri", Value: s}} },
			func(ev *event.Event) string { return ev.Tags[0].Value }},
	}
	for _, p := range places {
		for _, tt := range urls {
			t.Run(p.name+"/"+tt.in, func(t *testing.T) {
				var ev event.Event
				p.put(&ev, tt.in)
				res := Scrub(&ev, on)
				if got := p.get(&ev); got != tt.want || res.Counts[p.loc] != tt.n || res.Total() != tt.n {
					t.Errorf("%q became %q (counts %v); want %q, %d", tt.in, got, res.Counts, tt.want, tt.n)
				}
			})
		}
	}
	// Without a "?" or "#" in a URL, a "#" is only text.
	ev := event.Event{Message: "issue #42 in C# at https://h/p costs 4111111111111111"}
	Scrub(&ev, on)
	if want := "issue #42 in C# at https://h/p costs [creditcard]"; ev.Message != want {
		t.Errorf("message = %q, want %q", ev.Message, want)
	}
}

// A card number or an address in an exception's type, module or mechanism
// (QA: "CardErr 4111111111111111" reached the title and alert subject) is
// masked as in its value.
func TestExceptionFields(t *testing.T) {
	ev := event.Event{Exceptions: []event.Exception{{
		Type:      "CardErr 4111111111111111",
		Value:     "declined",
		Module:    "billing.4111111111111111",
		Mechanism: &event.Mechanism{Type: "upstream 10.0.0.1", Source: "errors[4111111111111111]"},
	}}}
	res := Scrub(&ev, on)
	ex := ev.Exceptions[0]
	if ex.Type != "CardErr [creditcard]" || ex.Module != "billing.[creditcard]" || ex.Mechanism.Type != "upstream [ip]" || ex.Mechanism.Source != "errors[[creditcard]]" || ex.Value != "declined" {
		t.Errorf("exception = %+v, mechanism %+v", ex, ex.Mechanism)
	}
	if got, want := res.Note(), "Scrubbed 4 values (exception.type: 1, exception.module: 1, exception.mechanism: 2)"; got != want {
		t.Errorf("note = %q, want %q", got, want)
	}
	if got := ev.Title(); got != "CardErr [creditcard]: declined" {
		t.Errorf("title = %q", got)
	}
	// Ordinary types and modules stay as they are.
	ev = event.Event{Exceptions: []event.Exception{{Type: "std::runtime_error", Module: "Foo::Bar2", Mechanism: &event.Mechanism{Type: "onunhandledrejection"}}}}
	if res := Scrub(&ev, on); res.Total() != 0 {
		t.Errorf("scrubbed %v in %+v", res.Counts, ev.Exceptions[0])
	}
}

// The culprit an SDK sends is often the request (QA: it kept both tokens
// and went out in the issue list, alerts, Slack and webhooks); it is
// scrubbed as a message is.
func TestCulprit(t *testing.T) {
	ev := event.Event{SDKCulprit: "GET /reset?token=SEC_CULPRIT&password=SEC_CULPRIT2&step=2 for 4111 1111 1111 1111"}
	res := Scrub(&ev, on)
	want := "GET /reset?token=[Filtered]&password=[Filtered]&step=2 for [creditcard]"
	if ev.SDKCulprit != want || res.Counts[LocCulprit] != 3 {
		t.Errorf("culprit = %q (%v), want %q", ev.SDKCulprit, res.Counts, want)
	}
	ev = event.Event{SDKCulprit: "GET /reset?token=SEC_CULPRIT"}
	if Scrub(&ev, Config{}); ev.SDKCulprit != "GET /reset?token=SEC_CULPRIT" {
		t.Errorf("culprit = %q with scrubbing off, want it as sent", ev.SDKCulprit)
	}
}

// TestTextFunc covers the scrubbing of text derived from an event after Scrub,
// such as a culprit computed from the transaction.
func TestTextFunc(t *testing.T) {
	const in = "GET /reset?token=SEC&page=2 from 10.0.0.1"
	if got, want := Text(in, on), "GET /reset?token=[Filtered]&page=2 from [ip]"; got != want {
		t.Errorf("Text = %q, want %q", got, want)
	}
	if got := Text(in, Config{SafeFields: []string{"token"}}); got != in {
		t.Errorf("Text with scrubbing off = %q, want it as given", got)
	}
	if got, want := Text(in, Config{Enabled: true, SafeFields: []string{"token"}}), "GET /reset?token=SEC&page=2 from [ip]"; got != want {
		t.Errorf("Text with token safe = %q, want %q", got, want)
	}
}

// The tags ingest builds from a CSP report's blocked URI hold what the csp
// context holds, and are scrubbed as it is (QA: the context was, the
// blocked-uri tag was not); the SDKs' own tags are kept as sent.
func TestCSPTags(t *testing.T) {
	const blocked = "https://bob:hunter2@evil.example/x.js?session=abc&v=2#access_token=t"
	ev := event.Event{
		Tags: []event.Tag{
			{Key: "effective-directive", Value: "script-src"},
			{Key: "blocked-uri", Value: blocked},
			{Key: "blocked-host", Value: "203.0.113.7"},
			{Key: "page", Value: "https://h/p?token=kept"},
		},
		Contexts: json.RawMessage(`{"csp":{"blocked_uri":"` + blocked + `"}}`),
	}
	res := Scrub(&ev, on)
	want := "https://bob:[Filtered]@evil.example/x.js?session=[Filtered]&v=2#access_token=[Filtered]"
	if got := member(t, ev.Contexts, "csp", "blocked_uri"); got != want {
		t.Errorf("context blocked_uri = %q, want %q", got, want)
	}
	wantTags := []event.Tag{
		{Key: "effective-directive", Value: "script-src"},
		{Key: "blocked-uri", Value: want},
		{Key: "blocked-host", Value: IPMask},
		{Key: "page", Value: "https://h/p?token=kept"},
	}
	if !slices.Equal(ev.Tags, wantTags) || res.Counts[LocTags] != 4 {
		t.Errorf("tags = %v (%v), want %v", ev.Tags, res.Counts, wantTags)
	}
	// A safe field keeps both, as it keeps the context's.
	ev = event.Event{Tags: []event.Tag{{Key: "blocked-uri", Value: blocked}}}
	if Scrub(&ev, Config{Enabled: true, SafeFields: []string{"blocked_uri"}}); ev.Tags[0].Value != blocked {
		t.Errorf("safe blocked-uri tag = %q", ev.Tags[0].Value)
	}
}
