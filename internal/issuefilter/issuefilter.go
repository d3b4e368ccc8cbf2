// Package issuefilter turns issue-list query parameters, including the
// search box's `key:value` terms, into a store.IssueFilter. It is the one
// parser of that little language: the dashboard's issue list uses it, and
// the REST API's `GET /api/v1/projects/{id}/issues` takes the same
// parameters, so both agree on what a search means.
//
// It imports only the store and event model, so any handler package can
// depend on it without pulling in another handler.
package issuefilter

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

// Bounds on a search. Each tag term is a subquery over the project's
// issue tags, so a search of hundreds of them held the database for the
// whole request deadline, and a thousand failed in SQLite's parser.
const (
	// MaxQueryLen is the most characters a search may have.
	MaxQueryLen = 1000
	// MaxTagTerms is the most distinct tag terms a search may have.
	MaxTagTerms = 20
)

// Parse reads the issue list's query parameters: status, environment,
// release, level, sort, cursor, since, limit and the free-text query. The
// query may hold `key:value` terms (quoted values allowed): is: (or
// status:), level:, environment: (or env:) and release: set those filters
// and win over the separate parameters; any other key filters by tag.
// As in Sentry, `!key:value` excludes issues with that tag value (the
// environment, release and level included), `has:key` keeps issues with
// the tag and `!has:key` those without. The user's id, email and username
// are the tags user.id, user.email and user.username, as Sentry names them;
// an email matches whatever its case. The remaining words are the text
// matched against title and culprit.
//
// status "all" means any status; since is a look-back such as 1h, 24h or
// 14d, or an RFC 3339 time. Errors describe the bad parameter for the user.
// Parse sets no ProjectID.
func Parse(q url.Values, now time.Time) (store.IssueFilter, error) {
	query := q.Get("query")
	if n := utf8.RuneCountInString(query); n > MaxQueryLen {
		return store.IssueFilter{}, fmt.Errorf("the search is %d characters long; it may be at most %d", n, MaxQueryLen)
	}
	f := store.IssueFilter{
		Status:      q.Get("status"),
		Environment: q.Get("environment"),
		Release:     q.Get("release"),
		Level:       q.Get("level"),
		Sort:        q.Get("sort"),
		Cursor:      q.Get("cursor"),
	}
	var text []string
	for _, t := range splitTerms(query) {
		term := t.value
		key, val, ok := strings.Cut(term, ":")
		key, negated := strings.CutPrefix(key, "!")
		// Without a key or a value, or with a slash in the key (a path
		// such as a/b:c), the word is text.
		if !ok || key == "" || val == "" || strings.ContainsAny(key, "/ ") {
			text = append(text, t.text())
			continue
		}
		if key == store.TagUserEmail {
			val = strings.ToLower(val) // as the store keeps it
		}
		switch {
		case key == "user.ip" || key == "user.ip_address" || (key == "has" && (val == "user.ip" || val == "user.ip_address")):
			if key == "has" {
				key = val
			}
			return f, fmt.Errorf("%s: cannot be searched: Flytrap keeps only a salted hash of IP addresses; search by user.id:, user.email: or user.username: instead", key)
		case key == "is" || key == "status":
			if negated {
				return f, fmt.Errorf("!%s: is not supported; choose the statuses you want with is:unresolved, is:resolved or is:ignored", key)
			}
			f.Status = val
		case key == "has" && !negated:
			add(&f.Has, val)
		case key == "has":
			add(&f.Missing, val)
		case negated:
			// The environment, release and level are tags too.
			if key == "env" {
				key = "environment"
			}
			add(&f.NotTags, event.Tag{Key: key, Value: val})
		case key == "level":
			f.Level = val
		case key == "environment" || key == "env":
			f.Environment = val
		case key == "release":
			f.Release = val
		default:
			add(&f.Tags, event.Tag{Key: key, Value: val})
		}
		if n := len(f.Tags) + len(f.NotTags) + len(f.Has) + len(f.Missing); n > MaxTagTerms {
			return f, fmt.Errorf("the search has more than %d tag terms (key:value, !key:value, has:key); narrow it to at most %d", MaxTagTerms, MaxTagTerms)
		}
	}
	f.Query = strings.Join(text, " ")
	switch f.Status {
	case "", store.StatusUnresolved, store.StatusResolved, store.StatusIgnored:
	case "all":
		f.Status = ""
	default:
		return f, fmt.Errorf("status must be unresolved, resolved, ignored or all, not %q", f.Status)
	}
	if f.Level != "" && !event.ValidLevel(f.Level) {
		return f, fmt.Errorf("level must be one of %s", strings.Join(event.Levels, ", "))
	}
	switch f.Sort {
	case "", store.SortLastSeen, store.SortFirstSeen, store.SortCount:
	default:
		return f, fmt.Errorf("sort must be last_seen, first_seen or count, not %q", f.Sort)
	}
	if s := q.Get("since"); s != "" {
		since, err := ParseSince(s, now)
		if err != nil {
			return f, err
		}
		f.Since = since
	}
	limit, err := ParseLimit(q.Get("limit"))
	if err != nil {
		return f, err
	}
	f.Limit = limit
	return f, nil
}

// add appends v to *list unless it is there: a term typed twice is one
// subquery.
func add[T comparable](list *[]T, v T) {
	if !slices.Contains(*list, v) {
		*list = append(*list, v)
	}
}

// ParseSince accepts a look-back like 1h, 24h or 14d (relative to now), or
// an RFC 3339 time.
func ParseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil && days > 0 && days <= 3650 {
			return now.Add(-time.Duration(days) * 24 * time.Hour), nil
		}
	} else if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("since must be a duration such as 24h or 14d, or an RFC 3339 time, not %q", s)
}

// ParseLimit reads a page size from 1 to 100; "" is 0, the store's default.
func ParseLimit(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 100 {
		return 0, fmt.Errorf("limit must be a number from 1 to 100, not %q", s)
	}
	return n, nil
}

// SplitQuery splits on spaces and tabs, keeping double-quoted runs together
// and dropping the quotes: `browser:"Mobile Safari" timeout` is two terms.
func SplitQuery(s string) []string {
	var out []string
	for _, t := range splitTerms(s) {
		out = append(out, t.value)
	}
	return out
}

// term is one term of a query: its value without quotes, and as typed.
type term struct{ value, raw string }

// text is the term as free text. Quotes around the whole term group words
// (`"connection refused"`) and go; quotes inside it are part of what was
// typed, as in a pasted title `(reading "foo")`, and stay, or the title
// would not match itself.
func (t term) text() string {
	if len(t.raw) >= 2 && t.raw[0] == '"' && t.raw[len(t.raw)-1] == '"' && strings.Count(t.raw, `"`) == 2 {
		return t.value
	}
	return t.raw
}

func splitTerms(s string) []term {
	var (
		out    []term
		cur    strings.Builder
		start  = -1
		quoted bool
	)
	flush := func(end int) {
		if start >= 0 && cur.Len() > 0 {
			out = append(out, term{value: cur.String(), raw: s[start:end]})
		}
		cur.Reset()
		start = -1
	}
	for i, r := range s {
		if (r == ' ' || r == '\t') && !quoted {
			flush(i)
			continue
		}
		if start < 0 {
			start = i
		}
		if r == '"' {
			quoted = !quoted
			continue
		}
		cur.WriteRune(r)
	}
	flush(len(s))
	return out
}

// Term formats a key:value search term that SplitQuery and Parse read back
// as the same key and value, quoting the value when it holds spaces. It
// reports false for pairs the syntax cannot express (a key with a colon,
// slash, space or quote, or a value with a quote).
func Term(key, value string) (string, bool) {
	if key == "" || value == "" || strings.ContainsAny(key, ":/ \t\"") || strings.Contains(value, `"`) {
		return "", false
	}
	if strings.ContainsAny(value, " \t") {
		value = `"` + value + `"`
	}
	return key + ":" + value, true
}
