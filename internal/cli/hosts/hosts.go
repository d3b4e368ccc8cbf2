// Package hosts keeps the servers the CLI has logged in to and their
// tokens, in hosts.json under the user's config directory (mode 0600:
// the file holds secrets), and resolves which server and token a command
// uses.
package hosts

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/getflytrap/flytrap/internal/client"
)

// FileName is the file under the config directory.
const FileName = "hosts.json"

// Host is one server logged in to.
type Host struct {
	Token string `json:"token"`
	// User is the email address the token belongs to, for display.
	User string `json:"user"`
	// TokenID lets logout revoke the token on the server.
	TokenID int64     `json:"token_id,omitempty"`
	Added   time.Time `json:"added"`
}

// Config is the content of hosts.json.
type Config struct {
	// Default is the URL commands use when neither --host nor
	// FLYTRAP_URL names one: the last one logged in to.
	Default string `json:"default,omitempty"`
	// Deployed is the dashboard URL of the last `flytrap deploy`, offered
	// by login as the default server.
	Deployed string          `json:"deployed,omitempty"`
	Hosts    map[string]Host `json:"hosts"`
	// Dropped are the tokens Load left out of Hosts because another
	// spelling of the same server was kept; the caller saves the merged
	// file and says which tokens are still live on the server.
	Dropped []Dropped `json:"-"`
}

// Dropped is a token of a server that hosts.json held under two
// spellings of its URL, left out for the other.
type Dropped struct {
	// URL is the server in normal form, Spelling how the file had it.
	URL, Spelling string
	Host          Host
}

// Dir is the CLI's config directory: $FLYTRAP_CONFIG_DIR, else
// flytrap/ under the user config directory ($XDG_CONFIG_HOME or
// ~/.config on Linux).
func Dir(getenv func(string) string) (string, error) {
	if d := getenv("FLYTRAP_CONFIG_DIR"); d != "" {
		return d, nil
	}
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("cannot find your config directory (set FLYTRAP_CONFIG_DIR): %w", err)
	}
	return filepath.Join(base, "flytrap"), nil
}

// Load reads hosts.json in dir; a missing file is an empty Config.
func Load(dir string) (*Config, error) {
	c := &Config{Hosts: map[string]Host{}}
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Join(dir, FileName), err)
	}
	if err := json.Unmarshal(b, c); err != nil {
		return nil, fmt.Errorf("%s is not valid JSON (fix or delete it): %w", filepath.Join(dir, FileName), err)
	}
	// Files written before Normalize folded case and default ports may
	// hold a server under two spellings. Of those, the token added last
	// is the one login kept last; on a tie, the spelling already in
	// normal form (login's since Normalize), then the first in byte
	// order: every run keeps the same token, whatever order the map is
	// read in.
	spellings := make([]string, 0, len(c.Hosts))
	for u := range c.Hosts {
		spellings = append(spellings, u)
	}
	sort.Strings(spellings)
	hs := make(map[string]Host, len(c.Hosts))
	keptAs := map[string]string{}
	for _, u := range spellings {
		h, n := c.Hosts[u], Normalize(u)
		old, ok := hs[n]
		if !ok {
			hs[n], keptAs[n] = h, u
			continue
		}
		drop := Dropped{URL: n, Spelling: u, Host: h}
		if h.Added.After(old.Added) || (h.Added.Equal(old.Added) && u == n) {
			drop = Dropped{URL: n, Spelling: keptAs[n], Host: old}
			hs[n], keptAs[n] = h, u
		}
		c.Dropped = append(c.Dropped, drop)
	}
	c.Hosts = hs
	if c.Default != "" {
		c.Default = Normalize(c.Default)
	}
	if c.Deployed != "" {
		c.Deployed = Normalize(c.Deployed)
	}
	return c, nil
}

// CheckDir refuses a config directory that other users may write to
// (group or world writable, mode bits on Unix): they could replace
// hosts.json, pointing the CLI and its tokens at a server of theirs. A
// directory that does not exist yet passes; Save creates it 0700.
func CheckDir(dir string) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("config directory: %w", err)
	case !st.IsDir():
		return fmt.Errorf("config directory %s is not a directory", dir)
	case runtime.GOOS != "windows" && st.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("config directory %s is writable by other users (mode %04o), who could replace %s: run `chmod 700 %s` (or set FLYTRAP_CONFIG_DIR to a directory of your own)",
			dir, st.Mode().Perm(), FileName, dir)
	}
	return nil
}

// Save writes c to hosts.json in dir with mode 0600, replacing the file
// atomically so a crash leaves the old one. It creates dir 0700, and
// refuses an existing one that others may write to (CheckDir).
func (c *Config) Save(dir string) error {
	if err := CheckDir(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, FileName+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", dir, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, FileName))
}

// URLs are the hosts logged in to, sorted.
func (c *Config) URLs() []string {
	urls := make([]string, 0, len(c.Hosts))
	for u := range c.Hosts {
		urls = append(urls, u)
	}
	sort.Strings(urls)
	return urls
}

// Target is the server and token a command uses.
type Target struct {
	URL   string
	Token string
	// URLFrom says where URL came from (--host, FLYTRAP_URL or
	// FileName), for error hints.
	URLFrom string
}

// URLError is Resolve's error for a server URL that is not one; From
// names where it came from, as Target.URLFrom.
type URLError struct {
	From string
	Err  error
}

func (e *URLError) Error() string { return e.Err.Error() }

func (e *URLError) Unwrap() error { return e.Err }

// ErrNoHost is Resolve's error when no server is known.
var ErrNoHost = errors.New("no Flytrap server: run `flytrap login URL`, or set FLYTRAP_URL and FLYTRAP_TOKEN")

// Resolve picks the server: flagURL (--host), else FLYTRAP_URL, else the
// config's default; and its token: FLYTRAP_TOKEN, else the one stored for
// that server. The environment overrides the file so CI needs no login.
// A URL that is none is a *URLError, whether or not there is a token for
// it: the URL is the mistake to fix first.
func (c *Config) Resolve(flagURL string, getenv func(string) string) (Target, error) {
	t := Target{URL: flagURL, URLFrom: "--host"}
	if t.URL == "" {
		t.URL, t.URLFrom = getenv("FLYTRAP_URL"), "FLYTRAP_URL"
	}
	if t.URL == "" {
		t.URL, t.URLFrom = c.Default, FileName
	}
	if t.URL == "" {
		return Target{}, ErrNoHost
	}
	if _, err := client.ParseURL(t.URL); err != nil {
		return Target{}, &URLError{From: t.URLFrom, Err: err}
	}
	t.URL = Normalize(t.URL)
	if tok := getenv("FLYTRAP_TOKEN"); tok != "" {
		t.Token = tok
		return t, nil
	}
	h, ok := c.Hosts[t.URL]
	if !ok {
		return Target{}, fmt.Errorf("not logged in to %s: run `flytrap login %s`, or set FLYTRAP_TOKEN", t.URL, t.URL)
	}
	t.Token = h.Token
	return t, nil
}

// Normalize is the form URLs are stored and looked up under, so that
// spellings of one server find its token: the scheme and host in lower
// case (they are case-insensitive), without the scheme's default port and
// without trailing slashes. The path keeps its case, as a proxy's may
// tell it apart. A string that is no server URL only loses its trailing
// slashes.
func Normalize(u string) string {
	p, err := client.ParseURL(u)
	if err != nil {
		return strings.TrimRight(u, "/")
	}
	p.Host = strings.ToLower(p.Host)
	if port := p.Port(); port != "" && port == client.DefaultPort(p.Scheme) {
		p.Host = strings.TrimSuffix(p.Host, ":"+port)
	}
	return p.String()
}
