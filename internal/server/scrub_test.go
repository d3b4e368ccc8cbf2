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

// TestScrubbingCookies is the security review's reproduction, sent in an
// envelope and read back from the store: session cookies in extra and
// contexts, whatever their names, a bare cookie value and Set-Cookie
// values are stored filtered, with the cookies' names kept.
func TestScrubbingCookies(t *testing.T) {
	const payload = `{"platform":"node","message":"cookies",` +
		`"extra":{"cookies":{"connect.sid":"s%3AEXPRESS1.sig","PHPSESSID":"PHP2","sid":"SID5","_gh_sess":"GH3"},` +
		`"cookie":"BAREVALUE8","set_cookie":"connect.sid=EXPRESS9; Path=/; HttpOnly"},` +
		`"contexts":{"response":{"headers":{"Set-Cookie":"sid=SC1; Path=/"},"cookies":"sid=RC3"}}}`
	onEachStore(t, func(t *testing.T, db *store.DB) {
		s, b := devServerOn(t, db)
		got := string(postEvents(t, s, db, b, payload)[0].Payload)
		for _, secret := range []string{"EXPRESS1", "PHP2", "SID5", "GH3", "BAREVALUE8", "EXPRESS9", "SC1", "RC3"} {
			if strings.Contains(got, secret) {
				t.Errorf("stored event holds %s:\n%s", secret, got)
			}
		}
		for _, want := range []string{
			`"cookies":{"PHPSESSID":"[Filtered]","_gh_sess":"[Filtered]","connect.sid":"[Filtered]","sid":"[Filtered]"}`,
			`"cookie":"[Filtered]"`,
			`"set_cookie":"[Filtered]"`,
			`"Set-Cookie":"[Filtered]"`,
			`"cookies":"sid=[Filtered]"`,
		} {
			if !strings.Contains(got, want) {
				t.Errorf("stored event lacks %s:\n%s", want, got)
			}
		}
	})
}

// TestScrubbingHeaderPairs is the QA reproduction, sent in an envelope
// and read back from the store: headers as [name, value] pairs outside
// request.headers, in contexts, extra and a breadcrumb's data, are
// filtered by name as the same keys in an object are.
func TestScrubbingHeaderPairs(t *testing.T) {
	const payload = `{"platform":"node","message":"pairs",` +
		`"contexts":{"response":{"headers":[["Set-Cookie","sid=secretP3; HttpOnly"],["Content-Type","text/html"]]}},` +
		`"extra":{"headers":[["Authorization","Bearer secretP2"]]},` +
		`"breadcrumbs":[{"category":"http","data":{"request_headers":[["cookie","a=secretP5"]]}}]}`
	onEachStore(t, func(t *testing.T, db *store.DB) {
		s, b := devServerOn(t, db)
		got := string(postEvents(t, s, db, b, payload)[0].Payload)
		for _, secret := range []string{"secretP2", "secretP3", "secretP5"} {
			if strings.Contains(got, secret) {
				t.Errorf("stored event holds %s:\n%s", secret, got)
			}
		}
		for _, want := range []string{
			`["Set-Cookie","[Filtered]"]`,
			`["Content-Type","text/html"]`,
			`["Authorization","[Filtered]"]`,
			`["cookie","a=[Filtered]"]`,
		} {
			if !strings.Contains(got, want) {
				t.Errorf("stored event lacks %s:\n%s", want, got)
			}
		}
	})
}
