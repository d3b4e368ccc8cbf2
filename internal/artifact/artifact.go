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
// the longest trailing path with AbsPath first. A file uploaded without a
// release that carries a debug ID is found by that ID only, as in Sentry.
type Query struct {
	ProjectID int64
	// DebugID is the frame's debug ID, from the event's debug_meta images
	// (type "sourcemap", code_file = AbsPath) or the frame's own, canonical
	// as ingest stores it; empty when the event has none. Find reads any
	// spelling debugid.Canonical does, and takes one it refuses for none.
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
	// Minified is the blob of the minified file the map was found
	// through (Store.Source reads it), whose declarations name what the
	// minifier renamed; empty for a map uploaded without its file.
	Minified string
	// MinifiedSize is that file's size in bytes.
	MinifiedSize int64
	// Release and Dist are those of the upload a map found by file name
	// came from; empty for other matches, which name the build themselves.
	// For an event without a release that upload may be any release's.
	Release, Dist string
	// DebugID is the debug ID of the build the map belongs to: the map's
	// own, else that of the minified file it was found through, canonical
	// as stored; "" when neither carries one.
	DebugID string
}

// ErrNotFound says no uploaded map matches a Query.
var ErrNotFound = errors.New("no source map uploaded for this file")

// OtherReleasesError says that no upload the event's release and dist may
// use holds the frame's file, though uploads for other releases (or
// dists) do, or one made without a release that carries debug IDs: their
// maps are not used, another build's positions being wrong ones. It is an
// ErrNotFound.
type OtherReleasesError struct {
	// File is the frame's file name; Release the event's release and
	// dist, as ReleaseName words them ("" for an event without one).
	File, Release string
	// Releases are the newest other releases (and dists) the file was
	// uploaded for, at most two; More says there are others.
	Releases []string
	More     bool
	// DebugIDOnly says the file was uploaded without a release with a
	// debug ID, which serves only a frame that carries that ID: the
	// frame's file, without it, is not the build that was uploaded.
	DebugIDOnly bool
}

func (e *OtherReleasesError) Error() string {
	msg := "no source map of " + e.File + " for release " + e.Release
	if e.Release == "" {
		msg = "no source map of " + e.File + " for an event without a release"
	}
	var why []string
	if len(e.Releases) > 0 {
		others := strings.Join(e.Releases, " and ")
		if e.More {
			others = strings.Join(e.Releases, ", ") + " and others"
		}
		why = append(why, "it was uploaded for "+others+", and another build's map is never used")
	}
	fix := "upload this release's build, or inject debug IDs"
	if e.DebugIDOnly {
		why = append(why, "its upload without a release has debug IDs and maps only files that carry the same one, which this file does not:"+
			" it is another build")
		fix = "deploy the files `sourcemaps inject` wrote, or upload this build with its --release"
	}
	return fmt.Sprintf("%s: %s — %s", msg, strings.Join(why, "; "), fix)
}

func (e *OtherReleasesError) Unwrap() error { return ErrNotFound }

// WithoutMapError says that the minified file a frame's debug ID names
// was uploaded without a source map (sentry-cli warns "no sourcemap
// found" and uploads it anyway), so the frame is of the uploaded build
// and only its map is missing. It is an ErrNotFound.
type WithoutMapError struct {
	// File is the file's URL as uploaded ("~/run.js").
	File    string
	DebugID string
}

func (e *WithoutMapError) Error() string {
	return fmt.Sprintf("%s, the file with debug ID %s, was uploaded without a source map — "+
		"make the bundler emit a map for it, then inject and upload the build again with its maps", e.File, e.DebugID)
}

func (e *WithoutMapError) Unwrap() error { return ErrNotFound }

// OtherBuildError says that the map found for a frame that carries a
// debug ID, by the event's release and the frame's URL or file name (no
// upload has the frame's debug ID), carries another debug ID: it is
// another build's, whose positions would move every frame to a wrong
// place, and is not used. It is an ErrNotFound.
type OtherBuildError struct {
	// AbsPath is the frame's file, DebugID its debug ID; File and
	// FileDebugID the upload found and its debug ID.
	AbsPath, DebugID, File, FileDebugID string
}

func (e *OtherBuildError) Error() string {
	return fmt.Sprintf("the source map found for %s (%s) has debug ID %s, and the file has debug ID %s: it is another build's map, and is not used — "+
		"upload the maps of the deployed build (inject debug IDs into it, deploy it and upload its files)", e.AbsPath, e.File, e.FileDebugID, e.DebugID)
}

func (e *OtherBuildError) Unwrap() error { return ErrNotFound }

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
