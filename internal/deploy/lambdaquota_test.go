package deploy

import (
	"context"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/awsx/awsxtest"
	"github.com/getflytrap/flytrap/terraform"
)

// TestCheckLambdaQuota asks the Lambda fake through the SDK: a quota that
// leaves ingest less than IngestHeadroom beside the processor is a
// warning with the figures and the Service Quotas command, one that does
// not is a note, and a refused call is a note saying why it was skipped.
func TestCheckLambdaQuota(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		limit, unreserved    int32
		refuse               string
		wantWarning, notWant []string
		wantNote             string
	}{
		{name: "new account's 10", limit: 10, unreserved: 10, wantWarning: []string{
			"quota in eu-west-1 is 10 concurrent executions:", "up to 5 of them", "at least 55 in all", "ingest may be throttled",
			`"Concurrent executions" in Service Quotas`,
			"aws service-quotas request-service-quota-increase --service-code lambda --quota-code L-B99A9384 --desired-value 1000 --region eu-west-1 --profile work",
		}, notWant: []string{"unreserved"}},
		{name: "one short of the headroom", limit: 54, unreserved: 54, wantWarning: []string{"is 54 concurrent executions", "at least 55"}},
		{name: "exactly the headroom", limit: 55, unreserved: 55, wantNote: "Lambda concurrency quota in eu-west-1: 55 concurrent executions; the processor takes at most 5"},
		{name: "default 1000", limit: 1000, unreserved: 1000, wantNote: "Lambda concurrency quota in eu-west-1: 1000 concurrent executions; the processor takes at most 5"},
		{name: "other functions reserve most of it", limit: 1000, unreserved: 40, wantWarning: []string{"is 1000 concurrent executions, 40 of them unreserved (other functions reserve the rest)", "at least 55"}},
		{name: "unreserved not reported", limit: 1000, unreserved: 0, wantNote: "quota in eu-west-1: 1000 concurrent executions; the processor"},
		{name: "access denied", refuse: "AccessDeniedException", wantNote: "Lambda concurrency quota not checked: the credentials lack lambda:GetAccountSettings"},
		{name: "Lambda fails", refuse: "ServiceException", wantNote: "Lambda concurrency quota not checked: ServiceException: refused by the test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := awsxtest.NewLambda(t)
			f.ConcurrentExecutions, f.UnreservedConcurrentExecutions, f.Refuse = tc.limit, tc.unreserved, tc.refuse
			q := CheckLambdaQuota(context.Background(), f.Client(), "eu-west-1", "work", 5)
			if f.Calls() != 1 {
				t.Errorf("%d GetAccountSettings calls, want 1", f.Calls())
			}
			if tc.wantWarning == nil {
				if q.Warning != "" || !strings.Contains(q.Note, tc.wantNote) {
					t.Errorf("got %+v, want no warning and a note with %q", q, tc.wantNote)
				}
				return
			}
			if q.Note != "" {
				t.Errorf("note %q beside the warning", q.Note)
			}
			for _, w := range tc.wantWarning {
				if !strings.Contains(q.Warning, w) {
					t.Errorf("warning lacks %q:\n%s", w, q.Warning)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(q.Warning, w) {
					t.Errorf("warning has %q:\n%s", w, q.Warning)
				}
			}
		})
	}
}

// TestDeployWarnsOfLowLambdaQuota runs the whole deploy against an account
// with a new account's quota: it goes through, and the warning is in the
// resolve step's output and the summary's warnings. Refused, the check is
// a line of output and no warning.
func TestDeployWarnsOfLowLambdaQuota(t *testing.T) {
	for _, tc := range []struct {
		name     string
		limit    int32
		refuse   string
		wantWarn bool
		wantLine string
	}{
		{name: "quota 10", limit: 10, wantWarn: true, wantLine: "warning: the account's Lambda concurrency quota in eu-west-1 is 10 concurrent executions"},
		{name: "quota 1000", limit: 1000, wantLine: "Lambda concurrency quota in eu-west-1: 1000 concurrent executions; the processor takes at most 5"},
		{name: "denied", limit: 10, refuse: "AccessDeniedException", wantLine: "Lambda concurrency quota not checked: the credentials lack lambda:GetAccountSettings"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t)
			e.putAdmin()
			e.lambda.ConcurrentExecutions, e.lambda.UnreservedConcurrentExecutions, e.lambda.Refuse = tc.limit, tc.limit, tc.refuse
			res, s, err := e.run(DeploySteps())
			if err != nil {
				t.Fatalf("deploy: %v\n%s", err, e.out.String())
			}
			if got := names(res); !slices.Contains(got, "apply:ok") {
				t.Errorf("steps %v", got)
			}
			if !strings.Contains(e.out.String(), tc.wantLine) {
				t.Errorf("output lacks %q:\n%s", tc.wantLine, e.out.String())
			}
			warned := slices.ContainsFunc(s.Warnings, func(w string) bool { return strings.Contains(w, "L-B99A9384") })
			if warned != tc.wantWarn {
				t.Errorf("quota warning %v, want %v: %q", warned, tc.wantWarn, s.Warnings)
			}
			if e.lambda.Calls() != 1 {
				t.Errorf("%d GetAccountSettings calls, want 1", e.lambda.Calls())
			}
		})
	}
}

// TestDryRunDoesNotAskLambda: a dry run makes no AWS call, the quota
// check's included.
func TestDryRunDoesNotAskLambda(t *testing.T) {
	e := newTestEnv(t)
	e.opts.DryRun = true
	if _, _, err := e.run(DeploySteps()); err != nil {
		t.Fatalf("dry run: %v\n%s", err, e.out.String())
	}
	if e.lambda.Calls() != 0 || strings.Contains(e.out.String(), "Lambda concurrency") {
		t.Errorf("%d GetAccountSettings calls in a dry run:\n%s", e.lambda.Calls(), e.out.String())
	}
}

// TestProcessorMaxConcurrency: the figure the quota check counts is the
// module's default, and the root module leaves it so (setting
// max_concurrency there would make the check count a stale figure).
func TestProcessorMaxConcurrency(t *testing.T) {
	if n, err := ProcessorMaxConcurrency(); n != 5 || err != nil {
		t.Errorf("ProcessorMaxConcurrency() = %d, %v; want 5 (docs/deploy.md says so too)", n, err)
	}
	root, err := fs.Glob(terraform.Modules, "*.tf")
	if err != nil || len(root) == 0 {
		t.Fatalf("root module files %v, %v", root, err)
	}
	for _, name := range root {
		b, err := terraform.Modules.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "max_concurrency") {
			t.Errorf("terraform/%s sets max_concurrency; have ProcessorMaxConcurrency read it from there", name)
		}
	}
}
