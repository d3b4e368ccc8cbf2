package ingest

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseEnvelope(t *testing.T) {
	type item struct{ typ, payload string }
	binary := "PNG\x00\x01\n\r\n\xff{\"type\":\"event\"}\n"
	tests := []struct {
		name      string
		in        string
		wantItems []item
		wantErr   string
	}{
		{
			name:      "length given",
			in:        "{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\"}\n{\"type\":\"event\",\"length\":13}\n{\"message\":1}\n",
			wantItems: []item{{"event", `{"message":1}`}},
		},
		{
			name:      "length absent",
			in:        "{}\n{\"type\":\"event\"}\n{\"message\":1}\n",
			wantItems: []item{{"event", `{"message":1}`}},
		},
		{
			name:      "missing final newline",
			in:        "{}\n{\"type\":\"event\"}\n{\"message\":1}",
			wantItems: []item{{"event", `{"message":1}`}},
		},
		{
			name:      "missing final newline after a sized payload",
			in:        "{}\n{\"type\":\"event\",\"length\":13}\n{\"message\":1}",
			wantItems: []item{{"event", `{"message":1}`}},
		},
		{
			name: "several items, mixed framing",
			in: "{}\n{\"type\":\"session\"}\n{\"sid\":\"a\"}\n{\"type\":\"event\",\"length\":2}\n{}\n" +
				"{\"type\":\"client_report\",\"length\":0}\n\n{\"type\":\"event\"}\n{\"message\":\"x\"}\n",
			wantItems: []item{{"session", `{"sid":"a"}`}, {"event", `{}`}, {"client_report", ``}, {"event", `{"message":"x"}`}},
		},
		{
			name:      "binary attachment with newlines and CR bytes",
			in:        "{}\n{\"type\":\"attachment\",\"length\":" + strconv.Itoa(len(binary)) + ",\"filename\":\"shot.png\"}\n" + binary + "\n{\"type\":\"event\"}\n{}\n",
			wantItems: []item{{"attachment", binary}, {"event", `{}`}},
		},
		{
			name:      "CRLF line endings",
			in:        "{}\r\n{\"type\":\"event\"}\r\n{\"message\":1}\r\n{\"type\":\"event\",\"length\":2}\r\n{}\r\n",
			wantItems: []item{{"event", `{"message":1}`}, {"event", `{}`}},
		},
		{
			name:      "blank lines between items and at the end",
			in:        "{}\n\n{\"type\":\"event\"}\n{}\n\n\n",
			wantItems: []item{{"event", `{}`}},
		},
		{
			name:      "header only",
			in:        "{\"dsn\":\"https://k@h/1\"}\n",
			wantItems: nil,
		},
		{
			name:      "item without type is kept untyped",
			in:        "{}\n{\"length\":2}\n{}\n",
			wantItems: []item{{"", `{}`}},
		},
		{
			name:      "float length with integral value",
			in:        "{}\n{\"type\":\"event\",\"length\":2.0}\n{}\n",
			wantItems: []item{{"event", `{}`}},
		},
		{name: "empty body", in: "", wantErr: "header (first line) is missing"},
		{name: "header not JSON", in: "hello\n", wantErr: "not valid JSON"},
		{name: "header not an object", in: "[1]\n", wantErr: "a list, not a JSON object"},
		{name: "item header not JSON", in: "{}\n{\"type\":\n", wantErr: "item 1: the item header is not valid JSON"},
		{name: "length beyond the body", in: "{}\n{\"type\":\"event\",\"length\":100}\n{}\n", wantErr: "item 1: the item header declares 100 bytes but only 3 follow"},
		{name: "negative length", in: "{}\n{\"type\":\"event\",\"length\":-1}\n{}\n", wantErr: "length must be a non-negative integer"},
		{name: "string length", in: "{}\n{\"type\":\"event\",\"length\":\"2\"}\n{}\n", wantErr: "length must be a non-negative integer, got \"2\""},
		{name: "fractional length", in: "{}\n{\"type\":\"event\",\"length\":1.5}\n{}\n", wantErr: "length must be a non-negative integer"},
		{name: "too many items", in: "{}\n" + strings.Repeat("{\"type\":\"session\"}\n{}\n", maxEnvelopeItems+1), wantErr: "more than 1000 items"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := parseEnvelope([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []item
			for _, it := range env.items {
				got = append(got, item{it.typ, string(it.payload)})
			}
			if len(got) != len(tt.wantItems) {
				t.Fatalf("items %q, want %q", got, tt.wantItems)
			}
			for i := range got {
				if got[i] != tt.wantItems[i] {
					t.Errorf("item %d = %q, want %q", i, got[i], tt.wantItems[i])
				}
			}
		})
	}
}

func TestParseEnvelopeHeader(t *testing.T) {
	env, err := parseEnvelope([]byte(`{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","dsn":"https://pub@o1.example.com/42","sent_at":"2025-06-27T06:48:30.123Z","sdk":{"name":"sentry.javascript.browser"}}` + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := envelopeHeader{eventID: "9ec79c33ec9942ab8353589fcb2e04dc", dsn: "https://pub@o1.example.com/42", sentAt: time.Date(2025, 6, 27, 6, 48, 30, 123e6, time.UTC)}
	if env.header != want {
		t.Errorf("header %+v, want %+v", env.header, want)
	}
	if k := dsnKey(env.header.dsn); k != "pub" {
		t.Errorf("dsnKey = %q", k)
	}
	// Wrongly typed header fields are ignored, not fatal; so is a sent_at
	// of NaN, which would make every time in the event drift to the
	// year 2319.
	for _, line := range []string{`{"event_id":5,"dsn":["x"],"sent_at":true}`, `{"sent_at":"NaN"}`, `{"sent_at":"-1"}`} {
		env, err = parseEnvelope([]byte(line + "\n"))
		if err != nil || env.header != (envelopeHeader{}) {
			t.Errorf("%s: header %+v, err %v; want empty, nil", line, env.header, err)
		}
	}
}

func TestAuthHeaderKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Sentry sentry_key=abc, sentry_version=7", "abc"},
		{"Sentry sentry_version=7,sentry_client=raven-js/3.27.0,sentry_key=abc", "abc"},
		{`Sentry sentry_key="abc"`, "abc"},
		{"sentry  sentry_key = abc ", "abc"},
		{"Bearer abc", ""},
		{"Sentry sentry_secret=s", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := authHeaderKey(tt.in); got != tt.want {
			t.Errorf("authHeaderKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
