// Package debugid reads the debug IDs that tie a minified JavaScript file
// to its source map: an SDK sends one with each event (debug_meta, a
// frame's debug_id), and an upload carries one in the file's
// `//# debugId=` comment, the map's debug_id or debugId and the bundle
// manifest's debug-id header. Tools write the same ID in several ways;
// Canonical gives each ID one spelling, so that ingest and the artifact
// store, which look files up by it, compare the same text.
package debugid

import "github.com/google/uuid"

// Canonical returns the canonical spelling of the debug ID s, the dashed
// lower case that sentry-cli and `flytrap sourcemaps inject` write
// (6a1c4bd3-0c6e-5a28-9d1e-2b7a6f1c0d11), and true. It reads a UUID as
// uuid.Parse does, in either case: dashed, without dashes, in braces or
// after urn:uuid:; the 38-character form is read as the dashed one with
// a character either side, which uuid.Parse does not check to be braces.
// Anything else, and the nil UUID (all zeros, what a tool writes for no
// ID), is no debug ID: "" and false. Surrounding whitespace is not
// trimmed; a caller reading s out of text trims it first.
func Canonical(s string) (string, bool) {
	u, err := uuid.Parse(s)
	if err != nil || u == uuid.Nil {
		return "", false
	}
	return u.String(), true
}
