// Package artifact is where uploaded release artifacts (minified JavaScript
// and its source maps) are kept and found: metadata in the database, bytes
// behind a blob interface (files in the data dir locally, the private
// bucket on AWS). The processor's symbolicate stage asks it for the map of
// each minified file a stack trace points into.
package artifact

import (
	"errors"
	"fmt"
	"strings"
)

// Query names the minified file one stack frame came from, with what the
// event says about its build. Find tries, in order: DebugID; Release + Dist
// + AbsPath (with `~/` prefix matching, so `~/static/app.min.js` matches
// https://any.host/static/app.min.js); the file name of AbsPath alone, among
// the uploads of Release and Dist, then those made without a release (any
// upload of the project when Release is empty), the upload whose URL shares
// the longest trailing path with AbsPath first.
type Query struct {
	ProjectID int64
	// DebugID is the lower-case UUID from the event's debug_meta images
	// (type "sourcemap", code_file = AbsPath); empty when the event has none.
	DebugID string
	Release string
	Dist    string
	// AbsPath is the frame's abs_path (or filename) as the SDK sent it.
	AbsPath string
}

// Map is the source map found for a Query.
type Map struct {
	// Key identifies the map's bytes (its checksum), so a parsed map can be
	// cached across events and invalidated when a new upload replaces it.
	Key string
	// File is the URL or name of the minified file the map was uploaded
	// for, as stored ("~/static/app.min.js").
	File string
	// Body is the map itself (JSON).
	Body []byte
	// Release and Dist are those of the upload a map found by file name
	// came from; empty for other matches, which name the build themselves.
	// For an event without a release that upload may be any release's.
	Release, Dist string
}

// ErrNotFound says no uploaded map matches a Query.
var ErrNotFound = errors.New("no source map uploaded for this file")

// OtherReleasesError says that no upload the event's release and dist may
// use holds the frame's file, though uploads for other releases (or
// dists) do: their maps are not used, another build's positions being
// wrong ones. It is an ErrNotFound.
type OtherReleasesError struct {
	// File is the frame's file name; Release the event's release and
	// dist, as ReleaseName words them.
	File, Release string
	// Releases are the newest other releases (and dists) the file was
	// uploaded for, at most two; More says there are others.
	Releases []string
	More     bool
}

func (e *OtherReleasesError) Error() string {
	others := strings.Join(e.Releases, " and ")
	if e.More {
		others = strings.Join(e.Releases, ", ") + " and others"
	}
	return fmt.Sprintf("no source map of %s for release %s: it was uploaded for %s, and another build's map is never used"+
		" — upload this release's build, or inject debug IDs", e.File, e.Release, others)
}

func (e *OtherReleasesError) Unwrap() error { return ErrNotFound }

// ReleaseName is how messages name a release and dist: "web@12.0.0", or
// "web@12.0.0 (dist web)".
func ReleaseName(release, dist string) string {
	if dist == "" {
		return release
	}
	return release + " (dist " + dist + ")"
}

// AmbiguousError says that several files uploaded for one release match a
// frame's file equally well by name and their maps differ, so none is
// used: an upload under a URL that ends like the frame's path, a debug ID
// or a release with URLs resolves it.
type AmbiguousError struct {
	AbsPath string
	// URLs are two of the files that match, as uploaded.
	URLs []string
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("several uploaded files match %s equally well (%s) and their source maps differ; "+
		"upload with a --url-prefix that makes the URLs end like the path, or inject debug IDs",
		e.AbsPath, strings.Join(e.URLs, ", "))
}
