package deploy

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/awsx/awsxtest"
	"github.com/getflytrap/flytrap/internal/deploy/deploytest"
	"github.com/getflytrap/flytrap/internal/ingest"
	"github.com/getflytrap/flytrap/internal/plan"
	"github.com/getflytrap/flytrap/internal/runtimebin"
	"github.com/getflytrap/flytrap/internal/testutil/golden"
	"github.com/getflytrap/flytrap/internal/tf"
	"github.com/getflytrap/flytrap/terraform"
)

const region = "eu-west-1"

// testEnv is a deploy against fakes: S3, STS and SNS over HTTP, SSM and EC2
// stand-ins, a replaying Terraform runner, and one HTTP server playing
// the dashboard (/healthz) and the ingest API (the real ingest handler).
type testEnv struct {
	t      *testing.T
	plan   plan.Plan
	s3     *s3.Client
	s3f    *deploytest.S3Fake
	sts    *sts.Client
	stsf   *deploytest.STSFake
	ssm    *deploytest.SSM
	ec2    *deploytest.EC2
	sns    *awsxtest.SNSFake
	lambda *awsxtest.LambdaFake
	runner *deploytest.Runner
	site   *httptest.Server
	// healthy makes /healthz answer 200.
	healthy bool
	// runnerEnv is the environment the runner was created with.
	runnerEnv map[string]string
	awsCalls  int
	out       bytes.Buffer
	opts      Options
	// sleep, when set, replaces the pipeline's waits (default: none).
	sleep func(context.Context, time.Duration) error
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	e := &testEnv{t: t, healthy: true}
	e.plan = plan.Default()
	e.plan.Name = "prod"
	e.plan.AWS = plan.AWS{Profile: "work", Region: region}
	e.plan.AdminEmail = "ops@example.com"
	e.plan.AlertEmail = "alerts@example.com"
	e.s3, e.s3f = deploytest.NewS3(t, region)
	e.sts, e.stsf = deploytest.NewSTS(t, region)
	e.ssm = &deploytest.SSM{AMI: "ami-0aaaaaaaaaaaaaaaa", Results: map[string]deploytest.CommandResult{
		RestartCommand: {Output: fakeDashboardSHA + "  " + InstalledDashboardBinary + "\n"},
	}}
	e.sns = awsxtest.NewSNS(t)
	e.lambda = awsxtest.NewLambda(t)
	e.ec2 = &deploytest.EC2{Zones: []string{"eu-west-1c", "eu-west-1a", "eu-west-1b"}, PrefixLists: map[string]string{CloudFrontPrefixListName: "pl-4fa04526", "com.amazonaws.eu-west-1.s3": "pl-6da54004"}}
	ih := ingest.New(ingest.Config{RatePerMinute: -1}, ingest.NewKeySet(func(context.Context) (map[string]ingest.Key, error) { return map[string]ingest.Key{}, nil }, ingest.KeySetConfig{}), nil, nil)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if !e.healthy {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	})
	mux.Handle("/api/", ih)
	e.site = httptest.NewServer(mux)
	t.Cleanup(e.site.Close)
	e.runner = &deploytest.Runner{
		PlanStream:  filepath.Join("testdata", "stack-plan.jsonl"),
		ApplyStream: filepath.Join("testdata", "synthetic-stack-apply.jsonl"),
		OutputValues: map[string]string{
			"dashboard_url":         e.site.URL,
			"ingest_url":            e.site.URL,
			"bucket_name":           "flytrap-prod-" + deploytest.Account + "-" + region,
			"queue_url":             "https://sqs.eu-west-1.amazonaws.com/" + deploytest.Account + "/flytrap-prod-events",
			"dlq_url":               "https://sqs.eu-west-1.amazonaws.com/" + deploytest.Account + "/flytrap-prod-events-dlq",
			"alerts_topic_arn":      "arn:aws:sns:eu-west-1:" + deploytest.Account + ":flytrap-prod-alerts",
			"db_endpoint":           "flytrap-prod-db.abc.eu-west-1.rds.amazonaws.com:5432",
			"db_secret_arn":         "arn:aws:secretsmanager:eu-west-1:" + deploytest.Account + ":secret:rds!db-1",
			"dashboard_instance_id": "i-0123456789abcdef0",
		},
	}
	e.opts = Options{Yes: true, Workspace: filepath.Join(t.TempDir(), "ws"), SmokeTimeout: time.Minute}
	return e
}

var fixedNow = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

func (e *testEnv) deps() Deps {
	return Deps{
		AWS: func(ctx context.Context, profile, reg string) (*Clients, error) {
			e.awsCalls++
			if profile != e.plan.AWS.Profile || reg != region {
				e.t.Errorf("AWS clients for %q/%q", profile, reg)
			}
			return &Clients{STS: e.sts, S3: e.s3, SSM: e.ssm, EC2: e.ec2, ENI: e.ec2, PrefixLists: e.ec2, SNS: e.sns.Client(), Lambda: e.lambda.Client()}, nil
		},
		EnsureTerraform: func(_ context.Context, constraint string) (tf.Installed, error) {
			return tf.Installed{Path: "/opt/terraform", Source: "path"}, nil
		},
		NewRunner: func(dir, execPath string, env map[string]string, log io.Writer) (tf.Runner, error) {
			e.runnerEnv = env
			return e.runner, nil
		},
		Runtime:        fakeRuntime,
		RenderUserData: func(in UserDataInput) (string, error) { return "#cloud-config\n# " + in.Prefix + "\n", nil },
		HTTP:           e.site.Client(),
		Getenv:         func(string) string { return "" },
		Environ:        []string{"PATH=/usr/bin", "AWS_PROFILE=other", "AWS_SESSION_TOKEN=secret", "TF_VAR_name=evil"},
		Now:            func() time.Time { return fixedNow },
		Sleep: func(ctx context.Context, d time.Duration) error {
			if e.sleep != nil {
				return e.sleep(ctx, d)
			}
			return nil
		},
	}
}

// fakeRuntime writes artifacts of the right shape.
func fakeRuntime(_ context.Context, dir string, _ io.Writer) (runtimebin.Artifacts, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return runtimebin.Artifacts{}, err
	}
	bin := filepath.Join(dir, "bin")
	if err := os.WriteFile(bin, []byte("\x7fELF fake"), 0o755); err != nil {
		return runtimebin.Artifacts{}, err
	}
	defer os.Remove(bin)
	for _, z := range []string{runtimebin.IngestZip, runtimebin.ProcessorZip} {
		if err := runtimebin.ZipBootstrap(bin, filepath.Join(dir, z)); err != nil {
			return runtimebin.Artifacts{}, err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, runtimebin.DashboardBinary), []byte("\x7fELF fake"), 0o755); err != nil {
		return runtimebin.Artifacts{}, err
	}
	return runtimebin.Artifacts{Source: "test", SHA256: map[string]string{runtimebin.DashboardBinary: fakeDashboardSHA}}, nil
}

// fakeDashboardSHA stands for the SHA-256 of fakeRuntime's dashboard
// binary; the SSM fake's restart reports it as installed.
const fakeDashboardSHA = "9b7f1e1a1d0c1f6a4cfe1ed0a5b3f4e7a3c1d5b9e8f7a6b5c4d3e2f1a0b9c8d7"

func (e *testEnv) run(steps []Step) ([]StepResult, *State, error) {
	e.t.Helper()
	s := NewState(e.plan, e.opts, e.deps(), &e.out)
	res, err := Pipeline{Steps: steps, Out: &e.out, Now: fixedNowFunc}.Run(context.Background(), s)
	if cerr := s.Close(); cerr != nil {
		e.t.Error(cerr)
	}
	return res, s, err
}

func fixedNowFunc() time.Time { return fixedNow }

func names(res []StepResult) []string {
	var out []string
	for _, r := range res {
		out = append(out, r.Name+":"+r.Status)
	}
	return out
}

// putAdmin plays the dashboard's first start: the deployment bucket
// exists and holds the initial admin password.
func (e *testEnv) putAdmin() {
	e.t.Helper()
	bucket := e.runner.OutputValues["bucket_name"]
	ctx := context.Background()
	if _, err := e.s3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		e.t.Fatal(err)
	}
	if err := awsx.PutInitialAdmin(ctx, e.s3, bucket, awsx.InitialAdmin{Email: "ops@example.com", Password: "correct-horse-battery"}); err != nil {
		e.t.Fatal(err)
	}
}

func TestDeployRunsEveryStepInOrder(t *testing.T) {
	e := newTestEnv(t)
	e.putAdmin()
	res, s, err := e.run(DeploySteps())
	if err != nil {
		t.Fatalf("deploy: %v\n%s", err, e.out.String())
	}
	want := []string{
		"credentials:ok", "state-bucket:ok", "resolve:ok", "terraform:ok", "runtime:ok", "workspace:ok",
		"init:ok", "plan:ok", "confirm:skipped", "save-inputs:ok", "migrate:skipped", "apply:ok", "outputs:ok",
		"restart-dashboard:skipped", "smoke-test:ok", "admin-password:ok",
	}
	if got := names(res); !slices.Equal(got, want) {
		t.Errorf("steps:\n got %v\nwant %v", got, want)
	}
	if got := e.runner.Calls(); !slices.Equal(got, []string{"init", "plan", "apply", "output"}) {
		t.Errorf("terraform calls = %v", got)
	}
	bucket := awsx.StateBucketName(deploytest.Account, region)
	if got := e.runner.Inits[0]; !got.Reconfigure || got.NoBackend || got.PluginDir != "" ||
		!slices.Equal(got.BackendConfig, []string{"bucket=" + bucket, "key=prod/terraform.tfstate", "region=eu-west-1", "encrypt=true", "use_lockfile=true"}) {
		t.Errorf("init options = %+v", got)
	}
	if got := e.runner.Applies[0]; got.PlanFile != PlanFileName || e.runner.Plans[0].Out != PlanFileName {
		t.Errorf("apply %+v of plan %+v", got, e.runner.Plans[0])
	}
	// The state bucket was created with its settings.
	for _, sub := range []string{"encryption", "publicAccessBlock", "policy"} {
		if e.s3f.Setting(bucket, sub) == "" {
			t.Errorf("state bucket %s not set", sub)
		}
	}
	// Terraform ran with the plan's profile and region, no TF_VAR_ from
	// outside.
	if e.runnerEnv["AWS_PROFILE"] != "work" || e.runnerEnv["AWS_REGION"] != region || e.runnerEnv["TF_VAR_name"] != "" || e.runnerEnv["AWS_SESSION_TOKEN"] != "secret" {
		t.Errorf("terraform env = %v", e.runnerEnv)
	}
	// Resolved from "AWS": zones in name order, the AMI from SSM.
	if got := s.Resolved; got.AccountID != deploytest.Account || got.AMIID != "ami-0aaaaaaaaaaaaaaaa" || !slices.Equal(got.AvailabilityZones, []string{"eu-west-1a", "eu-west-1b"}) {
		t.Errorf("resolved = %+v", got)
	}
	// The workspace: modules, variables, artifacts; no offline override.
	ws := e.opts.Workspace
	for _, f := range []string{"main.tf", "modules/network/main.tf", VarsFileName, "artifacts/ingest.zip", LogFileName} {
		if _, err := os.Stat(filepath.Join(ws, f)); err != nil {
			t.Errorf("workspace lacks %s", f)
		}
	}
	if _, err := os.Stat(filepath.Join(ws, terraform.OfflineOverrideFileName)); err == nil {
		t.Error("a real deploy left the offline override in the workspace")
	}
	if fi, _ := os.Stat(filepath.Join(ws, VarsFileName)); fi == nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("tfvars mode = %v", fi)
	}
	// The inputs are recorded for teammates.
	raw, err := awsx.StateBucket{Client: e.s3, Name: bucket}.Get(context.Background(), awsx.InputsKey("prod"))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := ParseVars(raw); err != nil || v.AMIID != "ami-0aaaaaaaaaaaaaaaa" || v.IngestZipPath != "artifacts/ingest.zip" {
		t.Errorf("recorded inputs = %+v, %v", v, err)
	}
	// Smoke test and the password, which is gone from the bucket.
	if s.Smoke == nil || !s.Smoke.Ingest.OK || !s.Smoke.Dashboard.OK {
		t.Errorf("smoke = %+v", s.Smoke)
	}
	if s.Admin == nil || s.Admin.Password != "correct-horse-battery" {
		t.Errorf("admin = %+v", s.Admin)
	}
	if _, ok, _ := awsx.TakeInitialAdmin(context.Background(), e.s3, e.runner.OutputValues["bucket_name"]); ok {
		t.Error("the initial password is still in the bucket")
	}

	// The report, as --json prints it.
	rep := s.Report(res, err)
	rep.Outputs.DashboardURL, rep.Outputs.IngestURL = "http://203.0.113.10", "https://abc123.execute-api.eu-west-1.amazonaws.com"
	rep.DSN = rep.Outputs.DSN()
	rep.Workspace = "WORKSPACE"
	rep.Smoke = nil
	b, _ := json.MarshalIndent(rep, "", "  ")
	golden.Check(t, "deploy-report.json.golden", append(b, '\n'))
	var sum bytes.Buffer
	rep.WriteSummary(&sum)
	golden.Check(t, "deploy-summary.golden", sum.Bytes())

	// A second deploy keeps the zones and the AMI although SSM now names a
	// newer image, and the password was shown before.
	e.ssm.AMI = "ami-0bbbbbbbbbbbbbbbb"
	e.ec2.Zones = []string{"eu-west-1b", "eu-west-1c"}
	e.out.Reset()
	_, s2, err := e.run(DeploySteps())
	if err != nil {
		t.Fatalf("redeploy: %v\n%s", err, e.out.String())
	}
	if s2.Resolved.AMIID != "ami-0aaaaaaaaaaaaaaaa" || !slices.Equal(s2.Resolved.AvailabilityZones, []string{"eu-west-1a", "eu-west-1b"}) {
		t.Errorf("redeploy resolved %+v", s2.Resolved)
	}
	if !s2.AdminShownBefore || s2.BucketCreated {
		t.Errorf("redeploy: shown before %v, bucket created %v", s2.AdminShownBefore, s2.BucketCreated)
	}
	// --update-ami moves to the new image, with a warning.
	e.opts.UpdateAMI = true
	_, s3, err := e.run(DeploySteps())
	if err != nil {
		t.Fatal(err)
	}
	if s3.Resolved.AMIID != "ami-0bbbbbbbbbbbbbbbb" || len(s3.Warnings) == 0 || !strings.Contains(s3.Warnings[0], "replaced") {
		t.Errorf("--update-ami: %+v, warnings %v", s3.Resolved, s3.Warnings)
	}
}

func TestDryRunStopsAfterPlan(t *testing.T) {
	e := newTestEnv(t)
	e.opts.DryRun = true
	deps := e.deps()
	deps.AWS = func(context.Context, string, string) (*Clients, error) {
		t.Error("a dry run asked for AWS clients")
		return nil, errors.New("no")
	}
	deps.Getenv = func(k string) string {
		if k == EnvPluginDir {
			return "/mirror"
		}
		return ""
	}
	s := NewState(e.plan, e.opts, deps, &e.out)
	res, err := Pipeline{Steps: DeploySteps(), Out: &e.out, Now: fixedNowFunc}.Run(context.Background(), s)
	s.Close()
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, e.out.String())
	}
	want := []string{"credentials:skipped", "state-bucket:skipped", "resolve:ok", "terraform:ok", "runtime:ok", "workspace:ok", "init:ok", "plan:ok", "confirm:stopped"}
	if got := names(res); !slices.Equal(got, want) {
		t.Errorf("steps:\n got %v\nwant %v", got, want)
	}
	if got := e.runner.Calls(); !slices.Equal(got, []string{"init", "plan"}) {
		t.Errorf("terraform calls = %v", got)
	}
	if got := e.runner.Inits[0]; got.PluginDir != "/mirror" || len(got.BackendConfig) != 0 {
		t.Errorf("init = %+v", got)
	}
	if e.stsf.Calls() != 0 || len(e.s3f.Requests()) != 0 {
		t.Errorf("a dry run called AWS: sts %d, s3 %v", e.stsf.Calls(), e.s3f.Requests())
	}
	// Fake credentials only; the user's profile and session are gone.
	env := e.runnerEnv
	if env["AWS_ACCESS_KEY_ID"] != "flytrap-dry-run" || env["AWS_PROFILE"] != "" || env["AWS_SESSION_TOKEN"] != "" || env["AWS_CONFIG_FILE"] != os.DevNull || env["CHECKPOINT_DISABLE"] != "1" {
		t.Errorf("dry-run env = %v", env)
	}
	ws := e.opts.Workspace
	override, err := os.ReadFile(filepath.Join(ws, terraform.OfflineOverrideFileName))
	if err != nil || string(override) != terraform.OfflineOverride {
		t.Errorf("offline override: %v", err)
	}
	raw, err := os.ReadFile(filepath.Join(ws, VarsFileName))
	if err != nil {
		t.Fatal(err)
	}
	v, err := ParseVars(raw)
	if err != nil {
		t.Fatal(err)
	}
	if v.AccountID != PlaceholderAccountID || v.AMIID != PlaceholderAMIID || !slices.Equal(v.AvailabilityZones, []string{"eu-west-1a", "eu-west-1b"}) || v.DashboardUserData != "#cloud-config\n# flytrap-prod\n" {
		t.Errorf("dry-run vars = %+v", v)
	}
	rep := s.Report(res, nil)
	if rep.Plan == nil || rep.Plan.Add != 74 || !rep.Completed || !rep.DryRun {
		t.Errorf("report = %+v", rep)
	}
	if !strings.Contains(e.out.String(), "Plan: 74 to add, 0 to change, 0 to destroy.") {
		t.Errorf("output lacks the plan line:\n%s", e.out.String())
	}
}

func TestDryRunWithoutTerraformStillWritesTheWorkspace(t *testing.T) {
	e := newTestEnv(t)
	e.opts.DryRun = true
	deps := e.deps()
	deps.EnsureTerraform = func(context.Context, string) (tf.Installed, error) {
		return tf.Installed{}, tf.ErrUnavailable
	}
	s := NewState(e.plan, e.opts, deps, &e.out)
	res, err := Pipeline{Steps: DeploySteps(), Out: &e.out}.Run(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"credentials:skipped", "state-bucket:skipped", "resolve:ok", "terraform:skipped", "runtime:ok", "workspace:ok", "init:skipped", "plan:skipped", "confirm:stopped"}
	if got := names(res); !slices.Equal(got, want) {
		t.Errorf("steps:\n got %v\nwant %v", got, want)
	}
	if _, err := os.Stat(filepath.Join(e.opts.Workspace, VarsFileName)); err != nil {
		t.Error(err)
	}
	// Without a plan, the modules' resources are listed.
	if !strings.Contains(e.out.String(), "aws_db_instance") || !strings.Contains(e.out.String(), "aws_subnet ×2") {
		t.Errorf("no static resource list:\n%s", e.out.String())
	}
	if rep := s.Report(res, nil); rep.Plan == nil || rep.Plan.Skipped == "" {
		t.Errorf("report plan = %+v", rep.Plan)
	}
}

func TestDryRunWhenTheRegistryIsUnreachable(t *testing.T) {
	e := newTestEnv(t)
	e.opts.DryRun = true
	e.runner.InitErr = errors.New("Failed to query available provider packages")
	res, _, err := e.run(DeploySteps())
	if err != nil {
		t.Fatal(err)
	}
	if got := names(res); !slices.Contains(got, "init:skipped") || !slices.Contains(got, "plan:skipped") {
		t.Errorf("steps %v", got)
	}
	if !strings.Contains(e.out.String(), EnvPluginDir) {
		t.Errorf("the skip does not say how to plan offline:\n%s", e.out.String())
	}
}

func TestCredentialErrors(t *testing.T) {
	tests := []struct {
		code     string
		wantMsg  string
		wantHint string
	}{
		{"InvalidClientTokenId", "AWS rejected the credentials", "aws sts get-caller-identity --profile work"},
		{"ExpiredToken", "the AWS credentials have expired", "aws sso login --profile work"},
		{"Throttling", "cannot verify the AWS credentials", "network"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			e := newTestEnv(t)
			e.stsf.ErrorCode = tt.code
			res, _, err := e.run(DeploySteps())
			checkCmdError(t, err, tt.wantMsg, tt.wantHint)
			if got := names(res); !slices.Equal(got, []string{"credentials:failed"}) {
				t.Errorf("steps %v", got)
			}
		})
	}
}

func checkCmdError(t *testing.T, err error, msg, hint string) {
	t.Helper()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v (%T) is not a *deploy.Error", err, err)
	}
	if !strings.Contains(ce.Msg, msg) || !strings.Contains(ce.Hint, hint) {
		t.Errorf("error = %q, hint %q; want %q and %q", ce.Msg, ce.Hint, msg, hint)
	}
}

// TestNoCredentials uses the real SDK configuration with nothing in it:
// no profile files, no environment credentials, no instance metadata.
func TestNoCredentials(t *testing.T) {
	e := newTestEnv(t)
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ENDPOINT_URL_STS", e.stsf.URL)
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	e.plan.AWS.Profile = ""
	deps := e.deps()
	deps.AWS = LoadClients
	s := NewState(e.plan, e.opts, deps, &e.out)
	_, err := Pipeline{Steps: DeploySteps(), Out: &e.out}.Run(context.Background(), s)
	checkCmdError(t, err, "no AWS credentials found", "run `aws configure` or set AWS_PROFILE")
	if ce := (*Error)(nil); errors.As(err, &ce) && ce.Usage {
		t.Errorf("missing credentials are a usage error: %v", err)
	}

	// A profile that is not in the files.
	e.plan.AWS.Profile = "nope"
	s = NewState(e.plan, e.opts, deps, &e.out)
	_, err = Pipeline{Steps: DeploySteps(), Out: &e.out}.Run(context.Background(), s)
	checkCmdError(t, err, `AWS profile "nope" not found`, "aws configure list-profiles")

	// Static credentials in a profile reach the fake STS, signed.
	if err := os.WriteFile(filepath.Join(dir, "credentials"), []byte("[work]\naws_access_key_id = AKIDX\naws_secret_access_key = s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadClients(context.Background(), "work", region)
	if err != nil {
		t.Fatal(err)
	}
	id, err := awsx.CallerIdentity(context.Background(), c.STS)
	if err != nil || id.Account != deploytest.Account {
		t.Errorf("identity %+v, %v", id, err)
	}
}

func TestConfirm(t *testing.T) {
	t.Run("no way to ask", func(t *testing.T) {
		e := newTestEnv(t)
		e.opts.Yes = false
		_, _, err := e.run(DeploySteps())
		checkCmdError(t, err, "needs a confirmation", "--yes")
		if ce := (*Error)(nil); !errors.As(err, &ce) || !ce.Usage {
			t.Errorf("%v is not a usage error", err)
		}
		if slices.Contains(e.runner.Calls(), "apply") {
			t.Error("applied without confirmation")
		}
	})
	t.Run("declined", func(t *testing.T) {
		e := newTestEnv(t)
		e.opts.Yes = false
		var asked string
		e.opts.Confirm = func(_ context.Context, q string) (bool, error) { asked = q; return false, nil }
		res, s, err := e.run(DeploySteps())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(asked, "74 to add") || !strings.Contains(asked, deploytest.Account) {
			t.Errorf("question %q", asked)
		}
		if last := res[len(res)-1]; last.Name != "confirm" || last.Status != "stopped" || !s.Declined {
			t.Errorf("last step %+v, declined %v", last, s.Declined)
		}
		if slices.Contains(e.runner.Calls(), "apply") {
			t.Error("applied after no")
		}
		if rep := s.Report(res, nil); rep.Completed || !rep.Declined {
			t.Errorf("report completed %v declined %v", rep.Completed, rep.Declined)
		}
	})
	t.Run("accepted", func(t *testing.T) {
		e := newTestEnv(t)
		e.putAdmin()
		e.opts.Yes = false
		e.opts.Confirm = func(context.Context, string) (bool, error) { return true, nil }
		if _, _, err := e.run(DeploySteps()); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(e.runner.Calls(), "apply") {
			t.Error("not applied after yes")
		}
	})
	t.Run("no answer", func(t *testing.T) {
		e := newTestEnv(t)
		e.opts.Yes = false
		noAnswer := errors.New("no answer on standard input")
		e.opts.Confirm = func(context.Context, string) (bool, error) { return false, noAnswer }
		_, _, err := e.run(DeploySteps())
		if !errors.Is(err, noAnswer) {
			t.Errorf("err = %v, want the prompt's error", err)
		}
		if slices.Contains(e.runner.Calls(), "apply") {
			t.Error("applied without an answer")
		}
	})
}

func TestApplyFailure(t *testing.T) {
	e := newTestEnv(t)
	e.runner.ApplyStream = filepath.Join("testdata", "synthetic-stack-apply-failed.jsonl")
	e.runner.ApplyErr = errors.New("exit status 1")
	res, s, err := e.run(DeploySteps())
	checkCmdError(t, err, "terraform apply failed: creating RDS DB Instance (flytrap-prod-db)", filepath.Join(e.opts.Workspace, LogFileName))
	var se *StepError
	if !errors.As(err, &se) || se.Step != "apply" {
		t.Errorf("error %v is not the apply step's", err)
	}
	if got := names(res); got[len(got)-1] != "apply:failed" {
		t.Errorf("steps %v", got)
	}
	if s.Applied.Failed != 1 || s.Applied.Done != 73 {
		t.Errorf("applied %d, failed %d", s.Applied.Done, s.Applied.Failed)
	}
	// The inputs were recorded before apply, so a teammate can destroy.
	if _, err := (awsx.StateBucket{Client: e.s3, Name: awsx.StateBucketName(deploytest.Account, region)}).Get(context.Background(), awsx.InputsKey("prod")); err != nil {
		t.Errorf("inputs not recorded: %v", err)
	}
}

func TestSmokeFailures(t *testing.T) {
	t.Run("dashboard never healthy", func(t *testing.T) {
		e := newTestEnv(t)
		e.healthy = false
		clock := fixedNow
		deps := e.deps()
		deps.Now = func() time.Time { return clock }
		var sleeps int
		deps.Sleep = func(_ context.Context, d time.Duration) error { sleeps++; clock = clock.Add(d); return nil }
		s := NewState(e.plan, e.opts, deps, &e.out)
		_, err := Pipeline{Steps: DeploySteps(), Out: &e.out}.Run(context.Background(), s)
		checkCmdError(t, err, "did not become healthy within 1m0s", "aws ssm start-session --target i-0123456789abcdef0")
		if sleeps != 6 {
			t.Errorf("%d waits of 10 s in a minute, want 6", sleeps)
		}
	})
	t.Run("domain not pointed yet", func(t *testing.T) {
		e := newTestEnv(t)
		e.putAdmin()
		e.healthy = false
		e.plan.Domain = "errors.example.com"
		e.opts.SmokeTimeout = time.Nanosecond
		_, s, err := e.run(DeploySteps())
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Warnings) == 0 || !strings.Contains(s.Warnings[len(s.Warnings)-1], "DNS A record") {
			t.Errorf("warnings %v", s.Warnings)
		}
	})
	t.Run("ingest is not Flytrap", func(t *testing.T) {
		e := newTestEnv(t)
		other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"message":"Not Found"}`)
		}))
		defer other.Close()
		e.runner.OutputValues["ingest_url"] = other.URL
		_, _, err := e.run(DeploySteps())
		checkCmdError(t, err, "HTTP 404, want 401", "aws logs tail /aws/lambda/flytrap-prod-ingest")
	})
}

// TestSmokeRetriesIngest: a probe that meets a transient error right after
// apply (here two API Gateway 500s) is retried with growing waits, and a
// probe that never succeeds stops after a bounded number of attempts.
func TestSmokeRetriesIngest(t *testing.T) {
	for _, tt := range []struct {
		name     string
		failures int
		wantErr  bool
	}{
		{"two transient failures", 2, false},
		{"never answers like Flytrap", 1 << 30, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			e.putAdmin()
			var mu sync.Mutex
			probes := 0
			flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				probes++
				n := probes
				mu.Unlock()
				if n <= tt.failures {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusInternalServerError)
					io.WriteString(w, `{"message":"Internal Server Error"}`)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `{"error":{"code":"missing_auth"}}`)
			}))
			defer flaky.Close()
			e.runner.OutputValues["ingest_url"] = flaky.URL
			var slept []time.Duration
			e.sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
			_, _, err := e.run(DeploySteps())
			if tt.wantErr {
				checkCmdError(t, err, "HTTP 500, want 401", "aws logs tail /aws/lambda/flytrap-prod-ingest")
				if probes != len(ingestProbeBackoff) {
					t.Errorf("%d probes, want %d", probes, len(ingestProbeBackoff))
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, e.out.String())
			}
			if probes != 3 || len(slept) < 2 || slept[0] != 2*time.Second || slept[1] != 4*time.Second {
				t.Errorf("%d probes, sleeps %v: want 3 probes after waits of 2s and 4s", probes, slept)
			}
		})
	}
}

func TestProbeIngest(t *testing.T) {
	ih := ingest.New(ingest.Config{RatePerMinute: -1}, ingest.NewKeySet(func(context.Context) (map[string]ingest.Key, error) { return nil, nil }, ingest.KeySetConfig{}), nil, nil)
	srv := httptest.NewServer(ih)
	defer srv.Close()
	if got := ProbeIngest(context.Background(), srv.Client(), srv.URL+"/"); !got.OK || got.Status != 401 || got.URL != srv.URL+ProbePath {
		t.Errorf("probe of the real handler = %+v", got)
	}
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"message":"Unauthorized"}`)
	}))
	defer gw.Close()
	if got := ProbeIngest(context.Background(), gw.Client(), gw.URL); got.OK || !strings.Contains(got.Error, "not the ingest function") {
		t.Errorf("probe of an API Gateway 401 = %+v", got)
	}
	if got := ProbeIngest(context.Background(), http.DefaultClient, "http://127.0.0.1:1"); got.OK || got.Error == "" {
		t.Errorf("probe of nothing = %+v", got)
	}
}

func TestRestartAfterUpgrade(t *testing.T) {
	e := newTestEnv(t)
	e.putAdmin()
	// A plan that updates the binary object in place.
	plan := filepath.Join(t.TempDir(), "upgrade.jsonl")
	lines := []string{
		`{"@level":"info","@message":"module.dashboard.aws_s3_object.binary: Plan to update","@timestamp":"2026-11-22T09:00:00Z","change":{"resource":{"addr":"module.dashboard.aws_s3_object.binary","module":"module.dashboard","resource_type":"aws_s3_object","resource_name":"binary"},"action":"update"},"type":"planned_change"}`,
		`{"@level":"info","@message":"Plan: 0 to add, 1 to change, 0 to destroy.","@timestamp":"2026-11-22T09:00:00Z","changes":{"add":0,"change":1,"import":0,"remove":0,"operation":"plan"},"type":"change_summary"}`,
	}
	if err := os.WriteFile(plan, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.runner.PlanStream = plan
	e.runner.ApplyStream = ""
	res, s, err := e.run(DeploySteps())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(names(res), "restart-dashboard:ok") || !s.Restarted {
		t.Errorf("steps %v", names(res))
	}
	if !e.ssm.Polled(2) {
		t.Error("the restart's result was not awaited")
	}
	// The migration first (TestUpgradeMigratesBeforeFunctions), then the
	// restart.
	if len(e.ssm.Commands) != 2 || e.ssm.Commands[1].InstanceIds[0] != "i-0123456789abcdef0" || e.ssm.Commands[1].Parameters["commands"][0] != RestartCommand {
		t.Errorf("SSM commands %+v", e.ssm.Commands)
	}
}

// TestRestartFailures: the restart is awaited, so a service that fails to
// start on the new binary, or starts another binary than the uploaded one,
// fails the deploy instead of passing a smoke test the old process answers.
func TestRestartFailures(t *testing.T) {
	for _, tt := range []struct {
		name   string
		result deploytest.CommandResult
		msg    string
	}{
		{"start fails", deploytest.CommandResult{Status: ssmtypes.CommandInvocationStatusFailed}, "the dashboard did not restart on its new binary"},
		{"old binary", deploytest.CommandResult{Output: strings.Repeat("0", 64) + "  " + InstalledDashboardBinary + "\n"}, "not this deploy's " + fakeDashboardSHA},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			e.putAdmin()
			e.runner.PlanStream = upgradePlan(t)
			e.ssm.Results[RestartCommand] = tt.result
			res, _, err := e.run(DeploySteps())
			checkCmdError(t, err, tt.msg, "journalctl -u "+DashboardUnit)
			if got := names(res); got[len(got)-1] != "restart-dashboard:failed" {
				t.Errorf("steps %v", got)
			}
		})
	}
}

func TestChooseZones(t *testing.T) {
	tests := []struct {
		zones, offered []string
		want           []string
		err            string
	}{
		{[]string{"us-east-1b", "us-east-1a", "us-east-1e"}, nil, []string{"us-east-1a", "us-east-1b"}, ""},
		{[]string{"us-east-1a", "us-east-1b", "us-east-1e"}, []string{"us-east-1b", "us-east-1e"}, []string{"us-east-1b", "us-east-1e"}, ""},
		{[]string{"us-east-1a", "us-east-1b"}, []string{"us-east-1b"}, []string{"us-east-1b", "us-east-1a"}, ""},
		{[]string{"us-east-1a"}, nil, nil, "needs 2"},
		{[]string{"us-east-1a", "us-east-1b"}, []string{}, nil, "no availability zone of the region offers"},
	}
	for _, tt := range tests {
		got, err := ChooseZones(context.Background(), &deploytest.EC2{Zones: tt.zones, Offered: tt.offered}, "t4g.small")
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ChooseZones(%v, %v) = %v, %v; want error %q", tt.zones, tt.offered, got, err, tt.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ChooseZones(%v, %v) = %v, %v; want %v", tt.zones, tt.offered, got, err, tt.want)
		}
	}
}

func TestGroupChanges(t *testing.T) {
	mk := func(action, module, typ string) tf.Change {
		return tf.Change{Action: action, Resource: tf.Resource{Module: module, ResourceType: typ}}
	}
	got := GroupChanges([]tf.Change{
		mk("delete", "module.dashboard", "aws_instance"),
		mk("create", "module.network", "aws_subnet"),
		mk("create", "module.network", "aws_subnet"),
		mk("create", "module.network", "aws_vpc"),
		mk("create", "", "terraform_data"),
		mk("replace", "module.dashboard", "aws_instance"),
	})
	want := []ChangeGroup{
		{"create", "(root)", 1, "terraform_data"},
		{"create", "network", 3, "aws_subnet ×2, aws_vpc"},
		{"replace", "dashboard", 1, "aws_instance"},
		{"delete", "dashboard", 1, "aws_instance"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("GroupChanges:\n got %+v\nwant %+v", got, want)
	}
}

func TestStandInArtifacts(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a", "ingest.zip")
	if err := writeStandIn(p); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(p)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" {
		t.Errorf("stand-in zip holds %v", zr.File)
	}
	// An existing file is kept.
	keep := filepath.Join(dir, "bin")
	os.WriteFile(keep, []byte("real"), 0o644)
	if err := writeStandIn(keep); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(keep); string(b) != "real" {
		t.Error("an existing artifact was replaced")
	}
}
