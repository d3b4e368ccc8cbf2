package issuefilter

import (
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func TestParse(t *testing.T) {
	tests := []struct {
		query string
		want  store.IssueFilter
	}{
		{"", store.IssueFilter{}},
		{"status=resolved&level=warning&environment=prod&release=app@1&sort=count&cursor=abc&limit=10",
			store.IssueFilter{Status: "resolved", Level: "warning", Environment: "prod", Release: "app@1", Sort: "count", Cursor: "abc", Limit: 10}},
		{"status=all", store.IssueFilter{}},
		{"query=timeout+reading", store.IssueFilter{Query: "timeout reading"}},
		{"status=unresolved&query=is:ignored", store.IssueFilter{Status: "ignored"}},
		{"query=status:resolved+level:fatal+env:staging+release:v2", store.IssueFilter{Status: "resolved", Level: "fatal", Environment: "staging", Release: "v2"}},
		{"query=environment:prod", store.IssueFilter{Environment: "prod"}},
		{"query=" + url.QueryEscape(`browser:"Mobile Safari" crash`),
			store.IssueFilter{Query: "crash", Tags: []event.Tag{{Key: "browser", Value: "Mobile Safari"}}}},
		// A pasted title matches itself: quotes inside a word stay, quotes
		// around a whole word group.
		{"query=" + url.QueryEscape(`TypeError: Cannot read properties of undefined (reading "foo")`),
			store.IssueFilter{Query: `TypeError: Cannot read properties of undefined (reading "foo")`}},
		{"query=" + url.QueryEscape(`"connection refused" level:error say "a b"c`),
			store.IssueFilter{Level: "error", Query: `connection refused say "a b"c`}},
		{"query=" + url.QueryEscape(`"" x`), store.IssueFilter{Query: "x"}},
		{"query=" + url.QueryEscape(`src/app.js:42 :lead trail:`),
			store.IssueFilter{Query: `src/app.js:42 :lead trail:`}},
		// The REST API's semantics, kept as they are: a URL's scheme reads
		// as a tag key.
		{"query=" + url.QueryEscape(`http://example.com/a`),
			store.IssueFilter{Tags: []event.Tag{{Key: "http", Value: "//example.com/a"}}}},
		// Sentry's negation and has:, on tags and on the filters that are
		// tags too.
		{"query=" + url.QueryEscape(`!browser:"Mobile Safari" !level:error !env:prod has:os !has:user level:warning`),
			store.IssueFilter{Level: "warning", NotTags: []event.Tag{{Key: "browser", Value: "Mobile Safari"}, {Key: "level", Value: "error"}, {Key: "environment", Value: "prod"}},
				Has: []string{"os"}, Missing: []string{"user"}}},
		{"query=" + url.QueryEscape(`!:x !nothing wow!`), store.IssueFilter{Query: `!:x !nothing wow!`}},
		// The user's fields are tags, an email in lower case as stored.
		{"query=" + url.QueryEscape(`user.email:Ada@Example.COM user.id:U-42 !user.username:Bob has:user.email`),
			store.IssueFilter{Tags: []event.Tag{{Key: "user.email", Value: "ada@example.com"}, {Key: "user.id", Value: "U-42"}},
				NotTags: []event.Tag{{Key: "user.username", Value: "Bob"}}, Has: []string{"user.email"}}},
		// A repeated tag term is one subquery, however often it is typed.
		{"query=" + url.QueryEscape(strings.Repeat("a:b ", 200)+"a:c"),
			store.IssueFilter{Tags: []event.Tag{{Key: "a", Value: "b"}, {Key: "a", Value: "c"}}}},
		{"query=" + url.QueryEscape(tagTerms(MaxTagTerms)), store.IssueFilter{Tags: tags(MaxTagTerms)}},
		{"since=24h", store.IssueFilter{Since: now.Add(-24 * time.Hour)}},
		{"since=14d", store.IssueFilter{Since: now.Add(-14 * 24 * time.Hour)}},
		{"since=2026-11-01T00:00:00Z", store.IssueFilter{Since: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse(q, now)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse = %+v\nwant    %+v", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ query, want string }{
		{"status=open", "status must be"},
		{"query=is:open", "status must be"},
		{"level=loud", "level must be"},
		{"sort=title", "sort must be"},
		{"since=yesterday", "since must be"},
		{"since=0d", "since must be"},
		{"since=-1h", "since must be"},
		{"limit=0", "limit must be"},
		{"limit=101", "limit must be"},
		{"limit=x", "limit must be"},
		{"query=" + url.QueryEscape(tagTerms(MaxTagTerms+1)), "more than 20 tag terms"},
		{"query=" + url.QueryEscape(tagTerms(MaxTagTerms)+" has:x"), "more than 20 tag terms"},
		{"query=" + url.QueryEscape("!is:resolved"), "!is: is not supported"},
		{"query=" + url.QueryEscape("user.ip:10.0.0.1"), "user.ip: cannot be searched: Flytrap keeps only a salted hash"},
		{"query=" + url.QueryEscape("!has:user.ip"), "user.ip: cannot be searched"},
		{"query=" + url.QueryEscape("has:user.ip_address"), "user.ip_address: cannot be searched"},
		{"query=" + strings.Repeat("é", MaxQueryLen+1), "the search is 1001 characters long; it may be at most 1000"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q, _ := url.ParseQuery(tt.query)
			_, err := Parse(q, now)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestSplitQuery(t *testing.T) {
	tests := map[string][]string{
		"":                          nil,
		"  a \t b  ":                {"a", "b"},
		`browser:"Mobile Safari" x`: {"browser:Mobile Safari", "x"},
		`"unterminated quote`:       {"unterminated quote"},
		`a""b`:                      {"ab"},
	}
	for in, want := range tests {
		if got := SplitQuery(in); !reflect.DeepEqual(got, want) {
			t.Errorf("SplitQuery(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTermRoundTrips(t *testing.T) {
	tests := []struct {
		key, value string
		ok         bool
	}{
		{"browser", "Firefox 120", true},
		{"url", "http://example.com/a:b", true},
		{"environment", "production", true},
		{"a/b", "x", false},
		{"a:b", "x", false},
		{"k", `say "hi"`, false},
		{"", "x", false},
		{"k", "", false},
	}
	for _, tt := range tests {
		term, ok := Term(tt.key, tt.value)
		if ok != tt.ok {
			t.Errorf("Term(%q, %q) ok = %v, want %v", tt.key, tt.value, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		f, err := Parse(url.Values{"query": {term}}, now)
		if err != nil {
			t.Fatalf("Parse(%q): %v", term, err)
		}
		var key, value string
		switch {
		case len(f.Tags) == 1:
			key, value = f.Tags[0].Key, f.Tags[0].Value
		case f.Environment != "":
			key, value = "environment", f.Environment
		}
		if key != tt.key || value != tt.value || f.Query != "" {
			t.Errorf("Term(%q, %q) = %q parses as %q=%q (text %q)", tt.key, tt.value, term, key, value, f.Query)
		}
	}
}

// tags returns n distinct tags t0:v0, t1:v1...
func tags(n int) []event.Tag {
	out := make([]event.Tag, n)
	for i := range out {
		out[i] = event.Tag{Key: fmt.Sprintf("t%d", i), Value: fmt.Sprintf("v%d", i)}
	}
	return out
}

// tagTerms is tags(n) as a search.
func tagTerms(n int) string {
	var terms []string
	for _, t := range tags(n) {
		terms = append(terms, t.Key+":"+t.Value)
	}
	return strings.Join(terms, " ")
}
