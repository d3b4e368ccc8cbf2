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

func decodeCursor(cursor, order string) (value, id int64, err error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return 0, 0, fmt.Errorf("store: %w (%w): not base64", ErrBadCursor, ErrInvalid)
	}
	parts := strings.Split(string(b), ":")
	if len(parts) != 3 || parts[0] != order {
		return 0, 0, fmt.Errorf("store: %w (%w): not a cursor for %s order", ErrBadCursor, ErrInvalid, order)
	}
	value, err1 := strconv.ParseInt(parts[1], 10, 64)
	id, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("store: %w (%w): malformed position", ErrBadCursor, ErrInvalid)
	}
	return value, id, nil
}
