package apitypes

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDecodeOne(t *testing.T) {
	tests := []struct {
		in   string
		want error // nil, ErrTrailingData, or errAny for another error
	}{
		{`{"email":"a@b"}`, nil},
		{`{"email":"a@b"}` + " \n\t", nil},
		{`{"email":"a@b"} garbage`, ErrTrailingData},
		{`{"email":"a@b"}{"email":"c@d"}`, ErrTrailingData},
		{`{"email":"a@b"}}`, ErrTrailingData},
		{`{"email":"a@b"} 1`, ErrTrailingData},
		{`{"email":`, errAny},
		{``, errAny},
	}
	for _, tt := range tests {
		var m NewMember
		err := DecodeOne(json.NewDecoder(strings.NewReader(tt.in)), &m)
		switch {
		case tt.want == errAny && (err == nil || errors.Is(err, ErrTrailingData)):
			t.Errorf("DecodeOne(%q) = %v, want a decoding error", tt.in, err)
		case tt.want != errAny && !errors.Is(err, tt.want):
			t.Errorf("DecodeOne(%q) = %v, want %v", tt.in, err, tt.want)
		}
	}
}

// errAny stands for any error but ErrTrailingData in TestDecodeOne.
var errAny = errors.New("any error")
