package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// treeOptions make jsontext as lenient as encoding/json, which ingest used
// before: a repeated member name keeps its last value, and invalid UTF-8
// becomes U+FFFD instead of failing the event.
var treeOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// parseJSONObject decodes data as exactly one JSON object, keeping numbers
// as json.Number so large integers and float formatting survive. It builds
// the tree from jsontext's tokens: one pass over the input where
// encoding/json's Decoder makes two (it finds the value's end, then
// unmarshals), which made it a third of the server's CPU on 50 KB events.
func parseJSONObject(data []byte) (map[string]any, error) {
	v, err := parseJSONValue(data)
	if err != nil {
		return nil, err
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s, not a JSON object", jsonKind(v))
	}
	return obj, nil
}

// parseJSONValue decodes data as exactly one JSON value of any kind, like
// parseJSONObject.
func parseJSONValue(data []byte) (any, error) {
	dec := jsontext.NewDecoder(bytes.NewBuffer(data), treeOptions...)
	tok, err := dec.ReadToken()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty; expected a JSON object")
		}
		return nil, invalidJSON(err)
	}
	v, err := readTree(dec, tok)
	if err != nil {
		return nil, invalidJSON(err)
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		return nil, errors.New("not valid JSON: unexpected data after the top-level value")
	}
	return v, nil
}

// invalidJSON words a syntax error for the SDK. jsontext names the member
// the error is within, and a hostile name can be as long as the body, so
// the message is cut.
func invalidJSON(err error) error {
	return errors.New(clamp("not valid JSON: "+strings.TrimPrefix(err.Error(), "jsontext: "), maxJSONError))
}

// maxJSONError bounds a syntax error's message: the member path and offset
// fit with room to spare.
const maxJSONError = 512

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
			name := memberName(k) // before the next read voids k
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

// memberName is the name a quoted member name k spells. The names of the
// Sentry protocol come from one table instead of a new string each: an
// event repeats them in every breadcrumb and frame, and allocating them
// was 30% of the tree's allocations on a 50 KB event.
func memberName(k jsontext.Value) string {
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
