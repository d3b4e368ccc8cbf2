package ingest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestDecodeSentryNotesNameTheMember pins the names notes give nested
// members: they are put together only when a note is written (where), and
// must read as the member's path in the event.
func TestDecodeSentryNotesNameTheMember(t *testing.T) {
	in := `{"exception":{"values":[{"type":"A","thread_id":1},{"type":"B","mechanism":{"type":"x","handled":"perhaps","synthetic":3},
		"stacktrace":{"frames":[{"function":"f"},{"function":"g","lineno":"x"},{"function":"h","pre_context":"one"}]}}]},
		"threads":{"values":[{"id":1,"crashed":true,"stacktrace":{"frames":[{"function":"t","colno":[]}]}}]},
		"breadcrumbs":{"values":[{"message":"ok"},{"type":7,"data":[1]}]},
		"user":{"id":{"a":1}},"request":{"url":"https://x","headers":7,"query_string":[[1]]},
		"sdk":{"name":1.5,"settings":{"infer_ip":[]}},"tags":3,"fingerprint":"x"}`
	ev, err := testDecoder().decodeSentry([]byte(in), testProject, envelopeHeader{})
	if err != nil {
		t.Fatal(err)
	}
	got := slices.Clone(ev.Notes)
	slices.Sort(got)
	want := []string{
		"dropped breadcrumbs[1].data: expected an object, got a list",
		"dropped exception.values[1].mechanism.handled: expected a boolean, got a string",
		"dropped exception.values[1].mechanism.synthetic: expected a boolean, got a number",
		"dropped exception.values[1].stacktrace.frames[1].lineno: expected a number, got a string",
		"dropped exception.values[1].stacktrace.frames[2].pre_context: expected a list, got a string",
		"dropped fingerprint: expected a list, got a string",
		"dropped request.headers: expected an object or a list of pairs, got a number",
		"dropped sdk.settings.infer_ip: expected a string, got a list",
		"dropped tags: expected an object or a list of pairs, got a number",
		"dropped threads[0].stacktrace.frames[0].colno: expected a number, got a list",
		"dropped user.id: expected a string, got an object",
	}
	if !slices.Equal(got, want) {
		t.Errorf("notes:\n%q\nwant\n%q", got, want)
	}
}

// TestDecodeNotesSayWhatWasCut pins the notes of strings cut to their
// limits and of NULs removed: one note per kind, naming the first few
// members with the length sent and kept, however many strings were cut.
func TestDecodeNotesSayWhatWasCut(t *testing.T) {
	long := func(c string, n int) string { return strings.Repeat(c, n) }
	var frames []string
	for i := range 250 {
		frames = append(frames, fmt.Sprintf(`{"function":%q}`, long("f", 300+i)))
	}
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"within the limits", fmt.Sprintf(`{"message":%q,"logger":%q}`, long("m", maxMessage), long("l", maxName)), nil},
		{"report's event", fmt.Sprintf(`{"message":%q,"logger":%q,"environment":%q,"user":{"username":%q},
			"exception":{"values":[{"type":%q,"value":%q,"stacktrace":{"frames":[{"function":%q,"filename":%q}]}}]}}`,
			"long ✓ "+long("y", 20000), long("l", 400), long("e", 400), long("u", 400), long("T", 400), long("z", 20000), long("f", 400), long("p", 3000)),
			[]string{"cut environment to 200 characters",
				`cut 7 strings to fit the event field limits (each now ends in "…"): logger (400 bytes, kept 256), message (20009 bytes, kept 8192), user.username (400 bytes, kept 256), exception.values[0].type (400 bytes, kept 256), exception.values[0].value (20000 bytes, kept 8192); and 2 more`}},
		{"NUL", `{"message":"nul \u0000 here","logger":"a\u0000b\u0000"}`,
			[]string{"removed NUL characters, which cannot be stored, from 2 strings: logger, message"}},
		{"both in one string", fmt.Sprintf(`{"message":"\u0000%s"}`, long("y", 9000)),
			[]string{`cut 1 string to fit the event field limits (each now ends in "…"): message (9001 bytes, kept 8192)`, "removed NUL characters, which cannot be stored, from 1 string: message"}},
		{"hostile: 250 long functions", fmt.Sprintf(`{"exception":{"values":[{"type":"E","stacktrace":{"frames":[%s]}}]}}`, strings.Join(frames, ",")),
			[]string{`cut 250 strings to fit the event field limits (each now ends in "…"): exception.values[0].stacktrace.frames[0].function (300 bytes, kept 256), exception.values[0].stacktrace.frames[1].function (301 bytes, kept 256), exception.values[0].stacktrace.frames[2].function (302 bytes, kept 256), exception.values[0].stacktrace.frames[3].function (303 bytes, kept 256), exception.values[0].stacktrace.frames[4].function (304 bytes, kept 256); and 245 more`}},
		{"header, query, fingerprint, environment tag", fmt.Sprintf(`{"request":{"url":"https://x","headers":{"Referer":%q},"query_string":{"q":%q}},"fingerprint":["a",%q],"tags":{"environment":%q}}`,
			long("r", 3000), long("q", 3000), long("g", 300), long("日", 200)),
			[]string{`cut 3 strings to fit the event field limits (each now ends in "…"): fingerprint[1] (300 bytes, kept 200), request.query_string (3002 bytes, kept 2048), request.headers.Referer (3000 bytes, kept 2048)`}},
		// A key is named in a note cut to 64 bytes and without control
		// characters, NUL above all: the note of NULs removed holds none.
		{"hostile header names", fmt.Sprintf(`{"request":{"url":"https://x","headers":{"X-%s":%q,"A\u0000\u001bB\u0085":"v\u0000"}}}`,
			long("k", 300000), long("v", 3000)),
			[]string{`cut 2 strings to fit the event field limits (each now ends in "…"): request.headers.X-` + long("k", 59) + `… (3000 bytes, kept 2048), request.headers (300002 bytes, kept 256)`,
				"removed NUL characters, which cannot be stored, from 2 strings: request.headers.AB, request.headers"}},
		{"context line", fmt.Sprintf(`{"exception":{"values":[{"type":"E","stacktrace":{"frames":[{"function":"f","pre_context":["a",%q]}]}}]}}`, long("c", 1100)),
			[]string{`cut 1 string to fit the event field limits (each now ends in "…"): exception.values[0].stacktrace.frames[0].pre_context[1] (1100 bytes, kept 1024)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := testDecoder().decodeSentry([]byte(tt.in), testProject, envelopeHeader{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ev.Notes, tt.want) {
				t.Errorf("notes:\n%q\nwant\n%q", ev.Notes, tt.want)
			}
		})
	}
}

// TestDecodeCutsWholeRunes checks that a cut never splits a character:
// an environment, which filters and alert rules match, is cut to
// event.MaxNameLength characters, whole, with a note; the environment tag,
// a tag of at most as many, is kept whole.
func TestDecodeCutsWholeRunes(t *testing.T) {
	for _, c := range []struct {
		in, want string
		notes    int
	}{
		{`{"environment":"` + strings.Repeat("日", 250) + `"}`, strings.Repeat("日", 200), 1},
		{`{"tags":{"environment":"` + strings.Repeat("日", 200) + `"}}`, strings.Repeat("日", 200), 0},
		{`{"environment":"` + strings.Repeat("é", 200) + `x"}`, strings.Repeat("é", 200), 1},
		{`{"environment":"` + strings.Repeat("😀", 300) + `"}`, strings.Repeat("😀", 200), 1},
	} {
		ev, err := testDecoder().decodeSentry([]byte(c.in), testProject, envelopeHeader{})
		if err != nil {
			t.Fatal(err)
		}
		if env := ev.Environment; env != c.want || len(ev.Notes) != c.notes {
			t.Errorf("environment %q (%d characters), notes %q; want %d characters and %d notes",
				env, utf8.RuneCountInString(env), ev.Notes, utf8.RuneCountInString(c.want), c.notes)
		}
	}
}

// TestDecodeFlytrapNotesCuts: bodies of the Flytrap SDKs get the same
// notes.
func TestDecodeFlytrapNotesCuts(t *testing.T) {
	in := fmt.Sprintf(`{"data":{"project_id":"42","error":{"name":"E","message":%q,"stack":"x"}}}`, strings.Repeat("m", 9000))
	ev, _, err := testDecoder().decodeFlytrap(flytrapError, []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`cut 1 string to fit the event field limits (each now ends in "…"): data.error.message (9000 bytes, kept 8192)`}
	if !slices.Equal(ev.Notes, want) {
		t.Errorf("notes:\n%q\nwant\n%q", ev.Notes, want)
	}
}

// TestNoteIsBounded: whatever a note quotes, it is at most maxNote bytes
// of one line: an SDK's text in a note cannot make it long or hold
// control characters.
func TestNoteIsBounded(t *testing.T) {
	d := testDecoder()
	d.note("dropped %s: %s", "a\u0000b\nc\u009b", strings.Repeat("x", 5000))
	if n := d.notes[0]; len(n) > maxNote || !strings.HasPrefix(n, "dropped abc: xxx") || !strings.HasSuffix(n, "…") {
		t.Errorf("note of %d bytes: %.40q…", len(n), n)
	}
}
