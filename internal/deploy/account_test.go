package deploy_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/deploy"
	"github.com/getflytrap/flytrap/internal/deploy/deploytest"
	"github.com/getflytrap/flytrap/internal/testutil/golden"
)

// fakeLoader gives the real SDK clients, pointed at url.
func fakeLoader(url string) deploy.CheckLoader {
	return func(_ context.Context, _, region string) (*deploy.CheckClients, error) {
		return deploy.NewCheckClients(deploytest.Config(url, region)), nil
	}
}

func goodCheck() deploy.AccountCheck {
	return deploy.AccountCheck{Profile: "work", Region: "eu-west-1", InstanceType: "t4g.small", DBClass: "db.t4g.micro", EngineVersion: "17", ProcessorMax: 5}
}

// TestCheckAccount runs the account checks against the protocol fakes
// with the real clients; every report's text is in
// testdata/account-check.golden.
func TestCheckAccount(t *testing.T) {
	tests := []struct {
		name  string
		fake  func(f *deploytest.AccountFake)
		check func(c *deploy.AccountCheck)
		// want* are substrings of the report's parts ("" wants none).
		wantProblem, wantWarning string
		wantZones                []string
		wantCalls                []string
		skip                     string
	}{
		{
			name:      "all good",
			wantZones: []string{"eu-west-1a", "eu-west-1b"},
			// Account and region questions go to the home region, which
			// every account has; the rest to the plan's region.
			wantCalls: []string{"GetCallerIdentity@us-east-1", "DescribeRegions@us-east-1", "DescribeAvailabilityZones@eu-west-1",
				"DescribeInstanceTypeOfferings@eu-west-1", "DescribeOrderableDBInstanceOptions@eu-west-1", "GetAccountSettings@eu-west-1"},
		},
		{
			name:        "region not opted in",
			check:       func(c *deploy.AccountCheck) { c.Region = "ap-east-1" },
			wantProblem: "aws.region: region ap-east-1 is not enabled for account 111122223333",
			// Nothing is asked of a region the account cannot use.
			wantCalls: []string{"GetCallerIdentity@us-east-1", "DescribeRegions@us-east-1"},
		},
		{
			name:        "region being enabled",
			fake:        func(f *deploytest.AccountFake) { f.Regions["ap-east-1"] = "opting-in" },
			check:       func(c *deploy.AccountCheck) { c.Region = "ap-east-1" },
			wantProblem: `aws.region: region ap-east-1 is "opting-in"`,
		},
		{
			name:        "region unknown to the account",
			check:       func(c *deploy.AccountCheck) { c.Region = "cn-north-1" },
			wantProblem: "aws.region: account 111122223333 has no region cn-north-1",
			wantCalls:   []string{"GetCallerIdentity@cn-north-1", "DescribeRegions@cn-north-1"},
		},
		{
			name:        "instance type not offered",
			check:       func(c *deploy.AccountCheck) { c.InstanceType = "c8g.large" },
			wantProblem: "sizes.dashboard_instance_type: c8g.large is not offered in any availability zone of eu-west-1",
		},
		{
			// Deploy needs two zones but the dashboard in one: a type
			// offered in one zone is fine, and that zone comes first.
			name:      "instance type offered in one zone",
			fake:      func(f *deploytest.AccountFake) { f.Offered["t4g.medium"] = []string{"eu-west-1c"} },
			check:     func(c *deploy.AccountCheck) { c.InstanceType = "t4g.medium" },
			wantZones: []string{"eu-west-1c", "eu-west-1a"},
		},
		{
			name:        "region with one zone",
			fake:        func(f *deploytest.AccountFake) { f.Zones["eu-west-1"] = []string{"eu-west-1a"} },
			wantProblem: "aws.region: eu-west-1 has 1 usable availability zone for account 111122223333; Flytrap needs 2",
		},
		{
			name:        "db class not orderable",
			check:       func(c *deploy.AccountCheck) { c.DBClass = "db.r7g.large" },
			wantProblem: "sizes.db_instance_class: db.r7g.large cannot be ordered for PostgreSQL 17 in eu-west-1; orderable classes include db.m7g.large, db.t4g.medium",
		},
		{
			name: "db class orderable for another version only",
			fake: func(f *deploytest.AccountFake) {
				f.Orderable = append(f.Orderable, deploytest.DBOption{Class: "db.x2g.large", Version: "16.8"})
			},
			check:       func(c *deploy.AccountCheck) { c.DBClass = "db.x2g.large" },
			wantProblem: "sizes.db_instance_class: db.x2g.large cannot be ordered for PostgreSQL 17",
		},
		{
			name:        "access denied on RDS",
			fake:        func(f *deploytest.AccountFake) { f.Denied["DescribeOrderableDBInstanceOptions"] = true },
			wantWarning: "could not check whether db.t4g.micro can be ordered: the credentials lack rds:DescribeOrderableDBInstanceOptions",
			wantZones:   []string{"eu-west-1a", "eu-west-1b"},
		},
		{
			name:        "access denied on EC2 regions",
			fake:        func(f *deploytest.AccountFake) { f.Denied["DescribeRegions"] = true },
			wantWarning: "could not check whether region eu-west-1 is enabled: the credentials lack ec2:DescribeRegions",
			wantZones:   []string{"eu-west-1a", "eu-west-1b"},
		},
		{
			name:        "several problems at once",
			check:       func(c *deploy.AccountCheck) { c.InstanceType, c.DBClass = "c8g.large", "db.r7g.large" },
			wantProblem: "sizes.db_instance_class",
		},
		{
			name:        "credentials rejected",
			fake:        func(f *deploytest.AccountFake) { f.STSError = "InvalidClientTokenId" },
			wantProblem: `aws.profile: AWS rejected the credentials of profile "work" (InvalidClientTokenId: fake STS error InvalidClientTokenId)`,
			wantCalls:   []string{"GetCallerIdentity@us-east-1"},
		},
		{
			name:        "credentials expired",
			fake:        func(f *deploytest.AccountFake) { f.STSError = "ExpiredToken" },
			wantProblem: `aws.profile: the AWS credentials of profile "work" have expired; renew them (aws sso login --profile work, or new keys)`,
		},
		{
			// Not the credentials' fault: the checks are skipped.
			name: "STS throttled",
			fake: func(f *deploytest.AccountFake) { f.STSError = "Throttling" },
			skip: "AWS could not be asked: Throttling: fake STS error Throttling",
		},
		{
			name:      "pagination is followed",
			fake:      func(f *deploytest.AccountFake) { f.PageSize = 1 },
			check:     func(c *deploy.AccountCheck) { c.DBClass = "db.m7g.large" },
			wantZones: []string{"eu-west-1a", "eu-west-1b"},
			// db.m7g.large for 17.x is the 2nd of its 3 options: RDS is
			// asked until it is found; EC2's 3 offerings take 3 pages.
			wantCalls: []string{"GetCallerIdentity@us-east-1", "DescribeRegions@us-east-1", "DescribeAvailabilityZones@eu-west-1",
				"DescribeInstanceTypeOfferings@eu-west-1", "DescribeInstanceTypeOfferings@eu-west-1", "DescribeInstanceTypeOfferings@eu-west-1",
				"DescribeOrderableDBInstanceOptions@eu-west-1", "DescribeOrderableDBInstanceOptions@eu-west-1", "GetAccountSettings@eu-west-1"},
		},
		{
			name:  "behind CloudFront",
			check: func(c *deploy.AccountCheck) { c.CloudFront = true },
			wantCalls: []string{"GetCallerIdentity@us-east-1", "DescribeRegions@us-east-1", "DescribeAvailabilityZones@eu-west-1",
				"DescribeInstanceTypeOfferings@eu-west-1", "DescribeOrderableDBInstanceOptions@eu-west-1", "DescribeManagedPrefixLists@eu-west-1", "GetAccountSettings@eu-west-1"},
		},
		{
			name:        "no CloudFront in the region",
			fake:        func(f *deploytest.AccountFake) { delete(f.PrefixLists["eu-west-1"], deploy.CloudFrontPrefixListName) },
			check:       func(c *deploy.AccountCheck) { c.CloudFront = true },
			wantProblem: "domain: eu-west-1 has no CloudFront origin-facing prefix list",
		},
		{
			name:        "access denied on prefix lists",
			fake:        func(f *deploytest.AccountFake) { f.Denied["DescribeManagedPrefixLists"] = true },
			check:       func(c *deploy.AccountCheck) { c.CloudFront = true },
			wantWarning: "could not check that CloudFront can reach the dashboard: the credentials lack ec2:DescribeManagedPrefixLists",
		},
		{
			// deploy's quota check, in the plan's region: a new
			// account's 10 leave ingest 5 beside the processor's 5.
			name:        "low Lambda concurrency quota",
			fake:        func(f *deploytest.AccountFake) { f.LambdaConcurrency, f.LambdaUnreserved = 10, 10 },
			wantWarning: "the account's Lambda concurrency quota in eu-west-1 is 10 concurrent executions: the processor takes up to 5 of them and ingest needs room for bursts beyond that (at least 55 in all)",
			wantZones:   []string{"eu-west-1a", "eu-west-1b"},
		},
		{
			name:        "access denied on Lambda",
			fake:        func(f *deploytest.AccountFake) { f.Denied["GetAccountSettings"] = true },
			wantWarning: "Lambda concurrency quota not checked: the credentials lack lambda:GetAccountSettings",
			wantZones:   []string{"eu-west-1a", "eu-west-1b"},
		},
		{
			name:        "pagination of the alternatives",
			fake:        func(f *deploytest.AccountFake) { f.PageSize = 2 },
			check:       func(c *deploy.AccountCheck) { c.DBClass = "db.r7g.large" },
			wantProblem: "orderable classes include db.m7g.large, db.t4g.medium, db.t4g.micro, db.t4g.small",
		},
	}
	var all bytes.Buffer
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := deploytest.NewAccount(t)
			if tt.fake != nil {
				tt.fake(f)
			}
			in := goodCheck()
			if tt.check != nil {
				tt.check(&in)
			}
			r := deploy.CheckAccount(context.Background(), fakeLoader(f.URL), in, 10*time.Second)
			writeReport(&all, tt.name, r)
			if r.Skipped != tt.skip {
				t.Fatalf("skipped: %q, want %q", r.Skipped, tt.skip)
			}
			if r.Account != deploytest.Account && f.STSError == "" {
				t.Errorf("account %q", r.Account)
			}
			if got := strings.Join(r.Problems, "\n"); (tt.wantProblem == "") != (got == "") || !strings.Contains(got, tt.wantProblem) {
				t.Errorf("problems:\n%s\nwant %q", got, tt.wantProblem)
			}
			if got := strings.Join(r.Warnings, "\n"); (tt.wantWarning == "") != (got == "") || !strings.Contains(got, tt.wantWarning) {
				t.Errorf("warnings:\n%s\nwant %q", got, tt.wantWarning)
			}
			if tt.wantZones != nil && !slices.Equal(r.Zones, tt.wantZones) {
				t.Errorf("zones %v, want %v", r.Zones, tt.wantZones)
			}
			if tt.wantCalls != nil && !slices.Equal(f.Calls(), tt.wantCalls) {
				t.Errorf("calls\n%v\nwant\n%v", f.Calls(), tt.wantCalls)
			}
		})
	}
	// Several failures are all reported.
	golden.Check(t, "account-check.golden", all.Bytes())
}

// TestCheckAccountSkips: without credentials, or without an answer, the
// checks are skipped and say why.
func TestCheckAccountSkips(t *testing.T) {
	ctx := context.Background()
	t.Run("no credentials", func(t *testing.T) {
		// The real loader, with nothing to find: no keys, no shared
		// files, no instance role.
		f := deploytest.NewAccount(t)
		dir := t.TempDir()
		empty := filepath.Join(dir, "config")
		if err := os.WriteFile(empty, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		for k, v := range map[string]string{
			"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
			"AWS_CONFIG_FILE": empty, "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
			"AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL": f.URL,
		} {
			t.Setenv(k, v)
		}
		in := goodCheck()
		in.Profile = ""
		r := deploy.CheckAccount(ctx, deploy.LoadCheckClients, in, 10*time.Second)
		if r.Skipped != "no AWS credentials in the environment, the shared files or an instance role" {
			t.Errorf("report %+v", r)
		}
		if len(f.Calls()) != 0 {
			t.Errorf("calls without credentials: %v", f.Calls())
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		r := deploy.CheckAccount(ctx, fakeLoader(url), goodCheck(), 10*time.Second)
		if !strings.HasPrefix(r.Skipped, "AWS could not be asked: cannot reach AWS: ") || len(r.Problems) > 0 {
			t.Errorf("report %+v", r)
		}
	})
	t.Run("no answer in time", func(t *testing.T) {
		done := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-done:
			}
		}))
		defer srv.Close()
		defer close(done) // before Close, which waits for the handlers
		start := time.Now()
		r := deploy.CheckAccount(ctx, fakeLoader(srv.URL), goodCheck(), 300*time.Millisecond)
		if r.Skipped != "AWS could not be asked: AWS did not answer in time" || time.Since(start) > 3*time.Second {
			t.Errorf("report %+v after %v", r, time.Since(start))
		}
	})
}

func writeReport(w *bytes.Buffer, name string, r deploy.AccountReport) {
	fmt.Fprintf(w, "== %s\n", name)
	if r.Skipped != "" {
		fmt.Fprintf(w, "skipped: %s\n", r.Skipped)
	}
	for _, s := range r.Checked {
		fmt.Fprintf(w, "checked: %s\n", s)
	}
	for _, s := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", s)
	}
	for _, s := range r.Problems {
		fmt.Fprintf(w, "problem: %s\n", s)
	}
	fmt.Fprintln(w)
}

// TestDBEngineVersion: the version init checks is the module's.
func TestDBEngineVersion(t *testing.T) {
	v, err := deploy.DBEngineVersion()
	if err != nil || !regexp.MustCompile(`^1[6-9](\.[0-9]+)?$`).MatchString(v) {
		t.Errorf("DBEngineVersion() = %q, %v", v, err)
	}
}
