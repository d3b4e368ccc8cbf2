package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestStolenLoginTokenEndsWithThePassword plays the theft of a login
// token on `flytrap dev`: the thief cannot make a named token with it, so
// the victim's password change, on the dashboard, locks the thief out;
// the named tokens the victim made, with the password through the API and
// on the dashboard, keep working.
func TestStolenLoginTokenEndsWithThePassword(t *testing.T) {
	const email, password, newPassword = "ops@example.com", "s3cret-passw0rd", "an entirely new one"
	p := startDev(t, t.TempDir(), []string{"FLYTRAP_ADMIN_EMAIL=" + email, "FLYTRAP_ADMIN_PASSWORD=" + password})
	api := func(token, method, path, body string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, p.base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out) // a 204 has no body
		return resp.StatusCode, out
	}
	secret := func(out map[string]any) string {
		s, _ := out["token"].(string)
		return s
	}

	// What flytrap login does, then the thief's copy of it.
	code, out := api("", "POST", "/api/v1/auth/token", `{"email":"`+email+`","password":"`+password+`","name":"laptop"}`)
	stolen := secret(out)
	if code != 201 || stolen == "" {
		t.Fatalf("login: HTTP %d %v", code, out)
	}
	code, out = api(stolen, "POST", "/api/v1/tokens", `{"name":"backdoor"}`)
	if e, _ := out["error"].(map[string]any); code != 403 || e["code"] != "password_required" {
		t.Fatalf("a named token made with the login token alone: HTTP %d %v, want 403 password_required", code, out)
	}
	// The owner, who knows the password, makes one through the API...
	code, out = api(stolen, "POST", "/api/v1/tokens", `{"name":"ci","password":"`+password+`"}`)
	viaAPI := secret(out)
	if code != 201 || viaAPI == "" {
		t.Fatalf("a named token made with the password: HTTP %d %v", code, out)
	}
	// ...and one on the dashboard.
	browser := p.login(t, email, password)
	csrf := func(path string) string {
		t.Helper()
		resp, err := browser.Get(p.base + path)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindSubmatch(page)
		if m == nil {
			t.Fatalf("no CSRF token on %s", path)
		}
		return string(m[1])
	}
	resp, err := browser.PostForm(p.base+"/account/tokens", url.Values{"name": {"deploy"}, "scope": {"full"}, "csrf_token": {csrf("/account/tokens")}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`id="new-token">(flyt_[0-9a-f]+)<`).FindSubmatch(page)
	// The form redirects to the tokens page, which shows the secret once.
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/account/tokens" || m == nil {
		t.Fatalf("a token made on the dashboard: HTTP %d at %s", resp.StatusCode, resp.Request.URL.Path)
	}
	viaDashboard := string(m[1])

	resp, err = browser.PostForm(p.base+"/account/password", url.Values{"current": {password}, "new": {newPassword}, "confirm": {newPassword},
		"csrf_token": {csrf("/account")}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/account" {
		t.Fatalf("password change ended at %s (HTTP %d)", resp.Request.URL.Path, resp.StatusCode)
	}
	for _, tc := range []struct {
		name, token string
		want        int
	}{
		{"the stolen login token", stolen, 401},
		{"the token made with the password", viaAPI, 200},
		{"the token made on the dashboard", viaDashboard, 200},
	} {
		if code, out := api(tc.token, "GET", "/api/v1/me", ""); code != tc.want {
			t.Errorf("%s after the password change: HTTP %d %v, want %d", tc.name, code, out, tc.want)
		}
	}
}
