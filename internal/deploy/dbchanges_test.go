package deploy

import (
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/plan"
)

func TestDatabaseChanges(t *testing.T) {
	base := BuildVars(plan.Default(), Resolved{}, "")
	grow := base
	grow.DBInstanceClass, grow.DBAllocatedStorage = "db.t4g.small", 50
	shrink := base
	shrink.DBAllocatedStorage = 10
	unprotect := base
	unprotect.DBDeletionProtection = false
	for _, c := range []struct {
		name      string
		prev      *Vars
		next      Vars
		wantLines []string
	}{
		{"first deploy", nil, base, nil},
		{"unchanged", &base, base, nil},
		{"class and storage", &base, grow, []string{
			"database db_instance_class db.t4g.micro -> db.t4g.small: applies now (the instance restarts on the new class: 5-15 minutes without a database; ingest keeps accepting, events wait in the queue and the dashboard reconnects)",
			"database db_allocated_storage 20 GiB -> 50 GiB: applies now (no downtime; the next storage change must wait 6 hours)",
		}},
		{"shrink", &base, shrink, []string{
			"database db_allocated_storage 20 GiB -> 10 GiB: not applied (RDS cannot shrink storage: the database keeps at least 20 GiB, billed as such, while the cost estimate and the db-storage-low alarm assume 10 GiB; set db_allocated_storage back to 20)",
		}},
		{"deletion protection", &base, unprotect, []string{
			"database db_deletion_protection true -> false: applies now (no downtime)",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, ch := range DatabaseChanges(c.prev, c.next) {
				got = append(got, ch.String())
			}
			if strings.Join(got, "\n") != strings.Join(c.wantLines, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(c.wantLines, "\n"))
			}
		})
	}
}

// TestRedeployShowsDatabaseTiming: a redeploy that resizes the database
// says, in the plan step, that the change applies now and what it costs.
func TestRedeployShowsDatabaseTiming(t *testing.T) {
	e := newTestEnv(t)
	e.putAdmin()
	if _, _, err := e.run(DeploySteps()); err != nil {
		t.Fatal(err)
	}
	e.plan.Sizes.DBInstanceClass = "db.t4g.small"
	e.out.Reset()
	res, s, err := e.run(DeploySteps())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.out.String(), "    database db_instance_class db.t4g.micro -> db.t4g.small: applies now (the instance restarts") {
		t.Errorf("the plan step does not show the class change's timing:\n%s", e.out.String())
	}
	rep := s.Report(res, err)
	if rep.Plan == nil || len(rep.Plan.Database) != 1 || rep.Plan.Database[0].When != AppliesNow {
		t.Errorf("report plan %+v", rep.Plan)
	}
}
