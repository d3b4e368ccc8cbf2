package terraform

// AlarmSuffixes name the CloudWatch alarms a deployment has,
// "flytrap-<name>-<suffix>" (observability.tf, modules/queue). `flytrap
// status` lists exactly these: the name prefix alone also matches
// another deployment's, "flytrap-<name>-eu-…". TestPlan checks the list
// against the plan.
var AlarmSuffixes = []string{
	"dashboard-status-check",
	"db-storage-low",
	"events-backlog",
	"events-dlq-not-empty",
	"ingest-5xx",
	"ingest-errors",
	"ingest-throttles",
	"processor-errors",
	"processor-throttles",
}
