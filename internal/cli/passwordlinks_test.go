package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/apitypes"
)

// TestRelativePasswordLinks: a server without a public URL answers
// set-password links as paths (it builds none from the request's Host
// header); the CLI prints them on the server it called, with the reason
// the server gave for not emailing them.
func TestRelativePasswordLinks(t *testing.T) {
	const path = "/set-password/0123456789abcdef"
	link := apitypes.PasswordLink{Email: "ivy@qa.test", URL: path, ExpiresAt: tableNow.Add(time.Hour),
		MailError: "the server has no public URL to put in an emailed link"}
	user := apitypes.User{ID: 5, Email: "ivy@qa.test", Role: "member", CreatedAt: tableNow}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method + " " + r.URL.Path {
		case "GET /api/v1/users":
			json.NewEncoder(w).Encode(apitypes.List[apitypes.User]{Data: []apitypes.User{user}})
		case "POST /api/v1/users":
			l := link
			json.NewEncoder(w).Encode(apitypes.CreatedUser{User: user, Link: &l})
		case "POST /api/v1/users/5/password-reset":
			json.NewEncoder(w).Encode(link)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	for _, args := range [][]string{
		{"users", "add", "ivy@qa.test", "--invite"},
		{"users", "reset-password", "ivy@qa.test"},
	} {
		var out, errOut bytes.Buffer
		f := testFactory(t, map[string]string{"FLYTRAP_URL": srv.URL, "FLYTRAP_TOKEN": "flyt_test", "NO_COLOR": "1"}, &out, &errOut)
		f.Now = func() time.Time { return tableNow }
		if code := Run(context.Background(), f, args); code != 0 {
			t.Fatalf("flytrap %q: exit %d\n%s%s", args, code, out.String(), errOut.String())
		}
		if want := "\n" + srv.URL + path + "\n"; !strings.Contains(out.String(), want) ||
			!strings.Contains(out.String(), "the email could not be sent (the server has no public URL to put in an emailed link)") {
			t.Errorf("flytrap %q printed:\n%s\nwant the link %q and the reason", args, out.String(), strings.TrimSpace(want))
		}
	}
}
