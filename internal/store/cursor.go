package store

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// Page sizes of list methods.
const (
	DefaultLimit = 25
	MaxLimit     = 100
)

func pageSize(limit int) int {
	if limit <= 0 {
		return DefaultLimit
	}
	return min(limit, MaxLimit)
}

// A cursor is the position of the last row of a page: its sort value and ID,
// the keyset the next page continues below. It names the ordering it belongs
// to, so a cursor from another sort order is refused instead of silently
// skipping rows.
func encodeCursor(order string, value, id int64) string {
	return base64.RawURLEncoding.EncodeToString(
		[]byte(order + ":" + strconv.FormatInt(value, 10) + ":" + strconv.FormatInt(id, 10)))
}

// encodeBeforeCursor is the cursor of the page before a position, the
// first row of a page: the keyset read upwards from it.
func encodeBeforeCursor(order string, value, id int64) string {
	return base64.RawURLEncoding.EncodeToString(
		[]byte(order + ":" + strconv.FormatInt(value, 10) + ":" + strconv.FormatInt(id, 10) + ":" + beforeMark))
}

// beforeMark ends a cursor of the page before its position.
const beforeMark = "before"

// decodeCursor reads a cursor of a list that pages forwards only.
func decodeCursor(cursor, order string) (value, id int64, err error) {
	value, id, before, err := decodePageCursor(cursor, order)
	if err == nil && before {
		err = fmt.Errorf("store: %w (%w): this list has no previous pages", ErrBadCursor, ErrInvalid)
	}
	return value, id, err
}

// decodePageCursor reads a cursor of either direction: before is set for
// one of encodeBeforeCursor.
func decodePageCursor(cursor, order string) (value, id int64, before bool, err error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return 0, 0, false, fmt.Errorf("store: %w (%w): not base64", ErrBadCursor, ErrInvalid)
	}
	parts := strings.Split(string(b), ":")
	if len(parts) == 4 && parts[3] == beforeMark {
		parts, before = parts[:3], true
	}
	if len(parts) != 3 || parts[0] != order {
		return 0, 0, false, fmt.Errorf("store: %w (%w): not a cursor for %s order", ErrBadCursor, ErrInvalid, order)
	}
	value, err1 := strconv.ParseInt(parts[1], 10, 64)
	id, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false, fmt.Errorf("store: %w (%w): malformed position", ErrBadCursor, ErrInvalid)
	}
	return value, id, before, nil
}
