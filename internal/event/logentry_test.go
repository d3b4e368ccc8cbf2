package event

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestFormatLogEntry(t *testing.T) {
	tests := []struct {
		name, template, params string
		want                   string
		ok                     bool
	}{
		// QA #3: sentry-python's logging integration, sentry-cli send-event -a.
		{"python %s with list params", "Order %s not found for user %s", `["A-17","bob"]`, "Order A-17 not found for user bob", true},
		{"sentry-cli", "cli message %s", `["argone"]`, "cli message argone", true},
		{"python %(name)s with object params", "%(count)d orders for %(user)s", `{"count":3,"user":"bob"}`, "3 orders for bob", true},
		{"nested parentheses in a key", "%(a(b))s", `{"a(b)":"x"}`, "x", true},
		{"%% is a percent sign", "100%% of %s", `["disk"]`, "100% of disk", true},
		{"Python's str of null and booleans", "%s %s %s", `[null,true,false]`, "None True False", true},
		{"%r quotes a string", "got %r", `["it's"]`, `got "it's"`, true},
		{"%d truncates a float", "%d items", `[3.9]`, "3 items", true},
		{"flags, width and precision", "[%5s|%-5s|%05.1f|%+d|%x|%.3e]", `["ab","cd",3.14159,7,255,1234.5]`, "[   ab|cd   |003.1|+7|ff|1.234e+03]", true},
		{"%g keeps Python's 6 digits", "%g", `[0.30000000000000004]`, "0.3", true},
		{"length modifiers are skipped", "%ld", `[5]`, "5", true},
		{"%c of a code point", "%c%c", `[72,"i"]`, "Hi", true},
		{"lists and objects as JSON", "%s and %s", `[[1,"<a>"],{"k":"v"}]`, `[1,"<a>"] and {"k":"v"}`, true},
		{"a single value that is not a list", "only %s", `"one"`, "only one", true},
		{"params beyond the placeholders are no error", "one %s", `["a","b","c"]`, "one a", true},
		{"{} with list params", "hello, {}! you are {}", `["world",3]`, "hello, world! you are 3", true},
		{"{0} by position", "{1} then {0}", `["a","b"]`, "b then a", true},
		{"{name} with object params", "user {name} failed", `{"name":"bob"}`, "user bob failed", true},
		{"{{ and }} are braces", "{{literal}} {}", `["x"]`, "{literal} x", true},
		{"a format spec is ignored", "{0:N2}", `[1.5]`, "1.5", true},
		{"no placeholders", "plain text", `["x"]`, "plain text", true},

		// Never fails the event: the template stays as sent.
		{"fewer params than placeholders", "%s and %s", `["a"]`, "", false},
		{"a missing key", "%(user)s", `{"name":"bob"}`, "", false},
		{"a key with list params", "%(user)s", `["bob"]`, "", false},
		{"a position with object params", "%s", `{"user":"bob"}`, "", false},
		{"%d of a string", "%d", `["x"]`, "", false},
		{"an unknown conversion", "%q", `["x"]`, "", false},
		{"a trailing %", "50%", `["x"]`, "", false},
		{"an unclosed key", "%(user", `{"user":"x"}`, "", false},
		{"a width from the params", "%*d", `[3,4]`, "", false},
		{"a huge width", "%999999999s", `["x"]`, "", false},
		{"a huge precision", "%.99999f", `[1]`, "", false},
		{"an unclosed brace", "hello {", `["x"]`, "", false},
		{"a lone closing brace", "hello } {}", `["x"]`, "", false},
		{"{5} out of range", "{5}", `["x"]`, "", false},
		{"%c of a long string", "%c", `["ab"]`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			params, ok := DecodeParams(json.RawMessage(tt.params))
			if !ok {
				t.Fatalf("params %s do not decode", tt.params)
			}
			got, ok := FormatLogEntry(tt.template, params, 8192)
			if ok != tt.ok || (ok && got != tt.want) {
				t.Errorf("FormatLogEntry(%q, %s) = %q, %v; want %q, %v", tt.template, tt.params, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// A short template repeating a large param stops at the limit instead of
// building the repetitions.
func TestFormatLogEntryStopsAtTheLimit(t *testing.T) {
	big := strings.Repeat("x", 100_000)
	params, _ := DecodeParams(json.RawMessage(`{"a":"` + big + `"}`))
	got, ok := FormatLogEntry(strings.Repeat("%(a)s", 10_000), params, 8192)
	if !ok || len(got) > 8192+len(big) {
		t.Errorf("%d bytes, ok %v; want at most the limit plus one param", len(got), ok)
	}
}
