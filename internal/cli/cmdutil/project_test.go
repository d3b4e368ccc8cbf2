package cmdutil

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/client"
)

// TestFindProject: --project takes what the sentry-cli API takes, and a
// name that may mean two projects is a usage error naming both.
func TestFindProject(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(apitypes.List[apitypes.Project]{Data: []apitypes.Project{
			{ID: 2, Name: "alpha"}, {ID: 3, Name: "beta"}, {ID: 4, Name: "ALPHA"}, {ID: 6, Name: "Web Shop"}, {ID: 8, Name: "3"}}})
	}))
	defer srv.Close()
	c, err := client.New(srv.URL, "flyt_x")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		arg  string
		id   int64
		exit int
	}{
		{"alpha", 2, 0},
		{"ALPHA", 4, 0},
		{"web-shop", 6, 0},
		{"WEB SHOP", 6, 0},
		{"Alpha", 0, ExitUsage},
		{"3", 0, ExitUsage},
		{"gamma", 0, ExitNotFound},
	} {
		p, err := FindProject(context.Background(), c, tc.arg)
		code, _ := ExitCode(err)
		if p.ID != tc.id || code != tc.exit {
			t.Errorf("FindProject(%q) = %d, %v (exit %d), want %d, exit %d", tc.arg, p.ID, err, code, tc.id, tc.exit)
		}
	}
}
