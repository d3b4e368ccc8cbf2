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
	"errors"
	"fmt"
	"math"
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
// release, level, sort, cursor, since, limit and the free-text query.
//
// The query is Sentry's issue search. Its terms are ANDed with each other
// and with the level, environment and release parameters, which they
// never override: level:warning with level=error matches nothing, as in
// Sentry. A key
// given twice must hold twice, and key:[a,b] matches either value (for
// level, environment, release, firstRelease and tags). The keys are
//
//   - is: (or status:) unresolved, resolved or ignored, which wins over
//     the status parameter, the dashboard's default;
//   - level:, environment: (or env:), release: and any other key, which
//     match the tags of the issue's events (level: the issue's level);
//     tags[key]: is the tag key whatever its name;
//   - has:key and !has:key, for issues with and without the tag;
//   - firstRelease: the release the issue was first seen in, or latest;
//   - timesSeen: the event count, with >, >=, <, <=, = or !=;
//   - firstSeen:, age: (the same) and lastSeen:, with -24h for "within
//     the last 24 hours", +24h for "longer ago" (units m, h, d, w), or a
//     date or time after >, >=, <, <= or =; a bare date is that day, UTC;
//   - message: (matched as free text is, against title and culprit) and
//     title: (the title alone), case-insensitively; !message: and !title:
//     leave out the issues they match;
//   - assigned: (or assigned_or_suggested:, the same: Flytrap suggests no
//     owners) me, none or a user's email, or a list of them;
//     !assigned: leaves out the issues so assigned, unassigned ones kept;
//     is:assigned and is:unassigned are assigned to anybody and nobody.
//
// As in Sentry, `!key:value` excludes issues with that tag value (the
// environment, release and level included). A * in a value is a wildcard
// for any text, and the value must then match whole (browser:Headless*,
// release:shop@1.2.*, title:*wrapError*, !env:stag*, !title:Warn*, in
// lists too; a level pattern is the levels it matches), with \* a star;
// the store matches case as it does without one, and cuts a pattern
// longer than a stored value can be to that length. In free text a * is a
// wildcard too, and the text still matches anywhere (Type*Error). release:latest is the project's
// release first seen last. The user's id, email and username are the tags
// user.id, user.email and user.username; an email matches whatever its
// case. Quoted values may hold spaces, \" and \\.
// The remaining words are the text matched against title and culprit.
// Keys Sentry has but Flytrap keeps no data for (bookmarks, review,
// teams, exception details, the user's IP address), a known key without
// a value, and Sentry's boolean search (OR, AND, parentheses around
// key:value terms) are errors, not searches that silently match nothing.
//
// status "all" means any status; since is a look-back such as 1h, 24h or
// 14d, or an RFC 3339 time. Errors describe the bad parameter for the user.
// Parse sets no ProjectID.
func Parse(q url.Values, now time.Time) (store.IssueFilter, error) {
	if err := CheckNUL(q, "query", "status", "environment", "release", "level", "sort", "cursor", "since", "limit"); err != nil {
		return store.IssueFilter{}, err
	}
	// Every value of the filter, the search's terms included, comes from
	// these parameters, cleaned as the store cleans what it saves.
	get := func(key string) string { return store.Clean(q.Get(key)) }
	query := get("query")
	if n := utf8.RuneCountInString(query); n > MaxQueryLen {
		return store.IssueFilter{}, fmt.Errorf("the search is %d characters long; it may be at most %d", n, MaxQueryLen)
	}
	p := parser{now: now, f: store.IssueFilter{
		Status:      get("status"),
		Environment: get("environment"),
		Release:     get("release"),
		Level:       get("level"),
		Sort:        get("sort"),
		Cursor:      get("cursor"),
	}}
	terms := splitTerms(query)
	if err := booleanErr(terms); err != nil {
		return p.f, err
	}
	var text []string
	for _, t := range terms {
		ft, ok := t.searchTerm()
		if !ok {
			text = append(text, textWildcards(t.text()))
			continue
		}
		if err := p.term(ft); err != nil {
			return p.f, err
		}
		f := &p.f
		n := len(f.Tags) + len(f.NotTags) + len(f.Has) + len(f.Missing)
		for _, set := range f.AnyTags {
			n += len(set)
		}
		if n > MaxTagTerms {
			return p.f, fmt.Errorf("the search has more than %d tag terms (key:value, !key:value, has:key, values in key:[a,b]); narrow it to at most %d", MaxTagTerms, MaxTagTerms)
		}
	}
	f := p.f
	f.Query = strings.Join(text, " ")
	if p.status != "" {
		f.Status = p.status
	}
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
	sort, err := ParseSort(f.Sort)
	if err != nil {
		return f, err
	}
	f.Sort = sort
	if s := get("since"); s != "" {
		since, err := ParseSince(s, now)
		if err != nil {
			return f, err
		}
		f.Since = since
	}
	limit, err := ParseLimit(get("limit"))
	if err != nil {
		return f, err
	}
	f.Limit = limit
	return f, nil
}

// Sorts are the issue list's sort orders, then the names Sentry's issue
// list gives the same orders, each mapped to Flytrap's.
var Sorts = []struct{ Name, Sort string }{
	{store.SortLastSeen, store.SortLastSeen},
	{store.SortFirstSeen, store.SortFirstSeen},
	{store.SortCount, store.SortCount},
	{store.SortUserCount, store.SortUserCount},
	{"date", store.SortLastSeen},
	{"new", store.SortFirstSeen},
	{"freq", store.SortCount},
	{"user", store.SortUserCount},
}

// ParseSort maps a sort name of Sorts to Flytrap's order; "" is the
// default, last seen. Sentry's priority and trends, which Flytrap keeps
// no data for, are errors like any unknown name.
func ParseSort(name string) (string, error) {
	if name == "" {
		return "", nil
	}
	names := make([]string, len(Sorts))
	for i, s := range Sorts {
		if s.Name == name {
			return s.Sort, nil
		}
		names[i] = s.Name
	}
	return "", fmt.Errorf("sort must be one of %s, not %q", strings.Join(names, ", "), name)
}

// The keys of Sentry's issue search that are not tags. A tag of one of
// these names is searched as tags[key]:.
var (
	// Flytrap has no bookmarks.
	bookmarkKeys = []string{"bookmarks"}
	// The assignee's keys.
	assignedKeys = []string{"assigned", "assigned_or_suggested"}
	// Sentry reads these from each event's exceptions, which Flytrap keeps
	// only in the event payloads, not in anything a search can read. (The
	// mechanism and whether the error was handled are tags: handled:,
	// mechanism:, and error.handled:, error.unhandled:, error.mechanism:
	// search them.)
	exceptionKeys = []string{"error.type", "error.value"}
	searchKeys    = []string{"is", "status", "has", "level", "environment", "env", "release", "firstRelease", "first-release",
		"timesSeen", "lastSeen", "firstSeen", "age", "message", "title", "user.ip", "user.ip_address"}
	// is: values about the assignee, and what each searches for.
	assignedStatuses = map[string]string{"assigned": store.AssigneeAny, "assigned_or_suggested": store.AssigneeAny,
		"unassigned": store.AssigneeNone}
	// is: values Flytrap keeps no data for.
	unsupportedStatuses = []string{"for_review", "bookmarked"}
)

// knownKey reports whether key means something other than a tag.
func knownKey(key string) bool {
	return slices.Contains(searchKeys, key) || slices.Contains(bookmarkKeys, key) || slices.Contains(assignedKeys, key) ||
		slices.Contains(exceptionKeys, key)
}

// parser collects a search's terms into f.
type parser struct {
	f   store.IssueFilter
	now time.Time
	// status is the search's is:, which wins over the status parameter.
	status string
}

// filterTerm is a key:value term: value is as typed, quotes and all.
type filterTerm struct {
	key, value string
	negated    bool
	// tag is set for tags[key]:, which names a tag whatever its key.
	tag bool
}

// name is the term's key as the user wrote it, for errors.
func (t filterTerm) name() string {
	n := t.key
	if t.tag {
		n = "tags[" + n + "]"
	}
	if t.negated {
		n = "!" + n
	}
	return n
}

// term adds one key:value term to the filter.
func (p *parser) term(t filterTerm) error {
	f := &p.f
	vals, list, err := values(t.value)
	if err != nil {
		return fmt.Errorf("%s: %v", t.name(), err)
	}
	if !list && vals[0] == "" {
		return fmt.Errorf("%s: needs a value, as in %s", t.name(), example(t))
	}
	key := t.key
	wild := slices.ContainsFunc(vals, wildcard)
	if !t.tag {
		if key == "env" {
			key = "environment"
		}
		if key == "first-release" {
			key = "firstRelease"
		}
		// Sentry's error.* keys for what every event now tags: the
		// outermost exception's mechanism, and handled yes or no.
		switch key {
		case "error.mechanism":
			key, t.tag = "mechanism", true
		case "error.handled", "error.unhandled":
			if wild {
				return noWildcard(t)
			}
			for i, v := range vals {
				yes, ok := truth(v)
				if !ok {
					return fmt.Errorf("%s: takes true or false (1 or 0), not %q", t.name(), v)
				}
				if yes == (key == "error.handled") {
					vals[i] = "yes"
				} else {
					vals[i] = "no"
				}
			}
			key, t.tag = "handled", true
		}
	}
	if key == store.TagUserEmail {
		for i := range vals {
			vals[i] = strings.ToLower(vals[i]) // as the store keeps it
		}
	}
	one := func() (string, error) {
		if list {
			return "", fmt.Errorf("%s: takes one value, not a list", t.name())
		}
		return vals[0], nil
	}
	positive := func() error {
		if t.negated {
			return fmt.Errorf("%s: cannot be negated; %s", t.name(), negationHint(key))
		}
		return nil
	}
	tag := func() {
		switch {
		case t.negated:
			for _, v := range vals {
				add(&f.NotTags, event.Tag{Key: key, Value: v})
			}
		case list:
			set := make([]event.Tag, len(vals))
			for i, v := range vals {
				set[i] = event.Tag{Key: key, Value: v}
			}
			f.AnyTags = append(f.AnyTags, set)
		default:
			add(&f.Tags, event.Tag{Key: key, Value: vals[0]})
		}
	}
	if t.tag {
		tag()
		return nil
	}
	switch {
	case key == "user.ip" || key == "user.ip_address" || (key == "has" && (vals[0] == "user.ip" || vals[0] == "user.ip_address")):
		if key == "has" {
			key = vals[0]
		}
		return fmt.Errorf("%s: cannot be searched: Flytrap keeps only a salted hash of IP addresses; search by user.id:, user.email: or user.username: instead", key)
	case slices.Contains(bookmarkKeys, key) || ((key == "is" || key == "status") && slices.Contains(unsupportedStatuses, vals[0])):
		return fmt.Errorf("%s:%s cannot be searched: Flytrap has no bookmarks or review; search assigned:me for the issues assigned to you", t.name(), t.value)
	case slices.Contains(exceptionKeys, key):
		return fmt.Errorf("%s: cannot be searched: Flytrap keeps an issue's title, not its events' exceptions; search the titles instead, as in title:\"TypeError\"", t.name())
	case wild && (key == "is" || key == "status" || key == "has" || key == "timesSeen" || key == "lastSeen" || key == "firstSeen" || key == "age" ||
		slices.Contains(assignedKeys, key)):
		return noWildcard(t)
	case slices.Contains(assignedKeys, key):
		return p.assigned(t, vals)
	case (key == "is" || key == "status") && !t.negated && !list && assignedStatuses[vals[0]] != "":
		f.Assigned = append(f.Assigned, []string{assignedStatuses[vals[0]]})
	case key == "is" || key == "status":
		if t.negated {
			return fmt.Errorf("%s: is not supported; choose the statuses you want with is:unresolved, is:resolved or is:ignored", t.name())
		}
		v, err := one()
		if err != nil {
			return err
		}
		if p.status != "" && p.status != v {
			return fmt.Errorf("is:%s and is:%s together match nothing: an issue has one status", p.status, v)
		}
		p.status = v
	case key == "has":
		v, err := one()
		if err != nil {
			return err
		}
		if t.negated {
			add(&f.Missing, v)
		} else {
			add(&f.Has, v)
		}
	case key == "level" && !t.negated:
		var set []string
		for _, v := range vals {
			if !wildcard(v) {
				if !event.ValidLevel(v) {
					return fmt.Errorf("level must be one of %s, not %q", strings.Join(event.Levels, ", "), v)
				}
				set = append(set, v)
				continue
			}
			// The levels are few and known: a pattern is the ones it
			// matches.
			n := len(set)
			for _, l := range event.Levels {
				if matchWildcard(v, l) {
					set = append(set, l)
				}
			}
			if len(set) == n {
				return fmt.Errorf("level:%s matches no level; levels are %s", typed(v), strings.Join(event.Levels, ", "))
			}
		}
		f.Levels = append(f.Levels, set)
	case key == "environment" && !t.negated && !list && !wild && f.Environment == "":
		// The first environment also scopes the counts shown, as the
		// environment parameter does.
		f.Environment = vals[0]
	case key == "firstRelease":
		if err := positive(); err != nil {
			return err
		}
		f.FirstReleases = append(f.FirstReleases, vals)
	case key == "timesSeen":
		v, err := one()
		if err == nil {
			err = positive()
		}
		if err != nil {
			return err
		}
		b, err := parseCount(v)
		if err != nil {
			return fmt.Errorf("%s: %v", t.name(), err)
		}
		f.TimesSeen = append(f.TimesSeen, b)
	case key == "lastSeen" || key == "firstSeen" || key == "age":
		v, err := one()
		if err == nil {
			err = positive()
		}
		if err != nil {
			return err
		}
		bounds, err := parseTime(v, p.now)
		if err != nil {
			return fmt.Errorf("%s: %v", t.name(), err)
		}
		if key == "lastSeen" {
			f.LastSeen = append(f.LastSeen, bounds...)
		} else {
			f.FirstSeen = append(f.FirstSeen, bounds...)
		}
	case key == "message" || key == "title":
		v, err := one()
		if err != nil {
			return err
		}
		list := &f.Messages
		switch {
		case key == "title" && t.negated:
			list = &f.NotTitles
		case key == "title":
			list = &f.Titles
		case t.negated:
			list = &f.NotMessages
		}
		add(list, v)
	default:
		tag()
	}
	return nil
}

// assigned adds an assigned: term, of values vals, to the filter.
func (p *parser) assigned(t filterTerm, vals []string) error {
	set := make([]string, len(vals))
	for i, v := range vals {
		switch v = strings.ToLower(v); {
		case v == store.AssigneeMe || v == store.AssigneeNone || strings.Contains(v, "@") && !strings.HasPrefix(v, "#"):
			set[i] = v
		case strings.HasPrefix(v, "#") || v == "my_teams":
			return fmt.Errorf("%s:%s cannot be searched: Flytrap has no teams; issues are assigned to users", t.name(), typed(vals[i]))
		default:
			return fmt.Errorf("%s: takes me, none or a user's email, as in assigned:me or assigned:[ann@example.com,none], not %q", t.name(), vals[i])
		}
	}
	if t.negated {
		for _, v := range set {
			add(&p.f.NotAssigned, v)
		}
		return nil
	}
	p.f.Assigned = append(p.f.Assigned, set)
	return nil
}

// wildcard reports whether a value as read holds a wildcard.
func wildcard(v string) bool { return strings.Contains(v, store.Wildcard) }

// typed is a value as read, its wildcards written *, for messages.
func typed(v string) string { return strings.ReplaceAll(v, store.Wildcard, "*") }

// matchWildcard reports whether s is pattern, whose wildcards stand for
// any text, as the store matches a tag value: whole and case-sensitively.
func matchWildcard(pattern, s string) bool {
	parts := strings.Split(pattern, store.Wildcard)
	if len(parts) == 1 {
		return s == pattern
	}
	rest, ok := strings.CutPrefix(s, parts[0])
	if !ok {
		return false
	}
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(rest, p)
		if i < 0 {
			return false
		}
		rest = rest[i+len(p):]
	}
	return strings.HasSuffix(rest, parts[len(parts)-1])
}

// noWildcard is the error for a * in the value of a key that takes none.
func noWildcard(t filterTerm) error {
	return fmt.Errorf("%s: takes no * wildcard; write the value whole, as in %s (a literal star is \\*)", t.name(), example(t))
}

// example is a sample term of t's key, for the error about its missing
// value.
func example(t filterTerm) string {
	switch t.key {
	case "is", "status":
		return "is:unresolved"
	case "has":
		return "has:browser"
	case "level":
		return "level:error or level:[warning,info]"
	case "timesSeen":
		return "timesSeen:>10"
	case "lastSeen", "firstSeen", "age":
		return t.key + ":-24h"
	case "assigned", "assigned_or_suggested":
		return t.key + ":me"
	}
	return t.name() + `:value or ` + t.name() + `:"a value"`
}

// negationHint says how to get the negated term's meaning another way.
func negationHint(key string) string {
	switch key {
	case "timesSeen":
		return "use timesSeen:!=N, or < and >"
	case "lastSeen", "firstSeen", "age":
		return "use + for longer ago and - for more recently"
	}
	return "list the first releases you want instead"
}

// operators are the comparisons of timesSeen and the dates, longest first
// so that >= is not read as >.
var operators = []string{">=", "<=", "!=", ">", "<", "="}

func cutOperator(s string) (op, rest string) {
	for _, o := range operators {
		if r, ok := strings.CutPrefix(s, o); ok {
			return o, r
		}
	}
	return "", s
}

// parseCount reads timesSeen's value: an optional comparison and a whole
// number, which may end in k, m or b (thousands, millions, billions) as
// in Sentry.
func parseCount(s string) (store.CountBound, error) {
	op, num := cutOperator(s)
	if op == "" {
		op = "="
	}
	mult := 1.0
	switch {
	case strings.HasSuffix(num, "k"):
		mult = 1e3
	case strings.HasSuffix(num, "m"):
		mult = 1e6
	case strings.HasSuffix(num, "b"):
		mult = 1e9
	}
	if mult > 1 {
		num = num[:len(num)-1]
	}
	n, err := strconv.ParseFloat(num, 64)
	n *= mult
	if err != nil || strings.ContainsAny(num, "eEnNxXpP_") || n != math.Trunc(n) || math.Abs(n) > 1e15 {
		return store.CountBound{}, fmt.Errorf("takes a whole number after >, >=, <, <=, = or !=, as in timesSeen:>10, not %q", s)
	}
	return store.CountBound{Op: op, N: int64(n)}, nil
}

// relativeUnits are the units of a relative time, as in Sentry.
var relativeUnits = map[byte]time.Duration{'m': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour, 'w': 7 * 24 * time.Hour}

// maxRelative bounds a relative time, well inside time.Duration.
const maxRelative = 100 * 366 * 24 * time.Hour

// parseTime reads the value of lastSeen, firstSeen or age. A relative
// time is Unix find's, as in Sentry: -24h is within the last 24 hours,
// +24h longer ago than that. A date or time may follow a comparison; a
// bare date is the whole day (UTC), a bare time that instant. Times
// without a zone are UTC.
func parseTime(s string, now time.Time) ([]store.TimeBound, error) {
	bad := fmt.Errorf("takes a time such as -24h (within the last 24 hours), +7d (longer ago than 7 days), >2026-12-01 or <=2026-12-01T15:04:05Z, not %q", s)
	if len(s) >= 3 && (s[0] == '-' || s[0] == '+') {
		unit, ok := relativeUnits[s[len(s)-1]]
		n, err := strconv.ParseUint(s[1:len(s)-1], 10, 32)
		if !ok || err != nil || time.Duration(n) > maxRelative/unit {
			return nil, bad
		}
		at := now.Add(-time.Duration(n) * unit)
		if s[0] == '-' {
			return []store.TimeBound{{Op: ">=", T: at}}, nil
		}
		return []store.TimeBound{{Op: "<=", T: at}}, nil
	}
	op, rest := cutOperator(s)
	if op == "!=" {
		return nil, bad
	}
	start, end, ok := timeSpan(rest)
	if !ok {
		return nil, bad
	}
	// A date or time names the span it is precise to, as people mean
	// it: =2026-12-06 is that day, <=2026-12-06 takes it in, and
	// >2026-12-06 starts the day after.
	switch op {
	case "", "=":
		return []store.TimeBound{{Op: ">=", T: start}, {Op: "<", T: end}}, nil
	case ">":
		return []store.TimeBound{{Op: ">=", T: end}}, nil
	case ">=":
		return []store.TimeBound{{Op: ">=", T: start}}, nil
	case "<":
		return []store.TimeBound{{Op: "<", T: start}}, nil
	default: // "<="
		return []store.TimeBound{{Op: "<", T: end}}, nil
	}
}

// timeSpan reads a date or a time and returns the span it names: a day,
// a minute, a second, or as many fractional digits as it has (at least the
// store's millisecond). A time without a zone is UTC.
func timeSpan(s string) (start, end time.Time, ok bool) {
	if day, err := time.Parse(time.DateOnly, s); err == nil {
		return day, day.AddDate(0, 0, 1), true
	}
	if t, err := time.Parse("2006-01-02T15:04", s); err == nil {
		return t, t.Add(time.Minute), true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		t, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		width := time.Second
		if _, frac, found := strings.Cut(s, "."); found {
			digits := len(frac) - len(strings.TrimLeft(frac, "0123456789"))
			for range digits {
				if width == time.Millisecond {
					break
				}
				width /= 10
			}
		}
		return t, t.Add(width), true
	}
	return time.Time{}, time.Time{}, false
}

// add appends v to *list unless it is there: a term typed twice is one
// subquery.
func add[T comparable](list *[]T, v T) {
	if !slices.Contains(*list, v) {
		*list = append(*list, v)
	}
}

// CheckNUL returns an error naming the first of keys whose value in q has
// a NUL byte: the store drops NULs from what it saves, so no stored text
// has one, and dropping them from a filter instead left a filter of NULs
// alone empty, which is no filter: every issue.
func CheckNUL(q url.Values, keys ...string) error {
	for _, k := range keys {
		for _, v := range q[k] {
			if strings.ContainsRune(v, 0) {
				return fmt.Errorf("the %s parameter has a NUL byte (%%00), which no stored text has: remove it", k)
			}
		}
	}
	return nil
}

// ParseSince accepts a look-back like 1h, 24h or 14d (ParseDuration,
// relative to now), or an RFC 3339 time.
func ParseSince(s string, now time.Time) (time.Time, error) {
	return ParseTime("since", s, now)
}

// ParseTime reads the parameter called name as ParseSince reads since, so
// that every time parameter of the API takes the same forms and its error
// names the parameter.
func ParseTime(name, s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, ok := ParseDuration(s); ok {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%s must be a duration such as 24h or 14d, or an RFC 3339 time, not %q", name, s)
}

// ParseDuration reads a positive length of time as the since parameter
// and the CLI's flags take it: whole days up to 3650 (14d), or a Go
// duration (90m, 24h, 1h30m), whose time.ParseDuration knows no days.
func ParseDuration(s string) (time.Duration, bool) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		return time.Duration(days) * 24 * time.Hour, err == nil && days > 0 && days <= 3650
	}
	d, err := time.ParseDuration(s)
	return d, err == nil && d > 0
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

// term is one term of a query as typed, quotes and all.
type term string

// text is the term as free text. Quotes around the whole term group words
// (`"connection refused"`) and go; quotes inside it are part of what was
// typed, as in a pasted title `(reading "foo")`, and stay, or the title
// would not match itself.
func (t term) text() string {
	if len(t) >= 2 && t[0] == '"' && closingQuote(string(t)) == len(t)-1 {
		return unquote(string(t))
	}
	return string(t)
}

// filter splits a key:value term; ok is false for text: a word without a
// colon, or whose key is empty, quoted or holds a slash (a path such as
// a/b:c).
func (t term) filter() (ft filterTerm, ok bool) {
	s, negated := strings.CutPrefix(string(t), "!")
	if inner, ok := strings.CutPrefix(s, "tags["); ok {
		if key, value, ok := strings.Cut(inner, "]:"); ok && key != "" && !strings.Contains(key, `"`) {
			return filterTerm{key: key, value: value, negated: negated, tag: true}, true
		}
	}
	key, value, ok := strings.Cut(s, ":")
	if !ok || key == "" || strings.ContainsAny(key, `/"`) {
		return filterTerm{}, false
	}
	return filterTerm{key: key, value: value, negated: negated}, true
}

// searchTerm is filter for Parse: a word ending in a colon, as in a
// pasted "TypeError: x", is text unless its key is one of the search's.
func (t term) searchTerm() (filterTerm, bool) {
	ft, ok := t.filter()
	if ok && unquote(ft.value) == "" && !ft.tag && !knownKey(ft.key) {
		return filterTerm{}, false
	}
	return ft, ok
}

// booleanErr refuses Sentry's boolean search, which Flytrap cannot run:
// OR and AND between terms (upper case and unquoted, as Sentry reads
// them), and parentheses around key:value terms. Read as text they
// matched nothing, an empty list that did not say why. Parentheses around
// text alone stay text, as in a pasted title's (reading "foo"), and so do
// parentheses inside a term (tag:value(x)).
func booleanErr(terms []term) error {
	for _, t := range terms {
		switch t {
		case "OR":
			return errors.New(`boolean statements containing "OR" or "AND" are not supported in this search: ` +
				`a list matches either value of a key, as in user.id:[user7,user8], or run one search for each (a quoted "OR" is searched as a word)`)
		case "AND":
			return errors.New(`boolean statements containing "OR" or "AND" are not supported in this search: ` +
				`every term must hold already, so leave out the AND (a quoted "AND" is searched as a word)`)
		}
	}
	depth := 0
	for _, t := range terms {
		s := strings.TrimPrefix(string(t), "!")
		inner := strings.TrimLeft(s, "(")
		depth += len(s) - len(inner)
		closing := strings.TrimRight(inner, ")")
		// The closing parentheses that close one the term opened are part
		// of it, as in tag:value(x).
		closes := len(inner) - len(closing) - max(0, strings.Count(closing, "(")-strings.Count(closing, ")"))
		if _, ok := term(closing).searchTerm(); ok && depth > 0 {
			return errors.New(`parentheses are not supported in this search: every term must hold already, so leave them out; ` +
				`a list matches any of its values, as in level:[warning,error] (quote a value with parentheses, as in title:"(reading foo)")`)
		}
		depth = max(0, depth-max(0, closes))
	}
	return nil
}

// closingQuote is the index in s of the quote that closes the one s
// starts with, or -1.
func closingQuote(s string) int {
	escaped := false
	for i := 1; i < len(s); i++ {
		switch {
		case escaped:
			escaped = false
		case s[i] == '\\':
			escaped = true
		case s[i] == '"':
			return i
		}
	}
	return -1
}

// unquote drops the quotes of a value as typed and, inside them, reads
// \" as " and \\ as \, as Sentry does. Outside quotes a backslash is
// itself, as in a Windows path.
func unquote(s string) string { return unquoteValue(s, false) }

// unquoteValue is unquote that, with wildcards, also reads a * as
// store.Wildcard and \* as a star, inside quotes or out, as Sentry does.
func unquoteValue(s string, wildcards bool) string {
	var (
		b       strings.Builder
		quoted  bool
		escaped bool
	)
	for i, r := range s {
		switch {
		case escaped:
			if r != '"' && r != '\\' && (r != '*' || !wildcards) {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
			escaped = false
		case r == '"':
			quoted = !quoted
		case quoted && r == '\\', wildcards && r == '\\' && strings.HasPrefix(s[i+1:], "*"):
			escaped = true
		case wildcards && r == '*':
			b.WriteString(store.Wildcard)
		default:
			b.WriteRune(r)
		}
	}
	if escaped {
		b.WriteByte('\\')
	}
	return b.String()
}

// textWildcards reads the stars of free text as Sentry does: a * is a
// wildcard (store.Wildcard) and \* a star. Other backslashes are
// themselves, as in a pasted Windows path.
func textWildcards(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && s[i+1] == '*':
			b.WriteByte('*')
			i++
		case s[i] == '*':
			b.WriteString(store.Wildcard)
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// values reads a term's value as typed: the items of a list [a,b], each
// unquoted, or the one value, with their wildcards (unquoteValue).
func values(s string) (vals []string, list bool, err error) {
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return []string{unquoteValue(s, true)}, false, nil
	}
	var (
		start   int
		quoted  bool
		escaped bool
		inner   = s[1 : len(s)-1]
	)
	item := func(end int) error {
		v := unquoteValue(inner[start:end], true)
		if v == "" {
			return fmt.Errorf("the list %s has an empty value; write it as [a,b]", s)
		}
		vals = append(vals, v)
		start = end + 1
		return nil
	}
	for i := 0; i < len(inner); i++ {
		switch c := inner[i]; {
		case escaped:
			escaped = false
		case c == '"':
			quoted = !quoted
		case quoted && c == '\\':
			escaped = true
		case c == ',' && !quoted:
			if err := item(i); err != nil {
				return nil, true, err
			}
		}
	}
	if err := item(len(inner)); err != nil {
		return nil, true, err
	}
	return vals, true, nil
}

// splitTerms splits on spaces and tabs outside double quotes, where \"
// does not end the quote: `browser:"Mobile Safari" timeout` is two terms.
// A term that is nothing but quotes is dropped.
func splitTerms(s string) []term {
	var (
		out             []term
		start           = -1
		quoted, escaped bool
	)
	flush := func(end int) {
		if start >= 0 && unquote(s[start:end]) != "" {
			out = append(out, term(s[start:end]))
		}
		start = -1
	}
	for i, r := range s {
		if !quoted && (r == ' ' || r == '\t') {
			flush(i)
			continue
		}
		if start < 0 {
			start = i
		}
		switch {
		case escaped:
			escaped = false
		case r == '"':
			quoted = !quoted
		case quoted && r == '\\':
			escaped = true
		}
	}
	flush(len(s))
	return out
}

// Term formats a key:value search term that Parse reads back as the tag
// key and value, quoting the value when it holds spaces, quotes,
// backslashes or starts as a list would, escaping its stars (\*, not a
// wildcard), and writing the key as
// tags[key] when it is one of the search's own keys or could not be read
// as a key otherwise. It reports false for pairs the syntax cannot express:
// an empty key or value, or a key with "]:" or a quote.
func Term(key, value string) (string, bool) {
	if key == "" || value == "" || strings.Contains(key, "]:") || strings.ContainsAny(key, "\" \t") {
		return "", false
	}
	if strings.ContainsAny(value, " \t\"\\") || strings.HasPrefix(value, "[") {
		value = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, `*`, `\*`).Replace(value) + `"`
	} else {
		value = strings.ReplaceAll(value, `*`, `\*`) // not a wildcard
	}
	plain := !strings.ContainsAny(key, ":/") && !strings.HasPrefix(key, "!") && !strings.HasPrefix(key, "tags[") &&
		(!knownKey(key) || key == "level" || key == "environment" || key == "release")
	if plain {
		return key + ":" + value, true
	}
	return "tags[" + key + "]:" + value, true
}

// enumKeys are the search's keys whose values never hold a space: an
// argument of one of them with spaces is several terms (is:unresolved
// crash), not a value to quote.
var enumKeys = []string{"is", "status", "has", "level", "timesSeen", "lastSeen", "firstSeen", "age",
	"assigned", "assigned_or_suggested", "bookmarks", "error.handled", "error.unhandled"}

// QuoteArg is one command-line argument as a part of a search. The shell
// takes the quotes of customer.tier:"gold plan", and the argument it
// passes, customer.tier:gold plan, would be read as the tag
// customer.tier:gold and the text plan; so an argument that is one
// key:value term whose value has spaces gets its value quoted, its
// backslashes escaped (\* stays a literal star). Any other argument is
// returned as it is: text, several terms (level:error browser:Firefox, or
// a later word that is a term), a value that starts with a space (a
// pasted "TypeError: x"), a list, quotes of its own, or a key whose
// values have no spaces (is:unresolved crash).
func QuoteArg(arg string) string {
	if !strings.ContainsAny(arg, " \t") || strings.Contains(arg, `"`) {
		return arg
	}
	ft, ok := term(arg).searchTerm()
	key := arg[:len(arg)-len(ft.value)]
	if !ok || strings.ContainsAny(key, " \t") || ft.value == "" || strings.ContainsAny(ft.value[:1], " \t[") ||
		!ft.tag && slices.Contains(enumKeys, ft.key) {
		return arg
	}
	for _, t := range splitTerms(ft.value)[1:] {
		if _, ok := t.searchTerm(); ok {
			return arg
		}
	}
	var b strings.Builder
	b.WriteString(key + `"`)
	for i := 0; i < len(ft.value); i++ {
		if c := ft.value[i]; c == '\\' && !strings.HasPrefix(ft.value[i+1:], "*") {
			b.WriteByte('\\')
		}
		b.WriteByte(ft.value[i])
	}
	b.WriteByte('"')
	return b.String()
}

// truth reads a boolean as Sentry's search writes one.
func truth(v string) (yes, ok bool) {
	switch strings.ToLower(v) {
	case "true", "1", "yes":
		return true, true
	case "false", "0", "no":
		return false, true
	}
	return false, false
}
