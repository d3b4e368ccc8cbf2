package deploy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/deploy/deploytest"
	"github.com/getflytrap/flytrap/internal/testutil/golden"
)

// stateWith is a minimal Terraform state file holding n resource
// instances and the outputs.
func stateWith(n int, outputs map[string]string) string {
	var res []string
	for i := 0; i < n; i++ {
		res = append(res, `{"mode":"managed","type":"terraform_data","name":"r`+string(rune('a'+i))+`","instances":[{"attributes":{}}]}`)
	}
	var outs []string
	for k, v := range outputs {
		outs = append(outs, `"`+k+`":{"value":"`+v+`","type":"string"}`)
	}
	res = append(res, `{"mode":"data","type":"x","name":"d","instances":[{}]}`) // not counted
	return `{"version":4,"terraform_version":"1.11.4","serial":3,"lineage":"x","outputs":{` + strings.Join(outs, ",") +
		`},"resources":[` + strings.Join(res, ",") + `]}`
}

// deployed leaves what a deploy leaves in the state bucket.
func (e *testEnv) deployed(resources int, protection bool) awsx.StateBucket {
	e.t.Helper()
	b := awsx.StateBucket{Client: e.s3, Name: awsx.StateBucketName(deploytest.Account, region), Region: region, Account: deploytest.Account}
	ctx := context.Background()
	if _, err := b.Ensure(ctx); err != nil {
		e.t.Fatal(err)
	}
	if err := b.Put(ctx, awsx.StateKey("prod"), []byte(stateWith(resources, e.runner.OutputValues)), "application/json"); err != nil {
		e.t.Fatal(err)
	}
	v := BuildVars(e.plan, Resolved{AccountID: deploytest.Account, AMIID: "ami-0aaaaaaaaaaaaaaaa", AvailabilityZones: []string{"eu-west-1a", "eu-west-1b"}}, "#cloud-config\n")
	v.DBDeletionProtection = protection
	raw, _ := v.Marshal()
	if err := b.Put(ctx, awsx.InputsKey("prod"), raw, "application/json"); err != nil {
		e.t.Fatal(err)
	}
	return b
}

func TestDestroy(t *testing.T) {
	e := newTestEnv(t)
	e.runner.DestroyStream = filepath.Join("testdata", "fixture-destroy.jsonl")
	bucket := e.deployed(5, true)
	e.opts.Yes = false
	e.opts.Operation = "destroy"
	var asked string
	e.opts.Ask = func(_ context.Context, prompt string) (string, error) { asked = prompt; return "prod\n", nil }
	res, s, err := e.run(DestroySteps())
	if err != nil {
		t.Fatalf("destroy: %v\n%s", err, e.out.String())
	}
	want := []string{"credentials:ok", "find-deployment:ok", "terraform:ok", "workspace:ok", "init:ok", "confirm:ok", "unprotect:ok", "destroy:ok", "cleanup:ok"}
	if got := names(res); !slices.Equal(got, want) {
		t.Errorf("steps:\n got %v\nwant %v", got, want)
	}
	if !strings.Contains(asked, "(prod)") || !strings.Contains(e.out.String(), "5 resources") || !strings.Contains(e.out.String(), "flytrap-prod-db-final") {
		t.Errorf("prompt %q; output:\n%s", asked, e.out.String())
	}
	// What Terraform does not manage is named with how to remove it.
	if !strings.Contains(e.out.String(), "kept: the per-project alert topics flytrap-prod-alerts-<project id>") || !strings.Contains(e.out.String(), "aws sns delete-topic") {
		t.Errorf("destroy does not mention the dashboard's alert topics:\n%s", e.out.String())
	}
	if got := e.runner.Calls(); !slices.Equal(got, []string{"init", "apply", "destroy"}) {
		t.Errorf("terraform calls %v", got)
	}
	if got := e.runner.Applies[0]; !slices.Equal(got.Targets, protectedResources) || got.PlanFile != "" {
		t.Errorf("unprotect apply %+v", got)
	}
	if !slices.Contains(e.runner.Inits[0].BackendConfig, "key=prod/terraform.tfstate") {
		t.Errorf("init %+v", e.runner.Inits[0])
	}
	// The workspace holds the recorded variables with protection off and
	// stand-ins where the artifacts were.
	raw, err := os.ReadFile(filepath.Join(e.opts.Workspace, VarsFileName))
	if err != nil {
		t.Fatal(err)
	}
	v, err := ParseVars(raw)
	if err != nil || v.DBDeletionProtection || v.AMIID != "ami-0aaaaaaaaaaaaaaaa" {
		t.Errorf("destroy vars %+v, %v", v, err)
	}
	for _, p := range []string{v.IngestZipPath, v.ProcessorZipPath, v.DashboardBinaryPath} {
		if _, err := os.Stat(filepath.Join(e.opts.Workspace, p)); err != nil {
			t.Errorf("no stand-in for %s", p)
		}
	}
	if s.Applied == nil || s.Applied.Done != 5 {
		t.Errorf("destroy progress %+v", s.Applied)
	}
	if _, err := bucket.Get(context.Background(), awsx.InputsKey("prod")); !errors.Is(err, awsx.ErrObjectNotFound) {
		t.Errorf("inputs still recorded after destroy: %v", err)
	}
	rep := s.Report(res, nil)
	if rep.Operation != "destroy" || !rep.Completed {
		t.Errorf("report %+v", rep)
	}
}

func TestDestroyRefusals(t *testing.T) {
	t.Run("wrong name typed", func(t *testing.T) {
		e := newTestEnv(t)
		e.deployed(5, true)
		e.opts.Yes = false
		e.opts.Ask = func(context.Context, string) (string, error) { return "staging", nil }
		res, s, err := e.run(DestroySteps())
		if err != nil {
			t.Fatal(err)
		}
		if !s.Declined || res[len(res)-1].Name != "confirm" || slices.Contains(e.runner.Calls(), "destroy") {
			t.Errorf("declined %v, steps %v, calls %v", s.Declined, names(res), e.runner.Calls())
		}
	})
	t.Run("no one to ask", func(t *testing.T) {
		e := newTestEnv(t)
		e.deployed(5, true)
		e.opts.Yes = false
		_, _, err := e.run(DestroySteps())
		checkCmdError(t, err, "destroy needs a confirmation", "--yes")
	})
	t.Run("not deployed", func(t *testing.T) {
		e := newTestEnv(t)
		_, _, err := e.run(DestroySteps())
		checkCmdError(t, err, `no deployment named "prod"`, "check the name, region and profile")
	})
	t.Run("already destroyed", func(t *testing.T) {
		e := newTestEnv(t)
		e.deployed(0, false)
		res, _, err := e.run(DestroySteps())
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(e.runner.Calls(), "destroy") || !slices.Contains(names(res), "destroy:skipped") {
			t.Errorf("steps %v, calls %v", names(res), e.runner.Calls())
		}
	})
	t.Run("protection already off", func(t *testing.T) {
		e := newTestEnv(t)
		e.deployed(5, false)
		res, _, err := e.run(DestroySteps())
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(names(res), "unprotect:skipped") || slices.Contains(e.runner.Calls(), "apply") {
			t.Errorf("steps %v, calls %v", names(res), e.runner.Calls())
		}
	})
	t.Run("snapshot exists", func(t *testing.T) {
		e := newTestEnv(t)
		e.deployed(5, false)
		stream := filepath.Join(t.TempDir(), "d.jsonl")
		os.WriteFile(stream, []byte(`{"@level":"error","@message":"Error: deleting RDS DB Instance","@timestamp":"2026-11-22T09:00:00Z","diagnostic":{"severity":"error","summary":"deleting RDS DB Instance (flytrap-prod-db): DBSnapshotAlreadyExists: Cannot create the snapshot because one with this identifier already exists.","detail":"","address":"module.database.aws_db_instance.this"},"type":"diagnostic"}`+"\n"), 0o644)
		e.runner.DestroyStream = stream
		e.runner.DestroyErr = errors.New("exit status 1")
		_, _, err := e.run(DestroySteps())
		checkCmdError(t, err, "terraform destroy failed: deleting RDS DB Instance", "aws rds delete-db-snapshot --db-snapshot-identifier flytrap-prod-db-final")
	})
}

// TestDestroyMessages: what destroy says before asking and after
// destroying (testdata/destroy-messages.golden): the snapshot it keeps,
// by the unique name in the state, with its monthly cost, and that every
// DSN stops working.
func TestDestroyMessages(t *testing.T) {
	e := newTestEnv(t)
	e.runner.OutputValues["db_final_snapshot"] = "flytrap-prod-db-final-20261203143000"
	e.runner.OutputValues["ingest_url"] = "https://abc123.execute-api.eu-west-1.amazonaws.com"
	e.deployed(5, false)
	e.opts.Operation = "destroy"
	if _, _, err := e.run(DestroySteps()); err != nil {
		t.Fatalf("destroy: %v\n%s", err, e.out.String())
	}
	var kept []string
	for _, line := range strings.Split(e.out.String(), "\n") {
		if strings.Contains(line, "snapshot") || strings.Contains(line, "DSN") || strings.Contains(line, "This destroys") {
			kept = append(kept, line)
		}
	}
	golden.Check(t, "destroy-messages.golden", []byte(strings.Join(kept, "\n")+"\n"))
}

// TestDestroyWaitsForLambdaENIs: a destroy that fails because the
// processor's network interfaces still hold its security group waits for
// AWS to release them, saying so, then destroys again.
func TestDestroyWaitsForLambdaENIs(t *testing.T) {
	e := newTestEnv(t)
	stream := filepath.Join(t.TempDir(), "blocked.jsonl")
	diag := `{"@level":"error","@message":"Error: deleting EC2 Security Group","@timestamp":"2026-12-03T14:00:00Z","diagnostic":{"severity":"error","summary":"deleting EC2 Security Group (sg-0123): operation error EC2: DeleteSecurityGroup, api error DependencyViolation: resource sg-0123 has a dependent object","detail":""},"type":"diagnostic"}`
	if err := os.WriteFile(stream, []byte(diag+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.runner.DestroyStream = stream
	e.runner.DestroyErrs = []error{errors.New("exit status 1")}
	e.ec2.ENIs = []int{2, 1, 0}
	e.deployed(5, false)
	e.opts.Operation = "destroy"
	res, _, err := e.run(DestroySteps())
	if err != nil {
		t.Fatalf("destroy: %v\n%s", err, e.out.String())
	}
	if got := e.runner.Calls(); !slices.Equal(got, []string{"init", "destroy", "destroy"}) {
		t.Errorf("terraform calls %v", got)
	}
	out := e.out.String()
	for _, want := range []string{
		"waiting for 2 Lambda network interfaces of flytrap-prod-processor to be released: AWS takes 20-40 minutes",
		"waiting for 1 Lambda network interfaces",
		"the processor's network interfaces are released",
		"retrying terraform destroy (attempt 2 of 3)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if f := e.ec2.ENIFilters[0]; len(f) != 1 || f[0].Values[0] != "AWS Lambda VPC ENI-flytrap-prod-processor*" {
		t.Errorf("filters %+v", f)
	}
	if !slices.Contains(names(res), "destroy:ok") {
		t.Errorf("steps %v", names(res))
	}
}
