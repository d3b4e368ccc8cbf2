package hosts

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSaveLoadResolve(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "flytrap")
	c, err := Load(dir)
	if err != nil || len(c.Hosts) != 0 {
		t.Fatalf("Load of nothing = %+v, %v", c, err)
	}
	c.Hosts["http://a:1"] = Host{Token: "flyt_a", User: "ada@example.com"}
	c.Hosts["https://b"] = Host{Token: "flyt_b"}
	c.Default = "https://b"
	if err := c.Save(dir); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("hosts.json mode %v, %v; want 0600", st.Mode(), err)
	}
	c, err = Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		flag, url, token string
		env              map[string]string
		want             Target
		wantErr          bool
		badURLFrom       string // the From of the *URLError wanted
	}{
		{want: Target{URL: "https://b", Token: "flyt_b", URLFrom: FileName}},
		{flag: "http://a:1/", want: Target{URL: "http://a:1", Token: "flyt_a", URLFrom: "--host"}},
		{env: map[string]string{"FLYTRAP_URL": "http://a:1"}, want: Target{URL: "http://a:1", Token: "flyt_a", URLFrom: "FLYTRAP_URL"}},
		{env: map[string]string{"FLYTRAP_URL": "http://c", "FLYTRAP_TOKEN": "flyt_c"}, want: Target{URL: "http://c", Token: "flyt_c", URLFrom: "FLYTRAP_URL"}},
		{env: map[string]string{"FLYTRAP_URL": "http://c"}, wantErr: true},
		// A URL that is none is named as the mistake, token or not.
		{env: map[string]string{"FLYTRAP_URL": "not-a-url", "FLYTRAP_TOKEN": "flyt_c"}, wantErr: true, badURLFrom: "FLYTRAP_URL"},
		{flag: "not-a-url", wantErr: true, badURLFrom: "--host"},
	}
	for _, tt := range tests {
		env = tt.env
		got, err := c.Resolve(tt.flag, getenv)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("Resolve(%q, %v) = %+v, %v; want %+v", tt.flag, tt.env, got, err, tt.want)
		}
		var ue *URLError
		if errors.As(err, &ue) != (tt.badURLFrom != "") || (ue != nil && ue.From != tt.badURLFrom) {
			t.Errorf("Resolve(%q, %v): %v (%+v), want a URL error from %q", tt.flag, tt.env, err, ue, tt.badURLFrom)
		}
	}
	env = nil
	if _, err := (&Config{}).Resolve("", getenv); err != ErrNoHost {
		t.Errorf("no host: %v", err)
	}
}
