package terraform

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestMigrateTargetsClosure plans the root module with the migrate step's
// targets (MigrateTargets): -target also applies everything the
// targets depend on, so the pre-migration upload must reach no further
// than the new binary and the bucket it goes to. Otherwise a pending
// change of the database, the queues or CloudFront would be applied in
// the "upload" step, before the migration.
func TestMigrateTargetsClosure(t *testing.T) {
	tf := needProvider(t)
	t.Parallel()
	work := planWorkspace(t, tf, nil)
	args := []string{"plan", "-input=false", "-no-color", "-out=targets.tfplan"}
	for _, target := range MigrateTargets {
		args = append(args, "-target="+target)
	}
	tf.mustRun(t, work, args...)
	var plan planJSON
	if err := json.Unmarshal([]byte(tf.mustRun(t, work, "show", "-json", "targets.tfplan")), &plan); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rc := range plan.ResourceChanges {
		got = append(got, rc.Address)
	}
	slices.Sort(got)
	// The binary and the bucket with its settings (the storage module's
	// outputs wait for them); nothing else.
	for _, a := range got {
		if a != "module.dashboard.aws_s3_object.binary" && !strings.HasPrefix(a, "module.storage.aws_s3_bucket") {
			t.Errorf("the migrate step's targeted apply reaches %s; want only the binary and the bucket (all: %v)", a, got)
		}
	}
}
