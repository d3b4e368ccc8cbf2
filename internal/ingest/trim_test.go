package ingest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// QA #7, the report's event: one oversized value in each of extra,
// contexts and request.data. Each value is cut; the rest of each (the
// small extra, the app, os, browser and trace contexts) is kept.
func TestEnvelopeOversizedValuesTrimmed(t *testing.T) {
	h, q := newTestHandler(t, defaultKeys, unlimited)
	payload := `{"message":"big extra drop","extra":{"small":"keep me","log_tail":"` + strings.Repeat("L", 300000) + `"},` +
		`"contexts":{"app":{"name":"x"},"big":{"blob":"` + strings.Repeat("B", 300000) + `"},"os":{"name":"Linux"},"browser":{"name":"Firefox"},` +
		`"trace":{"trace_id":"0123456789abcdef0123456789abcdef","span_id":"0123456789abcdef"}},` +
		`"request":{"url":"/upload","method":"POST","data":"` + strings.Repeat("D", 300000) + `"}}`
	body := "{}\n{\"type\":\"event\"}\n" + payload + "\n"
	rec := req{path: "/api/42/envelope/", header: sentryAuth(testKey), body: []byte(body)}.do(h)
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	ev := q.only(t)

	var extra struct {
		Small   string `json:"small"`
		LogTail string `json:"log_tail"`
	}
	if err := json.Unmarshal(ev.Extra, &extra); err != nil || extra.Small != "keep me" || !strings.HasPrefix(extra.LogTail, "LLLL") || !strings.HasSuffix(extra.LogTail, "L…") {
		t.Errorf("extra %.80s… (%d bytes), err %v: want small kept and log_tail cut", ev.Extra, len(ev.Extra), err)
	}
	var contexts map[string]map[string]string
	if err := json.Unmarshal(ev.Contexts, &contexts); err != nil || contexts["app"]["name"] != "x" || contexts["os"]["name"] != "Linux" ||
		contexts["browser"]["name"] != "Firefox" || contexts["trace"]["trace_id"] != "0123456789abcdef0123456789abcdef" || !strings.HasSuffix(contexts["big"]["blob"], "B…") {
		t.Errorf("contexts %.200s…, err %v: want every context kept and big.blob cut", ev.Contexts, err)
	}
	var data string
	if ev.Request == nil || json.Unmarshal(ev.Request.Data, &data) != nil || !strings.HasPrefix(data, "DDDD") || !strings.HasSuffix(data, "D…") {
		t.Errorf("request %+v: want the body cut, not dropped", ev.Request)
	}
	for _, raw := range []json.RawMessage{ev.Extra, ev.Contexts, ev.Request.Data} {
		if len(raw) > maxRawJSON || len(raw) < maxRawJSON-100 {
			t.Errorf("a trimmed value is %d bytes, want just under %d", len(raw), maxRawJSON)
		}
	}
	for _, want := range []string{"extra was over 262144 bytes of JSON: cut 1 string to ", "(extra.log_tail)",
		"(contexts.big.blob)", "request.data was over 262144 bytes of JSON: cut 1 string to "} {
		if !hasNote(&ev, want) {
			t.Errorf("no note %q in %q", want, ev.Notes)
		}
	}
}

func TestTrimRaw(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		check func(t *testing.T, out map[string]any, notes []string)
	}{
		{"the longest strings share the cut; shorter ones are whole", `{"a":"` + strings.Repeat("a", 200000) + `","b":"` + strings.Repeat("b", 150000) + `","c":"` + strings.Repeat("c", 50000) + `"}`,
			func(t *testing.T, out map[string]any, notes []string) {
				a, b, c := out["a"].(string), out["b"].(string), out["c"].(string)
				if len(a) != len(b) || len(c) != 50000 || len(a) < 100000 {
					t.Errorf("lengths a %d, b %d, c %d: want a and b cut alike, c whole", len(a), len(b), len(c))
				}
				if len(notes) != 1 || !strings.Contains(notes[0], "cut 2 strings to") || !strings.Contains(notes[0], "(extra.a, extra.b)") {
					t.Errorf("notes %q", notes)
				}
			}},
		{"strings that grow when escaped", `{"ctl":"` + strings.Repeat(`\u0001`, 100000) + `","keep":"me"}`,
			func(t *testing.T, out map[string]any, notes []string) {
				if out["keep"] != "me" || !strings.HasSuffix(out["ctl"].(string), "\x01…") {
					t.Errorf("keep %v, ctl ends %q", out["keep"], out["ctl"].(string)[len(out["ctl"].(string))-8:])
				}
			}},
		{"an oversized key", `{"` + strings.Repeat("k", 300000) + `":1,"keep":"me"}`,
			func(t *testing.T, out map[string]any, notes []string) {
				if out["keep"] != "me" || len(out) != 2 || len(notes) != 1 || !strings.Contains(notes[0], "(its key)") {
					t.Errorf("%d members, keep %v, notes %q", len(out), out["keep"], notes)
				}
			}},
		{"many small members: the first are kept", manyMembers(60000),
			func(t *testing.T, out map[string]any, notes []string) {
				if out["k00000"] != "v" || len(out) < 10000 || len(out) >= 60000 {
					t.Errorf("kept %d of 60000 members, first %v", len(out), out["k00000"])
				}
				if len(notes) != 1 || !strings.Contains(notes[0], "members beyond the limit") {
					t.Errorf("notes %q", notes)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := testDecoder()
			v, err := parseJSONObject([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			raw := d.rawObject(at("extra"), map[string]any(v))
			if len(raw) == 0 || len(raw) > maxRawJSON || !json.Valid(raw) {
				t.Fatalf("%d bytes, valid %v: want valid JSON within %d", len(raw), json.Valid(raw), maxRawJSON)
			}
			var out map[string]any
			if err := json.Unmarshal(raw, &out); err != nil {
				t.Fatal(err)
			}
			tt.check(t, out, d.notes)
		})
	}
}

func manyMembers(n int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"k%05d":"v"`, i)
	}
	b.WriteString("}")
	return b.String()
}
