package hosts

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
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
		// Another spelling of a server logged in to finds its token.
		{flag: "HTTPS://B:443/", want: Target{URL: "https://b", Token: "flyt_b", URLFrom: "--host"}},
		{env: map[string]string{"FLYTRAP_URL": " http://A:1"}, want: Target{URL: "http://a:1", Token: "flyt_a", URLFrom: "FLYTRAP_URL"}},
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

// TestNormalize: the spellings of one server are one key, and the path,
// which a proxy may tell apart by case, keeps its case.
func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"https://flytrap.example.com":       "https://flytrap.example.com",
		"HTTPS://Flytrap.Example.COM/":      "https://flytrap.example.com",
		"https://flytrap.example.com:443//": "https://flytrap.example.com",
		"http://127.0.0.1:80":               "http://127.0.0.1",
		"http://127.0.0.1:8080/":            "http://127.0.0.1:8080",
		"https://example.com:80":            "https://example.com:80",
		"https://Example.com/Flytrap/":      "https://example.com/Flytrap",
		"http://[::1]:80/":                  "http://[::1]",
		"not a url/":                        "not a url",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestLoadNormalizes: a hosts.json written before Normalize folded case
// and default ports finds its servers under any spelling; of two
// spellings of one server, the token added last is kept.
func TestLoadNormalizes(t *testing.T) {
	dir := t.TempDir()
	old := `{"default": "https://Flytrap.Example.com:443/", "hosts": {
		"https://Flytrap.Example.com:443": {"token": "flyt_old", "added": "2026-01-01T00:00:00Z"},
		"https://flytrap.example.com": {"token": "flyt_new", "added": "2026-02-01T00:00:00Z"},
		"http://Other:8080": {"token": "flyt_other", "added": "2026-01-01T00:00:00Z"}}}`
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.URLs(); strings.Join(got, " ") != "http://other:8080 https://flytrap.example.com" || c.Default != "https://flytrap.example.com" {
		t.Fatalf("Load = %v, default %q", got, c.Default)
	}
	if h := c.Hosts["https://flytrap.example.com"]; h.Token != "flyt_new" {
		t.Errorf("kept %q, want the token added last", h.Token)
	}
	tgt, err := c.Resolve("http://OTHER:8080", func(string) string { return "" })
	if err != nil || tgt.Token != "flyt_other" {
		t.Errorf("Resolve = %+v, %v", tgt, err)
	}
}

// TestLoadMergesDeterministically: two spellings of one server added at
// the same moment keep the same token on every load (the spelling in
// normal form), and the other is reported as dropped, with its token ID,
// so the caller can write one back and say what to revoke.
func TestLoadMergesDeterministically(t *testing.T) {
	dir := t.TempDir()
	file := `{"hosts": {
		"HTTPS://X.example:443/": {"token": "flyt_a", "token_id": 7, "added": "2026-01-01T00:00:00Z"},
		"https://x.example": {"token": "flyt_b", "token_id": 8, "added": "2026-01-01T00:00:00Z"},
		"https://x.example:443": {"token": "flyt_c", "token_id": 9, "added": "2026-01-01T00:00:00Z"}}}`
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	// Go randomizes map order: a rule that depended on it would keep
	// another token within a few dozen loads.
	for range 50 {
		c, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if h := c.Hosts["https://x.example"]; h.Token != "flyt_b" || len(c.Hosts) != 1 {
			t.Fatalf("kept %+v of %v, want flyt_b, the spelling in normal form", h, c.Hosts)
		}
		var dropped []string
		for _, d := range c.Dropped {
			dropped = append(dropped, fmt.Sprintf("%s %s %d", d.URL, d.Spelling, d.Host.TokenID))
		}
		sort.Strings(dropped)
		if want := "https://x.example HTTPS://X.example:443/ 7,https://x.example https://x.example:443 9"; strings.Join(dropped, ",") != want {
			t.Fatalf("dropped %q, want %q", dropped, want)
		}
	}
}

// TestSaveRefusesSharedDir: an existing config directory that other users
// may write to is refused, naming it and the chmod that fixes it, and
// nothing is written there; one only its owner writes to is used, and a
// missing one is created 0700.
func TestSaveRefusesSharedDir(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix mode bits")
	}
	c := &Config{Hosts: map[string]Host{"http://a:1": {Token: "flyt_a"}}}
	for _, tt := range []struct {
		mode os.FileMode
		ok   bool
	}{{0o777, false}, {0o770, false}, {os.ModeSticky | 0o777, false}, {0o755, true}, {0o700, true}} {
		dir := filepath.Join(t.TempDir(), "flytrap")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, tt.mode); err != nil {
			t.Fatal(err)
		}
		err := c.Save(dir)
		_, statErr := os.Stat(filepath.Join(dir, FileName))
		if tt.ok {
			if err != nil || statErr != nil {
				t.Errorf("mode %04o: %v, %v; want hosts.json written", tt.mode, err, statErr)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "chmod 700 "+dir) {
			t.Errorf("mode %04o: %v; want an error naming %s and chmod 700", tt.mode, err, dir)
		}
		if statErr == nil {
			t.Errorf("mode %04o: hosts.json written", tt.mode)
		}
	}
	dir := filepath.Join(t.TempDir(), "new", "flytrap")
	if err := c.Save(dir); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm()&0o077 != 0 {
		t.Errorf("created config directory: %v, %v; want 0700", st.Mode(), err)
	}
}
