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

// Project is what resolving needs of a project.
type Project struct {
	ID   int64
	Name string
}

// Resolve returns the indexes in ps of the projects ref may mean. First
// come exact names and IDs: a ref that is one project's name and another's
// ID means both. Only when neither matches do names compared without case,
// and slugs (see Slug), count. One index is the answer; none means no such
// project; several mean ref is ambiguous, and the caller must say so
// rather than pick one.
func Resolve(ps []Project, ref string) []int {
	var exact []int
	for i, p := range ps {
		if p.Name == ref || strconv.FormatInt(p.ID, 10) == ref {
			exact = append(exact, i)
		}
	}
	if len(exact) > 0 {
		return exact
	}
	var loose []int
	for i, p := range ps {
		if strings.EqualFold(p.Name, ref) || Slug(p.Name) == ref {
			loose = append(loose, i)
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

// Describe names the projects at idx for a message about an ambiguous
// ref: `"alpha" (ID 2), "ALPHA" (ID 4)`.
func Describe(ps []Project, idx []int) string {
	parts := make([]string, len(idx))
	for i, j := range idx {
		parts[i] = strconv.Quote(ps[j].Name) + " (ID " + strconv.FormatInt(ps[j].ID, 10) + ")"
	}
	return strings.Join(parts, ", ")
}
