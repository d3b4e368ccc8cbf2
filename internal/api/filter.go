package api

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

// parseIssueFilter reads the issue list's query parameters. The free-text
// `query` may hold `key:value` terms (quoted values allowed): is:, level:,
// environment:, release: set those filters; any other key filters by tag.
func parseIssueFilter(q url.Values, now time.Time) (store.IssueFilter, error) {
	f := store.IssueFilter{
		Status:      q.Get("status"),
		Environment: q.Get("environment"),
		Release:     q.Get("release"),
		Level:       q.Get("level"),
		Sort:        q.Get("sort"),
		Cursor:      q.Get("cursor"),
	}
	var text []string
	for _, term := range splitQuery(q.Get("query")) {
		key, val, ok := strings.Cut(term, ":")
		if !ok || key == "" || val == "" || strings.ContainsAny(key, "/ ") {
			text = append(text, term)
			continue
		}
		switch key {
		case "is", "status":
			f.Status = val
		case "level":
			f.Level = val
		case "environment", "env":
			f.Environment = val
		case "release":
			f.Release = val
		default:
			f.Tags = append(f.Tags, event.Tag{Key: key, Value: val})
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
		since, err := parseSince(s, now)
		if err != nil {
			return f, err
		}
		f.Since = since
	}
	limit, err := parseLimit(q.Get("limit"))
	if err != nil {
		return f, err
	}
	f.Limit = limit
	return f, nil
}

// parseSince accepts a look-back like 1h, 24h, 14d, or an RFC 3339 time.
func parseSince(s string, now time.Time) (time.Time, error) {
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

func parseLimit(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 100 {
		return 0, fmt.Errorf("limit must be a number from 1 to 100, not %q", s)
	}
	return n, nil
}

// splitQuery splits on spaces, keeping double-quoted runs together and
// dropping the quotes: `browser:"Mobile Safari" timeout`.
func splitQuery(s string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
		case (r == ' ' || r == '\t') && !quoted:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}
