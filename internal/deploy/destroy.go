package deploy

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/getflytrap/flytrap/internal/awsbase"
	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/plan"
	"github.com/getflytrap/flytrap/internal/tf"
	"github.com/getflytrap/flytrap/terraform"
)

// DestroySteps are the steps of `flytrap destroy`, in order. They work
// from the state bucket alone (the inputs the last deploy recorded), so a
// teammate without the original workspace can run them.
func DestroySteps() []Step {
	return []Step{
		credentialsStep{},
		findDeploymentStep{},
		terraformStep{},
		destroyWorkspaceStep{},
		initStep{},
		confirmDestroyStep{},
		unprotectStep{},
		destroyStep{},
		cleanupStep{},
	}
}

// Addresses of the resources deletion protection guards.
var protectedResources = []string{
	"module.database.aws_db_instance.this",
	"module.storage.aws_s3_bucket.this",
}

// --- find deployment ---

type findDeploymentStep struct{}

func (findDeploymentStep) Name() string { return "find-deployment" }

func (findDeploymentStep) Run(ctx context.Context, s *State) error {
	name, region := s.Plan.Name, s.Plan.AWS.Region
	s.StateBucket = awsx.StateBucket{
		Client:  s.Clients.S3,
		Name:    awsx.StateBucketName(s.Identity.Account, region),
		Region:  region,
		Account: s.Identity.Account,
	}
	exists, err := s.StateBucket.Exists(ctx)
	if err != nil {
		return awsError(err, s.Plan.AWS.Profile, "cannot read the state bucket "+s.StateBucket.Name, "the credentials need s3:ListBucket on it")
	}
	if !exists {
		return notDeployed(s, "no state bucket s3://"+s.StateBucket.Name)
	}
	raw, err := s.StateBucket.Get(ctx, awsx.StateKey(name))
	if errors.Is(err, awsbase.ErrObjectNotFound) {
		return notDeployed(s, "no state at s3://"+s.StateBucket.Name+"/"+awsx.StateKey(name))
	}
	if err != nil {
		return awsError(err, s.Plan.AWS.Profile, "cannot read the Terraform state", "the credentials need s3:GetObject on s3://"+s.StateBucket.Name)
	}
	st, err := awsx.ParseTerraformState(raw)
	if err != nil {
		return err
	}
	s.Existing = &st
	prev, err := loadInputs(ctx, s)
	if err != nil {
		return err
	}
	if prev == nil {
		// Deployed by a flytrap that did not record inputs, or the record
		// was removed: the local workspace may still have them.
		if b, rerr := os.ReadFile(filepath.Join(s.Options.Workspace, VarsFileName)); rerr == nil {
			if v, perr := ParseVars(b); perr == nil {
				prev = &v
			}
		}
	}
	if prev == nil {
		return &Error{
			Msg:  fmt.Sprintf("the inputs of deployment %q are not recorded (s3://%s/%s)", name, s.StateBucket.Name, awsx.InputsKey(name)),
			Hint: "run destroy where it was deployed (its workspace " + s.Options.Workspace + " has them), or run `flytrap deploy` once to record them",
		}
	}
	if st.Resources == 0 {
		s.Previous = prev
		s.Logf("deployment %q holds no resources (destroyed already)", name)
		return nil
	}
	s.Previous = prev
	s.Resolved = Resolved{AccountID: prev.AccountID, AMIID: prev.AMIID, AvailabilityZones: prev.AvailabilityZones, Source: "previous"}
	s.Logf("deployment %q: %d resources in s3://%s/%s", name, st.Resources, s.StateBucket.Name, awsx.StateKey(name))
	return nil
}

func notDeployed(s *State, why string) error {
	return &Error{
		Msg:  fmt.Sprintf("no deployment named %q in account %s (%s): %s", s.Plan.Name, s.Identity.Account, s.Plan.AWS.Region, why),
		Hint: "check the name, region and profile (flags or flytrap.yaml)",
	}
}

// --- workspace for destroy ---

type destroyWorkspaceStep struct{}

func (destroyWorkspaceStep) Name() string { return "workspace" }

// Run writes the modules and the last deploy's variables. Destroy needs
// the artifact files to exist but not their content, so stand-ins are
// written where the variables point; deletion protection is switched off
// in the variables (the unprotect step applies that).
func (destroyWorkspaceStep) Run(ctx context.Context, s *State) error {
	if s.Existing != nil && s.Existing.Resources == 0 {
		return Skip("nothing to destroy")
	}
	ws := s.Options.Workspace
	if err := terraform.WriteTo(ws); err != nil {
		return err
	}
	v := *s.Previous
	v.DBDeletionProtection = false
	for _, p := range []string{v.IngestZipPath, v.ProcessorZipPath, v.DashboardBinaryPath} {
		if err := writeStandIn(filepath.Join(ws, filepath.FromSlash(p))); err != nil {
			return err
		}
	}
	s.Vars = v
	if err := WriteVars(ws, v); err != nil {
		return err
	}
	s.Logf("%s: modules, %s (from the last deploy), stand-in artifacts", ws, VarsFileName)
	return nil
}

// writeStandIn writes a placeholder artifact unless a file is there.
func writeStandIn(p string) error {
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	content := []byte("flytrap destroy: stand-in artifact\n")
	if strings.HasSuffix(p, ".zip") {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, err := zw.Create("bootstrap")
		if err == nil {
			_, err = w.Write(content)
		}
		if err == nil {
			err = zw.Close()
		}
		if err != nil {
			return err
		}
		content = buf.Bytes()
	}
	return os.WriteFile(p, content, 0o644)
}

// --- confirm destroy ---

type confirmDestroyStep struct{}

func (confirmDestroyStep) Name() string { return "confirm" }

func (confirmDestroyStep) Run(ctx context.Context, s *State) error {
	if s.Existing != nil && s.Existing.Resources == 0 {
		return Skip("nothing to destroy")
	}
	name := s.Plan.Name
	fmt.Fprintf(s.Log, "    This destroys deployment %q in account %s (%s): %d resources, including every stored\n", name, s.Identity.Account, s.Plan.AWS.Region, s.Existing.Resources)
	fmt.Fprintf(s.Log, "    event, source map and user. RDS keeps a final snapshot, %s\n", s.snapshotNote())
	if o, ok := s.Existing.Outputs["ingest_url"]; ok {
		fmt.Fprintf(s.Log, "    Every DSN stops working: they name %s, and a new deployment gets a new ingest URL,\n", o.String())
		fmt.Fprintf(s.Log, "    so each SDK needs its new DSN.\n")
	}
	if s.Options.Yes {
		return Skip("--yes")
	}
	if s.Options.Ask == nil {
		return &Error{
			Msg:   "destroy needs a confirmation",
			Hint:  "run it in a terminal and type the deployment name, or pass --yes",
			Usage: true,
		}
	}
	answer, err := s.Options.Ask(ctx, fmt.Sprintf("Type the deployment name (%s) to destroy it: ", name))
	if err != nil {
		return err
	}
	if strings.TrimSpace(answer) != name {
		s.Declined = true
		s.Logf("the name did not match; nothing was destroyed")
		return ErrStop
	}
	return nil
}

// --- unprotect ---

type unprotectStep struct{}

func (unprotectStep) Name() string { return "unprotect" }

// Run turns deletion protection off on the database and the bucket with a
// targeted apply: destroy would otherwise fail on them after deleting
// everything else.
func (unprotectStep) Run(ctx context.Context, s *State) error {
	if s.Existing != nil && s.Existing.Resources == 0 {
		return Skip("nothing to destroy")
	}
	if !s.Previous.DBDeletionProtection {
		return Skip("deletion protection is off")
	}
	p := NewProgress(0)
	err := s.stream(ctx, "Unprotecting", p, func(w io.Writer) error {
		return s.Runner.Apply(ctx, tf.ApplyOptions{Targets: protectedResources}, w)
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return terraformFailed("apply (turning deletion protection off)", p, s.Options.Workspace, err)
	}
	return nil
}

// --- destroy ---

type destroyStep struct{}

func (destroyStep) Name() string { return "destroy" }

func (destroyStep) Run(ctx context.Context, s *State) error {
	if s.Existing != nil && s.Existing.Resources == 0 {
		return Skip("nothing to destroy")
	}
	for attempt := 1; ; attempt++ {
		p := NewProgress(0)
		s.Applied = p
		err := s.stream(ctx, "Destroying", p, func(w io.Writer) error {
			return s.Runner.Destroy(ctx, tf.DestroyOptions{}, w)
		})
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if attempt < destroyAttempts && blockedByNetworkInterfaces(p) {
			if err := s.waitForLambdaENIs(ctx); err != nil {
				return err
			}
			s.Logf("retrying terraform destroy (attempt %d of %d): it continues with what is left", attempt+1, destroyAttempts)
			continue
		}
		return s.destroyFailed(p, err)
	}
}

// destroyAttempts bounds the destroys run when Lambda network interfaces
// block the security group and subnets.
const destroyAttempts = 3

// ENI waits: AWS releases a deleted function's VPC network interfaces
// 20-40 minutes later; until then its security group and subnets cannot
// be deleted.
const (
	eniWaitTimeout = 45 * time.Minute
	eniPoll        = 30 * time.Second
)

// blockedByNetworkInterfaces reports whether the destroy failed on a
// dependency: a security group or subnet still used by network interfaces.
func blockedByNetworkInterfaces(p *Progress) bool {
	for _, d := range p.Errors() {
		if strings.Contains(d.Summary+d.Detail, "DependencyViolation") {
			return true
		}
	}
	return false
}

// waitForLambdaENIs waits, with a line of progress a poll, until the
// processor's network interfaces are gone.
func (s *State) waitForLambdaENIs(ctx context.Context) error {
	desc := "AWS Lambda VPC ENI-flytrap-" + s.Plan.Name + "-processor*"
	start := s.now()
	for {
		out, err := s.Clients.ENI.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{
			Filters: []ec2types.Filter{{Name: aws.String("description"), Values: []string{desc}}},
		})
		if err != nil {
			return awsError(err, s.Plan.AWS.Profile, "cannot list the Lambda network interfaces", "the credentials need ec2:DescribeNetworkInterfaces")
		}
		n := len(out.NetworkInterfaces)
		waited := s.now().Sub(start).Round(time.Second)
		if n == 0 {
			s.Logf("the processor's network interfaces are released (waited %s)", waited)
			return nil
		}
		if waited > eniWaitTimeout {
			return &Error{
				Msg:  fmt.Sprintf("%d Lambda network interfaces of flytrap-%s-processor are still in use after %s", n, s.Plan.Name, eniWaitTimeout),
				Hint: fmt.Sprintf("AWS releases them by itself; see `aws ec2 describe-network-interfaces --filters Name=description,Values='%s'`, then run flytrap destroy again (it continues with what is left)", desc),
			}
		}
		s.Logf("waiting for %d Lambda network interfaces of flytrap-%s-processor to be released: AWS takes 20-40 minutes after the function is deleted (%s so far)", n, s.Plan.Name, waited)
		if err := s.sleep(ctx, eniPoll); err != nil {
			return err
		}
	}
}

// destroyFailed maps a failed destroy to its message and hint.
func (s *State) destroyFailed(p *Progress, err error) error {
	e := terraformFailed("destroy", p, s.Options.Workspace, err)
	for _, d := range p.Errors() {
		if strings.Contains(d.Summary+d.Detail, "DBSnapshotAlreadyExists") {
			var ce *Error
			if errors.As(e, &ce) {
				ce.Hint = fmt.Sprintf("a final snapshot from an earlier deployment of this name exists: `aws rds delete-db-snapshot --db-snapshot-identifier %s` (after saving what you need), then run destroy again", s.finalSnapshot())
			}
		}
	}
	return e
}

// --- cleanup ---

type cleanupStep struct{}

func (cleanupStep) Name() string { return "cleanup" }

func (cleanupStep) Run(ctx context.Context, s *State) error {
	key := awsx.InputsKey(s.Plan.Name)
	if err := s.StateBucket.Delete(ctx, key); err != nil {
		s.Warnf("could not delete s3://%s/%s: %v", s.StateBucket.Name, key, err)
	}
	s.deleteAlertTopics(ctx)
	s.Logf("kept: the state bucket s3://%s (shared by this account's deployments in %s; delete it when none is left)", s.StateBucket.Name, s.Plan.AWS.Region)
	s.Logf("kept: the final database snapshot %s; `aws rds delete-db-snapshot --db-snapshot-identifier %s` removes it", s.snapshotNote(), s.finalSnapshot())
	return nil
}

// AlertTopicsAPI is the part of the SNS client destroy uses to delete the
// per-project alert topics the dashboard creates at run time, outside
// Terraform.
type AlertTopicsAPI interface {
	ListTopics(ctx context.Context, in *sns.ListTopicsInput, optFns ...func(*sns.Options)) (*sns.ListTopicsOutput, error)
	DeleteTopic(ctx context.Context, in *sns.DeleteTopicInput, optFns ...func(*sns.Options)) (*sns.DeleteTopicOutput, error)
}

// deleteAlertTopics deletes the deployment's per-project alert topics
// (notify.TopicName), and with them their e-mail subscriptions, which SNS
// deletes with the topic. Left behind, a new deployment of the same name
// would reuse them, its project 1 inheriting the old one's subscribers.
// The cleanup step runs only once Terraform has destroyed the dashboard,
// so no topic can be created behind it. The stack is gone by then, so a
// failure is a warning naming the commands that finish the job.
func (s *State) deleteAlertTopics(ctx context.Context) {
	name, flags := s.Plan.Name, " --region "+s.Plan.AWS.Region+profileArg(s.Plan.AWS.Profile)
	var arns []string
	p := sns.NewListTopicsPaginator(s.Clients.SNS, &sns.ListTopicsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			s.Warnf("could not list the alert topics flytrap-%s-alerts-<project id> to delete them: %s; list them with `aws sns list-topics%s --query 'Topics[].TopicArn' --output text | tr '\\t' '\\n' | grep -E ':flytrap-%s-alerts-[0-9]+$'` and delete each with `aws sns delete-topic%s --topic-arn <arn>`",
				name, snsFailure(ctx, err, "sns:ListTopics"), flags, name, flags)
			return
		}
		for _, t := range page.Topics {
			if arn := aws.ToString(t.TopicArn); isAlertTopic(arn, name) {
				arns = append(arns, arn)
			}
		}
	}
	var deleted, left []string
	var failure error
	for _, arn := range arns {
		if _, err := s.Clients.SNS.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: aws.String(arn)}); err != nil {
			left = append(left, "`aws sns delete-topic"+flags+" --topic-arn "+arn+"`")
			if failure == nil {
				failure = err
			}
			continue
		}
		deleted = append(deleted, topicName(arn))
	}
	switch {
	case len(deleted) > 0:
		s.Logf("deleted %d alert topics the dashboard created, with their e-mail subscriptions: %s", len(deleted), strings.Join(deleted, ", "))
	case len(arns) == 0:
		s.Logf("no alert topics flytrap-%s-alerts-<project id> to delete", name)
	}
	if len(left) > 0 {
		s.Warnf("could not delete %d of %d alert topics: %s; delete them with %s", len(left), len(arns), snsFailure(ctx, failure, "sns:DeleteTopic"), strings.Join(left, " and "))
	}
}

// isAlertTopic reports whether arn names a project alert topic of the
// deployment called name: flytrap-<name>-alerts-<project id>. Only digits
// may follow, so a deployment "prod" leaves alone the topics of one
// called "prod-alerts-x" (flytrap-prod-alerts-x-alerts-3) and its own
// operations topic flytrap-prod-alerts, which Terraform manages.
func isAlertTopic(arn, name string) bool {
	id, ok := strings.CutPrefix(topicName(arn), "flytrap-"+name+"-alerts-")
	return ok && id != "" && strings.Trim(id, "0123456789") == ""
}

// topicName is the name of the topic arn names: its last field.
func topicName(arn string) string { return arn[strings.LastIndex(arn, ":")+1:] }

// snsFailure says why an SNS call failed: the permission the credentials
// lack, or AWS's code and message.
func snsFailure(ctx context.Context, err error, permission string) string {
	if accessDenied(err) {
		return "the credentials lack " + permission
	}
	return briefError(ctx, err)
}

// finalSnapshot is the name of the snapshot RDS takes on destroy: the
// state's output, or the fixed name of deployments made before it was
// unique.
func (s *State) finalSnapshot() string {
	if s.Existing != nil {
		if o, ok := s.Existing.Outputs["db_final_snapshot"]; ok && o.String() != "" {
			return o.String()
		}
	}
	return "flytrap-" + s.Plan.Name + "-db-final"
}

// snapshotNote names the final snapshot and what keeping it costs.
func (s *State) snapshotNote() string {
	gb := 0
	if s.Previous != nil {
		gb = s.Previous.DBAllocatedStorage
	}
	return fmt.Sprintf("%s (up to %d GiB: about $%.2f/month at %s prices until you delete it)", s.finalSnapshot(), gb, plan.SnapshotMonthlyUSD(gb), plan.PriceRegion)
}
