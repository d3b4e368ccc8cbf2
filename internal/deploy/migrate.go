package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/getflytrap/flytrap/internal/runtimebin"
	"github.com/getflytrap/flytrap/internal/tf"
	"github.com/getflytrap/flytrap/terraform"
)

var sha256Re = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Upgrade order. A new flytrap may bring schema migrations, and the
// functions must never run against a schema older than theirs: a
// processor would fail every batch until the dashboard restarted and
// migrated, and the events would reach the dead-letter queue. So on an
// upgrade that changes the dashboard binary, the migrate step runs before
// apply: a targeted apply uploads the new binary (nothing else: its only
// dependency is the bucket, while the runtime config depends on the
// database, queues and CloudFront, whose pending changes would come with
// it), then the new binary migrates the database once, through SSM Run
// Command on the instance, with the instance role's master credentials,
// from a temporary copy checked against this deploy's SHA-256 (the
// installed binary stays the old one, and config.json still names the old
// one, so a restart meanwhile keeps the old version); only then does
// apply upload the config and update the functions (re-planned, since the
// targeted apply changed the state). When the migration fails, the step
// puts the previous version of the binary back in the (versioned) bucket,
// so the bucket again matches config.json and a new instance.
var migrateTargets = terraform.MigrateTargets

// The dashboard's binary and runtime config in the deployment bucket (the
// dashboard module's binary_key and config_key defaults, which the root
// module keeps; TestDashboardKeysMatchModule checks them).
const (
	DashboardBinaryKey = "deploy/dashboard/flytrap-dashboard"
	DashboardConfigKey = "deploy/dashboard/config.json"
)

// MigrateCommand is what the instance runs for a binary of the given
// SHA-256: fetch the uploaded binary into a temporary directory (the same
// root-owned fetch the service's start runs, pointed elsewhere by
// FLYTRAP_INSTALL_DIR and told the checksum, which config.json does not
// hold yet), then migrate with it as the service's user. Nothing is
// installed: the running dashboard and /opt/flytrap/flytrap-dashboard keep
// the old binary until the restart after apply fetches the new one.
func MigrateCommand(sha256 string) string {
	return `set -e; d=$(mktemp -d /opt/flytrap/.migrate.XXXXXX); trap 'rm -rf "$d"' EXIT; ` +
		`FLYTRAP_INSTALL_DIR="$d" FLYTRAP_EXPECT_SHA256=` + sha256 + ` /usr/local/libexec/flytrap/fetch-dashboard; chmod 0755 "$d"; ` +
		`runuser -u flytrap -- "$d/flytrap-dashboard" migrate`
}

// migrateTimeout bounds the wait for the migration command.
const migrateTimeout = 10 * time.Minute

type migrateStep struct{}

func (migrateStep) Name() string { return "migrate" }

func (migrateStep) Run(ctx context.Context, s *State) error {
	if !s.upgradesDashboard() {
		return Skip("no running dashboard gets a new binary: nothing to migrate before the functions")
	}
	// The instance of the last apply, from the state's outputs.
	m, err := s.Runner.Outputs(ctx)
	if err != nil {
		return terraformFailed("output", nil, s.Options.Workspace, err)
	}
	prev, err := OutputsFromTerraform(m)
	if err != nil {
		return err
	}
	instance := prev.DashboardInstanceID
	sha := s.Artifacts.SHA256[runtimebin.DashboardBinary]
	if !sha256Re.MatchString(sha) {
		return fmt.Errorf("no SHA-256 of the dashboard binary to migrate with (got %q)", sha)
	}
	// The versions a failed migration puts back.
	previous, verr := s.dashboardObjectVersions(ctx, prev.BucketName)
	if verr != nil {
		s.Logf("warning: cannot record the running dashboard's binary and config (%v); a failed migration could not restore them", verr)
	}
	p := NewProgress(0)
	err = s.stream(ctx, "Uploading the new dashboard binary", p, func(w io.Writer) error {
		return s.Runner.Apply(ctx, tf.ApplyOptions{Targets: migrateTargets}, w)
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return terraformFailed("apply (upload of the new dashboard binary)", p, s.Options.Workspace, err)
	}
	s.Logf("uploaded the new dashboard binary; migrating the database from %s", instance)
	out, err := s.runOnInstance(ctx, instance, MigrateCommand(sha), "flytrap deploy: migrate the database before updating the functions")
	if err != nil {
		hint := "the dashboard and the functions still run the previous version, and the bucket holds its binary again. "
		if verr == nil {
			verr = s.restoreDashboardObjects(context.WithoutCancel(ctx), prev.BucketName, previous)
		}
		if verr != nil {
			hint = "the dashboard and the functions still run the previous version (config.json still names it, so a restart keeps it), but the bucket holds the new binary (" + verr.Error() +
				"), so a replaced instance could not start until the next deploy. "
		}
		return &Error{
			Msg:  "the database migration failed; no function was updated",
			Hint: hint + "Its output is above; fix the cause (`aws ssm start-session --target " + instance + "`) and run flytrap deploy again",
			Err:  err,
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line != "" {
			s.Logf("  %s", line)
		}
	}
	s.Migrated = true
	return nil
}

// objectVersion is one object's version in the deployment bucket.
type objectVersion struct{ Key, VersionID string }

// dashboardObjectVersions returns the current version of the dashboard's
// binary, which the targeted apply replaces.
func (s *State) dashboardObjectVersions(ctx context.Context, bucket string) ([]objectVersion, error) {
	var out []objectVersion
	for _, key := range []string{DashboardBinaryKey} {
		h, err := s.Clients.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			return nil, fmt.Errorf("s3://%s/%s: %w", bucket, key, err)
		}
		if aws.ToString(h.VersionId) == "" || aws.ToString(h.VersionId) == "null" {
			return nil, fmt.Errorf("s3://%s/%s has no version ID (bucket versioning off)", bucket, key)
		}
		out = append(out, objectVersion{key, aws.ToString(h.VersionId)})
	}
	return out, nil
}

// restoreDashboardObjects writes the given versions back as the current
// ones. The next deploy's plan sees the difference from its state and
// uploads again.
func (s *State) restoreDashboardObjects(ctx context.Context, bucket string, versions []objectVersion) error {
	for _, v := range versions {
		got, err := s.Clients.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(v.Key), VersionId: aws.String(v.VersionID)})
		if err != nil {
			return fmt.Errorf("cannot read the previous s3://%s/%s: %w", bucket, v.Key, err)
		}
		body, err := io.ReadAll(got.Body)
		got.Body.Close()
		if err != nil {
			return fmt.Errorf("cannot read the previous s3://%s/%s: %w", bucket, v.Key, err)
		}
		if _, err := s.Clients.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(v.Key), Body: bytes.NewReader(body), ContentType: got.ContentType}); err != nil {
			return fmt.Errorf("cannot restore s3://%s/%s: %w", bucket, v.Key, err)
		}
		s.Logf("restored the previous s3://%s/%s (version %s)", bucket, v.Key, v.VersionID)
	}
	return nil
}

// upgradesDashboard reports whether this deploy uploads a new binary to a
// dashboard instance that exists and stays.
func (s *State) upgradesDashboard() bool {
	if s.PlanProgress == nil {
		return false
	}
	binary, kept := false, true
	for _, c := range s.PlanProgress.Planned {
		switch c.Resource.Addr {
		case "module.dashboard.aws_s3_object.binary":
			binary = c.Action == "update" || c.Action == "replace"
		case "module.dashboard.aws_instance.this":
			kept = false // created or replaced: it starts on the new binary
		}
	}
	return binary && kept
}

// commandFailed is a command that ran on the instance and failed (as
// opposed to SSM refusing or losing it).
type commandFailed struct{ msg string }

func (e *commandFailed) Error() string { return e.msg }

// runOnInstance runs a shell command on the instance through SSM Run
// Command and waits for it, returning its output.
func (s *State) runOnInstance(ctx context.Context, instance, command, comment string) (string, error) {
	sent, err := s.Clients.SSM.SendCommand(ctx, &ssm.SendCommandInput{
		DocumentName:   aws.String("AWS-RunShellScript"),
		InstanceIds:    []string{instance},
		Comment:        aws.String(comment),
		Parameters:     map[string][]string{"commands": {command}},
		TimeoutSeconds: aws.Int32(int32(migrateTimeout / time.Second)),
	})
	if err != nil {
		return "", awsError(err, s.Plan.AWS.Profile, "cannot send the command to the dashboard instance", "the credentials need ssm:SendCommand on "+instance)
	}
	if sent.Command == nil || sent.Command.CommandId == nil {
		return "", errors.New("SSM returned no command ID")
	}
	deadline := s.now().Add(migrateTimeout)
	for {
		inv, err := s.Clients.SSM.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: sent.Command.CommandId, InstanceId: aws.String(instance)})
		var notYet *ssmtypes.InvocationDoesNotExist
		switch {
		case errors.As(err, &notYet):
			// The invocation appears a moment after SendCommand.
		case err != nil:
			return "", awsError(err, s.Plan.AWS.Profile, "cannot read the command's result", "the credentials need ssm:GetCommandInvocation")
		default:
			out := aws.ToString(inv.StandardOutputContent)
			switch inv.Status {
			case ssmtypes.CommandInvocationStatusSuccess:
				return out, nil
			case ssmtypes.CommandInvocationStatusFailed, ssmtypes.CommandInvocationStatusCancelled, ssmtypes.CommandInvocationStatusTimedOut:
				return out, &commandFailed{fmt.Sprintf("%s: %s", inv.Status, strings.TrimSpace(aws.ToString(inv.StandardErrorContent)+"\n"+out))}
			}
		}
		if s.now().After(deadline) {
			return "", fmt.Errorf("no result after %s", migrateTimeout)
		}
		if err := s.sleep(ctx, 5*time.Second); err != nil {
			return "", err
		}
	}
}
