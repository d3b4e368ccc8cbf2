package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/getflytrap/flytrap/internal/tf"
)

// Upgrade order. A new flytrap may bring schema migrations, and the
// functions must never run against a schema older than theirs: a
// processor would fail every batch until the dashboard restarted and
// migrated, and the events would reach the dead-letter queue. So on an
// upgrade that changes the dashboard binary, the migrate step runs before
// apply: a targeted apply uploads the new binary and config (nothing
// else), then the new binary migrates the database once, through SSM Run
// Command on the instance, with the instance role's master credentials;
// only then does apply update the functions (re-planned, since the
// targeted apply changed the state).
var migrateTargets = []string{"module.dashboard.aws_s3_object.binary", "module.dashboard.aws_s3_object.config"}

// MigrateCommand is what the instance runs: install the uploaded binary
// (the same root-owned fetch the service's start runs), then migrate as
// the service's user. The running dashboard keeps its old binary until
// the restart after apply.
const MigrateCommand = "set -e; /usr/local/libexec/flytrap/fetch-dashboard; runuser -u flytrap -- /opt/flytrap/flytrap-dashboard migrate"

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
	s.Logf("uploaded the new dashboard binary and config; migrating the database from %s", instance)
	out, err := s.runOnInstance(ctx, instance, MigrateCommand, "flytrap deploy: migrate the database before updating the functions")
	if err != nil {
		return &Error{
			Msg:  "the database migration failed; no function was updated",
			Hint: "the dashboard and the functions still run the previous version. Its output is above; fix the cause (`aws ssm start-session --target " + instance + "`, `/opt/flytrap/flytrap-dashboard migrate`) and run flytrap deploy again",
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
				return out, fmt.Errorf("%s: %s", inv.Status, strings.TrimSpace(aws.ToString(inv.StandardErrorContent)+"\n"+out))
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
