package ingest

import (
	"errors"
	"fmt"
	"strings"

	"github.com/getflytrap/flytrap/internal/jsontree"
)

// parseJSONObject decodes data as exactly one JSON object, keeping numbers
// as json.Number so large integers and float formatting survive
// (jsontree.Parse).
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
// parseJSONObject, and words its errors for the SDK.
func parseJSONValue(data []byte) (any, error) {
	v, err := jsontree.Parse(data)
	switch {
	case errors.Is(err, jsontree.ErrEmpty):
		return nil, errors.New("empty; expected a JSON object")
	case errors.Is(err, jsontree.ErrTrailing):
		return nil, errors.New("not valid JSON: unexpected data after the top-level value")
	case err != nil:
		return nil, invalidJSON(err)
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
