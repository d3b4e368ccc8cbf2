package deploy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/awsbase"
	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/deploy/deploytest"
	"github.com/getflytrap/flytrap/internal/notify"
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
	if !strings.Contains(e.out.String(), "no alert topics flytrap-prod-alerts-<project id> to delete") {
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
	if _, err := bucket.Get(context.Background(), awsx.InputsKey("prod")); !errors.Is(err, awsbase.ErrObjectNotFound) {
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

// alertTopics creates topics the way the dashboard does (awsx.SNSTopics,
// which finds or creates a topic by name), each with a subscriber, and
// returns their ARNs.
func (e *testEnv) alertTopics(names ...string) []string {
	e.t.Helper()
	topics := awsx.NewSNSTopics(awsx.NewSNSCalls(e.sns.Client()))
	var arns []string
	for _, name := range names {
		ctx := context.Background()
		arn, err := topics.TopicARN(ctx, name)
		if err == nil {
			err = topics.SubscribeEmail(ctx, arn, "ops@example.com")
		}
		if err != nil {
			e.t.Fatal(err)
		}
		arns = append(arns, arn)
	}
	return arns
}

// TestDestroyDeletesAlertTopics: after Terraform, destroy deletes the
// dashboard's per-project alert topics (named by notify.TopicName) over
// several pages of ListTopics, and their subscriptions with them, and
// leaves alone other deployments' topics, its own operations topic (which
// Terraform manages) and unrelated ones.
func TestDestroyDeletesAlertTopics(t *testing.T) {
	e := newTestEnv(t)
	e.sns.PageSize = 2
	var prod []string
	for _, id := range []int64{1, 2, 3, 10} {
		prod = append(prod, notify.TopicName("flytrap-prod", id))
	}
	others := []string{
		"billing-alerts",
		"flytrap-prod-alerts",
		"flytrap-prod-alerts-x-alerts-3",
		"flytrap-prod2-alerts-1",
		"flytrap-staging-alerts-1",
	}
	e.alertTopics(append(prod, others...)...)
	e.deployed(5, false)
	res, s, err := e.run(DestroySteps())
	if err != nil {
		t.Fatalf("destroy: %v\n%s", err, e.out.String())
	}
	if got := e.sns.Topics(); !slices.Equal(got, others) {
		t.Errorf("topics left %v, want %v", got, others)
	}
	var subscribed []string
	for _, sub := range e.sns.Subscriptions() {
		subscribed = append(subscribed, strings.TrimSuffix(sub, ": ops@example.com (pending)"))
	}
	slices.Sort(subscribed)
	if !slices.Equal(subscribed, others) {
		t.Errorf("subscriptions left %v, want one to each of %v", e.sns.Subscriptions(), others)
	}
	if want := "deleted 4 alert topics the dashboard created, with their e-mail subscriptions: flytrap-prod-alerts-1, flytrap-prod-alerts-10, flytrap-prod-alerts-2, flytrap-prod-alerts-3"; !strings.Contains(e.out.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, e.out.String())
	}
	if len(s.Warnings) != 0 || !slices.Contains(names(res), "cleanup:ok") {
		t.Errorf("warnings %q, steps %v", s.Warnings, names(res))
	}
}

// TestDestroyAlertTopicFailures: once Terraform has destroyed the stack,
// an SNS failure is a warning, not an error, naming the permission the
// credentials lack or AWS's error, and the exact commands for what is
// left; the topics it could delete are deleted.
func TestDestroyAlertTopicFailures(t *testing.T) {
	const flags = " --region eu-west-1 --profile work"
	tests := []struct {
		name   string
		refuse func(action, topicARN string) string
		// warning is the warning, with the topics' ARNs for ARN1 and ARN2.
		warning string
		left    []string
	}{{
		name:    "one DeleteTopic fails",
		refuse:  refuse("DeleteTopic", ":flytrap-prod-alerts-2", "InternalError"),
		warning: "could not delete 1 of 2 alert topics: InternalError: refused by the test: DeleteTopic ARN2; delete them with `aws sns delete-topic" + flags + " --topic-arn ARN2`",
		left:    []string{"flytrap-prod-alerts-2"},
	}, {
		name:    "no sns:DeleteTopic",
		refuse:  refuse("DeleteTopic", "", "AuthorizationError"),
		warning: "could not delete 2 of 2 alert topics: the credentials lack sns:DeleteTopic; delete them with `aws sns delete-topic" + flags + " --topic-arn ARN1` and `aws sns delete-topic" + flags + " --topic-arn ARN2`",
		left:    []string{"flytrap-prod-alerts-1", "flytrap-prod-alerts-2"},
	}, {
		name:    "no sns:ListTopics",
		refuse:  refuse("ListTopics", "", "AuthorizationError"),
		warning: "could not list the alert topics flytrap-prod-alerts-<project id> to delete them: the credentials lack sns:ListTopics; list them with `aws sns list-topics" + flags + " --query 'Topics[].TopicArn' --output text | tr '\\t' '\\n' | grep -E ':flytrap-prod-alerts-[0-9]+$'` and delete each with `aws sns delete-topic" + flags + " --topic-arn <arn>`",
		left:    []string{"flytrap-prod-alerts-1", "flytrap-prod-alerts-2"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			arns := e.alertTopics("flytrap-prod-alerts-1", "flytrap-prod-alerts-2")
			e.sns.Refuse = tt.refuse
			e.deployed(5, false)
			e.opts.Operation = "destroy"
			res, s, err := e.run(DestroySteps())
			if err != nil {
				t.Fatalf("destroy: %v\n%s", err, e.out.String())
			}
			if want := strings.NewReplacer("ARN1", arns[0], "ARN2", arns[1]).Replace(tt.warning); !slices.Equal(s.Warnings, []string{want}) {
				t.Errorf("warnings:\n got %q\nwant %q", s.Warnings, want)
			}
			if got := e.sns.Topics(); !slices.Equal(got, tt.left) {
				t.Errorf("topics left %v, want %v", got, tt.left)
			}
			if rep := s.Report(res, nil); !rep.Completed || !slices.Contains(names(res), "cleanup:ok") {
				t.Errorf("steps %v, report %+v", names(res), rep)
			}
		})
	}
}

// refuse makes the SNS fake answer action on the topics whose ARN ends in
// suffix with the error code.
func refuse(action, suffix, code string) func(string, string) string {
	return func(a, arn string) string {
		if a == action && strings.HasSuffix(arn, suffix) {
			return code
		}
		return ""
	}
}

// TestIsAlertTopic: a deployment's project alert topics are
// flytrap-<name>-alerts-<digits>, never another deployment's, whatever
// the names.
func TestIsAlertTopic(t *testing.T) {
	const arn = "arn:aws:sns:eu-west-1:123456789012:"
	tests := []struct {
		deployment, topic string
		want              bool
	}{
		{"prod", "flytrap-prod-alerts-1", true},
		{"prod", "flytrap-prod-alerts-1234567", true},
		{"prod-alerts-x", "flytrap-prod-alerts-x-alerts-3", true},
		{"prod", "flytrap-prod-alerts-x-alerts-3", false}, // prod-alerts-x's
		{"prod", "flytrap-prod-alerts-1-alerts-2", false}, // prod-alerts-1's
		{"prod", "flytrap-prod-alerts", false},            // Terraform's operations topic
		{"prod", "flytrap-prod-alerts-", false},
		{"prod", "flytrap-prod-alerts-smtp", false},
		{"prod", "flytrap-prod-alerts-1a", false},
		{"prod", "flytrap-prod-alerts-1.fifo", false},
		{"prod", "flytrap-prod2-alerts-1", false},
		{"prod", "flytrap-staging-prod-alerts-1", false},
		{"pro", "flytrap-prod-alerts-1", false},
		{"prod", "prod-alerts-1", false},
	}
	for _, tt := range tests {
		for _, a := range []string{arn + tt.topic, strings.Replace(arn, "arn:aws:", "arn:aws-cn:", 1) + tt.topic} {
			if got := isAlertTopic(a, tt.deployment); got != tt.want {
				t.Errorf("isAlertTopic(%q, %q) = %v, want %v", a, tt.deployment, got, tt.want)
			}
		}
	}
}
