// Package jsontree reads JSON into the tree encoding/json's Decoder builds
// with UseNumber (map[string]any, []any, string, json.Number, bool and
// nil) and writes such a tree back as encoding/json's Encoder does with
// SetEscapeHTML(false), both on the tokenizer of encoding/json/v2's engine
// (github.com/go-json-experiment/json, the module Go 1.27's standard
// library adopts). Ingest keeps the parts of an event it does not model
// (contexts, extra, frame variables, data bags) as such trees, and
// scrubbing reads them again, so encoding/json's reflection was a quarter
// of the server's CPU on an event whose frames carry local variables
// (docs/benchmarks.md). FuzzParseMatchesEncodingJSON and
// FuzzMarshalMatchesEncodingJSON hold both to encoding/json.
package jsontree

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// readOptions make jsontext as lenient as encoding/json: a repeated member
// name keeps its last value, and invalid UTF-8 becomes U+FFFD instead of
// failing the read.
var readOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// ErrEmpty is Parse's error for input with no JSON value in it.
var ErrEmpty = errors.New("no JSON value")

// ErrTrailing is Parse's error for input that goes on after its value.
var ErrTrailing = errors.New("unexpected data after the top-level value")

// Parse decodes data as exactly one JSON value of any kind. Numbers stay
// json.Numbers, so large integers and float formatting survive. It reads
// jsontext's tokens in one pass, where encoding/json's Decoder makes two
// (it finds the value's end, then unmarshals). Errors other than ErrEmpty
// and ErrTrailing are jsontext's syntax errors.
func Parse(data []byte) (v any, err error) {
	err = Read(data, func(dec *jsontext.Decoder) error {
		v, err = parse(dec)
		return err
	})
	return v, err
}

// Read calls fn with a decoder of data as lenient as Parse's, for a reader
// that walks the tokens itself instead of building the tree; fn's error is
// Read's. The decoder is reused after fn returns, and is not to be kept.
func Read(data []byte, fn func(dec *jsontext.Decoder) error) error {
	r := readers.Get().(*reader)
	defer func() {
		// The buffer holds the caller's data: not kept past the call.
		r.src = bytes.Buffer{}
		r.dec.Reset(&r.src, readOptions...)
		readers.Put(r)
	}()
	r.src = *bytes.NewBuffer(data)
	r.dec.Reset(&r.src, readOptions...)
	return fn(&r.dec)
}

// reader is a decoder and the buffer it reads, kept for the next Parse:
// scrubbing reads each frame's variables, context and data bag on its
// own, and a new decoder's state was most of what a small one allocated.
type reader struct {
	src bytes.Buffer
	dec jsontext.Decoder
}

var readers = sync.Pool{New: func() any { return new(reader) }}

func parse(dec *jsontext.Decoder) (any, error) {
	tok, err := dec.ReadToken()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, ErrEmpty
		}
		return nil, err
	}
	v, err := readTree(dec, tok)
	if err != nil {
		return nil, err
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		return nil, ErrTrailing
	}
	return v, nil
}

// readTree builds the value that begins with tok.
func readTree(dec *jsontext.Decoder, tok jsontext.Token) (any, error) {
	switch tok.Kind() {
	case '{':
		m := make(map[string]any)
		for {
			if dec.PeekKind() == '}' {
				if _, err := dec.ReadToken(); err != nil {
					return nil, err
				}
				return m, nil
			}
			k, err := dec.ReadValue()
			if err != nil {
				return nil, err
			}
			name := Unquote(k) // before the next read voids k
			vt, err := dec.ReadToken()
			if err != nil {
				return nil, err
			}
			v, err := readTree(dec, vt)
			if err != nil {
				return nil, err
			}
			m[name] = v
		}
	case '[':
		s := make([]any, 0)
		for {
			vt, err := dec.ReadToken()
			if err != nil {
				return nil, err
			}
			if vt.Kind() == ']' {
				return s, nil
			}
			v, err := readTree(dec, vt)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
	case '"':
		return tok.String(), nil
	case '0':
		return json.Number(tok.String()), nil
	case 't', 'f':
		return tok.Bool(), nil
	default:
		return nil, nil
	}
}

// Unquote is the string a quoted JSON string k (a member name or a string
// value, as a decoder's ReadValue returns it) spells, as Parse reads it.
// The names of the Sentry protocol come from one table instead of a new
// string each: an event repeats them in every breadcrumb and frame, and
// allocating them was 30% of the tree's allocations on a 50 KB event.
func Unquote(k jsontext.Value) string {
	inner := k[1 : len(k)-1]
	if name, ok := protocolNames[string(inner)]; ok {
		return name
	}
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner)
	}
	// An escape or invalid UTF-8 (which becomes U+FFFD, as encoding/json
	// reads it); the error only reports that replacement.
	b, _ := jsontext.AppendUnquote(nil, k)
	return string(b)
}

// protocolNames maps each member name that Sentry events repeat (in
// breadcrumbs, frames, exceptions, threads, contexts and requests) to
// itself.
var protocolNames = func() map[string]string {
	names := []string{
		"event_id", "timestamp", "start_timestamp", "platform", "level", "logger", "message",
		"formatted", "params", "transaction", "release", "dist", "environment", "server_name",
		"fingerprint", "tags", "user", "exception", "values", "breadcrumbs", "request",
		"contexts", "extra", "sdk", "name", "version", "integrations", "packages",
		"type", "value", "module", "mechanism", "handled", "synthetic", "stacktrace", "frames",
		"exception_id", "parent_id", "is_exception_group", "source",
		"thread_id", "threads", "id", "crashed", "current", "main",
		"filename", "abs_path", "function", "raw_function", "package", "lineno", "colno",
		"in_app", "context_line", "pre_context", "post_context", "vars", "debug_id",
		"instruction_addr", "symbol_addr", "image_addr", "addr_mode", "symbol", "trust",
		"category", "data", "url", "method", "status_code", "reason", "from", "to",
		"headers", "query_string", "cookies", "env", "ip_address", "email", "username",
		"geo", "os", "runtime", "browser", "device", "app", "trace", "trace_id", "span_id",
		"parent_span_id", "op", "status", "description", "culture", "cloud_resource",
		"build", "kernel_version", "family", "model", "arch",
	}
	m := make(map[string]string, len(names))
	for _, n := range names {
		m[n] = n
	}
	return m
}()
