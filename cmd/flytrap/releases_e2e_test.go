package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSentryCLIReleaseLifecycle runs a CI pipeline's release steps with
// the real sentry-cli against flytrap dev: releases new, set-commits
// --commit, finalize, deploys new, deploys list and releases list, then
// set-commits --local and --auto in a git checkout, and checks what each
// prints.
func TestSentryCLIReleaseLifecycle(t *testing.T) {
	js := requireSentryCLI(t)
	sentryCLI := filepath.Join(js, "node_modules", ".bin", "sentry-cli")
	p := startDev(t, t.TempDir(), nil)
	project := strconv.FormatInt(p.info.ProjectID, 10)
	env := []string{"SENTRY_URL=" + p.base, "SENTRY_AUTH_TOKEN=" + p.info.APIToken, "SENTRY_ORG=flytrap",
		"SENTRY_PROJECT=" + project, "SENTRY_LOG_LEVEL=warn", "SENTRYCLI_SKIP_DOWNLOAD=1", "SENTRY_DISABLE_UPDATE_CHECK=1"}
	const version = "shop@2.0.0"

	if out := run(t, env, sentryCLI, "releases", "new", version); !strings.Contains(out, "Created release "+version) {
		t.Errorf("releases new:\n%s", out)
	}
	// --commit names a repository of the project's: added once.
	var repo map[string]any
	if code := p.api(t, "POST", "/api/0/organizations/flytrap/repos/", map[string]any{"name": "acme/shop", "projects": []string{project}}, &repo); code != 201 {
		t.Fatalf("add repository: HTTP %d %v", code, repo)
	}
	out := run(t, env, sentryCLI, "releases", "set-commits", version, "--commit", "acme/shop@0123456789abcdef0123456789abcdef01234567")
	if !strings.Contains(out, "acme/shop") || !strings.Contains(out, "0123456789ab") {
		t.Errorf("set-commits --commit:\n%s", out)
	}
	if out := run(t, env, sentryCLI, "releases", "finalize", version); !strings.Contains(out, "Finalized release "+version) {
		t.Errorf("releases finalize:\n%s", out)
	}
	if out := run(t, env, sentryCLI, "releases", "deploys", version, "new", "-e", "production"); !strings.Contains(out, "Created new deploy unnamed for 'production'") {
		t.Errorf("releases deploys new:\n%s", out)
	}
	if out := run(t, env, sentryCLI, "deploys", "new", "-r", version, "-e", "staging", "-n", "canary", "-t", "30"); !strings.Contains(out, "Created new deploy canary for 'staging'") {
		t.Errorf("deploys new:\n%s", out)
	}
	out = run(t, env, sentryCLI, "releases", "deploys", version, "list")
	if !regexp.MustCompile(`\| production +\| unnamed +\|`).MatchString(out) || !regexp.MustCompile(`\| staging +\| canary +\|`).MatchString(out) {
		t.Errorf("releases deploys list:\n%s", out)
	}

	// An event of the release: one new issue, and its last event.
	hub := newHub(t, p.info.DSN, version, "production")
	hub.CaptureException(errors.New("release lifecycle boom"))
	p.waitIssue(t, "*errors.errorString: release lifecycle boom", 1)
	p.waitDrained(t)

	out = run(t, env, sentryCLI, "releases", "list")
	row := regexp.MustCompile(`\| ([^|]+?) +\| ` + regexp.QuoteMeta(version) + ` +\| (\d+) +\| ([^|]+?) +\|`).FindStringSubmatch(out)
	if row == nil || row[1] == "(unreleased)" || row[2] != "1" || row[3] == "-" {
		t.Errorf("releases list: want a release date, 1 new issue and a last event for %s:\n%s", version, out)
	}
	out = run(t, env, sentryCLI, "releases", "info", version, "--show-commits")
	if !strings.Contains(out, "0123456789abcdef0123456789abcdef01234567") {
		t.Errorf("releases info --show-commits:\n%s", out)
	}

	// --local, and --auto (which finds no head for a Flytrap repository
	// and falls back to the local tree), send the checkout's commits.
	dir := gitCheckout(t)
	for _, mode := range []string{"--local", "--auto"} {
		cmd := exec.Command(sentryCLI, "releases", "set-commits", version, mode)
		cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
		b, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(b), "Success! Set commits for release "+version) {
			t.Errorf("set-commits %s: %v\n%s", mode, err, b)
		}
	}
	var commits []map[string]any
	if code := p.api(t, "GET", "/api/0/organizations/flytrap/releases/"+version+"/commits/", nil, &commits); code != 200 || len(commits) != 2 ||
		commits[1]["message"] != "first <b>commit</b>\n" {
		t.Errorf("commits after set-commits --auto: HTTP %d %v", code, commits)
	}
	// The next release's --local sends only the commits since this one's.
	time.Sleep(5 * time.Millisecond) // a later first seen, at the store's millisecond precision
	run(t, env, sentryCLI, "releases", "new", "shop@2.1.0")
	gitCommit(t, dir, "third")
	cmd := exec.Command(sentryCLI, "releases", "set-commits", "shop@2.1.0", "--local")
	cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("set-commits --local of the next release: %v\n%s", err, b)
	}
	if code := p.api(t, "GET", "/api/0/organizations/flytrap/releases/shop@2.1.0/commits/", nil, &commits); code != 200 || len(commits) != 1 ||
		commits[0]["message"] != "third\n" {
		t.Errorf("commits of the next release: HTTP %d %v, want only the new one", code, commits)
	}

	// --auto outside a checkout: sentry-cli says it found no git tree.
	cmd = exec.Command(sentryCLI, "releases", "set-commits", version, "--auto")
	cmd.Dir, cmd.Env = t.TempDir(), append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(b), "could not find repository") {
		t.Errorf("set-commits --auto outside a checkout: %v\n%s", err, b)
	}

	// A migrating team's `sentry-cli issues` scripts are told what to use
	// instead, not "Project not found".
	cmd = exec.Command(sentryCLI, "issues", "list")
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(b), "Flytrap does not serve sentry-cli's issues commands: use `flytrap issues list`") ||
		strings.Contains(string(b), "Project not found") {
		t.Errorf("sentry-cli issues list: %v\n%s", err, b)
	}
}

// gitCheckout makes a git repository of two commits, with an origin.
func gitCheckout(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	gitRun(t, dir, "init", "-q")
	gitRun(t, dir, "remote", "add", "origin", "https://github.com/acme/shop.git")
	gitCommit(t, dir, "first <b>commit</b>")
	gitCommit(t, dir, "second")
	return dir
}

// gitCommit commits a new file to the repository in dir.
func gitCommit(t *testing.T, dir, msg string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, strconv.Itoa(len(entries))), []byte(msg), 0o644); err != nil {
		t.Fatal(err)
	}
	gitRun(t, dir, "add", ".")
	gitRun(t, dir, "commit", "-q", "-m", msg)
}

func gitRun(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Ann", "GIT_AUTHOR_EMAIL=ann@example.com",
		"GIT_COMMITTER_NAME=Ann", "GIT_COMMITTER_EMAIL=ann@example.com")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, b)
	}
}
