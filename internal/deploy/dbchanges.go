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
	// When is AppliesNow.
	When string `json:"when"`
	// Effect is what the change does to the running database.
	Effect string `json:"effect"`
}

// AppliesNow is the timing of every setting flytrap.yaml controls: the
// module sets apply_immediately. Only what flytrap does not change (engine
// minor versions, auto_minor_version_upgrade) waits for the maintenance
// window.
const AppliesNow = "applies now"

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
		effect := "no downtime; the next storage change must wait 6 hours"
		if next.DBAllocatedStorage < prev.DBAllocatedStorage {
			effect = "RDS cannot shrink storage: the apply fails; set db_allocated_storage back to at least " + strconv.Itoa(prev.DBAllocatedStorage)
		}
		out = append(out, DatabaseChange{"db_allocated_storage", strconv.Itoa(prev.DBAllocatedStorage) + " GiB", strconv.Itoa(next.DBAllocatedStorage) + " GiB", AppliesNow, effect})
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
