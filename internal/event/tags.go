package event

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/getflytrap/flytrap/internal/bidi"
)

// MaxTagChars is Sentry's limit on a tag key and on a tag value, in
// characters (Relay's MaxChars::TagKey and TagValue). Longer ones are
// dropped, not cut: a cut value would count as a value of its own.
const MaxTagChars = 200

// TagKeyProblem says why Sentry does not keep k as a tag key, or "" when
// it does: Relay's TagEntry takes 1 to MaxTagChars characters, each an
// ASCII letter or digit or one of "_.:-". Whatever takes tags from what
// an SDK sent (ingest's tags, the tags process derives from contexts)
// asks it, so a key is judged alike wherever it came from.
func TagKeyProblem(k string) string {
	if k == "" {
		return "the key is empty"
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_.:-", c) >= 0) {
			return "the key holds characters other than letters, digits and _.:-"
		}
	}
	// Only ASCII is left, one byte a character.
	if len(k) > MaxTagChars {
		return fmt.Sprintf("the key is longer than %d characters", MaxTagChars)
	}
	return ""
}

// TagValueProblem says why Sentry does not keep v as a tag value, or ""
// when it does: 1 to MaxTagChars characters without a line break. Flytrap
// refuses every control character as Relay refuses a line break: a tab
// or an escape sequence in a value is as much out of place in a tag list
// and a terminal. It refuses direction controls too (bidi.Control, such
// as U+202E): one reorders how a value reads in the dashboard, so that
// it passes for another.
func TagValueProblem(v string) string {
	switch {
	case v == "":
		return "the value is empty"
	case utf8.RuneCountInString(v) > MaxTagChars:
		return fmt.Sprintf("the value is longer than %d characters", MaxTagChars)
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		return "the value holds a line break or another control character"
	case strings.IndexFunc(v, bidi.Control) >= 0:
		return "the value holds a direction control character, such as U+202E"
	}
	return ""
}

// Scalar renders a JSON string, number or boolean (as encoding/json
// decodes it into an any) as text: a string trimmed, a boolean as "true"
// or "false" as JSON spells it, a number in decimal without an exponent
// (128, not 1.28e+02); anything else, an object, a list or null, is "".
// Every field an SDK may send as any of them (a context's name or
// version, a Lambda's memory) is rendered by it, so that one value reads
// the same in a tag derived from a context and on the event's page.
func Scalar(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}
