package initcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	"github.com/getflytrap/flytrap/internal/deploy"
	"github.com/getflytrap/flytrap/internal/deploy/deploytest"
	"github.com/getflytrap/flytrap/internal/plan"
	"github.com/getflytrap/flytrap/internal/runtimebin"
	"github.com/getflytrap/flytrap/internal/testutil/golden"
)

type result struct {
	out, errOut string
	err         error
}

// awsEnv are the variables the AWS SDK reads from the process environment
// (it has no getenv to inject): execute sets them from the test's env, so
// the account checks see the test's shared files and nothing of the
// machine's (no keys, no instance role).
var awsEnv = []string{"AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION",
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_MAX_ATTEMPTS"}

// execute runs `flytrap init args...` in dir with env and stdin.
func execute(t *testing.T, dir string, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	for _, k := range awsEnv {
		t.Setenv(k, env[k])
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	var out, errOut bytes.Buffer
	f := &cmdutil.Factory{
		IO:     &cmdutil.IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut},
		Getenv: func(k string) string { return env[k] },
	}
	cmd := NewCmd(f)
	// Paths relative to dir, and a home with the test's ~/.aws.
	for i, a := range args {
		if a == "-o" && i+1 < len(args) {
			args[i+1] = filepath.Join(dir, args[i+1])
		}
	}
	if !contains(args, "-o") {
		args = append(args, "-o", filepath.Join(dir, plan.DefaultFile))
	}
	cmd.SetArgs(args)
	cmd.SetIn(f.IO.In)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err := cmd.ExecuteContext(context.Background())
	return result{out.String(), errOut.String(), err}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// home makes a home folder with a shared AWS config.
func home(t *testing.T) string {
	t.Helper()
	h := t.TempDir()
	os.MkdirAll(filepath.Join(h, ".aws"), 0o755)
	os.WriteFile(filepath.Join(h, ".aws", "config"), []byte("[default]\nregion = us-east-2\n[profile work]\nregion = eu-west-1\n"), 0o644)
	return h
}

func envWith(h string, kv ...string) map[string]string {
	m := map[string]string{
		"AWS_CONFIG_FILE":             filepath.Join(h, ".aws", "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(h, ".aws", "credentials"),
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestInitYes(t *testing.T) {
	h := home(t)
	tests := []struct {
		name  string
		env   map[string]string
		args  []string
		check func(t *testing.T, p plan.Plan)
	}{
		{
			name: "defaults from the default profile",
			env:  envWith(h),
			args: []string{"--yes", "--name", "prod", "--admin-email", "ops@example.com"},
			check: func(t *testing.T, p plan.Plan) {
				if p.AWS.Profile != "default" || p.AWS.Region != "us-east-2" || p.Size != "small" || p.AlertEmail != "" || !p.DBDeletionProtection ||
					p.Retention != (plan.Retention{Days: 90, PerIssue: 10000}) || p.IngestRateLimit != plan.DefaultIngestRateLimit {
					t.Errorf("plan %+v", p)
				}
			},
		},
		{
			name: "AWS_PROFILE picks the profile and its region",
			env:  envWith(h, "AWS_PROFILE", "work"),
			args: []string{"--yes", "--name", "prod", "--admin-email", "ops@example.com"},
			check: func(t *testing.T, p plan.Plan) {
				if p.AWS.Profile != "work" || p.AWS.Region != "eu-west-1" {
					t.Errorf("plan %+v", p)
				}
			},
		},
		{
			name: "AWS_REGION wins over the profile",
			env:  envWith(h, "AWS_PROFILE", "work", "AWS_REGION", "ap-south-1"),
			args: []string{"--yes", "--name", "prod", "--admin-email", "ops@example.com"},
			check: func(t *testing.T, p plan.Plan) {
				if p.AWS.Region != "ap-south-1" {
					t.Errorf("plan %+v", p)
				}
			},
		},
		{
			name: "every flag",
			env:  envWith(h),
			args: []string{"--yes", "--name", "staging", "--admin-email", "ops@example.com", "--alert-email", "alerts@example.com",
				"--domain", "Errors.Example.com", "--region", "eu-central-1", "--profile", "work", "--size", "large",
				"--log-retention", "90", "--db-deletion-protection=false", "--tag", "team=errors", "--tag", "cost-center=42",
				"--retention-days", "30", "--retention-per-issue", "0", "--ingest-rate-limit", "-1",
				"--max-live-streams", "40", "--max-live-streams-per-user", "4", "--min-upload-rate", "256", "--max-conns-per-client", "32"},
			check: func(t *testing.T, p plan.Plan) {
				if p.Name != "staging" || p.AWS != (plan.AWS{Profile: "work", Region: "eu-central-1"}) || p.Domain != "errors.example.com" ||
					p.Size != "large" || p.LogRetentionDays != 90 || p.DBDeletionProtection || p.Tags["team"] != "errors" || p.Tags["cost-center"] != "42" || p.AlertEmail != "alerts@example.com" ||
					p.Retention != (plan.Retention{Days: 30, PerIssue: 0}) || p.IngestRateLimit != plan.RateLimitNone ||
					p.MaxLiveStreams != 40 || p.MaxLiveStreamsPerUser != 4 || p.MinUploadRate != 256 || p.MaxConnsPerClient != 32 {
					t.Errorf("plan %+v", p)
				}
			},
		},
		{
			name: "individual sizes make it custom",
			env:  envWith(h),
			args: []string{"--yes", "--name", "prod", "--admin-email", "ops@example.com", "--db-instance-class", "db.t4g.small", "--db-storage", "40"},
			check: func(t *testing.T, p plan.Plan) {
				if p.Size != plan.SizeCustom || p.Sizes.DBInstanceClass != "db.t4g.small" || p.Sizes.DBAllocatedStorageGB != 40 || p.Sizes.DashboardInstanceType != "t4g.small" {
					t.Errorf("plan %+v", p)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			r := execute(t, dir, tt.env, "", tt.args...)
			if r.err != nil {
				t.Fatalf("init: %v\n%s%s", r.err, r.out, r.errOut)
			}
			path := filepath.Join(dir, plan.DefaultFile)
			p, err := plan.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, p)
			if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
				t.Errorf("mode %v", fi.Mode())
			}
			// The test's profiles have no credentials: the account checks
			// are skipped, with a line saying so.
			if !strings.Contains(r.out, "Estimated monthly cost: about $") || !strings.Contains(r.out, "flytrap deploy --dry-run") ||
				!strings.HasPrefix(r.out, "Skipped the online checks (no AWS credentials for profile ") {
				t.Errorf("output:\n%s", r.out)
			}
		})
	}
}

// TestInitErrors: each mistake gets its own message naming its flag (all
// of them in testdata/init-errors.golden); only missing required values
// make the plan "incomplete".
func TestInitErrors(t *testing.T) {
	h := home(t)
	yes := []string{"--yes", "--name", "prod", "--admin-email", "ops@example.com"}
	tests := []struct {
		name     string
		env      []string
		args     []string
		wantMsg  string
		wantHint string
	}{
		{"missing name", nil, []string{"--yes", "--admin-email", "ops@example.com"}, "--name (name): a deployment name is required", "--name and --admin-email are required"},
		{"region typo", nil, slices.Concat(yes, []string{"--region", "eu-wets-1"}), `--region (aws.region): "eu-wets-1" is not an AWS region (did you mean eu-west-1?)`, ""},
		{"instance type typo", nil, slices.Concat(yes, []string{"--dashboard-instance-type", "t4g.smal"}), `t4g has no size "smal"`, ""},
		{"instance family typo", nil, slices.Concat(yes, []string{"--dashboard-instance-type", "m7gq.large"}), `"m7gq" is not a Graviton EC2 family (did you mean m7g?)`, ""},
		{"db class typo", nil, slices.Concat(yes, []string{"--db-instance-class", "db.t4g.mirco"}), `db.t4g has no size "mirco"`, ""},
		{"profile from AWS_PROFILE missing", []string{"AWS_PROFILE", "nope"}, yes, `--profile (aws.profile): AWS profile "nope" is not in the shared AWS config (it has default, work)`, ""},
		{"ingest domain without zone", nil, slices.Concat(yes, []string{"--ingest-domain", "ingest.example.com"}), "--ingest-zone-id (ingest_zone_id): the ingest domain needs the Route 53 hosted zone", ""},
		{"aws: tag", nil, slices.Concat(yes, []string{"--tag", "aws:owner=me"}), `--tag (tags): tag "aws:owner": keys must not start with "aws:"`, ""},
		{"missing admin", nil, []string{"--yes", "--name", "prod"}, "admin_email", "--name and --admin-email are required"},
		{"bad name", nil, []string{"--yes", "--name", "Prod!", "--admin-email", "ops@example.com"}, "must be 3-21 characters", ""},
		{"x86 type", nil, []string{"--yes", "--name", "prod", "--admin-email", "ops@example.com", "--dashboard-instance-type", "t3.small"}, "not a Graviton", ""},
		{"bad size", nil, []string{"--yes", "--name", "prod", "--admin-email", "ops@example.com", "--size", "huge"}, `--size "huge"`, "custom"},
		{"repeated tag", nil, slices.Concat(yes, []string{"--tag", "Team=a", "--tag", "Team=b"}), "--tag Team is given twice", "give each tag key once"},
		{"tags differing in case", nil, slices.Concat(yes, []string{"--tag", "Team=a", "--tag", "owner=x", "--tag", "team=c"}), "--tag Team and --tag team differ only in case; AWS tag keys are case-insensitive", "give each tag key once"},
		{"bad tag", nil, []string{"--yes", "--name", "prod", "--admin-email", "ops@example.com", "--tag", "novalue"}, "KEY=VALUE", ""},
		{"negative retention", nil, []string{"--yes", "--name", "prod", "--admin-email", "ops@example.com", "--retention-days", "-1"}, "--retention-days (retention.days): -1 must be from 0", ""},
		{"live streams out of range", nil, slices.Concat(yes, []string{"--max-live-streams-per-user", "-3"}), "--max-live-streams-per-user (max_live_streams_per_user): -3 must be from 1 to 100000 live streams", ""},
		{"rate limit out of range", nil, slices.Concat(yes, []string{"--ingest-rate-limit", "-2"}), "--ingest-rate-limit (ingest_rate_limit): -2 must be a number of events per minute from 1 to 1000000, or -1 for no limit", ""},
		// 0 in a plan is the default, which 0 on the flag does not ask for.
		{"rate limit 0", nil, slices.Concat(yes, []string{"--ingest-rate-limit", "0"}), "--ingest-rate-limit (ingest_rate_limit): 0 must be a number of events per minute from 1 to 1000000, or -1 for no limit", ""},
		{"live streams 0", nil, slices.Concat(yes, []string{"--max-live-streams", "0"}), "--max-live-streams (max_live_streams): 0 must be from 1 to 100000 live streams", ""},
		{"live streams per user 0", nil, slices.Concat(yes, []string{"--max-live-streams-per-user", "0"}), "--max-live-streams-per-user (max_live_streams_per_user): 0 must be from 1 to 100000 live streams", ""},
		{"upload rate 0", nil, slices.Concat(yes, []string{"--min-upload-rate", "0"}), "--min-upload-rate (min_upload_rate): 0 must be from 1 to 1048576 bytes per second", ""},
	}
	var all bytes.Buffer
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			r := execute(t, dir, envWith(h, tt.env...), "", slices.Clone(tt.args)...)
			var ce *cmdutil.Error
			if !errors.As(r.err, &ce) {
				t.Fatalf("error %v is not a cmdutil.Error", r.err)
			}
			if ce.Code != cmdutil.ExitUsage || !strings.Contains(ce.Msg, tt.wantMsg) || !strings.Contains(ce.Hint, tt.wantHint) {
				t.Errorf("error %q (hint %q, code %d); want %q, %q", ce.Msg, ce.Hint, ce.Code, tt.wantMsg, tt.wantHint)
			}
			if strings.Contains(ce.Msg, "incomplete") != strings.HasPrefix(tt.name, "missing") {
				t.Errorf("%q: only missing values make the plan incomplete", ce.Msg)
			}
			fmt.Fprintf(&all, "== %s\nerror: %s\nhint:  %s\n\n", tt.name, ce.Msg, ce.Hint)
			if _, err := os.Stat(filepath.Join(dir, plan.DefaultFile)); err == nil {
				t.Error("an invalid plan was written")
			}
		})
	}
	golden.Check(t, "init-errors.golden", all.Bytes())
}

// TestInitReportsAllBadValues: a 0 refused on a flag whose 0 in a plan
// means the default is reported with the plan's other wrong values, not
// alone before them.
func TestInitReportsAllBadValues(t *testing.T) {
	r := execute(t, t.TempDir(), envWith(home(t)), "", "--yes", "--name", "prod", "--admin-email", "ops@example.com",
		"--ingest-rate-limit", "0", "--max-live-streams", "0", "--log-retention", "4", "--domain", "not a domain")
	var ce *cmdutil.Error
	if !errors.As(r.err, &ce) || ce.Code != cmdutil.ExitUsage {
		t.Fatalf("error %v, want a usage error", r.err)
	}
	for _, want := range []string{"--ingest-rate-limit (ingest_rate_limit): 0 must be", "--max-live-streams (max_live_streams): 0 must be", "(log_retention_days): 4 is not one of", "(domain):"} {
		if !strings.Contains(ce.Msg, want) {
			t.Errorf("error lacks %q:\n%s", want, ce.Msg)
		}
	}
}

func TestInitExistingPlan(t *testing.T) {
	h := home(t)
	dir := t.TempDir()
	if r := execute(t, dir, envWith(h), "", "--yes", "--name", "prod", "--admin-email", "ops@example.com", "--size", "medium"); r.err != nil {
		t.Fatal(r.err)
	}
	r := execute(t, dir, envWith(h), "", "--yes", "--name", "other")
	if r.err == nil || !strings.Contains(r.err.Error(), "exists") {
		t.Fatalf("overwrote without --force: %v", r.err)
	}
	// With --force the old values are the defaults: only the name changes.
	if r := execute(t, dir, envWith(h), "", "--yes", "--force", "--name", "other"); r.err != nil {
		t.Fatal(r.err)
	}
	p, err := plan.Load(filepath.Join(dir, plan.DefaultFile))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "other" || p.AdminEmail != "ops@example.com" || p.Size != "medium" {
		t.Errorf("plan %+v", p)
	}
}

// TestInitForceUnreadablePlan: --force over a plan init cannot load
// starts from the same defaults as a first init: the profile and region
// from the environment and the shared config, not us-east-1.
func TestInitForceUnreadablePlan(t *testing.T) {
	h := home(t)
	for _, tt := range []struct {
		name            string
		env             []string
		profile, region string
	}{
		{"AWS_REGION", []string{"AWS_REGION", "ap-south-1"}, "default", "ap-south-1"},
		{"AWS_PROFILE", []string{"AWS_PROFILE", "work"}, "work", "eu-west-1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, plan.DefaultFile), []byte("name: [not a plan\n"), 0o644)
			if r := execute(t, dir, envWith(h, tt.env...), "", "--yes", "--force", "--name", "prod", "--admin-email", "ops@example.com"); r.err != nil {
				t.Fatal(r.err)
			}
			p, err := plan.Load(filepath.Join(dir, plan.DefaultFile))
			if err != nil {
				t.Fatal(err)
			}
			if p.AWS.Profile != tt.profile || p.AWS.Region != tt.region {
				t.Errorf("profile %q, region %q; want %q, %q", p.AWS.Profile, p.AWS.Region, tt.profile, tt.region)
			}
		})
	}
}

// TestInitPrompts answers the questions on a non-terminal stdin: the
// wizard's accessible mode, line by line.
func TestInitPrompts(t *testing.T) {
	h := home(t)
	dir := t.TempDir()
	// Asked: profile (3 = work), region (keep), name, admin, alert, domain, size.
	stdin := "3\n\nprod\nops@example.com\n\n\n2\n"
	r := execute(t, dir, envWith(h), stdin)
	if r.err != nil {
		t.Fatalf("init: %v\n%s", r.err, r.out)
	}
	p, err := plan.Load(filepath.Join(dir, plan.DefaultFile))
	if err != nil {
		t.Fatal(err)
	}
	if p.AWS.Profile != "work" || p.AWS.Region != "eu-west-1" || p.Name != "prod" || p.AdminEmail != "ops@example.com" || p.Size != "medium" {
		t.Errorf("plan %+v", p)
	}
	if !strings.Contains(r.out, "Deployment name") {
		t.Errorf("no prompts in the output:\n%s", r.out)
	}
	// Stdin ends before the admin: the error names what is missing.
	r = execute(t, t.TempDir(), envWith(h), "1\n\nprod\n")
	if r.err == nil || !strings.Contains(r.err.Error(), "admin_email") {
		t.Errorf("incomplete answers: %v", r.err)
	}
}

func TestInitJSON(t *testing.T) {
	h := home(t)
	dir := t.TempDir()
	r := execute(t, dir, envWith(h), "", "--yes", "--json", "--name", "prod", "--admin-email", "ops@example.com")
	if r.err != nil {
		t.Fatal(r.err)
	}
	var got struct {
		Path     string        `json:"path"`
		Plan     plan.Plan     `json:"plan"`
		Estimate plan.Estimate `json:"estimate"`
	}
	if err := json.Unmarshal([]byte(r.out), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r.out)
	}
	if got.Plan.Name != "prod" || got.Estimate.TotalUSD < 30 || len(got.Estimate.Items) == 0 {
		t.Errorf("JSON %+v", got)
	}
}

// TestInitWarnsPlainHTTP: without a domain the dashboard is HTTPS through
// CloudFront and nothing is warned about; --plain-http is allowed but init
// says loudly that sign-in will cross the internet unencrypted; and
// --plain-http with a domain is refused, naming the flag.
func TestInitWarnsPlainHTTP(t *testing.T) {
	h := home(t)
	for _, tc := range []struct {
		name               string
		args               []string
		wantOut, wantErr   string
		wantWarn, wantPlan bool
	}{
		{"no domain", nil, "Dashboard: https://<id>.cloudfront.net through CloudFront", "", false, false},
		{"domain", []string{"--domain", "errors.example.com"}, "Dashboard: https://errors.example.com (a Let's Encrypt certificate", "", false, false},
		{"plain http", []string{"--plain-http"}, "Dashboard: http://<elastic ip> (plain HTTP", "", true, true},
		{"plain http and a domain", []string{"--plain-http", "--domain", "errors.example.com"}, "", "--plain-http (plain_http): a domain gets HTTPS", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			r := execute(t, dir, envWith(h), "", append([]string{"--yes", "--name", "prod", "--admin-email", "ops@example.com"}, tc.args...)...)
			if tc.wantErr != "" {
				if r.err == nil || !strings.Contains(r.err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", r.err, tc.wantErr)
				}
				return
			}
			if r.err != nil || !strings.Contains(r.out, tc.wantOut) {
				t.Fatalf("err %v; output lacks %q:\n%s", r.err, tc.wantOut, r.out)
			}
			if warned := strings.Contains(r.out, "\nWARNING: "+plan.PlainHTTPWarning+"\n"); warned != tc.wantWarn {
				t.Errorf("plain HTTP warning %v, want %v:\n%s", warned, tc.wantWarn, r.out)
			}
			p, err := plan.Load(filepath.Join(dir, plan.DefaultFile))
			if err != nil || p.PlainHTTP != tc.wantPlan {
				t.Errorf("saved plan_http %v (%v), want %v", p.PlainHTTP, err, tc.wantPlan)
			}
		})
	}
}

// TestInitAccountCheck runs the whole `flytrap init --yes` path with the
// real SDK clients pointed at the protocol fakes by AWS_ENDPOINT_URL, as
// for a user with credentials; the messages are in
// testdata/init-account.golden.
func TestInitAccountCheck(t *testing.T) {
	h := home(t)
	if err := os.WriteFile(filepath.Join(h, ".aws", "credentials"), []byte("[work]\naws_access_key_id = AKIDINIT\naws_secret_access_key = init-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	yes := []string{"--yes", "--name", "prod", "--admin-email", "ops@example.com", "--profile", "work"}
	var all bytes.Buffer
	// record keeps what the account checks printed: the output before
	// "Wrote", or the error.
	record := func(name string, r result) {
		fmt.Fprintf(&all, "== %s\n", name)
		if before, _, ok := strings.Cut(r.out, "Wrote "); ok {
			all.WriteString(before)
		}
		var ce *cmdutil.Error
		if errors.As(r.err, &ce) {
			fmt.Fprintf(&all, "error: %s\nhint:  %s\n", ce.Msg, ce.Hint)
		}
		fmt.Fprintln(&all)
	}
	run := func(t *testing.T, f *deploytest.AccountFake, dir string, args ...string) result {
		t.Helper()
		return execute(t, dir, envWith(h, "AWS_ENDPOINT_URL", f.URL, "AWS_MAX_ATTEMPTS", "1"), "", args...)
	}

	t.Run("all good", func(t *testing.T) {
		f := deploytest.NewAccount(t)
		dir := t.TempDir()
		r := run(t, f, dir, yes...)
		record("all good", r)
		want := "Checked with AWS account 111122223333: region eu-west-1 is enabled; t4g.small is offered in eu-west-1a, the dashboard's zone (zones eu-west-1a, eu-west-1b); db.t4g.micro is orderable for PostgreSQL 17; CloudFront can reach the dashboard in eu-west-1 (prefix list pl-4fa04526); Lambda concurrency quota in eu-west-1: 1000 concurrent executions; the processor takes at most 5.\n"
		if r.err != nil || !strings.HasPrefix(r.out, want) {
			t.Fatalf("err %v; output:\n%s", r.err, r.out)
		}
		if _, err := plan.Load(filepath.Join(dir, plan.DefaultFile)); err != nil {
			t.Error(err)
		}
	})
	t.Run("values the account cannot use", func(t *testing.T) {
		f := deploytest.NewAccount(t)
		dir := t.TempDir()
		r := run(t, f, dir, slices.Concat(yes, []string{"--dashboard-instance-type", "c8g.large", "--db-instance-class", "db.r7g.large"})...)
		record("values the account cannot use", r)
		var ce *cmdutil.Error
		if !errors.As(r.err, &ce) || ce.Code != cmdutil.ExitUsage ||
			!strings.Contains(ce.Msg, "\n  --dashboard-instance-type (sizes.dashboard_instance_type): c8g.large is not offered") ||
			!strings.Contains(ce.Msg, "\n  --db-instance-class (sizes.db_instance_class): db.r7g.large cannot be ordered for PostgreSQL 17 in eu-west-1; orderable classes include db.m7g.large") ||
			!strings.Contains(ce.Hint, "--offline") {
			t.Fatalf("error %v", r.err)
		}
		if _, err := os.Stat(filepath.Join(dir, plan.DefaultFile)); err == nil {
			t.Error("a plan the account cannot deploy was written")
		}
	})
	t.Run("no permission for RDS", func(t *testing.T) {
		f := deploytest.NewAccount(t)
		f.Denied["DescribeOrderableDBInstanceOptions"] = true
		r := run(t, f, t.TempDir(), yes...)
		record("no permission for RDS", r)
		if r.err != nil || !strings.Contains(r.out, "WARNING: could not check whether db.t4g.micro can be ordered: the credentials lack rds:DescribeOrderableDBInstanceOptions\n") ||
			!strings.Contains(r.out, "Checked with AWS account 111122223333: region eu-west-1 is enabled; t4g.small is offered") {
			t.Fatalf("err %v; output:\n%s", r.err, r.out)
		}
	})
	t.Run("low Lambda concurrency quota", func(t *testing.T) {
		f := deploytest.NewAccount(t)
		f.LambdaConcurrency, f.LambdaUnreserved = 10, 10
		dir := t.TempDir()
		r := run(t, f, dir, yes...)
		record("low Lambda concurrency quota", r)
		// deploy's warning, word for word: init runs the same check.
		want := "WARNING: " + deploy.CheckLambdaQuota(context.Background(), lowQuota{}, "eu-west-1", "work", 5).Warning + "\n"
		if r.err != nil || !strings.Contains(r.out, want) || !strings.Contains(r.out, "--desired-value 1000 --region eu-west-1 --profile work\n") {
			t.Fatalf("err %v; output:\n%s\nwant %q", r.err, r.out, want)
		}
		// A warning: the plan is written all the same.
		if _, err := plan.Load(filepath.Join(dir, plan.DefaultFile)); err != nil {
			t.Error(err)
		}
	})
	t.Run("no permission for Lambda", func(t *testing.T) {
		f := deploytest.NewAccount(t)
		f.Denied["GetAccountSettings"] = true
		r := run(t, f, t.TempDir(), yes...)
		record("no permission for Lambda", r)
		if r.err != nil || !strings.Contains(r.out, "WARNING: Lambda concurrency quota not checked: the credentials lack lambda:GetAccountSettings") {
			t.Fatalf("err %v; output:\n%s", r.err, r.out)
		}
	})
	t.Run("no credentials", func(t *testing.T) {
		f := deploytest.NewAccount(t)
		r := run(t, f, t.TempDir(), "--yes", "--name", "prod", "--admin-email", "ops@example.com", "--profile", "default")
		record("no credentials", r)
		want := `Skipped the online checks (no AWS credentials for profile "default"): region, instance type and DB class were checked against Flytrap's built-in lists only.` + "\n"
		if r.err != nil || !strings.HasPrefix(r.out, want) || len(f.Calls()) != 0 {
			t.Fatalf("err %v, calls %v; output:\n%s", r.err, f.Calls(), r.out)
		}
	})
	t.Run("offline", func(t *testing.T) {
		f := deploytest.NewAccount(t)
		r := run(t, f, t.TempDir(), slices.Concat(yes, []string{"--offline", "--db-instance-class", "db.r7g.large"})...)
		if r.err != nil || len(f.Calls()) != 0 || strings.Contains(r.out, "Skipped") || strings.Contains(r.out, "Checked") {
			t.Fatalf("err %v, calls %v; output:\n%s", r.err, f.Calls(), r.out)
		}
	})
	t.Run("json", func(t *testing.T) {
		f := deploytest.NewAccount(t)
		r := run(t, f, t.TempDir(), slices.Concat(yes, []string{"--json"})...)
		var got struct {
			AccountCheck deploy.AccountReport `json:"account_check"`
		}
		if err := json.Unmarshal([]byte(r.out), &got); err != nil || r.err != nil {
			t.Fatalf("err %v; stdout is not JSON (%v):\n%s", r.err, err, r.out)
		}
		if got.AccountCheck.Account != deploytest.Account || !slices.Equal(got.AccountCheck.Zones, []string{"eu-west-1a", "eu-west-1b"}) ||
			!strings.HasPrefix(r.errOut, "Checked with AWS account") {
			t.Errorf("account_check %+v; stderr:\n%s", got.AccountCheck, r.errOut)
		}
	})
	golden.Check(t, "init-account.golden", all.Bytes())
}

// lowQuota answers GetAccountSettings with a new account's quota of 10.
type lowQuota struct{}

func (lowQuota) GetAccountSettings(context.Context, *lambda.GetAccountSettingsInput, ...func(*lambda.Options)) (*lambda.GetAccountSettingsOutput, error) {
	return &lambda.GetAccountSettingsOutput{AccountLimit: &lambdatypes.AccountLimit{ConcurrentExecutions: 10, UnreservedConcurrentExecutions: aws.Int32(10)}}, nil
}

// init's next step is deploy, which a development build (go build, go run)
// can only run from its checkout, where it cross-compiles the runtime
// binaries: outside one, init says where to run it and how to build a
// flytrap that deploys from anywhere.
func TestInitNextStep(t *testing.T) {
	if runtimebin.Embedded() {
		t.Skip("an embedruntime build deploys from anywhere")
	}
	h := home(t)
	checkout := runtimebin.Checkout()
	if checkout == "" {
		t.Fatal("the test binary does not know its checkout")
	}
	next := func(t *testing.T, env map[string]string) string {
		t.Helper()
		dir := t.TempDir()
		r := execute(t, dir, env, "", "--yes", "--offline", "--name", "prod", "--admin-email", "ops@example.com")
		if r.err != nil {
			t.Fatal(r.err)
		}
		_, after, _ := strings.Cut(r.out, "\nNext: ")
		return strings.ReplaceAll(after, dir, "DIR")
	}
	const plain = "flytrap deploy --dry-run   (offline preview), then flytrap deploy\n"
	if got := next(t, envWith(h)); got != plain {
		t.Errorf("inside the checkout: Next: %s", got)
	}
	t.Chdir(t.TempDir())
	want := "cd " + checkout + " && flytrap deploy --plan DIR/flytrap.yaml --dry-run   (offline preview), then the same without --dry-run\n" +
		"This flytrap is a development build: deploy cross-compiles the runtime binaries in its checkout, with Go.\n" +
		"`make release` in the checkout builds a bin/flytrap that carries them and deploys from any directory.\n"
	if got := next(t, envWith(h)); got != want {
		t.Errorf("outside the checkout: Next: %s\nwant: %s", got, want)
	}
	if got := next(t, envWith(h, runtimebin.EnvDir, t.TempDir())); got != plain {
		t.Errorf("with %s: Next: %s", runtimebin.EnvDir, got)
	}
}
