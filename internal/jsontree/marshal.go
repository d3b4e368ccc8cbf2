package jsontree

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// writeOptions are encoding/json's (U+2028 and U+2029 escaped, invalid
// UTF-8 written as \ufffd, no check for repeated names), less its escaping
// of <, > and &, which ingest and the store turn off: the dashboard
// escapes on output.
var writeOptions = jsonv2.JoinOptions(jsonv1.DefaultOptionsV1(), jsontext.EscapeForHTML(false))

// Marshal encodes v to the bytes encoding/json's Encoder writes with
// SetEscapeHTML(false), without its trailing newline: members in sorted
// order, numbers as their json.Number spells them. A type other than the
// tree's is encoded by encoding/json, and an invalid json.Number fails as
// it does there. The one difference: invalid UTF-8, which Parse never
// leaves in a tree, becomes U+FFFD itself rather than the escape \ufffd.
func Marshal(v any) ([]byte, error) {
	w := writers.Get().(*writer)
	w.buf.Reset()
	w.enc.Reset(&w.buf, writeOptions)
	err := w.write(v)
	out := bytes.Clone(bytes.TrimSuffix(w.buf.Bytes(), []byte("\n")))
	// A failed write leaves the names of the objects it was in.
	clear(w.keys)
	w.keys = w.keys[:0]
	if w.buf.Cap() <= maxKeptBuffer {
		writers.Put(w)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// maxKeptBuffer bounds the buffer a pooled writer keeps: a rare 1 MB data
// bag should not stay in memory for the 200-byte ones that follow.
const maxKeptBuffer = 64 << 10

// writer is an encoder, its buffer and room for member names, kept for the
// next Marshal: ingest encodes each frame's variables, context and data
// bag on its own, and a new encoder's state was most of the bytes a small
// one allocated.
type writer struct {
	buf  bytes.Buffer
	enc  jsontext.Encoder
	keys []string // a stack: each object sorts its names above its parent's
}

var writers = sync.Pool{New: func() any { return new(writer) }}

func (w *writer) write(v any) error {
	enc := &w.enc
	switch x := v.(type) {
	case nil:
		return enc.WriteToken(jsontext.Null)
	case string:
		return enc.WriteToken(jsontext.String(x))
	case bool:
		return enc.WriteToken(jsontext.Bool(x))
	case json.Number:
		if x == "" {
			// encoding/json's spelling of the zero Number.
			return enc.WriteToken(jsontext.Int(0))
		}
		if !isNumber(x) {
			return fmt.Errorf("json: invalid number literal %q", string(x))
		}
		return enc.WriteValue(jsontext.Value(x))
	case map[string]any:
		if x == nil {
			return enc.WriteToken(jsontext.Null)
		}
		if err := enc.WriteToken(jsontext.BeginObject); err != nil {
			return err
		}
		base := len(w.keys)
		w.keys = slices.AppendSeq(w.keys, maps.Keys(x))
		slices.Sort(w.keys[base:])
		for i := base; i < base+len(x); i++ {
			k := w.keys[i]
			if err := enc.WriteToken(jsontext.String(k)); err != nil {
				return err
			}
			if err := w.write(x[k]); err != nil {
				return err
			}
		}
		clear(w.keys[base:])
		w.keys = w.keys[:base]
		return enc.WriteToken(jsontext.EndObject)
	case []any:
		if x == nil {
			return enc.WriteToken(jsontext.Null)
		}
		if err := enc.WriteToken(jsontext.BeginArray); err != nil {
			return err
		}
		for _, e := range x {
			if err := w.write(e); err != nil {
				return err
			}
		}
		return enc.WriteToken(jsontext.EndArray)
	default:
		var buf bytes.Buffer
		std := json.NewEncoder(&buf)
		std.SetEscapeHTML(false)
		if err := std.Encode(x); err != nil {
			return err
		}
		return enc.WriteValue(jsontext.Value(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))))
	}
}

// isNumber reports whether n is one JSON number and nothing else, as
// encoding/json requires of a Number it writes: valid JSON that starts
// as only a number does, with no space around it.
func isNumber(n json.Number) bool {
	c := n[0]
	return (c == '-' || '0' <= c && c <= '9') && strings.TrimSpace(string(n)) == string(n) && json.Valid([]byte(n))
}
