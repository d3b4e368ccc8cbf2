package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// maxEnvelopeItems bounds the work one request can cause; SDKs send a
// handful of items per envelope.
const maxEnvelopeItems = 1000

// envelope is a parsed Sentry envelope
// (https://develop.sentry.dev/sdk/data-model/envelopes/). Payloads alias the
// request body.
type envelope struct {
	header envelopeHeader
	items  []envelopeItem
}

// envelopeHeader holds the header fields ingest uses; others are ignored.
type envelopeHeader struct {
	eventID string    // as sent; validated where it is used
	dsn     string    // carries the key when no auth header was sent
	sentAt  time.Time // zero when absent or unparsable
}

type envelopeItem struct {
	typ     string
	payload []byte
}

// parseEnvelope splits body into its header and items. A header or item
// header line is JSON terminated by '\n' (a preceding '\r' is tolerated).
// A payload is exactly "length" bytes when the item header gives a length,
// so binary attachments may contain newlines, else it runs to the next
// newline. The final newline is optional and blank lines between items are
// skipped, because hand-rolled clients get both wrong.
func parseEnvelope(body []byte) (*envelope, error) {
	line, rest := cutLine(body)
	hdr, err := parseEnvelopeHeader(line)
	if err != nil {
		return nil, err
	}
	env := &envelope{header: hdr}
	for n := 1; len(rest) > 0; {
		line, rest = cutLine(rest)
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if n > maxEnvelopeItems {
			return nil, fmt.Errorf("the envelope has more than %d items", maxEnvelopeItems)
		}
		ih, err := parseJSONObject(line)
		if err != nil {
			return nil, fmt.Errorf("item %d: the item header is %v", n, err)
		}
		item := envelopeItem{typ: stringField(ih, "type")}
		if item.typ == "error" {
			// Older SDKs named the event item "error"; the payload is
			// the same, so it is decoded and counted as an event.
			item.typ = "event"
		}
		if l, present := ih["length"]; present && l != nil {
			size, ok := intValue(l)
			if !ok || size < 0 {
				return nil, fmt.Errorf("item %d: length must be a non-negative integer, got %s", n, clamp(compactJSON(l), 64))
			}
			if size > int64(len(rest)) {
				return nil, fmt.Errorf("item %d: the item header declares %d bytes but only %d follow", n, size, len(rest))
			}
			item.payload, rest = rest[:size], rest[size:]
			// The newline after a sized payload is a separator, not data.
			switch {
			case bytes.HasPrefix(rest, []byte("\r\n")):
				rest = rest[2:]
			case bytes.HasPrefix(rest, []byte("\n")):
				rest = rest[1:]
			}
		} else {
			item.payload, rest = cutLine(rest)
		}
		env.items = append(env.items, item)
		n++
	}
	return env, nil
}

// parseEnvelopeHeader parses an envelope's first line.
func parseEnvelopeHeader(line []byte) (envelopeHeader, error) {
	if len(bytes.TrimSpace(line)) == 0 {
		return envelopeHeader{}, fmt.Errorf("the envelope header (first line) is missing")
	}
	obj, err := parseJSONObject(line)
	if err != nil {
		return envelopeHeader{}, fmt.Errorf("the envelope header (first line) is %v", err)
	}
	hdr := envelopeHeader{eventID: stringField(obj, "event_id"), dsn: stringField(obj, "dsn")}
	if t, ok := parseTimestamp(obj["sent_at"]); ok {
		hdr.sentAt = t
	}
	return hdr, nil
}

// cutLine returns b up to the first '\n' (without it and without a '\r'
// before it) and what follows the '\n'.
func cutLine(b []byte) (line, rest []byte) {
	line, rest, _ = bytes.Cut(b, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r")), rest
}

// stringField returns obj[k] if it is a string.
func stringField(obj map[string]any, k string) string {
	s, _ := obj[k].(string)
	return s
}

// intValue converts a JSON number with an integral value to int64.
func intValue(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	if i, err := n.Int64(); err == nil {
		return i, true
	}
	f, err := n.Float64()
	if err != nil || f != float64(int64(f)) {
		return 0, false
	}
	return int64(f), true
}
