package dashboard

import (
	"strconv"
	"strings"

	"github.com/getflytrap/flytrap/internal/event"
)

// annotationVerbs word an annotation's type as Sentry's event page does.
var annotationVerbs = map[string]string{
	"x": "Removed", "s": "Replaced", "m": "Masked", "p": "Pseudonymized", "e": "Encrypted", "a": "Annotated",
}

// annotationReasons are the rules the SDKs themselves apply, worded as
// Sentry words them.
var annotationReasons = map[string]string{
	"!limit":  "size limits",
	"!raw":    "raw payload",
	"!config": "SDK configuration",
}

// annotationText words what an SDK's _meta said of a value, as Sentry's
// page does: "Removed because of raw payload (!raw)", "Replaced because
// of the PII rule @password", "original length 75378".
func annotationText(a event.Annotation) string {
	verb := annotationVerbs[a.Type]
	if a.Rule == "!limit" && (a.Type == "" || a.Type == "x") {
		// The SDK's trimming removes the end of a value, not the value.
		verb = "Cut"
	}
	var parts []string
	switch reason, known := annotationReasons[a.Rule]; {
	case a.Rule == "":
		if verb != "" {
			parts = append(parts, verb+" by the SDK")
		}
	case known:
		parts = append(parts, strings.TrimSpace(verb+" because of "+reason+" ("+a.Rule+")"))
	default:
		parts = append(parts, strings.TrimSpace(verb+" because of the PII rule "+a.Rule))
	}
	if a.Len > 0 {
		parts = append(parts, "original length "+strconv.Itoa(a.Len))
	}
	s := strings.Join(parts, ", ")
	if s != "" {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}

// requestFieldNames name a request's members in notes not shown on a
// body field.
var requestFieldNames = map[string]string{
	"method": "Method", "url": "URL", "query_string": "Query", "headers": "Header", "data": "Body",
}

// annotate puts the request's annotations on what the page shows: one
// of a body field (or of a value inside it) on that field's row, any
// other in the request's notes, named by its path. A value the SDK
// removed shows as nothing rather than the "" or null left in its place.
func (r *requestView) annotate(anns []event.Annotation, b *budget) {
	for i, a := range anns {
		if !b.item(i) {
			return
		}
		text := annotationText(a)
		if text == "" || len(a.Path) == 0 {
			continue
		}
		if a.Path[0] == "data" && len(a.Path) > 1 && r.annotateField(a, text, b) {
			continue
		}
		name := requestFieldNames[a.Path[0]]
		if rest := a.Path[1:]; len(rest) > 0 {
			name += " " + strings.Join(rest, ".")
		}
		r.Notes = append(r.Notes, b.text(name+": "+text))
	}
}

// annotateField notes a on the body row its path leads into, reporting
// whether there is one.
func (r *requestView) annotateField(a event.Annotation, text string, b *budget) bool {
	for i := range r.Body {
		row := &r.Body[i]
		if row.Key != a.Path[1] {
			continue
		}
		if rest := a.Path[2:]; len(rest) > 0 {
			text = strings.Join(rest, ".") + ": " + text
		} else if a.Type == "x" && (row.Value == `""` || row.Value == "null") {
			row.Value = ""
		}
		row.Note = b.text(strings.TrimSpace(row.Note + " " + text))
		return true
	}
	return false
}
