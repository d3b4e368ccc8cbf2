// Package projectref resolves what a user calls a project (its name, its
// ID, its name in another case, or its slug, as sentry-cli sends it) the
// one way the CLI and the sentry-cli API both do, so an upload can never
// land in a project other than the one `flytrap projects` shows for the
// same words.
package projectref

import (
	"strconv"
	"strings"
)

// Key returns what resolving needs of a project: its ID and name.
type Key[P any] func(P) (id int64, name string)

// Resolve returns the projects of ps that ref may mean. First come exact
// names and IDs: a ref that is one project's name and another's ID means
// both. Only when neither matches do names compared without case, and
// slugs (see Slug), count. One project is the answer; none means no such
// project; several mean ref is ambiguous, and the caller must say so
// rather than pick one.
func Resolve[P any](ps []P, ref string, key Key[P]) []P {
	var exact []P
	for _, p := range ps {
		if id, name := key(p); name == ref || strconv.FormatInt(id, 10) == ref {
			exact = append(exact, p)
		}
	}
	if len(exact) > 0 {
		return exact
	}
	var loose []P
	for _, p := range ps {
		if _, name := key(p); strings.EqualFold(name, ref) || Slug(name) == ref {
			loose = append(loose, p)
		}
	}
	return loose
}

// Slug is how a project name appears where Sentry expects a slug: lower
// case, runs of other characters than letters and digits as one "-".
func Slug(name string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(name) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

// Describe names projects for a message about an ambiguous ref:
// `"alpha" (ID 2), "ALPHA" (ID 4)`.
func Describe[P any](ps []P, key Key[P]) string {
	parts := make([]string, len(ps))
	for i, p := range ps {
		id, name := key(p)
		parts[i] = strconv.Quote(name) + " (ID " + strconv.FormatInt(id, 10) + ")"
	}
	return strings.Join(parts, ", ")
}
