package server

import (
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/store"
)

// TestScrubbingAcceptance is issue 8's acceptance on `flytrap dev`'s
// stack, on both stores: a password in a request body, sent in a Sentry
// envelope, is stored as [Filtered], and so are the card number beside it
// and the token in the query string.
func TestScrubbingAcceptance(t *testing.T) {
	const payload = `{"platform":"python","exception":{"values":[{"type":"ValueError","value":"bad card"}]},"request":{"method":"POST","url":"https://shop.example.com/checkout","query_string":"token=secret","data":{"password":"hunter2","card":"4111111111111111"}}}`
	onEachStore(t, func(t *testing.T, db *store.DB) {
		s, b := devServerOn(t, db)
		got := string(postEvents(t, s, db, b, payload)[0].Payload)
		for _, want := range []string{
			`"data":{"card":"[Filtered]","password":"[Filtered]"}`,
			`"query_string":"token=[Filtered]"`,
			`"notes":["Scrubbed 3 values (request.query_string: 1, request.data: 2)"]`,
		} {
			if !strings.Contains(got, want) {
				t.Errorf("stored event lacks %s:\n%s", want, got)
			}
		}
		if strings.Contains(got, "hunter2") || strings.Contains(got, "4111111111111111") || strings.Contains(got, "token=secret") {
			t.Errorf("stored event holds a secret:\n%s", got)
		}
	})
}
