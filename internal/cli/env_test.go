package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
)

// TestEnvNotUTF8: a setting from the environment that is not UTF-8 is a
// usage error naming the variable, as a flag's value is, before anything
// is sent; a token's value is not shown, a variable the flags given
// replace or leave unread is not read, nor checked, and a path's may be
// any bytes.
func TestEnvNotUTF8(t *testing.T) {
	const down = "http://127.0.0.1:1" // unreachable: exit 3 once anything is sent
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		want   int
		said   string
		absent string
	}{
		{"project default", map[string]string{"FLYTRAP_PROJECT": "w\xffb", "FLYTRAP_URL": down, "FLYTRAP_TOKEN": "flyt_x"},
			[]string{"sourcemaps", "upload", "."}, cmdutil.ExitUsage,
			"error: FLYTRAP_PROJECT is not UTF-8 text: \"w\\xffb\"\nhint: names, URLs and tokens are UTF-8: check how FLYTRAP_PROJECT is set", ""},
		{"project given", map[string]string{"FLYTRAP_PROJECT": "w\xffb", "FLYTRAP_URL": down, "FLYTRAP_TOKEN": "flyt_x"},
			[]string{"sourcemaps", "upload", ".", "-p", "web"}, cmdutil.ExitError, "error: nothing to upload under .", "not UTF-8"},
		{"url", map[string]string{"FLYTRAP_URL": down + "/caf\xe9", "FLYTRAP_TOKEN": "flyt_x"},
			[]string{"issues", "list", "-p", "web"}, cmdutil.ExitUsage, "error: FLYTRAP_URL is not UTF-8 text: \"http://127.0.0.1:1/caf\\xe9\"", ""},
		{"url replaced by --host", map[string]string{"FLYTRAP_URL": down + "/caf\xe9", "FLYTRAP_TOKEN": "flyt_x"},
			[]string{"issues", "list", "-p", "web", "--host", down}, cmdutil.ExitUnreachable, "", "not UTF-8"},
		{"token, any command of the API", map[string]string{"FLYTRAP_URL": down, "FLYTRAP_TOKEN": "flyt_abc\xe9xyz"},
			[]string{"issues", "resolve", "12", "--host", down}, cmdutil.ExitUsage, "error: FLYTRAP_TOKEN is not UTF-8 text: 12 bytes, not shown as it may hold a secret", "xyz"},
		{"token of login", map[string]string{"FLYTRAP_TOKEN": "flyt_abc\xe9xyz"},
			[]string{"login", down}, cmdutil.ExitUsage, "error: FLYTRAP_TOKEN is not UTF-8 text", "xyz"},
		// A variable the command does not read is no reason to fail: login
		// keeps FLYTRAP_TOKEN only when no other way to log in is given.
		{"token not read by login --with-token", map[string]string{"FLYTRAP_TOKEN": "flyt_abc\xe9xyz"},
			[]string{"login", down, "--with-token"}, cmdutil.ExitUsage, "error: --with-token read nothing from standard input", "not UTF-8"},
		{"token not read by a password login", map[string]string{"FLYTRAP_TOKEN": "flyt_abc\xe9xyz"},
			[]string{"login", down, "--email", "ada@example.com", "--password-stdin"}, cmdutil.ExitUsage, "error: --password-stdin read nothing from standard input", "not UTF-8"},
		{"token not read by login --scope", map[string]string{"FLYTRAP_TOKEN": "flyt_abc\xe9xyz"},
			[]string{"login", down, "--scope", "read"}, cmdutil.ExitUsage, "error: no terminal to ask for your email on", "not UTF-8"},
		{"url not read by sourcemaps upload --url", map[string]string{"FLYTRAP_URL": down + "/caf\xe9", "FLYTRAP_TOKEN": "flyt_x"},
			[]string{"sourcemaps", "upload", ".", "--url", down, "-p", "web"}, cmdutil.ExitError, "error: nothing to upload under .", "not UTF-8"},
		{"url and token not read by bench without a DSN", map[string]string{"FLYTRAP_URL": down + "/caf\xe9", "FLYTRAP_TOKEN": "flyt_abc\xe9xyz", "FLYTRAP_DATA_DIR": "/nonexistent"},
			[]string{"bench"}, cmdutil.ExitUsage, "error: no --dsn, and no /nonexistent/dev.json to read it from", "not UTF-8"},
		{"url of bench with a DSN", map[string]string{"FLYTRAP_URL": down + "/caf\xe9", "FLYTRAP_DSN": "http://k@127.0.0.1:1/1", "FLYTRAP_DATA_DIR": "/nonexistent"},
			[]string{"bench"}, cmdutil.ExitUsage, "error: FLYTRAP_URL is not UTF-8 text", ""},
		{"token of bench with --dsn", map[string]string{"FLYTRAP_TOKEN": "flyt_abc\xe9xyz", "FLYTRAP_DATA_DIR": "/nonexistent"},
			[]string{"bench", "--dsn", "http://k@127.0.0.1:1/1"}, cmdutil.ExitUsage, "error: FLYTRAP_TOKEN is not UTF-8 text: 12 bytes", "xyz"},
		// A group's own run prints its help, reading nothing.
		{"group's help", map[string]string{"FLYTRAP_URL": down + "/caf\xe9", "FLYTRAP_TOKEN": "flyt_abc\xe9xyz"},
			[]string{"issues"}, cmdutil.ExitOK, "", "not UTF-8"},
		{"url with credentials", map[string]string{"FLYTRAP_DATABASE_URL": "postgres://u:p\xe9@db/flytrap"},
			[]string{"dev", "--workers", "0"}, cmdutil.ExitUsage, "error: FLYTRAP_DATABASE_URL is not UTF-8 text: 26 bytes, not shown", "p\\xe9"},
		{"dev's admin", map[string]string{"FLYTRAP_ADMIN_EMAIL": "ad\xe9@example.com"},
			[]string{"dev", "--workers", "0"}, cmdutil.ExitUsage, "error: FLYTRAP_ADMIN_EMAIL is not UTF-8 text", ""},
		// A path may be any bytes: FLYTRAP_DATA_DIR is read as it is.
		{"path", map[string]string{"FLYTRAP_DATA_DIR": "/nonexistent/d\xe9v"},
			[]string{"bench"}, cmdutil.ExitUsage, "/nonexistent/d", "not UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			f := testFactory(t, tt.env, &out, &errOut)
			code := Run(context.Background(), f, tt.args)
			stderr := errOut.String()
			if code != tt.want || !strings.Contains(stderr, tt.said) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d and %q", code, stderr, tt.want, tt.said)
			}
			if tt.absent != "" && strings.Contains(stderr, tt.absent) {
				t.Errorf("stderr:\n%s\nshows %q", stderr, tt.absent)
			}
		})
	}
}
