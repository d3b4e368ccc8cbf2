package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

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
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s, not a JSON object", jsonKind(v))
	}
	return obj, nil
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
			k, err := dec.ReadToken()
			if err != nil {
				return nil, err
			}
			if k.Kind() == '}' {
				return m, nil
			}
			name := k.String() // before the next read voids k
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
