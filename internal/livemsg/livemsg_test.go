package livemsg

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"", 3, ""},
		{"abc", 3, "abc"},
		{"abcd", 3, "abc"},
		{"héllo", 2, "hé"},
		{"日本語テキスト", 3, "日本語"},
		{"a\xffb", 2, "a\xff"},
		{"abc", 0, ""},
	}
	for _, tt := range tests {
		if got := truncate(tt.in, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	m := Message{Type: TypeRegression, ProjectID: 3, IssueID: 9, Title: "TypeError: x is <undefined>", Level: "error",
		Status: "unresolved", Count: 42, EventID: "0123456789abcdef0123456789abcdef", At: at}
	s, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"type":"issue.regression"`, `"project_id":3`, `"issue_id":9`, `"count":42`, `"at":"2026-05-01T12:00:00Z"`} {
		if !strings.Contains(s, key) {
			t.Errorf("encoded %s lacks %s", s, key)
		}
	}
	got, err := Decode(s)
	if err != nil || got != m {
		t.Errorf("Decode(Encode(m)) = %+v, %v; want %+v", got, err, m)
	}
}

// Every field an SDK controls at its worst: the payload must still fit a
// NOTIFY, or PostgreSQL rejects it and the message is lost.
func TestEncodeFitsNotify(t *testing.T) {
	worst := strings.Repeat("\x01", 10000) // six bytes each as JSON
	tests := []struct {
		name  string
		title string
	}{
		{"control characters", worst},
		{"html", strings.Repeat("<&>", 5000)},
		{"invalid utf-8", strings.Repeat("\xff", 10000)},
		{"4-byte runes", strings.Repeat("😀", 10000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := Message{Type: TypeNewIssue, ProjectID: 1, IssueID: 1, Title: tt.title, Level: worst, Status: worst, EventID: worst}
			s, err := Encode(m)
			if err != nil {
				t.Fatal(err)
			}
			if len(s) > maxPayload {
				t.Fatalf("payload is %d bytes, limit %d", len(s), maxPayload)
			}
			got, err := Decode(s)
			if err != nil {
				t.Fatal(err)
			}
			if n := utf8.RuneCountInString(got.Title); n != MaxTitleRunes {
				t.Errorf("title has %d runes, want %d", n, MaxTitleRunes)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, payload := range []string{``, `garbage`, `{}`, `{"type":"issue.new"}`, `{"project_id":1}`, `[1]`} {
		if _, err := Decode(payload); err == nil {
			t.Errorf("Decode(%q) succeeded", payload)
		}
	}
}
