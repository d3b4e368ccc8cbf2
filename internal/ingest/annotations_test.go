package ingest

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/event"
)

// TestDecodeSentryAnnotations: what an SDK's _meta says it did to the
// request's values is kept beside them; other interfaces' _meta, members
// Flytrap does not keep, and what is no annotation are not.
func TestDecodeSentryAnnotations(t *testing.T) {
	formdata, err := os.ReadFile(filepath.Join(samplesDir(t), "python-formdata.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, in string
		want     []event.Annotation
	}{
		// sentry-python left out a file upload of a form.
		{"python-formdata.json", string(formdata), []event.Annotation{{Path: []string{"data", "bam"}, Rule: "!raw", Type: "x"}}},
		{"a body cut and one removed, in path order",
			`{"request":{"data":{"a":"xx…","b":""}},"_meta":{"request":{"data":{"b":{"":{"rem":[["!config","x"]]}},"a":{"":{"len":9000,"rem":[["!limit","x",2,3]]}}},` +
				`"cookies":{"":{"rem":[["!config","x"]]}}}}}`,
			[]event.Annotation{{Path: []string{"data", "a"}, Rule: "!limit", Type: "x", Len: 9000}, {Path: []string{"data", "b"}, Rule: "!config", Type: "x"}}},
		{"the whole body, and a legacy interface name",
			`{"sentry.interfaces.Http":{"url":"http://x/","data":""},"_meta":{"sentry.interfaces.Http":{"data":{"":{"rem":[["!config","x"]]}}}}}`,
			[]event.Annotation{{Path: []string{"data"}, Rule: "!config", Type: "x"}}},
		{"a header, nested list index, unknown type and bad len dropped",
			`{"request":{"url":"http://x/"},"_meta":{"request":{"headers":{"Authorization":{"":{"rem":[["@password:filter","q"]],"len":-3}}},"data":{"l":{"0":{"":{"len":"12"}}}}}}}`,
			[]event.Annotation{{Path: []string{"headers", "Authorization"}, Rule: "@password:filter"}}},
		{"nothing to say", `{"request":{"url":"http://x/"},"_meta":{"request":{"data":{"":{"err":["invalid_data"]}}}}}`, nil},
		{"not an object", `{"request":{"url":"http://x/"},"_meta":[1,2]}`, nil},
		{"no request", `{"_meta":{"request":{"data":{"":{"rem":[["!raw","x"]]}}}}}`, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := testDecoder().decodeSentry([]byte(tt.in), testProject, envelopeHeader{})
			if err != nil {
				t.Fatal(err)
			}
			var got []event.Annotation
			if ev.Request != nil {
				got = ev.Request.Annotations
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("annotations %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestDecodeSentryAnnotationBounds: a hostile _meta keeps at most
// maxAnnotations, each path at most maxAnnotationPath keys of bounded
// length, with a note of the rest.
func TestDecodeSentryAnnotationBounds(t *testing.T) {
	var fields []string
	for i := range maxAnnotations + 5 {
		fields = append(fields, fmt.Sprintf(`"f%03d":{"":{"rem":[["!raw","x"]]}}`, i))
	}
	deep := `{"":{"rem":[["!raw","x"]]}}`
	for range maxAnnotationPath + 3 {
		deep = `{"` + strings.Repeat("k", 100) + `":` + deep + `}`
	}
	in := `{"request":{"url":"http://x/"},"_meta":{"request":{"data":{` + strings.Join(fields, ",") + `},"headers":` + deep + `}}}`
	ev, err := testDecoder().decodeSentry([]byte(in), testProject, envelopeHeader{})
	if err != nil {
		t.Fatal(err)
	}
	anns := ev.Request.Annotations
	if len(anns) != maxAnnotations || anns[0].Path[1] != "f000" {
		t.Fatalf("%d annotations, first %+v; want %d from f000", len(anns), anns[0], maxAnnotations)
	}
	for _, a := range anns {
		if len(a.Path) > maxAnnotationPath {
			t.Errorf("path of %d keys: %q", len(a.Path), a.Path)
		}
	}
	if !hasNote(ev, "kept the SDK's first 50 _meta annotations of the request, not 5 more") {
		t.Errorf("notes %q", ev.Notes)
	}
}
