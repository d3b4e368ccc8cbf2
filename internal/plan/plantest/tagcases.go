// Package plantest holds test tables shared by internal/plan and the
// Terraform module tests, so both check the same values.
package plantest

import "strings"

// TagCase is one --tag and whether AWS accepts it on every resource
// Flytrap tags. TagCases is shared by internal/plan's tests and
// terraform's, which check terraform/variables.tf on the same values.
type TagCase struct {
	Key, Value string
	OK         bool
}

// TagCases are the keys and values plan.ValidateTags and the Terraform tags
// variable must agree on (AWS's tag pattern for IAM, key at most 128
// characters, value at most 256, no "aws:" prefix; IMDS's key characters).
var TagCases = []TagCase{
	{"Team", "errors", true},
	{"cost-center", "42", true},
	{"owner@example.com", "a/b:c=d+e-f_g.h@i", true},
	{"Team", "Platform Infra", true},   // spaces in values
	{"Team", "", true},                 // empty value
	{"Équipe", "x", false},             // IMDS keys are ASCII letters only
	{"Team", "Équipe données 2", true}, // any letter or digit in values
	{strings.Repeat("k", 128), strings.Repeat("v", 256), true},
	{"Team", strings.Repeat("é", 256), true}, // characters, not bytes
	{strings.Repeat("k", 129), "x", false},
	{"Team", strings.Repeat("v", 257), false},
	{"cost,center", "1", false}, // IAM refuses "," in keys
	{"cost center", "1", false}, // IMDS refuses spaces in keys
	{"team/a", "1", false},      // and "/"
	{"Team", "Platform & Infra", false},
	{"Owner", "jane (ops)", false},
	{"Ticket", "#123", false},
	{"Note", "it's", false},
	{"Note", "a,b", false},
	{"Note", "hi!", false},
	{"aws:owner", "x", false},
	{"AWS:Owner", "x", false},
	{"", "x", false},
	{"Project", "x", false}, // Flytrap's own keys, in any case: IAM
	{"project", "x", false}, // would get both Project and project
	{"MANAGEDBY", "x", false},
	{"flytrapDeployment", "x", false},
	{"Projects", "x", true},
}
