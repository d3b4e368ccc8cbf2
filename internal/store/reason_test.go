package store

import (
	"errors"
	"fmt"
	"testing"
)

func TestReason(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("store: create release: %w: the version is reserved", ErrInvalid), "the version is reserved"},
		{fmt.Errorf("store: create deploy: %w", fmt.Errorf("%w: an environment holds control characters", ErrInvalid)), "an environment holds control characters"},
		{fmt.Errorf("store: list issues: %w", ErrInvalid), "list issues: invalid argument"},
		{errors.New("store: something else: invalid argument: x"), "something else: invalid argument: x"},
	} {
		if got := Reason(tt.err); got != tt.want {
			t.Errorf("Reason(%q) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
