package store

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
)

// InvalidText reports whether err is PostgreSQL's refusal of text it
// cannot hold: a NUL byte or invalid UTF-8 (SQLSTATE 22021,
// character_not_in_repertoire) or a character the database's encoding
// lacks (22P05, untranslatable_character). Such text in a request is the
// client's fault, which SQLite would have stored or matched against
// nothing: callers answer 400 instead of a 500 that looks like a bug.
func InvalidText(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "22021" || pgErr.Code == "22P05")
}

// InvalidTextMessage is what the API and the dashboard tell a client whose
// request InvalidText refused.
const InvalidTextMessage = "invalid text: the request holds a NUL byte or bytes that are not UTF-8"

// storable reports whether s is text the store can hold: no NUL byte and
// valid UTF-8. Saving cleans everything else out (Clean), so a lookup by
// text that is not storable matches nothing, which SQLite's byte
// comparison finds and PostgreSQL refuses to compare (InvalidText):
// lookups answer ErrNotFound or nothing without asking either database,
// so the answer is the same on both.
func storable(s string) bool {
	return utf8.ValidString(s) && !strings.Contains(s, "\x00")
}

// storableOnly returns the elements of ss that are storable, the only ones
// a lookup by any of them can match.
func storableOnly(ss []string) []string {
	kept := make([]string, 0, len(ss))
	for _, s := range ss {
		if storable(s) {
			kept = append(kept, s)
		}
	}
	return kept
}
