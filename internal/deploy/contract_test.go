package deploy

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-config-inspect/tfconfig"

	"github.com/getflytrap/flytrap/internal/plan"
	"github.com/getflytrap/flytrap/terraform"
)

// TestVarsContract: the variables file deploy writes declares exactly the
// root module's variables (every required one, no unknown key), each with
// a Go type Terraform converts to the declared type; and every output the
// CLI reads is an output of the root module.
func TestVarsContract(t *testing.T) {
	mod, diags := tfconfig.LoadModuleFromFilesystem(tfconfig.WrapFS(terraform.Modules), ".")
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	var declared []string
	for name := range mod.Variables {
		declared = append(declared, name)
	}
	sort.Strings(declared)
	if got := VarNames(); !slices.Equal(got, declared) {
		t.Errorf("Vars fields = %v\nroot variables = %v", got, declared)
	}

	// What is actually written: marshal a real plan's variables.
	p := plan.Default()
	p.Name, p.AdminEmail, p.AWS.Region = "prod", "ops@example.com", "eu-west-1"
	v := BuildVars(p, Resolved{AccountID: "123456789012", AMIID: PlaceholderAMIID, AvailabilityZones: PlaceholderZones("eu-west-1")}, "#cloud-config\n")
	b, err := v.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var written map[string]any
	if err := json.Unmarshal(b, &written); err != nil {
		t.Fatal(err)
	}
	for name, tv := range mod.Variables {
		val, ok := written[name]
		if !ok {
			t.Errorf("variable %s (required: %v) is not written", name, tv.Required)
			continue
		}
		if !jsonFits(val, tv.Type) {
			t.Errorf("variable %s: %T %v does not fit Terraform type %s", name, val, val, tv.Type)
		}
		if val == nil {
			t.Errorf("variable %s is written as null (Terraform would not use its default)", name)
		}
	}
	for name := range written {
		if _, ok := mod.Variables[name]; !ok {
			t.Errorf("tfvars key %s is not a variable of the root module", name)
		}
	}

	// Go field types against the declared types.
	rt := reflect.TypeOf(Vars{})
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		name := jsonName(f)
		tv, ok := mod.Variables[name]
		if !ok {
			continue
		}
		if want := goTypeFor(tv.Type); want != f.Type.String() {
			t.Errorf("Vars.%s is %s; Terraform type %s wants %s", f.Name, f.Type, tv.Type, want)
		}
	}

	for _, name := range OutputNames() {
		if _, ok := mod.Outputs[name]; !ok {
			t.Errorf("the CLI reads output %s, which terraform/outputs.tf does not declare", name)
		}
	}
}

// goTypeFor is the Go type deploy uses for a Terraform type.
func goTypeFor(tfType string) string {
	switch strings.ReplaceAll(tfType, " ", "") {
	case "string":
		return "string"
	case "number":
		return "int"
	case "bool":
		return "bool"
	case "list(string)":
		return "[]string"
	case "map(string)":
		return "map[string]string"
	}
	return "unsupported Terraform type " + tfType
}

// jsonFits reports whether a decoded JSON value converts to a Terraform
// type.
func jsonFits(v any, tfType string) bool {
	switch strings.ReplaceAll(tfType, " ", "") {
	case "string":
		_, ok := v.(string)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "bool":
		_, ok := v.(bool)
		return ok
	case "list(string)":
		l, ok := v.([]any)
		for _, e := range l {
			if _, s := e.(string); !s {
				return false
			}
		}
		return ok
	case "map(string)":
		m, ok := v.(map[string]any)
		for _, e := range m {
			if _, s := e.(string); !s {
				return false
			}
		}
		return ok
	}
	return false
}

// TestPlanChecksMatchTerraform: values the plan validation accepts or
// refuses, as the root module's validation blocks do. The regular
// expressions are copied from terraform/variables.tf; this keeps the copy
// honest by reading them back from the file.
func TestPlanChecksMatchTerraform(t *testing.T) {
	b, err := terraform.Modules.ReadFile("variables.tf")
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	for _, re := range []string{
		`^[a-z][a-z0-9-]{2,20}$`,
		`^[a-z]{2,4}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]+$`,
		`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$`,
		`^[a-z][a-z0-9-]*\\.[a-z0-9]+$`,
		`^db\\.[a-z0-9-]+\\.[a-z0-9]+$`,
		`^[A-Za-z0-9+=._:@-]+$`,
		`^[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*$`,
	} {
		if !strings.Contains(src, re) {
			t.Errorf("terraform/variables.tf no longer holds %s: update internal/plan's copy", re)
		}
	}
	for _, bound := range []string{
		fmt.Sprintf("var.retention_days <= %d", plan.MaxRetentionDays),
		fmt.Sprintf("var.retention_per_issue <= %d", plan.MaxRetentionPerIssue),
		"length(var.region) <= 20",
		fmt.Sprintf("var.ingest_rate_limit == %d || (var.ingest_rate_limit >= 1 && var.ingest_rate_limit <= %d)", plan.RateLimitNone, plan.MaxIngestRateLimit),
		fmt.Sprintf("var.max_live_streams >= 1 && var.max_live_streams <= %d", plan.MaxLiveStreams),
		fmt.Sprintf("var.max_live_streams_per_user >= 1 && var.max_live_streams_per_user <= %d", plan.MaxLiveStreams),
		fmt.Sprintf("var.min_upload_rate >= 1 && var.min_upload_rate <= %d", plan.MaxMinUploadRate),
		fmt.Sprintf("var.max_conns_per_client >= 1 && var.max_conns_per_client <= %d", plan.MaxMaxConnsPerClient),
	} {
		if !strings.Contains(src, bound) {
			t.Errorf("terraform/variables.tf no longer holds %q: update internal/plan's limit", bound)
		}
	}
}

// TestDashboardKeysMatchModule: the keys a failed migration restores are
// the dashboard module's binary_key and config_key defaults, which the root
// module does not override.
func TestDashboardKeysMatchModule(t *testing.T) {
	vars, err := terraform.Modules.ReadFile("modules/dashboard/variables.tf")
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string]string{"binary_key": DashboardBinaryKey, "config_key": DashboardConfigKey} {
		if !regexp.MustCompile(`(?s)variable "` + name + `" \{[^}]*default\s*=\s*"` + regexp.QuoteMeta(key) + `"`).Match(vars) {
			t.Errorf("modules/dashboard/variables.tf: %s's default is not %q", name, key)
		}
	}
	root, err := terraform.Modules.ReadFile("main.tf")
	if err != nil {
		t.Fatal(err)
	}
	if regexp.MustCompile(`(?m)^\s*(binary_key|config_key)\s*=`).Match(root) {
		t.Error("the root module sets binary_key or config_key: update DashboardBinaryKey/DashboardConfigKey")
	}
}
