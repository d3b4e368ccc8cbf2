package deploy

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/getflytrap/flytrap/internal/tf"
)

// upgradePlan writes a plan stream that updates the dashboard binary and
// config and both functions' code in place: a flytrap upgrade.
func upgradePlan(t *testing.T) string {
	t.Helper()
	var lines []string
	for _, addr := range []string{
		"module.dashboard.aws_s3_object.binary", "module.dashboard.aws_s3_object.config",
		"module.ingest.aws_lambda_function.this", "module.processor.aws_lambda_function.this",
	} {
		mod, rest, _ := strings.Cut(strings.TrimPrefix(addr, "module."), ".")
		typ, name, _ := strings.Cut(rest, ".")
		lines = append(lines, `{"@level":"info","@message":"`+addr+`: Plan to update","@timestamp":"2026-11-22T09:00:00Z","change":{"resource":{"addr":"`+addr+`","module":"module.`+mod+`","resource_type":"`+typ+`","resource_name":"`+name+`"},"action":"update"},"type":"planned_change"}`)
	}
	lines = append(lines, `{"@level":"info","@message":"Plan: 0 to add, 4 to change, 0 to destroy.","@timestamp":"2026-11-22T09:00:00Z","changes":{"add":0,"change":4,"import":0,"remove":0,"operation":"plan"},"type":"change_summary"}`)
	p := filepath.Join(t.TempDir(), "upgrade.jsonl")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestUpgradeMigratesBeforeFunctions is the upgrade order as deploy steps:
// a targeted apply uploads only the new dashboard binary and config, the
// new binary migrates the database on the instance (SSM), and only then
// does apply, re-planned, update the functions; the service restarts last.
func TestUpgradeMigratesBeforeFunctions(t *testing.T) {
	e := newTestEnv(t)
	e.putAdmin()
	e.runner.PlanStream = upgradePlan(t)
	e.runner.ApplyStream = ""
	e.ssm.CommandOutput = "store schema at version 12 (was 11)\n"
	res, s, err := e.run(DeploySteps())
	if err != nil {
		t.Fatalf("%v\n%s", err, e.out.String())
	}
	steps := names(res)
	if i, j := slices.Index(steps, "migrate:ok"), slices.Index(steps, "apply:ok"); i < 0 || j < i {
		t.Errorf("steps %v: migrate must succeed before apply", steps)
	}
	// init, plan; migrate: output (the instance), targeted apply; apply:
	// plan again (the state changed), apply the plan; outputs.
	if got, want := e.runner.Calls(), []string{"init", "plan", "output", "apply", "plan", "apply", "output"}; !slices.Equal(got, want) {
		t.Errorf("terraform calls %v, want %v", got, want)
	}
	if a := e.runner.Applies; len(a) != 2 || !slices.Equal(a[0].Targets, migrateTargets) || a[1].PlanFile != PlanFileName || len(a[1].Targets) != 0 {
		t.Errorf("applies %+v: want the targeted upload, then the saved plan", a)
	}
	if len(e.ssm.Commands) != 2 || e.ssm.Commands[0].Parameters["commands"][0] != MigrateCommand(fakeDashboardSHA) || e.ssm.Commands[0].InstanceIds[0] != "i-0123456789abcdef0" ||
		e.ssm.Commands[1].Parameters["commands"][0] != RestartCommand {
		t.Errorf("SSM commands %+v: want the migration, then the restart", e.ssm.Commands)
	}
	if !s.Migrated || !strings.Contains(e.out.String(), "store schema at version 12 (was 11)") {
		t.Errorf("migrated %v; output:\n%s", s.Migrated, e.out.String())
	}
}

// TestFailedMigrationUpdatesNoFunction: when the migration fails, the
// deploy stops before apply, so the functions keep the version that
// matches the schema.
func TestFailedMigrationUpdatesNoFunction(t *testing.T) {
	e := newTestEnv(t)
	e.putAdmin()
	e.runner.PlanStream = upgradePlan(t)
	e.ssm.CommandStatus = ssmtypes.CommandInvocationStatusFailed
	res, _, err := e.run(DeploySteps())
	// No dashboard objects to record (putAdmin's bucket has none): the
	// hint must not claim the bucket was restored.
	checkCmdError(t, err, "the database migration failed; no function was updated", "the bucket holds the new binary")
	if !strings.Contains(err.Error(), "0042_example.sql: syntax error") {
		t.Errorf("the error lacks the command's output: %v", err)
	}
	if got := names(res); got[len(got)-1] != "migrate:failed" {
		t.Errorf("steps %v", got)
	}
	if a := e.runner.Applies; len(a) != 1 || len(a[0].Targets) == 0 {
		t.Errorf("applies %+v: only the targeted upload may have run", a)
	}
}

// TestFirstDeploySkipsMigrate: a new instance migrates when it starts.
func TestFirstDeploySkipsMigrate(t *testing.T) {
	e := newTestEnv(t)
	e.putAdmin()
	res, _, err := e.run(DeploySteps())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(names(res), "migrate:skipped") || len(e.ssm.Commands) != 0 {
		t.Errorf("steps %v, SSM commands %d", names(res), len(e.ssm.Commands))
	}
}

// TestFailedMigrationRestoresPreviousDashboard: the targeted apply has
// replaced the binary in the (versioned) bucket when the migration fails;
// the step puts the previous version back, so the bucket matches
// config.json again (a restart or a new instance starts the old binary),
// and the hint says the previous version runs.
func TestFailedMigrationRestoresPreviousDashboard(t *testing.T) {
	e := newTestEnv(t)
	e.putAdmin()
	ctx := context.Background()
	bucket := e.runner.OutputValues["bucket_name"]
	if _, err := e.s3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(bucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	put := func(key, body string) {
		t.Helper()
		if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	get := func(key string) string {
		t.Helper()
		out, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		defer out.Body.Close()
		b, _ := io.ReadAll(out.Body)
		return string(b)
	}
	put(DashboardBinaryKey, "old binary")
	put(DashboardConfigKey, `{"dashboard_binary_sha256":"old"}`)
	e.runner.OnApply = func(o tf.ApplyOptions) error {
		if slices.Equal(o.Targets, migrateTargets) {
			put(DashboardBinaryKey, "new binary") // the config follows in the full apply
		}
		return nil
	}
	e.runner.PlanStream = upgradePlan(t)
	e.ssm.CommandStatus = ssmtypes.CommandInvocationStatusFailed
	_, _, err := e.run(DeploySteps())
	checkCmdError(t, err, "the database migration failed; no function was updated", "the bucket holds its binary again")
	if got := get(DashboardBinaryKey); got != "old binary" {
		t.Errorf("binary after the failed migration = %q, want the previous one", got)
	}
	if got := get(DashboardConfigKey); got != `{"dashboard_binary_sha256":"old"}` {
		t.Errorf("config after the failed migration = %q, want it untouched", got)
	}
}
