package ingest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/testutil/samples"
)

// QA: the local variables sentry-python sends with each frame used to be
// dropped. python-modern.json's main frame keeps dict_var, int_var,
// list_var and str_var, exactly as sent.
func TestFrameVarsOfPythonSample(t *testing.T) {
	payload, err := os.ReadFile(filepath.Join(samples.Dir(t), "python-modern.json"))
	if err != nil {
		t.Fatal(err)
	}
	h, q := newTestHandler(t, defaultKeys, nil)
	if rec := (req{path: "/api/42/store/", header: sentryAuth(testKey), body: payload}).do(h); rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	ev := q.only(t)
	frames := ev.Exceptions[len(ev.Exceptions)-1].Frames
	main := frames[len(frames)-1]
	if main.Function != "main" {
		t.Fatalf("innermost frame %q, want main", main.Function)
	}
	var vars map[string]any
	if err := json.Unmarshal(main.Vars, &vars); err != nil {
		t.Fatalf("vars %s: %v", main.Vars, err)
	}
	want := `{"dict_var":{"key1":"'value1'","key2":"'value2'","key3":"'value3'"},"int_var":"1","list_var":["1","2","3"],"str_var":"'Hello, world!'"}`
	if string(main.Vars) != want {
		t.Errorf("main's vars\n%s\nwant\n%s", main.Vars, want)
	}
	// The module frame's variables (__name__, __file__, ...) are kept too.
	if !strings.Contains(string(frames[0].Vars), `"__name__":"'__main__'"`) {
		t.Errorf("<module>'s vars %s", frames[0].Vars)
	}
}

// Vars are read tolerantly and bounded like extra: a list becomes an
// object keyed by index, a wrong type is dropped with a note, and an
// oversized one is trimmed value by value, with a note naming what was
// cut, keeping the small variables.
func TestFrameVars(t *testing.T) {
	frame := func(vars string) string {
		return `{"exception":{"values":[{"type":"E","stacktrace":{"frames":[{"function":"f","filename":"a.py","vars":` + vars + `}]}}]}}`
	}
	decode := func(t *testing.T, payload string) *event.Event {
		t.Helper()
		ev, err := testDecoder().decodeSentry([]byte(payload), 42, envelopeHeader{})
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	varsOf := func(ev *event.Event) string { return string(ev.Exceptions[0].Frames[0].Vars) }

	t.Run("an object, as sent", func(t *testing.T) {
		ev := decode(t, frame(`{"b":"<b>","a":{"n":1.50,"ok":true,"none":null}}`))
		if got, want := varsOf(ev), `{"a":{"n":1.50,"none":null,"ok":true},"b":"<b>"}`; got != want {
			t.Errorf("vars %s, want %s", got, want)
		}
	})
	t.Run("a list, by index", func(t *testing.T) {
		ev := decode(t, frame(`["x",2]`))
		if got, want := varsOf(ev), `{"0":"x","1":2}`; got != want {
			t.Errorf("vars %s, want %s", got, want)
		}
	})
	t.Run("empty and null, dropped silently", func(t *testing.T) {
		for _, v := range []string{`{}`, `[]`, `null`} {
			ev := decode(t, frame(v))
			if varsOf(ev) != "" || len(ev.Notes) != 0 {
				t.Errorf("%s: vars %s, notes %q", v, varsOf(ev), ev.Notes)
			}
		}
	})
	t.Run("a wrong type, dropped with a note", func(t *testing.T) {
		ev := decode(t, frame(`"x=1"`))
		if varsOf(ev) != "" || !hasNote(ev, "dropped exception.values[0].stacktrace.frames[0].vars: expected an object, got a string") {
			t.Errorf("vars %s, notes %q", varsOf(ev), ev.Notes)
		}
	})
	t.Run("oversized: the longest value cut, the others kept", func(t *testing.T) {
		ev := decode(t, frame(`{"small":"keep me","n":7,"blob":"`+strings.Repeat("x", 40000)+`"}`))
		var vars map[string]any
		if err := json.Unmarshal(ev.Exceptions[0].Frames[0].Vars, &vars); err != nil {
			t.Fatal(err)
		}
		blob, _ := vars["blob"].(string)
		if vars["small"] != "keep me" || vars["n"] != 7.0 || !strings.HasSuffix(blob, "x…") || len(varsOf(ev)) > maxFrameVars {
			t.Errorf("vars of %d bytes: small %v, n %v, blob of %d bytes", len(varsOf(ev)), vars["small"], vars["n"], len(blob))
		}
		if !hasNote(ev, "exception.values[0].stacktrace.frames[0].vars was over 16384 bytes of JSON: cut 1 string to ") ||
			!hasNote(ev, "(exception.values[0].stacktrace.frames[0].vars.blob)") {
			t.Errorf("notes %q", ev.Notes)
		}
	})
	t.Run("many members: the first kept, the rest counted", func(t *testing.T) {
		ev := decode(t, frame(manyMembers(5000)))
		if n := len(varsOf(ev)); n == 0 || n > maxFrameVars || !json.Valid([]byte(varsOf(ev))) {
			t.Errorf("vars of %d bytes, valid %v", n, json.Valid([]byte(varsOf(ev))))
		}
		if !hasNote(ev, "frames[0].vars was over 16384 bytes of JSON: dropped ") || !hasNote(ev, "members beyond the limit") {
			t.Errorf("notes %q", ev.Notes)
		}
	})
	t.Run("threads' frames keep theirs", func(t *testing.T) {
		ev := decode(t, `{"threads":{"values":[{"id":1,"crashed":true,"stacktrace":{"frames":[{"function":"run","vars":{"i":3}}]}},`+
			`{"id":2,"name":"worker","stacktrace":{"frames":[{"function":"wait","vars":{"timeout":"30"}}]}}]}}`)
		if len(ev.Exceptions) != 1 || string(ev.Exceptions[0].Frames[0].Vars) != `{"i":3}` ||
			len(ev.Threads) != 1 || string(ev.Threads[0].Frames[0].Vars) != `{"timeout":"30"}` {
			t.Errorf("exceptions %+v, threads %+v", ev.Exceptions, ev.Threads)
		}
	})
}
