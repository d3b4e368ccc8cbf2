package dashboard

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

// runAs runs command, as a page shows it to be copied, in a POSIX shell
// where program is a script printing each argument it gets on a line of
// its own: the arguments the real program would get, and whether pasting
// it runs anything else (which would print or fail).
func runAs(t *testing.T, program, command string) []string {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, program), []byte("#!"+sh+"\nprintf '%s\\n' \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sh, "-c", command)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sh -c %q: %v", command, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("sh -c %q made files in its directory", command)
	}
	return strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
}

// TestReleaseCommandsQuoted: the sentry-cli commands a release page shows
// to copy pass the release's version as one argument, whatever it holds
// that a release name may ($(...), backticks, ;, |, spaces, quotes, a
// leading -), rather than run part of it.
func TestReleaseCommandsQuoted(t *testing.T) {
	f := newFixture(t)
	commands := regexp.MustCompile(`<code>(sentry-cli [^<]*)</code>`)
	for _, version := range []string{
		"shop@1.2.3",
		"1.0 $(touch pwned); `id` | cat it's",
		"-x",
		"'",
	} {
		if p := event.ReleaseProblem(version); p != "" {
			t.Fatalf("release %q %s", version, p)
		}
		_, err := f.db.CreateRelease(f.ctx, store.System, f.web.ID, version, now)
		f.must(err)
		r := f.get(roleMember, fmt.Sprintf("/projects/%d/releases/%s", f.web.ID, url.PathEscape(version)))
		wantStatus(t, r, http.StatusOK)
		found := commands.FindAllStringSubmatch(r.Body, -1)
		if len(found) != 3 {
			t.Fatalf("release %q: %d sentry-cli commands on its page, want 3", version, len(found))
		}
		for _, m := range found {
			args := runAs(t, "sentry-cli", html.UnescapeString(m[1]))
			want := map[string][]string{
				"deploys":     {"deploys", "new", "-e", "production", "--release=" + version},
				"set-commits": {"releases", "set-commits", "--local", version},
				"finalize":    {"releases", "finalize", version},
			}[subcommand(args)]
			if args[0] == "releases" && strings.HasPrefix(version, "-") {
				want = slices.Insert(slices.Clone(want), len(want)-1, "--")
			}
			if !slices.Equal(args, want) {
				t.Errorf("release %q: %s\nruns with %q, want %q", version, m[1], args, want)
			}
		}
	}
}

// subcommand names a sentry-cli command by its arguments: the command, or
// the releases command's subcommand.
func subcommand(args []string) string {
	if args[0] == "releases" && len(args) > 1 {
		return args[1]
	}
	return args[0]
}

// TestCurlSnippetQuoted: the setup page's curl command passes the URL and
// key as one argument each, even when the base URL (the request's Host
// without a public URL set) holds shell syntax.
func TestCurlSnippetQuoted(t *testing.T) {
	f := newFixture(t)
	snippets, err := f.d.snippets()
	if err != nil {
		t.Fatal(err)
	}
	base := "http://h$(touch pwned);`id`'x"
	var b strings.Builder
	if err := snippets.ExecuteTemplate(&b, "first-error.sh.tmpl", snippetVars{APIKey: "0123abcd", ProjectID: 7, BaseURL: base}); err != nil {
		t.Fatal(err)
	}
	args := runAs(t, "curl", b.String())
	if len(args) < 8 || args[3] != base+"/api/errors" || args[7] != "x-api-key: 0123abcd" {
		t.Errorf("curl runs with %q, want the URL %q and the key as one argument each", args, base+"/api/errors")
	}
}
