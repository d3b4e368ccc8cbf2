package dashboard

import (
	"slices"
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
	eachAnnotation(anns, b, func(a event.Annotation, text string) {
		if a.Path[0] == "data" && len(a.Path) > 1 && r.annotateField(a, text, b) {
			return
		}
		name := requestFieldNames[a.Path[0]]
		if rest := a.Path[1:]; len(rest) > 0 {
			name += " " + strings.Join(rest, ".")
		}
		r.Notes = append(r.Notes, b.text(name+": "+text))
	})
}

// eachAnnotation calls fn with each of anns that the page has room for
// and that says something of a value, worded (see annotationText).
func eachAnnotation(anns []event.Annotation, b *budget, fn func(a event.Annotation, text string)) {
	for i, a := range anns {
		if !b.item(i) {
			return
		}
		if text := annotationText(a); text != "" && len(a.Path) > 0 {
			fn(a, text)
		}
	}
}

// clearRemoved shows a value the SDK removed, as a says, as nothing rather
// than the "" or null left in its place.
func clearRemoved(a event.Annotation, value *string) {
	if a.Type == "x" && (*value == `""` || *value == "null") {
		*value = ""
	}
}

// addNote adds text to what a value's note says.
func addNote(note *string, text string, b *budget) {
	*note = b.text(strings.TrimSpace(*note + " " + text))
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
		} else {
			clearRemoved(a, &row.Value)
		}
		addNote(&row.Note, text, b)
		return true
	}
	return false
}

// pathNote words a note on a value inside the one it is shown by:
// "x.y: text" for the value at path x.y, text alone for that value itself.
func pathNote(path []string, text string) string {
	if len(path) == 0 {
		return text
	}
	return strings.Join(path, ".") + ": " + text
}

// annotate puts the exception's annotations on what the page shows: its
// type's and value's beside them, a frame's on that frame (see
// frameView.annotate); a note on a frame the page does not show is not
// shown either.
func (v *exceptionView) annotate(b *budget) {
	eachAnnotation(v.anns, b, func(a event.Annotation, text string) {
		switch a.Path[0] {
		case "type":
			addNote(&v.TypeNote, pathNote(a.Path[1:], text), b)
		case "value":
			addNote(&v.ValueNote, pathNote(a.Path[1:], text), b)
		case "frames":
			if len(a.Path) < 3 {
				return
			}
			j, err := strconv.Atoi(a.Path[1])
			if f := v.frameAt[j]; err == nil && f != nil {
				f.annotate(a, a.Path[2:], text, b)
			}
		}
	})
}

// annotate notes text, what a said of the frame's value at path, on the
// frame: beside a local variable the page shows (one removed shows as
// nothing rather than the "" or null left in its place), else among the
// frame's notes, named by its field ("abs_path: Replaced because of …").
func (f *frameView) annotate(a event.Annotation, path []string, text string, b *budget) {
	if path[0] == "vars" && len(path) > 1 {
		for i := range f.Vars {
			vv := &f.Vars[i]
			if vv.Name != path[1] {
				continue
			}
			if len(path) == 2 {
				clearRemoved(a, &vv.Value)
			}
			addNote(&vv.Note, pathNote(path[2:], text), b)
			return
		}
	}
	f.Notes = append(f.Notes, b.text(pathNote(path, text)))
}

// annotate puts the user's annotations on what the page shows: beside
// its ID, email or username, else among its notes, named by their path.
func (u *userView) annotate(anns []event.Annotation, b *budget) {
	eachAnnotation(anns, b, func(a event.Annotation, text string) {
		var note *string
		switch {
		case len(a.Path) > 1:
		case a.Path[0] == "id":
			note = &u.IDNote
		case a.Path[0] == "email":
			note = &u.EmailNote
		case a.Path[0] == "username":
			note = &u.UsernameNote
		}
		if note == nil {
			u.Notes = append(u.Notes, b.text(pathNote(a.Path, text)))
			return
		}
		addNote(note, text, b)
	})
}

// annotateBreadcrumbs puts a breadcrumb's annotations beside its message
// and data, named by their path ("data.q: Removed because of …").
func (v *eventView) annotateBreadcrumbs(anns []event.Annotation, b *budget) {
	eachAnnotation(anns, b, func(a event.Annotation, text string) {
		i, err := strconv.Atoi(a.Path[0])
		if err != nil || i < 0 || i >= len(v.Breadcrumbs) || len(a.Path) < 2 {
			return
		}
		addNote(&v.Breadcrumbs[i].Note, pathNote(a.Path[1:], text), b)
	})
}

// annotateContexts puts a context's annotations on the row of the field
// they are of, else among its card's notes, named by their path.
func (v *eventView) annotateContexts(anns []event.Annotation, b *budget) {
	eachAnnotation(anns, b, func(a event.Annotation, text string) {
		i := slices.IndexFunc(v.Contexts, func(c contextView) bool { return c.name == a.Path[0] })
		if i < 0 {
			return
		}
		c := &v.Contexts[i]
		if len(a.Path) > 1 {
			for j := range c.Rows {
				if row := &c.Rows[j]; row.Key == a.Path[1] {
					if len(a.Path) == 2 {
						clearRemoved(a, &row.Value)
					}
					addNote(&row.Note, pathNote(a.Path[2:], text), b)
					return
				}
			}
		}
		c.Notes = append(c.Notes, b.text(pathNote(a.Path[1:], text)))
	})
}

// annotateTags puts a tag's annotations beside its value.
func (v *eventView) annotateTags(anns []event.Annotation, b *budget) {
	eachAnnotation(anns, b, func(a event.Annotation, text string) {
		if i := slices.IndexFunc(v.Tags, func(t kvRow) bool { return t.Key == a.Path[0] }); i >= 0 {
			addNote(&v.Tags[i].Note, pathNote(a.Path[1:], text), b)
		}
	})
}
