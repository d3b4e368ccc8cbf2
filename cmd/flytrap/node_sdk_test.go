package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// requireNodeSDK returns the compat/node folder with its dependencies
// installed (`npm ci --prefix compat/node`), or skips; under CI=true a
// missing SDK is a failure.
func requireNodeSDK(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../../compat/node")
	if err != nil {
		t.Fatal(err)
	}
	_, nodeErr := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join(dir, "node_modules", "@sentry", "node"))
	if nodeErr != nil || modErr != nil {
		msg := "node or @sentry/node missing: run `npm ci --prefix compat/node`"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

// TestNodeSDK sends events with the official @sentry/node SDK and reads them
// back over the REST API.
func TestNodeSDK(t *testing.T) {
	dir := requireNodeSDK(t)
	p := startDev(t, t.TempDir(), nil)
	cmd := exec.Command("node", filepath.Join(dir, "send.js"), p.info.DSN)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node send.js: %v\n%s", err, out)
	}

	te := p.waitIssue(t, "TypeError: Cannot read properties of undefined (reading 'total')", 1)
	if !strings.Contains(te.Culprit, "loadInvoice") {
		t.Errorf("culprit = %q, want the in-app function loadInvoice", te.Culprit)
	}
	msg := p.waitIssue(t, "node compat message 123", 1)
	if msg.Level != "warning" {
		t.Errorf("message level = %q, want warning", msg.Level)
	}
	p.waitIssue(t, "RangeError: node compat rejection", 1)
	if got := p.issues(t, "environment=compat&release=compat-node@1.0.0"); len(got) != 3 {
		t.Errorf("environment+release filter lists %d issues, want 3", len(got))
	}

	var detail struct {
		LatestEvent struct {
			Event struct {
				Exceptions []struct {
					Frames []struct {
						Function string `json:"function"`
						InApp    *bool  `json:"in_app"`
						Lineno   int    `json:"lineno"`
					} `json:"frames"`
					Mechanism *struct {
						Handled *bool `json:"handled"`
					} `json:"mechanism"`
				} `json:"exceptions"`
				Breadcrumbs []struct {
					Message string `json:"message"`
				} `json:"breadcrumbs"`
				Tags []struct {
					Key, Value string
				} `json:"tags"`
				User struct {
					ID string `json:"id"`
				} `json:"user"`
				SDK struct {
					Name string `json:"name"`
				} `json:"sdk"`
			} `json:"event"`
		} `json:"latest_event"`
	}
	if code := p.api(t, "GET", fmt.Sprintf("/api/v1/issues/%d", te.ID), nil, &detail); code != 200 {
		t.Fatalf("issue detail: HTTP %d", code)
	}
	ev := detail.LatestEvent.Event
	raw, _ := json.Marshal(ev)
	if ev.SDK.Name != "sentry.javascript.node" || ev.User.ID != "node-user-1" {
		t.Errorf("sdk %q user %q", ev.SDK.Name, ev.User.ID)
	}
	found := false
	for _, ex := range ev.Exceptions {
		for _, f := range ex.Frames {
			if f.Function == "loadInvoice" && f.InApp != nil && *f.InApp && f.Lineno > 0 {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("no in-app frame loadInvoice with a line number: %s", raw)
	}
	if !strings.Contains(string(raw), "GET /invoices/42") || !strings.Contains(string(raw), `"Value":"billing"`) {
		t.Errorf("breadcrumb or tag missing: %s", raw)
	}
}
