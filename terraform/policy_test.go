package terraform

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// moduleProvider configures the provider for a child module planned alone
// (it declares none): a region and the offline flags, also for the
// dashboard's aws.untagged.
const moduleProvider = `provider "aws" {
  region                      = "eu-west-1"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}

provider "aws" {
  alias                       = "untagged"
  region                      = "eu-west-1"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}
`

// planModule plans one child module alone with literal inputs, so values
// the root module only knows after apply (ARNs) are known here: the IAM
// policy documents become plain JSON to assert on.
func planModule(t *testing.T, tf terraformTool, module string, vars map[string]any) *planJSON {
	t.Helper()
	work := t.TempDir()
	copyEmbedded(t, "modules/"+module, work)
	writeFile(t, filepath.Join(work, "test_providers.tf"), moduleProvider)
	b, err := json.MarshalIndent(vars, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(work, "terraform.tfvars.json"), string(b))
	tf.mustRun(t, work, "init", "-plugin-dir="+tf.pluginDir, "-input=false", "-no-color")
	tf.mustRun(t, work, "plan", "-input=false", "-no-color", "-out=module.tfplan")
	var plan planJSON
	if err := json.Unmarshal([]byte(tf.mustRun(t, work, "show", "-json", "module.tfplan")), &plan); err != nil {
		t.Fatal(err)
	}
	return &plan
}

// processorVars are the processor module's inputs, as the root passes
// them for a deployment flytrap-test in eu-west-1, with a dummy zip.
func processorVars(t *testing.T) map[string]any {
	t.Helper()
	zip := filepath.Join(t.TempDir(), "processor.zip")
	writeZip(t, zip)
	return map[string]any{
		"iam_name":             "flytrap-test-eu-west-1-processor",
		"name":                 "flytrap-test",
		"function_name":        "flytrap-test-processor",
		"zip_path":             zip,
		"vpc_id":               "vpc-0123456789abcdef0",
		"subnet_ids":           []string{"subnet-0123456789abcdef0", "subnet-0123456789abcdef1"},
		"db_security_group_id": "sg-0123456789abcdef0",
		"s3_prefix_list_id":    "pl-6da54004",
		"queue_arn":            "arn:aws:sqs:eu-west-1:123456789012:flytrap-test-events",
		// The queue module's 6 x 60 s + 5 s + 30 s.
		"queue_visibility_timeout_seconds": 395,
		"db_host":                          "flytrap-test-db.abcdefghijkl.eu-west-1.rds.amazonaws.com",
		"db_name":                          "flytrap",
		"db_user":                          "flytrap_processor",
		"db_connect_arn":                   "arn:aws:rds-db:eu-west-1:123456789012:dbuser:db-ABCDEFGHIJKLMNOP/flytrap_processor",
		"region":                           "eu-west-1",
		"bucket_name":                      "flytrap-test-123456789012-eu-west-1",
		"bucket_arn":                       "arn:aws:s3:::flytrap-test-123456789012-eu-west-1",
		"sourcemaps_prefix":                "sourcemaps/",
		"log_group_name":                   "/aws/lambda/flytrap-test-processor",
		"log_group_arn":                    "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/flytrap-test-processor",
	}
}

// policyStatement is one statement of an IAM policy document.
type policyStatement struct {
	Sid       string
	Effect    string
	Action    stringList
	Resource  stringList
	Condition map[string]map[string]any
}

// stringList reads IAM's "one string or a list of strings".
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var one string
	if json.Unmarshal(b, &one) == nil {
		*l = []string{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(l))
}

func policyOf(t *testing.T, rc *resourceChange) []policyStatement {
	t.Helper()
	doc, ok := rc.after("policy").(string)
	if !ok {
		t.Fatalf("%s: policy unknown at plan time", rc.Address)
	}
	var p struct{ Statement []policyStatement }
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		t.Fatalf("%s: %v", rc.Address, err)
	}
	return p.Statement
}

// allowed reports whether an Allow statement grants action on resource
// (IAM wildcards * at the end of either) and no Deny statement refuses it.
func allowed(stmts []policyStatement, action, resource string) bool {
	match := func(pattern, s string) bool {
		if p, ok := strings.CutSuffix(pattern, "*"); ok {
			return strings.HasPrefix(s, p)
		}
		return pattern == s
	}
	grants := func(st policyStatement) bool {
		return slices.ContainsFunc(st.Action, func(a string) bool { return match(a, action) }) &&
			slices.ContainsFunc(st.Resource, func(r string) bool { return match(r, resource) })
	}
	ok := false
	for _, st := range stmts {
		if grants(st) {
			if st.Effect == "Deny" {
				return false
			}
			ok = true
		}
	}
	return ok
}

// TestDashboardPolicy: the instance role grants the SSM agent what it needs
// but no parameter reads (AmazonSSMManagedInstanceCore is gone), and it
// cannot overwrite its own binary or config (issue 14, finding 6).
func TestDashboardPolicy(t *testing.T) {
	tf := needProvider(t)
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "flytrap-dashboard")
	writeFile(t, bin, "\x7fELF dummy")
	bucket := "arn:aws:s3:::flytrap-test-123456789012-eu-west-1"
	plan := planModule(t, tf, "dashboard", map[string]any{
		"iam_name":             "flytrap-test-eu-west-1-dashboard",
		"name":                 "flytrap-test",
		"ami_id":               "ami-0123456789abcdef0",
		"instance_type":        "t4g.small",
		"vpc_id":               "vpc-0123456789abcdef0",
		"subnet_id":            "subnet-0123456789abcdef0",
		"db_security_group_id": "sg-0123456789abcdef0",
		"db_port":              5432,
		"db_secret_arn":        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1",
		"bucket_name":          "flytrap-test-123456789012-eu-west-1",
		"bucket_arn":           bucket,
		"alerts_topic_arn":     "arn:aws:sns:eu-west-1:123456789012:flytrap-test-alerts",
		"queue_arns":           []string{"arn:aws:sqs:eu-west-1:123456789012:flytrap-test-events"},
		"binary_path":          bin,
		"runtime_config":       map[string]string{"name": "test"},
		"user_data":            "#cloud-config\n",
		"writable_keys":        []string{"keyset/ingest-keys.json", "sourcemaps/*", "deploy/initial-admin-password"},
	})
	if n := len(plan.all("aws_iam_role_policy_attachment")); n != 0 {
		t.Errorf("%d managed policies attached; the role must carry only its scoped inline policy", n)
	}
	stmts := policyOf(t, plan.one(t, "aws_iam_role_policy.this"))
	for _, c := range []struct {
		action, resource string
		want             bool
	}{
		{"ssm:UpdateInstanceInformation", "*", true},
		{"ssmmessages:OpenDataChannel", "*", true},
		{"ec2messages:GetMessages", "*", true},
		{"ssm:GetParameter", "arn:aws:ssm:eu-west-1:123456789012:parameter/prod/db-password", false},
		{"ssm:GetParameters", "*", false},
		{"ssm:GetParametersByPath", "*", false},
		{"s3:GetObject", bucket + "/deploy/dashboard/flytrap-dashboard", true},
		{"s3:PutObject", bucket + "/deploy/dashboard/flytrap-dashboard", false},
		{"s3:PutObject", bucket + "/deploy/dashboard/config.json", false},
		{"s3:DeleteObject", bucket + "/deploy/dashboard/config.json", false},
		{"s3:PutObject", bucket + "/keyset/ingest-keys.json", true},
		{"s3:PutObject", bucket + "/sourcemaps/1/bundle.zip", true},
		{"s3:PutObject", bucket + "/deploy/initial-admin-password", true},
		{"s3:DeleteObject", bucket + "/deploy/initial-admin-password", true},
		{"s3:PutObject", bucket + "/other/x", false},
		{"sns:Publish", "arn:aws:sns:eu-west-1:123456789012:flytrap-test-alerts", true},
		// The rest of what runtime/dashboard calls with the role: the
		// master secret (store.OpenPostgres), the queue depth on the status
		// page, source map deletes and lists (artifact.S3), and the fetch
		// script's copy of config.json.
		{"secretsmanager:GetSecretValue", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1", true},
		{"secretsmanager:GetSecretValue", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:other", false},
		{"sqs:GetQueueAttributes", "arn:aws:sqs:eu-west-1:123456789012:flytrap-test-events", true},
		{"sqs:ReceiveMessage", "arn:aws:sqs:eu-west-1:123456789012:flytrap-test-events", false},
		{"s3:DeleteObject", bucket + "/sourcemaps/1/bundle.zip", true},
		{"s3:ListBucket", bucket, true},
		{"s3:GetObject", bucket + "/deploy/dashboard/config.json", true},
	} {
		if got := allowed(stmts, c.action, c.resource); got != c.want {
			t.Errorf("%s on %s: allowed %v, want %v", c.action, c.resource, got, c.want)
		}
	}
}

// TestIngestPolicy: the ingest role reads the key set and may list the
// bucket for exactly its key, so a key set the dashboard has not published
// yet is a 404 NoSuchKey (awsbase.ErrObjectNotFound, "no key set yet") rather
// than a 403 AccessDenied.
func TestIngestPolicy(t *testing.T) {
	tf := needProvider(t)
	t.Parallel()
	zip := filepath.Join(t.TempDir(), "ingest.zip")
	writeZip(t, zip)
	bucket := "arn:aws:s3:::flytrap-test-123456789012-eu-west-1"
	plan := planModule(t, tf, "ingest", map[string]any{
		"iam_name":      "flytrap-test-eu-west-1-ingest",
		"name":          "flytrap-test",
		"function_name": "flytrap-test-ingest",
		"api_name":      "flytrap-test-ingest",
		"zip_path":      zip,
		"queue_url":     "https://sqs.eu-west-1.amazonaws.com/123456789012/flytrap-test-events",
		"queue_arn":     "arn:aws:sqs:eu-west-1:123456789012:flytrap-test-events",
		// The queue module's 6 x 60 s + 5 s + 30 s.
		"queue_visibility_timeout_seconds": 395,
		"bucket_name":                      "flytrap-test-123456789012-eu-west-1",
		"bucket_arn":                       bucket,
		"keyset_key":                       "keyset/ingest-keys.json",
		"log_group_name":                   "/aws/lambda/flytrap-test-ingest",
		"log_group_arn":                    "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/flytrap-test-ingest",
		"access_log_group_arn":             "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/apigateway/flytrap-test-ingest/access",
	})
	stmts := policyOf(t, plan.one(t, "aws_iam_role_policy.this"))
	if !allowed(stmts, "s3:GetObject", bucket+"/keyset/ingest-keys.json") {
		t.Error("the ingest role cannot read the key set")
	}
	if allowed(stmts, "s3:GetObject", bucket+"/sourcemaps/x") {
		t.Error("the ingest role reads more than the key set")
	}
	// SendMessageBatch (awsx.SQSQueue.EnqueueBatch) is authorized by
	// sqs:SendMessage: IAM has no action of its own for it.
	if queue := "arn:aws:sqs:eu-west-1:123456789012:flytrap-test-events"; !allowed(stmts, "sqs:SendMessage", queue) {
		t.Error("the ingest role cannot send to the events queue")
	}
	if allowed(stmts, "sqs:ReceiveMessage", "arn:aws:sqs:eu-west-1:123456789012:flytrap-test-events") {
		t.Error("the ingest role may consume the queue it only fills")
	}
	var list *policyStatement
	for i, st := range stmts {
		if slices.Contains(st.Action, "s3:ListBucket") {
			list = &stmts[i]
		}
	}
	if list == nil || !slices.Equal(list.Resource, []string{bucket}) {
		t.Fatalf("no s3:ListBucket on %s: a missing key set answers 403 instead of 404 (%+v)", bucket, stmts)
	}
	if got := list.Condition["StringEquals"]["s3:prefix"]; got != "keyset/ingest-keys.json" {
		t.Errorf("ListBucket condition %v, want s3:prefix = the key set's key only", list.Condition)
	}
}

// TestDashboardAlertsPolicy: the dashboard reaches its own deployment's
// alert topics, flytrap-<name>-alerts-<project id>, and not those of a
// deployment whose name extends its own (test-alerts-x) or of another.
// The policy names the bucket's and the SMTP secret's ARNs, unknown at
// plan time, so `terraform test` plans with them given, and checks the
// policy there (IAM's * as regexp .*, in actions and ARNs; Allow without
// a Deny).
func TestDashboardAlertsPolicy(t *testing.T) {
	tf := needProvider(t)
	t.Parallel()
	work := planWorkspace(t, tf, nil)
	cases := map[string]bool{
		"flytrap-test-alerts-3":          true,
		"flytrap-test-alerts-12345":      true,
		"flytrap-test-alerts-x-alerts-3": false, // deployment test-alerts-x
		"flytrap-other-alerts-3":         false,
	}
	var want []string
	for topic, ok := range cases {
		want = append(want, fmt.Sprintf("%q = %v", topic, ok))
	}
	writeFile(t, filepath.Join(work, "alerts.tftest.hcl"), `
override_module {
  target          = module.storage
  outputs = {
    bucket_name       = "flytrap-test-123456789012-eu-west-1"
    bucket_arn        = "arn:aws:s3:::flytrap-test-123456789012-eu-west-1"
    keyset_key        = "keys/keyset.json"
    sourcemaps_prefix = "sourcemaps/"
  }
  override_during = plan
}

override_resource {
  target          = aws_secretsmanager_secret.alerts_smtp
  values          = { arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:flytrap-test-alerts-smtp-AbCdEf" }
  override_during = plan
}

run "alerts" {
  command = plan

  assert {
    condition = alltrue([for topic, want in { `+strings.Join(want, ", ")+` } : alltrue([
      for action in ["sns:CreateTopic", "sns:Publish", "sns:Subscribe", "sns:ListSubscriptionsByTopic"] : want == (
        anytrue([for s in jsondecode(aws_iam_role_policy.dashboard_alerts.policy).Statement : s.Effect == "Allow" && anytrue([for a in flatten([s.Action]) : can(regex("^${replace(a, "*", ".*")}$", action))]) &&
        anytrue([for r in flatten([s.Resource]) : can(regex("^${replace(r, "*", ".*")}$", "arn:aws:sns:eu-west-1:123456789012:${topic}"))])]) &&
        !anytrue([for s in jsondecode(aws_iam_role_policy.dashboard_alerts.policy).Statement : s.Effect == "Deny" && anytrue([for a in flatten([s.Action]) : can(regex("^${replace(a, "*", ".*")}$", action))]) &&
        anytrue([for r in flatten([s.Resource]) : can(regex("^${replace(r, "*", ".*")}$", "arn:aws:sns:eu-west-1:123456789012:${topic}"))])])
      )
    ])])
    error_message = "The alert topics policy grants other deployments' topics, or not its own: ${aws_iam_role_policy.dashboard_alerts.policy}"
  }

  # Unsubscribe and SetSubscriptionAttributes have no IAM resource type:
  # only Resource "*" lets them through, and nothing else of SNS gets it.
  assert {
    condition = alltrue([for action in ["sns:Unsubscribe", "sns:SetSubscriptionAttributes"] :
      anytrue([for s in jsondecode(aws_iam_role_policy.dashboard_alerts.policy).Statement : s.Effect == "Allow" && contains(flatten([s.Action]), action) && flatten([s.Resource]) == ["*"]])
      ]) && alltrue([for s in jsondecode(aws_iam_role_policy.dashboard_alerts.policy).Statement :
      !(s.Effect == "Allow" && contains(flatten([s.Resource]), "*")) || alltrue([for a in flatten([s.Action]) : contains(["sns:Unsubscribe", "sns:SetSubscriptionAttributes"], a)])
    ])
    error_message = "Unsubscribe and SetSubscriptionAttributes need Resource \"*\", and no other action may have it: ${aws_iam_role_policy.dashboard_alerts.policy}"
  }
}
`)
	out, err := tf.run(t, work, "test", "-no-color")
	if err != nil || !strings.Contains(out, "1 passed, 0 failed") {
		t.Errorf("terraform test: %v\n%s", err, tail(out, 30))
	}
}

// TestProcessorPolicy checks the processor role against every call made
// with it: the SQS event source's three (AWS's documented execution role
// permissions for an SQS event source mapping), the IAM database login,
// the source map reads of runtime/processor (artifact.S3 Get, Exists and
// List, under the prefix only) and the VPC interfaces Lambda creates for
// the function. Fakes accept any credentials, so only this shows that a
// call would be denied on AWS.
func TestProcessorPolicy(t *testing.T) {
	tf := needProvider(t)
	t.Parallel()
	vars := processorVars(t)
	queue, connect, bucket, logs := vars["queue_arn"].(string), vars["db_connect_arn"].(string), vars["bucket_arn"].(string), vars["log_group_arn"].(string)
	plan := planModule(t, tf, "processor", vars)
	if n := len(plan.all("aws_iam_role_policy_attachment")); n != 0 {
		t.Errorf("%d managed policies attached; the role must carry only its scoped inline policy", n)
	}
	stmts := policyOf(t, plan.one(t, "aws_iam_role_policy.this"))
	for _, c := range []struct {
		action, resource string
		want             bool
	}{
		{"sqs:ReceiveMessage", queue, true},
		{"sqs:DeleteMessage", queue, true},
		{"sqs:GetQueueAttributes", queue, true},
		{"sqs:SendMessage", queue, false},
		{"sqs:ReceiveMessage", queue + "-dlq", false},
		{"rds-db:connect", connect, true},
		{"rds-db:connect", "arn:aws:rds-db:eu-west-1:123456789012:dbuser:db-ABCDEFGHIJKLMNOP/postgres", false},
		{"s3:GetObject", bucket + "/sourcemaps/1/app.min.js.map", true},
		{"s3:GetObject", bucket + "/keyset/ingest-keys.json", false},
		{"s3:GetObject", bucket + "/deploy/initial-admin-password", false},
		{"s3:PutObject", bucket + "/sourcemaps/1/app.min.js.map", false},
		{"s3:ListBucket", bucket, true},
		{"logs:CreateLogStream", logs + ":log-stream:2026/12/07/[$LATEST]abc", true},
		{"logs:PutLogEvents", logs + ":log-stream:2026/12/07/[$LATEST]abc", true},
		{"ec2:CreateNetworkInterface", "*", true},
		{"ec2:DescribeNetworkInterfaces", "*", true},
		{"ec2:DescribeSubnets", "*", true},
		{"ec2:DeleteNetworkInterface", "*", true},
		{"ec2:AssignPrivateIpAddresses", "*", true},
		{"ec2:UnassignPrivateIpAddresses", "*", true},
	} {
		if got := allowed(stmts, c.action, c.resource); got != c.want {
			t.Errorf("%s on %s: allowed %v, want %v", c.action, c.resource, got, c.want)
		}
	}
	// List is allowed for the source maps' prefix only (a missing map is
	// then a 404, not a 403); the condition is where that is said.
	for _, st := range stmts {
		if slices.Contains(st.Action, "s3:ListBucket") {
			if got := st.Condition["StringLike"]["s3:prefix"]; got != "sourcemaps/*" {
				t.Errorf("s3:ListBucket condition %v, want s3:prefix like sourcemaps/*", st.Condition)
			}
		}
	}
}
