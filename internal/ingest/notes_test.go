package ingest

import (
	"slices"
	"testing"
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
