package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/getflytrap/flytrap/internal/plan"
	"github.com/getflytrap/flytrap/internal/runtimebin"
	"github.com/getflytrap/flytrap/internal/testutil/golden"
)

// TestCLIMessages renders, through the real SDK configuration, the
// messages of issue 14's finding 13 into one golden file: a profile from
// AWS_PROFILE that does not exist is named, "no AWS credentials found" is
// said once, the SDK prints nothing of its own (IMDSv1 fallback warnings),
// a failed dry run does not say "Next: flytrap deploy", and every cost
// headline names the region whose prices it uses.
func TestCLIMessages(t *testing.T) {
	e := newTestEnv(t)
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	// Instance metadata is on, served by an endpoint without IMDSv2
	// tokens: the SDK's IMDS client falls back to IMDSv1 and would warn.
	imds := httptest.NewServer(http.NotFoundHandler())
	defer imds.Close()
	t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.URL)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "")
	os.Unsetenv("AWS_EC2_METADATA_DISABLED")
	t.Setenv("AWS_ENDPOINT_URL_STS", e.stsf.URL)
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	deps := e.deps()
	deps.AWS = LoadClients
	var out bytes.Buffer
	credentials := func(title string, p plan.Plan) {
		s := NewState(p, e.opts, deps, io.Discard)
		var err error
		stderr := captureStderr(t, func() {
			_, err = Pipeline{Steps: DeploySteps()[:1], Out: io.Discard}.Run(context.Background(), s)
		})
		var de *Error
		if !errors.As(err, &de) {
			t.Fatalf("%s: %v is not a *deploy.Error", title, err)
		}
		fmt.Fprintf(&out, "== %s\nerror: %s\nhint:  %s\nstderr: %q\n\n", title, scrubSDK(err.Error()), de.Hint, stderr)
	}
	noProfile := e.plan
	noProfile.AWS.Profile = ""
	credentials("no credentials anywhere", noProfile)
	t.Setenv("AWS_PROFILE", "nope")
	credentials("AWS_PROFILE=nope", noProfile)
	os.Unsetenv("AWS_PROFILE")
	named := e.plan
	named.AWS.Profile = "nope"
	credentials("aws.profile: nope in flytrap.yaml", named)

	// A dry run that fails (here: no runtime binaries).
	e.opts.DryRun = true
	failing := e.deps()
	failing.Runtime = func(context.Context, string, io.Writer) (runtimebin.Artifacts, error) {
		return runtimebin.Artifacts{}, runtimebin.ErrUnavailable
	}
	s := NewState(e.plan, e.opts, failing, io.Discard)
	res, err := Pipeline{Steps: DeploySteps(), Out: io.Discard}.Run(context.Background(), s)
	rep := s.Report(res, err)
	est := plan.EstimateMonthlyCost(e.plan)
	rep.Estimate = &est
	rep.Workspace = "WORKSPACE"
	fmt.Fprintf(&out, "== failed dry run summary\n")
	rep.WriteSummary(&out)

	for _, region := range []string{"us-east-1", "eu-west-1"} {
		p := e.plan
		p.AWS.Region = region
		fmt.Fprintf(&out, "\n== cost headline in %s\n%s\n", region, plan.EstimateMonthlyCost(p).Headline())
	}
	golden.Check(t, "cli-messages.golden", out.Bytes())
}

// scrubSDK replaces the parts of SDK errors that vary between runs
// (request IDs, ports, temporary paths).
func scrubSDK(s string) string {
	s = regexp.MustCompile(`RequestID: [0-9a-f-]+`).ReplaceAllString(s, "RequestID: ID")
	s = regexp.MustCompile(`127\.0\.0\.1:\d+`).ReplaceAllString(s, "127.0.0.1:PORT")
	return regexp.MustCompile(`/tmp/\S+`).ReplaceAllString(s, "TMP")
}

// captureStderr returns what fn writes to the process's stderr.
func captureStderr(t *testing.T, fn func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = w
	done := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(r)
		done <- b
	}()
	defer func() { os.Stderr = old }()
	fn()
	w.Close()
	return string(<-done)
}
