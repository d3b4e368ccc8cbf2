package deploy

import (
	"fmt"
	"strconv"
)

// DatabaseChange is one setting of the database a deploy changes, with when
// RDS applies it. The module sets apply_immediately, so the settings
// flytrap.yaml controls apply during the apply; the timing says what that
// costs.
type DatabaseChange struct {
	Setting string `json:"setting"`
	From    string `json:"from"`
	To      string `json:"to"`
	// When is AppliesNow, or NotApplied for a storage decrease.
	When string `json:"when"`
	// Effect is what the change does to the running database.
	Effect string `json:"effect"`
}

// AppliesNow is the timing of every setting flytrap.yaml controls: the
// module sets apply_immediately. Only what flytrap does not change (engine
// minor versions, auto_minor_version_upgrade) waits for the maintenance
// window.
const AppliesNow = "applies now"

// NotApplied is the timing of a change AWS ignores (a storage decrease).
const NotApplied = "not applied"

// DatabaseChanges compares the database settings of the last deploy with
// this one's. A first deploy (prev nil) changes nothing: it creates.
func DatabaseChanges(prev *Vars, next Vars) []DatabaseChange {
	if prev == nil {
		return nil
	}
	var out []DatabaseChange
	if prev.DBInstanceClass != next.DBInstanceClass {
		out = append(out, DatabaseChange{"db_instance_class", prev.DBInstanceClass, next.DBInstanceClass, AppliesNow,
			"the instance restarts on the new class: 5-15 minutes without a database; ingest keeps accepting, events wait in the queue and the dashboard reconnects"})
	}
	if prev.DBAllocatedStorage != next.DBAllocatedStorage {
		when, effect := AppliesNow, "no downtime; the next storage change must wait 6 hours"
		if next.DBAllocatedStorage < prev.DBAllocatedStorage {
			// The AWS provider suppresses a smaller allocated_storage while
			// storage autoscaling is on (max_allocated_storage above it,
			// always so in the database module): the plan shows no change
			// and the apply succeeds, but nothing shrinks.
			p, n := strconv.Itoa(prev.DBAllocatedStorage), strconv.Itoa(next.DBAllocatedStorage)
			when = NotApplied
			effect = "RDS cannot shrink storage: the database keeps at least " + p + " GiB, billed as such, while the cost estimate and the db-storage-low alarm assume " + n + " GiB; set db_allocated_storage back to " + p
		}
		out = append(out, DatabaseChange{"db_allocated_storage", strconv.Itoa(prev.DBAllocatedStorage) + " GiB", strconv.Itoa(next.DBAllocatedStorage) + " GiB", when, effect})
	}
	if prev.DBDeletionProtection != next.DBDeletionProtection {
		out = append(out, DatabaseChange{"db_deletion_protection", strconv.FormatBool(prev.DBDeletionProtection), strconv.FormatBool(next.DBDeletionProtection), AppliesNow, "no downtime"})
	}
	return out
}

// String is the line the plan step prints.
func (c DatabaseChange) String() string {
	return fmt.Sprintf("database %s %s -> %s: %s (%s)", c.Setting, c.From, c.To, c.When, c.Effect)
}
