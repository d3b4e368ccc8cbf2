package event

import "testing"

func TestTitleAndCulprit(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name                 string
		ev                   Event
		wantTitle, wantCulpr string
	}{
		{"empty", Event{}, "<unlabeled event>", ""},
		{"message", Event{Message: "disk full"}, "disk full", ""},
		{"type and value", Event{Exceptions: []Exception{{Type: "TypeError", Value: "x"}}}, "TypeError: x", ""},
		{"outermost wins", Event{Exceptions: []Exception{{Type: "Inner"}, {Type: "Outer", Value: "v"}}}, "Outer: v", ""},
		{"value only", Event{Exceptions: []Exception{{Value: "bare"}}, Message: "m"}, "bare", ""},
		{"empty exception falls back to message", Event{Exceptions: []Exception{{}}, Message: "m"}, "m", ""},
		{"transaction is the culprit", Event{Transaction: "GET /users", Exceptions: []Exception{{Type: "E", Frames: []Frame{{Filename: "a.js", Function: "f"}}}}}, "E", "GET /users"},
		{"innermost in-app frame", Event{Exceptions: []Exception{{Type: "E", Frames: []Frame{
			{Filename: "app.js", Function: "outer", InApp: &yes},
			{Filename: "app.js", Function: "inner", InApp: &yes},
			{Filename: "node_modules/x.js", Function: "lib", InApp: &no},
		}}}}, "E", "app.js in inner"},
		{"no in-app frame: innermost", Event{Exceptions: []Exception{{Type: "E", Frames: []Frame{{Module: "a"}, {Module: "b.c", Function: "run"}}}}}, "E", "b.c in run"},
		{"function only", Event{Exceptions: []Exception{{Type: "E", Frames: []Frame{{Function: "main"}}}}}, "E", "main"},
		{"abs path when no filename", Event{Exceptions: []Exception{{Type: "E", Frames: []Frame{{AbsPath: "/x/y.py"}}}}}, "E", "/x/y.py"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.ev.Title(); got != tt.wantTitle {
				t.Errorf("Title() = %q, want %q", got, tt.wantTitle)
			}
			if got := tt.ev.Culprit(); got != tt.wantCulpr {
				t.Errorf("Culprit() = %q, want %q", got, tt.wantCulpr)
			}
		})
	}
}

func TestTagAndLevels(t *testing.T) {
	ev := Event{Tags: []Tag{{"browser", "Firefox"}, {"browser", "Chrome"}}}
	if v, ok := ev.Tag("browser"); !ok || v != "Firefox" {
		t.Errorf("Tag(browser) = %q, %v; want the first", v, ok)
	}
	if _, ok := ev.Tag("os"); ok {
		t.Error("Tag(os) found a missing tag")
	}
	for _, l := range []string{"fatal", "error", "warning", "info", "debug"} {
		if !ValidLevel(l) {
			t.Errorf("ValidLevel(%q) = false", l)
		}
	}
	for _, l := range []string{"", "Error", "critical"} {
		if ValidLevel(l) {
			t.Errorf("ValidLevel(%q) = true", l)
		}
	}
}
