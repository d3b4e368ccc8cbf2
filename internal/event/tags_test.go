package event

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestTagProblems(t *testing.T) {
	for _, tt := range []struct {
		key, value string
		keyWhy     string // a part of TagKeyProblem's answer, "" for none
		valueWhy   string
	}{
		{key: "browser.name", value: "Chrome 131"},
		{key: "a_b:c-d", value: strings.Repeat("é", MaxTagChars)},
		{key: strings.Repeat("k", MaxTagChars), value: "<script>"},
		{key: "", value: "", keyWhy: "empty", valueWhy: "empty"},
		{key: strings.Repeat("k", MaxTagChars+1), value: strings.Repeat("v", MaxTagChars+1), keyWhy: "longer than 200", valueWhy: "longer than 200"},
		{key: "a b", value: "a\nb", keyWhy: "other than letters", valueWhy: "line break"},
		{key: "a\x00b", value: "a\tb", keyWhy: "other than letters", valueWhy: "control character"},
		{key: "clé", value: "a\u0085b", keyWhy: "other than letters", valueWhy: "control character"},
		{key: "file", value: "invoice_\u202egnp.exe", valueWhy: "direction control character"},
		{key: "user", value: "\u2067admin\u2069", valueWhy: "direction control character"},
		{key: "greeting", value: "שלום עולם مرحبا"},
	} {
		if got := TagKeyProblem(tt.key); tt.keyWhy == "" && got != "" || !strings.Contains(got, tt.keyWhy) {
			t.Errorf("TagKeyProblem(%q) = %q, want %q", tt.key, got, tt.keyWhy)
		}
		if got := TagValueProblem(tt.value); tt.valueWhy == "" && got != "" || !strings.Contains(got, tt.valueWhy) {
			t.Errorf("TagValueProblem(%q) = %q, want %q", tt.value, got, tt.valueWhy)
		}
	}
}

// Every direction control (Unicode's Bidi_Control) is refused in a value.
func TestTagValueDirectionControls(t *testing.T) {
	for _, r := range "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069" {
		v := "prod" + string(r) + "uction"
		if got := TagValueProblem(v); !strings.Contains(got, "direction control") {
			t.Errorf("TagValueProblem(%q) = %q, want a direction control refused", v, got)
		}
	}
}

func TestScalar(t *testing.T) {
	for _, tt := range []struct {
		json string
		want string
	}{
		{`" 14 "`, "14"},
		{`true`, "true"},
		{`false`, "false"},
		{`512`, "512"},
		{`1.28e2`, "128"},
		{`1e21`, "1000000000000000000000"},
		{`-3`, "-3"},
		{`0.5`, "0.5"},
		{`null`, ""},
		{`{"a":1}`, ""},
		{`[1]`, ""},
	} {
		var v any
		if err := json.Unmarshal([]byte(tt.json), &v); err != nil {
			t.Fatal(err)
		}
		if got := Scalar(v); got != tt.want {
			t.Errorf("Scalar(%s) = %q, want %q", tt.json, got, tt.want)
		}
	}
}
