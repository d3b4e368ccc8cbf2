package store

import (
	"errors"

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
