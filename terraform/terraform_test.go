package terraform

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/terraform-config-inspect/tfconfig"
)

// The contract with internal/deploy: the variables it writes as
// terraform.tfvars.json (with the defaults it may rely on) and the outputs it
// reads back.
var (
	rootVariables = map[string]any{ // name -> default; required ones map to required
		"name":                      required{},
		"region":                    required{},
		"availability_zones":        required{},
		"account_id":                required{},
		"ami_id":                    required{},
		"admin_email":               required{},
		"alert_email":               "",
		"domain":                    "",
		"plain_http":                false,
		"cloudfront_prefix_list_id": "",
		"origin_secret":             "",
		"ingest_domain":             "",
		"ingest_zone_id":            "",
		"dashboard_instance_type":   "t4g.small",
		"db_instance_class":         "db.t4g.micro",
		"db_allocated_storage":      float64(20),
		"db_deletion_protection":    true,
		"ingest_memory_mb":          float64(256),
		"processor_memory_mb":       float64(512),
		"processor_batch_size":      float64(10),
		"ingest_throttle_rate":      float64(100),
		"ingest_throttle_burst":     float64(200),
		"ingest_rate_limit":         float64(6000),
		"max_live_streams":          float64(500),
		"max_live_streams_per_user": float64(16),
		"min_upload_rate":           float64(1024),
		"max_conns_per_client":      float64(128),
		"log_retention_days":        float64(30),
		"retention_days":            float64(90),
		"retention_per_issue":       float64(10000),
		"ingest_zip_path":           required{},
		"processor_zip_path":        required{},
		"dashboard_binary_path":     required{},
		"dashboard_user_data":       required{},
		"tags":                      map[string]any{},
	}
	rootOutputs = []string{
		"dashboard_url", "ingest_url", "bucket_name", "queue_url", "dlq_url",
		"alerts_topic_arn", "db_endpoint", "db_secret_arn", "dashboard_instance_id", "db_final_snapshot",
	}
	childModules = []string{
		"alerts", "dashboard", "database", "ingest", "logs", "network", "processor", "queue", "storage",
	}
	// Variables that need no validation block: booleans cannot be wrong, and
	// the runtime config is a free-form map the root module builds.
	unvalidatedVariables = map[string]bool{
		"modules/dashboard.runtime_config": true,
	}
)

type required struct{}

// wantResources and wantTypes are what a first apply creates: the number of
// resources and how many of each type. Update them with the modules.
const wantResources = 87

var wantTypes = map[string]int{
	"aws_apigatewayv2_api":                               1,
	"aws_apigatewayv2_integration":                       1,
	"aws_apigatewayv2_route":                             3,
	"aws_apigatewayv2_stage":                             1,
	"aws_cloudfront_distribution":                        1,
	"aws_cloudwatch_log_group":                           4,
	"aws_cloudwatch_metric_alarm":                        9,
	"aws_db_instance":                                    1,
	"aws_db_parameter_group":                             1,
	"aws_db_subnet_group":                                1,
	"aws_default_security_group":                         1,
	"aws_eip":                                            1,
	"aws_eip_association":                                1,
	"aws_iam_instance_profile":                           1,
	"aws_iam_role":                                       3,
	"aws_iam_role_policy":                                5,
	"aws_iam_role_policy_attachment":                     0, // scoped inline policies only
	"aws_instance":                                       1,
	"aws_internet_gateway":                               1,
	"aws_lambda_event_source_mapping":                    1,
	"aws_lambda_function":                                2,
	"aws_lambda_permission":                              1,
	"aws_route":                                          1,
	"aws_route_table":                                    2,
	"aws_route_table_association":                        4,
	"aws_s3_bucket":                                      1,
	"aws_s3_bucket_lifecycle_configuration":              1,
	"aws_s3_bucket_ownership_controls":                   1,
	"aws_s3_bucket_policy":                               1,
	"aws_s3_bucket_public_access_block":                  1,
	"aws_s3_bucket_server_side_encryption_configuration": 1,
	"aws_s3_bucket_versioning":                           1,
	"aws_s3_object":                                      2,
	"aws_secretsmanager_secret":                          1,
	"aws_security_group":                                 3,
	"aws_sns_topic":                                      1,
	"aws_sns_topic_policy":                               1,
	"aws_sns_topic_subscription":                         1,
	"aws_sqs_queue":                                      2,
	"aws_sqs_queue_policy":                               2,
	"aws_sqs_queue_redrive_allow_policy":                 1,
	"aws_subnet":                                         4,
	"aws_nat_gateway":                                    0, // no NAT: nothing private calls the internet
	"aws_vpc":                                            1,
	"aws_vpc_endpoint":                                   1,
	"aws_vpc_security_group_egress_rule":                 9,
	"aws_vpc_security_group_ingress_rule":                3,
}

// --- tests that need only Go ---

// TestEmbeddedFilesMatchDisk makes sure Modules holds every Terraform file of
// the folder (a *.tf.json or a new folder level would be left out) and nothing
// stale.
func TestEmbeddedFilesMatchDisk(t *testing.T) {
	var onDisk []string
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".terraform" || strings.HasPrefix(d.Name(), ".") && p != ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".tf") || strings.HasSuffix(p, ".tf.json") || p == LockFileName) {
			if strings.HasSuffix(p, "_override.tf") || strings.HasSuffix(p, "_override.tf.json") {
				t.Errorf("%s: override files must not live in the repository", p)
				return nil
			}
			onDisk = append(onDisk, filepath.ToSlash(p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	embedded := embeddedFiles(t)
	sort.Strings(onDisk)
	if !slices.Equal(onDisk, embedded) {
		t.Errorf("embedded files differ from the folder:\n on disk:  %v\n embedded: %v", onDisk, embedded)
	}
	for _, p := range embedded {
		want, err := os.ReadFile(filepath.FromSlash(p))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := Modules.ReadFile(p)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: embedded content differs from disk", p)
		}
	}
	var mods []string
	entries, err := fs.ReadDir(Modules, "modules")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		mods = append(mods, e.Name())
	}
	if !slices.Equal(mods, childModules) {
		t.Errorf("child modules = %v, want %v", mods, childModules)
	}
}

func TestWriteToReplacesConfiguration(t *testing.T) {
	dir := t.TempDir()
	stale := map[string]string{
		"old.tf":                         "resource \"null\" \"x\" {}\n",
		"extra.tf.json":                  "{}\n",
		OfflineOverrideFileName:          OfflineOverride,
		"modules/gone/main.tf":           "# removed module\n",
		"modules/network/stale.tf":       "# removed file\n",
		"terraform.tfvars.json":          "{}\n",
		".terraform/terraform.tfstate":   "{}\n",
		".terraform.lock.hcl":            "# lock\n",
		"notes/keep.tf":                  "# not configuration of this root\n",
		"flytrap.tfplan":                 "plan",
		"terraform.tfstate":              "{}",
		"modules.txt":                    "kept",
		"versions.tf":                    "# overwritten\n",
		"modules/storage/variables.tf":   "# overwritten\n",
		"modules/processor/versions.tf":  "# overwritten\n",
		"modules/processor/override.txt": "removed with modules/",
	}
	for p, content := range stale {
		writeFile(t, filepath.Join(dir, p), content)
	}
	if err := WriteTo(dir); err != nil {
		t.Fatal(err)
	}
	if err := WriteTo(dir); err != nil { // idempotent
		t.Fatal(err)
	}
	for _, gone := range []string{"old.tf", "extra.tf.json", OfflineOverrideFileName, "modules/gone", "modules/network/stale.tf", "modules/processor/override.txt"} {
		if _, err := os.Stat(filepath.Join(dir, gone)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s still exists after WriteTo (err %v)", gone, err)
		}
	}
	for _, kept := range []string{"terraform.tfvars.json", ".terraform/terraform.tfstate", "notes/keep.tf", "flytrap.tfplan", "terraform.tfstate", "modules.txt"} {
		if _, err := os.Stat(filepath.Join(dir, kept)); err != nil {
			t.Errorf("%s was removed: %v", kept, err)
		}
	}
	for _, p := range embeddedFiles(t) {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := Modules.ReadFile(p)
		if !bytes.Equal(got, want) {
			t.Errorf("%s: written content differs from the embedded file", p)
		}
	}
}

// TestLockFile: the shipped lock file pins the provider version the
// offline tests plan with, within the modules' constraint, and records no
// hashes (see the file's comment for why).
func TestLockFile(t *testing.T) {
	src, err := Modules.ReadFile(LockFileName)
	if err != nil {
		t.Fatal(err)
	}
	f, diags := hclparse.NewParser().ParseHCL(src, LockFileName)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	content, diags := f.Body.Content(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "provider", LabelNames: []string{"source"}}}})
	if diags.HasErrors() || len(content.Blocks) != 1 || content.Blocks[0].Labels[0] != "registry.terraform.io/hashicorp/aws" {
		t.Fatalf("want exactly one provider block for registry.terraform.io/hashicorp/aws: %v", diags)
	}
	attrs, diags := content.Blocks[0].Body.JustAttributes()
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	get := func(name string) string {
		a, ok := attrs[name]
		if !ok {
			return ""
		}
		v, _ := a.Expr.Value(nil)
		return v.AsString()
	}
	if v := get("version"); v != providerVersion {
		t.Errorf("lock file pins %q, want %s (the mirror the tests plan with)", v, providerVersion)
	}
	if c := get("constraints"); c != "~> 6.0" {
		t.Errorf("lock file constraints %q, want the modules' ~> 6.0", c)
	}
	if _, ok := attrs["hashes"]; ok {
		t.Error("the lock file records hashes: a local provider build's would fail every real init")
	}
}

// TestVariablesAndOutputsDocumented: every variable of every module has a
// type, a description and (unless it cannot be wrong) a validation block;
// every output has a description; no module reads a data source (planning
// must not call AWS).
func TestVariablesAndOutputsDocumented(t *testing.T) {
	for _, dir := range moduleDirs() {
		t.Run(dir, func(t *testing.T) {
			mod, diags := tfconfig.LoadModuleFromFilesystem(tfconfig.WrapFS(Modules), dir)
			if diags.HasErrors() {
				t.Fatal(diags.Err())
			}
			if len(mod.Variables) == 0 || len(mod.Outputs) == 0 {
				t.Errorf("module has %d variables and %d outputs", len(mod.Variables), len(mod.Outputs))
			}
			validated := validatedVariables(t, dir)
			for name, v := range mod.Variables {
				if v.Type == "" {
					t.Errorf("variable %q (%s:%d) has no type", name, v.Pos.Filename, v.Pos.Line)
				}
				if strings.TrimSpace(v.Description) == "" {
					t.Errorf("variable %q (%s:%d) has no description", name, v.Pos.Filename, v.Pos.Line)
				}
				if v.Type != "bool" && !validated[name] && !unvalidatedVariables[dir+"."+name] {
					t.Errorf("variable %q (%s:%d) has no validation block", name, v.Pos.Filename, v.Pos.Line)
				}
			}
			for name, o := range mod.Outputs {
				if strings.TrimSpace(o.Description) == "" {
					t.Errorf("output %q (%s:%d) has no description", name, o.Pos.Filename, o.Pos.Line)
				}
			}
			for name := range mod.DataResources {
				t.Errorf("data source %s: planning must not call AWS; pass the value in as a variable", name)
			}
			if p, ok := mod.RequiredProviders["aws"]; !ok || p.Source != "hashicorp/aws" || !slices.Contains(p.VersionConstraints, "~> 6.0") {
				t.Errorf("required_providers.aws = %+v, want source hashicorp/aws, version ~> 6.0", p)
			}
			// The root holds the S3 backend, whose lock file needs 1.10.
			wantCore := ">= 1.5"
			if dir == "." {
				wantCore = ">= 1.10"
			}
			if !slices.Contains(mod.RequiredCore, wantCore) {
				t.Errorf("required_version = %v, want %s", mod.RequiredCore, wantCore)
			}
		})
	}
}

// TestRootContract pins the variables `flytrap deploy` writes and the outputs
// it reads.
func TestRootContract(t *testing.T) {
	mod, diags := tfconfig.LoadModuleFromFilesystem(tfconfig.WrapFS(Modules), ".")
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	var got, want []string
	for name := range mod.Variables {
		got = append(got, name)
	}
	for name := range rootVariables {
		want = append(want, name)
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("root variables = %v\nwant %v", got, want)
	}
	for name, def := range rootVariables {
		v, ok := mod.Variables[name]
		if !ok {
			continue
		}
		if _, req := def.(required); req {
			if !v.Required {
				t.Errorf("variable %q has a default (%v); the CLI always sets it, so it must be required", name, v.Default)
			}
			continue
		}
		if v.Required {
			t.Errorf("variable %q is required, want default %v", name, def)
		} else if fmt.Sprint(v.Default) != fmt.Sprint(def) {
			t.Errorf("variable %q default = %#v, want %#v", name, v.Default, def)
		}
	}
	got = got[:0]
	for name := range mod.Outputs {
		got = append(got, name)
	}
	sort.Strings(got)
	want = slices.Sorted(slices.Values(rootOutputs))
	if !slices.Equal(got, want) {
		t.Errorf("root outputs = %v\nwant %v", got, want)
	}
	var calls []string
	for name, c := range mod.ModuleCalls {
		calls = append(calls, name)
		if c.Source != "./modules/"+name {
			t.Errorf("module %q source = %q, want ./modules/%s", name, c.Source, name)
		}
	}
	sort.Strings(calls)
	if !slices.Equal(calls, childModules) {
		t.Errorf("root calls modules %v, want %v", calls, childModules)
	}
	if !strings.Contains(OfflineOverride, `backend "local"`) {
		t.Error("OfflineOverride must replace the backend with local")
	}
	for _, flag := range []string{"skip_credentials_validation", "skip_requesting_account_id", "skip_metadata_api_check", "skip_region_validation"} {
		if !regexp.MustCompile(`(?m)^\s*` + flag + `\s*=\s*true$`).MatchString(OfflineOverride) {
			t.Errorf("OfflineOverride does not set %s = true", flag)
		}
	}
}

// --- tests that run Terraform against the real provider schema ---

// TestFormat runs `terraform fmt -check -recursive` over this folder and over
// the offline override.
func TestFormat(t *testing.T) {
	tf := needTerraform(t)
	if out, err := tf.run(t, ".", "fmt", "-check", "-recursive", "-diff", "-no-color"); err != nil {
		t.Errorf("terraform fmt -check -recursive: %v\n%s", err, out)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, OfflineOverrideFileName), OfflineOverride)
	if out, err := tf.run(t, dir, "fmt", "-check", "-diff", "-no-color"); err != nil {
		t.Errorf("terraform fmt -check of OfflineOverride: %v\n%s", err, out)
	}
}

// TestValidate runs init and validate for the root module and every child
// module on its own (each must declare its providers and stand alone).
func TestValidate(t *testing.T) {
	tf := needProvider(t)
	for _, dir := range moduleDirs() {
		t.Run(dir, func(t *testing.T) {
			t.Parallel()
			work := t.TempDir()
			if dir == "." {
				if err := WriteTo(work); err != nil {
					t.Fatal(err)
				}
			} else {
				copyEmbedded(t, dir, work)
				// Alone, a child module is a root module: it needs the
				// provider configurations the root passes it (the
				// dashboard's aws.untagged).
				writeFile(t, filepath.Join(work, "test_providers.tf"), moduleProvider)
			}
			tf.mustRun(t, work, "init", "-backend=false", "-plugin-dir="+tf.pluginDir, "-input=false", "-no-color")
			out := tf.mustRun(t, work, "validate", "-no-color")
			if !strings.Contains(out, "The configuration is valid.") {
				t.Errorf("validate printed:\n%s", out)
			}
		})
	}
}

// TestPlan makes a full plan of the root module offline (fake credentials,
// OfflineOverride, dummy artifacts) and checks what it would create.
func TestPlan(t *testing.T) {
	tf := needProvider(t)
	t.Parallel()
	work := planWorkspace(t, tf, nil)
	out := tf.mustRun(t, work, "plan", "-input=false", "-no-color", "-out=flytrap.tfplan")
	wantLine := fmt.Sprintf("Plan: %d to add, 0 to change, 0 to destroy.", wantResources)
	if !strings.Contains(out, wantLine) {
		t.Fatalf("plan does not say %q:\n%s", wantLine, tail(out, 40))
	}
	raw := tf.mustRun(t, work, "show", "-json", "flytrap.tfplan")
	var plan planJSON
	if err := json.Unmarshal([]byte(raw), &plan); err != nil {
		t.Fatalf("terraform show -json: %v", err)
	}
	checkPlan(t, &plan)
}

// TestPlanDashboardFront: a domain gets the instance's own HTTPS
// (Let's Encrypt on 443, 80 for ACME) and no CloudFront; plain_http
// without a domain keeps HTTP on the Elastic IP; and CloudFront without
// its prefix list or secret stops at plan time instead of creating a
// distribution the instance refuses.
func TestPlanDashboardFront(t *testing.T) {
	tf := needProvider(t)
	t.Parallel()
	for _, tc := range []struct {
		name    string
		vars    map[string]any
		wantURL any
		wantErr string
	}{
		{"domain", map[string]any{"domain": "errors.example.com"}, "https://errors.example.com", ""},
		{"plain http", map[string]any{"plain_http": true}, nil, ""},
		{"no prefix list", map[string]any{"cloudfront_prefix_list_id": ""}, nil, "needs cloudfront_prefix_list_id and origin_secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			work := planWorkspace(t, tf, tc.vars)
			out, err := tf.run(t, work, "plan", "-input=false", "-no-color", "-out=flytrap.tfplan")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(strings.Join(strings.Fields(out), " "), tc.wantErr) {
					t.Fatalf("err %v, want %q:\n%s", err, tc.wantErr, tail(out, 20))
				}
				return
			}
			if err != nil {
				t.Fatalf("plan: %v\n%s", err, tail(out, 30))
			}
			if want := fmt.Sprintf("Plan: %d to add, 0 to change, 0 to destroy.", wantResources); !strings.Contains(out, want) {
				t.Fatalf("plan does not say %q:\n%s", want, tail(out, 40))
			}
			var plan planJSON
			if err := json.Unmarshal([]byte(tf.mustRun(t, work, "show", "-json", "flytrap.tfplan")), &plan); err != nil {
				t.Fatal(err)
			}
			if n := len(plan.all("aws_cloudfront_distribution")); n != 0 {
				t.Errorf("%d CloudFront distributions, want none", n)
			}
			if ports := checkIngress(t, &plan); !slices.Equal(ports, []string{"443 from 0.0.0.0/0", "80 from 0.0.0.0/0"}) {
				t.Errorf("dashboard web access %v, want 80 and 443 from anywhere", ports)
			}
			if u := walk(plan.OutputChanges, "dashboard_url.after"); u != tc.wantURL {
				t.Errorf("dashboard_url = %v, want %v (the Elastic IP's is known at apply)", u, tc.wantURL)
			}
		})
	}
}

// TestVariableValidation feeds the root module one wrong value for every
// validated variable and expects each to be refused, then checks the plan-time
// precondition that ties the zones to the region.
func TestVariableValidation(t *testing.T) {
	tf := needProvider(t)
	t.Parallel()

	t.Run("bad values", func(t *testing.T) {
		t.Parallel()
		bad := []struct {
			name  string
			value any
		}{
			{"name", "Prod_1"},
			{"region", "europe"},
			{"availability_zones", []string{"eu-west-1a"}},
			{"account_id", "12345"},
			{"ami_id", "ami-XYZ"},
			{"admin_email", "not-an-address"},
			{"alert_email", "x@"},
			{"domain", "Not A Domain"},
			{"cloudfront_prefix_list_id", "com.amazonaws.global.cloudfront.origin-facing"},
			{"origin_secret", "short"},
			{"ingest_domain", "Ingest Host"},
			{"ingest_zone_id", "zone-1"},
			{"dashboard_instance_type", "large"},
			{"db_instance_class", "t4g.micro"},
			{"db_allocated_storage", 5},
			{"ingest_memory_mb", 64},
			{"processor_memory_mb", 20000},
			{"processor_batch_size", 0},
			{"ingest_throttle_rate", 0},
			{"ingest_throttle_burst", 1.5},
			{"ingest_rate_limit", 0},
			{"max_live_streams", 0},
			{"max_live_streams_per_user", 1.5},
			{"min_upload_rate", 0},
			{"max_conns_per_client", 0},
			{"log_retention_days", 31},
			{"retention_days", -1},
			{"retention_per_issue", 2.5},
			{"ingest_zip_path", "ingest.tar.gz"},
			{"processor_zip_path", "processor"},
			{"dashboard_binary_path", " "},
			{"dashboard_user_data", "echo hello"},
			{"tags", map[string]string{"aws:owner": "x"}},
		}
		// One variable per line, so each error's range names its variable.
		var b strings.Builder
		b.WriteString("{\n")
		for i, v := range bad {
			j, _ := json.Marshal(v.value)
			fmt.Fprintf(&b, "%q: %s", v.name, j)
			if i < len(bad)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString("}\n")
		work := t.TempDir()
		if err := WriteTo(work); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(work, OfflineOverrideFileName), OfflineOverride)
		writeFile(t, filepath.Join(work, "terraform.tfvars.json"), b.String())
		tf.mustRun(t, work, "init", "-plugin-dir="+tf.pluginDir, "-input=false", "-no-color")
		out, err := tf.run(t, work, "plan", "-input=false", "-json")
		if err == nil {
			t.Fatal("plan with invalid variables succeeded")
		}
		refused := map[string]bool{}
		for _, line := range strings.Split(out, "\n") {
			var msg struct {
				Diagnostic *struct {
					Severity string `json:"severity"`
					Summary  string `json:"summary"`
					Range    *struct {
						Filename string `json:"filename"`
						Start    struct{ Line int }
					} `json:"range"`
				} `json:"diagnostic"`
			}
			if json.Unmarshal([]byte(line), &msg) != nil || msg.Diagnostic == nil || msg.Diagnostic.Severity != "error" {
				continue
			}
			d := msg.Diagnostic
			if d.Summary != "Invalid value for variable" || d.Range == nil || !strings.HasSuffix(d.Range.Filename, "terraform.tfvars.json") {
				t.Errorf("unexpected error: %s", line)
				continue
			}
			if i := d.Range.Start.Line - 2; i >= 0 && i < len(bad) {
				refused[bad[i].name] = true
			}
		}
		for _, v := range bad {
			if !refused[v.name] {
				t.Errorf("%s = %v was not refused", v.name, v.value)
			}
		}
	})

	t.Run("batch past the processor's timeout", func(t *testing.T) {
		t.Parallel()
		work := planWorkspace(t, tf, map[string]any{"processor_batch_size": 1201})
		out, err := tf.run(t, work, "plan", "-input=false", "-no-color")
		if err == nil || !strings.Contains(out, "outlasts the processor's 60 s timeout") {
			t.Errorf("plan with a batch of 1201: err %v\n%s", err, tail(out, 30))
		}
	})

	t.Run("zones outside the region", func(t *testing.T) {
		t.Parallel()
		work := planWorkspace(t, tf, map[string]any{"availability_zones": []string{"us-east-1a", "us-east-1b"}})
		out, err := tf.run(t, work, "plan", "-input=false", "-no-color")
		if err == nil || !strings.Contains(out, "must belong to the region eu-west-1") {
			t.Errorf("plan with zones of another region: err %v\n%s", err, tail(out, 30))
		}
	})
}

// checkPlan asserts the policies the stack promises, on the planned values.
func checkPlan(t *testing.T, plan *planJSON) {
	t.Helper()
	counts := map[string]int{}
	for _, rc := range plan.ResourceChanges {
		if rc.Mode != "managed" {
			t.Errorf("%s: %s resources read AWS at plan time", rc.Address, rc.Mode)
		}
		if !slices.Equal(rc.Change.Actions, []string{"create"}) {
			t.Errorf("%s: actions %v, want [create]", rc.Address, rc.Change.Actions)
		}
		counts[rc.Type]++
	}
	if len(plan.ResourceChanges) != wantResources {
		t.Errorf("plan has %d resources, want %d", len(plan.ResourceChanges), wantResources)
	}
	for typ, n := range counts {
		if _, ok := wantTypes[typ]; !ok {
			t.Errorf("unexpected resource type %s (%d): add it to wantTypes", typ, n)
		}
	}
	for typ, n := range wantTypes {
		if counts[typ] != n {
			t.Errorf("%s: %d planned, want %d", typ, counts[typ], n)
		}
	}
	if c := countDataSources(plan.Configuration.RootModule); c != 0 {
		t.Errorf("the configuration declares %d data sources; planning must not call AWS", c)
	}

	var outs []string
	for name := range plan.OutputChanges {
		outs = append(outs, name)
	}
	sort.Strings(outs)
	if want := slices.Sorted(slices.Values(rootOutputs)); !slices.Equal(outs, want) {
		t.Errorf("planned outputs %v, want %v", outs, want)
	}

	// Network: no NAT, S3 through a gateway endpoint.
	ep := plan.one(t, "module.network.aws_vpc_endpoint.s3")
	expect(t, ep, "vpc_endpoint_type", "Gateway")
	expect(t, ep, "service_name", "com.amazonaws.eu-west-1.s3")
	for _, s := range plan.all("aws_subnet") {
		expect(t, s, "map_public_ip_on_launch", false)
	}

	// Database.
	db := plan.one(t, "module.database.aws_db_instance.this")
	expect(t, db, "engine", "postgres")
	expect(t, db, "storage_encrypted", true)
	expect(t, db, "publicly_accessible", false)
	expect(t, db, "manage_master_user_password", true)
	expect(t, db, "iam_database_authentication_enabled", true)
	expect(t, db, "deletion_protection", true)
	expect(t, db, "skip_final_snapshot", false)
	// Named with its creation time at apply (issue 14, finding 9).
	if db.unknown("final_snapshot_identifier") != true {
		t.Errorf("final_snapshot_identifier = %v, want one made unique at apply", db.after("final_snapshot_identifier"))
	}
	expect(t, db, "instance_class", "db.t4g.micro")
	expect(t, db, "allocated_storage", 20.0)
	if v, _ := db.after("engine_version").(string); !strings.HasPrefix(v, "17") {
		t.Errorf("engine_version = %q, want PostgreSQL 17", v)
	}
	if n, _ := db.after("backup_retention_period").(float64); n < 1 {
		t.Errorf("backup_retention_period = %v, want backups on", n)
	}
	if db.after("password") != nil {
		t.Error("the database has a password in the configuration; RDS must manage it")
	}
	pg := plan.one(t, "module.database.aws_db_parameter_group.this")
	if !hasParameter(pg.after("parameter"), "rds.force_ssl", "1") {
		t.Error("rds.force_ssl is not 1")
	}

	// Global names carry the region (issue 14, finding 2).
	for mod, want := range map[string]string{"ingest": "flytrap-test-eu-west-1-ingest", "processor": "flytrap-test-eu-west-1-processor", "dashboard": "flytrap-test-eu-west-1-dashboard"} {
		expect(t, plan.one(t, "module."+mod+".aws_iam_role.this"), "name", want)
	}
	expect(t, plan.one(t, "module.dashboard.aws_iam_instance_profile.this"), "name", "flytrap-test-eu-west-1-dashboard")
	expect(t, plan.one(t, "module.storage.aws_s3_bucket.this"), "bucket", "flytrap-test-123456789012-eu-west-1")

	// Dashboard instance.
	ec2 := plan.one(t, "module.dashboard.aws_instance.this")
	expect(t, ec2, "instance_type", "t4g.small")
	expect(t, ec2, "ami", "ami-0123456789abcdef0")
	expect(t, ec2, "user_data_replace_on_change", true)
	expect(t, ec2, "metadata_options.0.http_tokens", "required")
	expect(t, ec2, "metadata_options.0.http_put_response_hop_limit", 1.0)
	expect(t, ec2, "root_block_device.0.encrypted", true)
	if ec2.after("key_name") != nil {
		t.Errorf("the dashboard has an SSH key pair %v; use SSM Session Manager", ec2.after("key_name"))
	}
	// The tags hold the bucket name, so the whole map is known only after
	// apply; when it is known, the bootstrap tags must be there.
	for _, key := range []string{"FlytrapBucket", "FlytrapBinaryKey", "FlytrapConfigKey"} {
		if ec2.after("tags."+key) == nil && ec2.unknown("tags") != true {
			t.Errorf("dashboard instance tag %s missing", key)
		}
	}
	expect(t, plan.one(t, "module.dashboard.aws_eip.this"), "domain", "vpc")

	// Security groups: nothing reaches port 22; without a domain only
	// CloudFront reaches the dashboard, on port 80; the database is
	// reachable from the two client groups only.
	if ports := checkIngress(t, plan); !slices.Equal(ports, []string{"80 from CloudFront"}) {
		t.Errorf("dashboard web access %v, want only port 80 from CloudFront", ports)
	}
	checkCloudFront(t, plan)
	for _, r := range append(plan.all("aws_security_group"), plan.all("aws_default_security_group")...) {
		if rules, _ := r.after("ingress").([]any); len(rules) > 0 {
			t.Errorf("%s has inline ingress rules %v", r.Address, rules)
		}
	}
	if rules, _ := plan.one(t, "module.network.aws_default_security_group.this").after("egress").([]any); len(rules) > 0 {
		t.Errorf("the default security group allows egress: %v", rules)
	}
	var dashboardOut []int
	for _, r := range plan.all("aws_vpc_security_group_egress_rule") {
		if strings.HasPrefix(r.Address, "module.processor.") && r.after("cidr_ipv4") != nil {
			t.Errorf("%s: the processor may reach only the database and S3, not %v", r.Address, r.after("cidr_ipv4"))
		}
		if strings.HasPrefix(r.Address, "module.dashboard.") && r.after("cidr_ipv4") == "0.0.0.0/0" {
			from, _ := r.after("from_port").(float64)
			if to, _ := r.after("to_port").(float64); from != to || r.after("ip_protocol") != "tcp" {
				t.Errorf("%s: dashboard egress to the internet is %v %v-%v, want single TCP ports", r.Address, r.after("ip_protocol"), from, to)
			}
			dashboardOut = append(dashboardOut, int(from))
		}
	}
	// HTTP(S) for AWS APIs, ACME and webhooks; SMTP submission (587) and
	// implicit TLS (465), SES's 2587 and 2465: docs/alerts.md tells users
	// to put an smtp://…:587 URL in the SMTP secret, and
	// internal/notify defaults to 587 and 465.
	slices.Sort(dashboardOut)
	if want := []int{80, 443, 465, 587, 2465, 2587}; !slices.Equal(dashboardOut, want) {
		t.Errorf("dashboard egress to the internet on TCP ports %v, want %v", dashboardOut, want)
	}

	// Storage.
	pab := plan.one(t, "module.storage.aws_s3_bucket_public_access_block.this")
	for _, k := range []string{"block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"} {
		expect(t, pab, k, true)
	}
	expect(t, plan.one(t, "module.storage.aws_s3_bucket.this"), "bucket", "flytrap-test-123456789012-eu-west-1")
	expect(t, plan.one(t, "module.storage.aws_s3_bucket.this"), "force_destroy", false)
	expect(t, plan.one(t, "module.storage.aws_s3_bucket_versioning.this"), "versioning_configuration.0.status", "Enabled")
	expect(t, plan.one(t, "module.storage.aws_s3_bucket_server_side_encryption_configuration.this"), "rule.0.apply_server_side_encryption_by_default.0.sse_algorithm", "AES256")
	expect(t, plan.one(t, "module.storage.aws_s3_bucket_ownership_controls.this"), "rule.0.object_ownership", "BucketOwnerEnforced")
	lc := plan.one(t, "module.storage.aws_s3_bucket_lifecycle_configuration.this")
	expect(t, lc, "rule.0.status", "Enabled")
	expect(t, lc, "rule.0.noncurrent_version_expiration.0.noncurrent_days", 30.0)

	// Queue and processor.
	proc := plan.one(t, "module.processor.aws_lambda_function.this")
	timeout, _ := proc.after("timeout").(float64)
	for _, q := range []string{"events", "dlq"} {
		expect(t, plan.one(t, "module.queue.aws_sqs_queue."+q), "sqs_managed_sse_enabled", true)
	}
	if vt, _ := plan.one(t, "module.queue.aws_sqs_queue.events").after("visibility_timeout_seconds").(float64); timeout == 0 || vt <= 6*timeout {
		t.Errorf("visibility timeout %vs is not above 6 x the processor timeout %vs", vt, timeout)
	}
	alarm := plan.one(t, "module.queue.aws_cloudwatch_metric_alarm.dlq_not_empty")
	expect(t, alarm, "metric_name", "ApproximateNumberOfMessagesVisible")
	expect(t, alarm, "comparison_operator", "GreaterThanThreshold")
	expect(t, alarm, "threshold", 0.0)
	if alarm.unknown("alarm_actions") == nil && alarm.after("alarm_actions") == nil {
		t.Error("the DLQ alarm notifies nobody")
	}
	esm := plan.one(t, "module.processor.aws_lambda_event_source_mapping.queue")
	expect(t, esm, "function_response_types", []any{"ReportBatchItemFailures"})
	expect(t, esm, "batch_size", 10.0)
	if proc.after("vpc_config") == nil {
		t.Error("the processor does not run in the VPC")
	}
	for _, fn := range plan.all("aws_lambda_function") {
		expect(t, fn, "runtime", "provided.al2023")
		expect(t, fn, "architectures", []any{"arm64"})
		expect(t, fn, "handler", "bootstrap")
	}
	expect(t, plan.one(t, "module.ingest.aws_lambda_function.this"), "memory_size", 256.0)
	expect(t, proc, "memory_size", 512.0)

	// Ingest API.
	var routes []string
	for _, r := range plan.all("aws_apigatewayv2_route") {
		routes = append(routes, r.after("route_key").(string))
	}
	sort.Strings(routes)
	wantRoutes := []string{"GET /api/embed/{proxy+}", "OPTIONS /api/{proxy+}", "POST /api/{proxy+}"}
	if !slices.Equal(routes, wantRoutes) {
		t.Errorf("routes %v, want %v", routes, wantRoutes)
	}
	checkRoutes(t, routes, recordedSDKRequests(t))
	expect(t, plan.one(t, "module.ingest.aws_apigatewayv2_api.this"), "protocol_type", "HTTP")
	integ := plan.one(t, "module.ingest.aws_apigatewayv2_integration.lambda")
	expect(t, integ, "payload_format_version", "2.0")
	expect(t, integ, "integration_type", "AWS_PROXY")
	stage := plan.one(t, "module.ingest.aws_apigatewayv2_stage.default")
	expect(t, stage, "name", "$default")
	expect(t, stage, "default_route_settings.0.throttling_rate_limit", 100.0)
	expect(t, stage, "default_route_settings.0.throttling_burst_limit", 200.0)
	if f, _ := stage.after("access_log_settings.0.format").(string); !strings.Contains(f, "$context.requestId") || strings.Contains(f, "querystring") {
		t.Errorf("access log format %q", f)
	}

	// Alarms (issue 14, finding 8): every one notifies the alerts topic.
	alarms := map[string]string{}
	for _, a := range plan.all("aws_cloudwatch_metric_alarm") {
		name, _ := a.after("alarm_name").(string)
		alarms[name] = a.after("namespace").(string) + " " + a.after("metric_name").(string)
		if a.unknown("alarm_actions") == nil && a.after("alarm_actions") == nil {
			t.Errorf("%s notifies nobody", a.Address)
		}
	}
	wantAlarms := map[string]string{
		"flytrap-test-events-dlq-not-empty":   "AWS/SQS ApproximateNumberOfMessagesVisible",
		"flytrap-test-events-backlog":         "AWS/SQS ApproximateAgeOfOldestMessage",
		"flytrap-test-ingest-5xx":             "AWS/ApiGateway 5xx",
		"flytrap-test-ingest-errors":          "AWS/Lambda Errors",
		"flytrap-test-ingest-throttles":       "AWS/Lambda Throttles",
		"flytrap-test-processor-errors":       "AWS/Lambda Errors",
		"flytrap-test-processor-throttles":    "AWS/Lambda Throttles",
		"flytrap-test-dashboard-status-check": "AWS/EC2 StatusCheckFailed",
		"flytrap-test-db-storage-low":         "AWS/RDS FreeStorageSpace",
	}
	if fmt.Sprint(alarms) != fmt.Sprint(wantAlarms) {
		t.Errorf("alarms %v\nwant %v", alarms, wantAlarms)
	}
	var suffixes []string
	for name := range alarms {
		suffixes = append(suffixes, strings.TrimPrefix(name, "flytrap-test-"))
	}
	sort.Strings(suffixes)
	if !slices.Equal(suffixes, AlarmSuffixes) {
		t.Errorf("alarms after flytrap-test-: %v\nAlarmSuffixes (what status lists): %v", suffixes, AlarmSuffixes)
	}
	expect(t, plan.one(t, "aws_cloudwatch_metric_alarm.db_storage"), "dimensions.DBInstanceIdentifier", db.after("identifier"))
	expect(t, plan.one(t, "aws_cloudwatch_metric_alarm.db_storage"), "threshold", 20*0.1*1073741824.0)
	expect(t, plan.one(t, `aws_cloudwatch_metric_alarm.function["processor-errors"]`), "dimensions.FunctionName", proc.after("function_name"))
	expect(t, plan.one(t, "aws_cloudwatch_log_group.dashboard"), "name", "/ec2/flytrap-test-dashboard")

	// Logs, alerts, tags.
	for _, lg := range plan.all("aws_cloudwatch_log_group") {
		expect(t, lg, "retention_in_days", 30.0)
	}
	sub := plan.one(t, "module.alerts.aws_sns_topic_subscription.email[0]")
	expect(t, sub, "protocol", "email")
	expect(t, sub, "endpoint", "alerts@example.com")
	expect(t, db, "tags_all.Project", "flytrap")
	expect(t, db, "tags_all.FlytrapDeployment", "test")
	expect(t, db, "tags_all.Team", "errors")
}

// --- plan JSON ---

type planJSON struct {
	ResourceChanges []*resourceChange `json:"resource_changes"`
	OutputChanges   map[string]any    `json:"output_changes"`
	Configuration   struct {
		RootModule configModule `json:"root_module"`
	} `json:"configuration"`
}

type configModule struct {
	Resources []struct {
		Mode string `json:"mode"`
	} `json:"resources"`
	ModuleCalls map[string]struct {
		Module configModule `json:"module"`
	} `json:"module_calls"`
}

type resourceChange struct {
	Address string `json:"address"`
	Mode    string `json:"mode"`
	Type    string `json:"type"`
	Change  struct {
		Actions      []string `json:"actions"`
		After        any      `json:"after"`
		AfterUnknown any      `json:"after_unknown"`
	} `json:"change"`
}

func countDataSources(m configModule) int {
	n := 0
	for _, r := range m.Resources {
		if r.Mode == "data" {
			n++
		}
	}
	for _, c := range m.ModuleCalls {
		n += countDataSources(c.Module)
	}
	return n
}

func (p *planJSON) one(t *testing.T, address string) *resourceChange {
	t.Helper()
	for _, rc := range p.ResourceChanges {
		if rc.Address == address {
			return rc
		}
	}
	t.Fatalf("the plan has no %s", address)
	return nil
}

func (p *planJSON) all(typ string) []*resourceChange {
	var out []*resourceChange
	for _, rc := range p.ResourceChanges {
		if rc.Type == typ {
			out = append(out, rc)
		}
	}
	return out
}

// after returns the planned value at a dotted path (list indexes as numbers),
// nil when absent or unknown.
func (rc *resourceChange) after(p string) any { return walk(rc.Change.After, p) }

func (rc *resourceChange) unknown(p string) any { return walk(rc.Change.AfterUnknown, p) }

func walk(v any, p string) any {
	for _, part := range strings.Split(p, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[part]
		case []any:
			var i int
			if _, err := fmt.Sscan(part, &i); err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func expect(t *testing.T, rc *resourceChange, p string, want any) {
	t.Helper()
	got := rc.after(p)
	if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", want) {
		if rc.unknown(p) == true {
			t.Errorf("%s: %s is unknown at plan time, want %#v", rc.Address, p, want)
			return
		}
		t.Errorf("%s: %s = %#v, want %#v", rc.Address, p, got, want)
	}
}

func hasParameter(params any, name, value string) bool {
	list, _ := params.([]any)
	for _, p := range list {
		m, _ := p.(map[string]any)
		if m["name"] == name && m["value"] == value {
			return true
		}
	}
	return false
}

// --- helpers: embedded tree ---

func embeddedFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := fs.WalkDir(Modules, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

// moduleDirs lists the root (".") and every child module, as embedded.
func moduleDirs() []string {
	dirs := []string{"."}
	for _, m := range childModules {
		dirs = append(dirs, "modules/"+m)
	}
	return dirs
}

func copyEmbedded(t *testing.T, dir, dst string) {
	t.Helper()
	entries, err := fs.ReadDir(Modules, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, _ := Modules.ReadFile(path.Join(dir, e.Name()))
		writeFile(t, filepath.Join(dst, e.Name()), string(b))
	}
}

// validatedVariables returns the variables of the module in dir that have at
// least one validation block.
func validatedVariables(t *testing.T, dir string) map[string]bool {
	t.Helper()
	schema := &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "variable", LabelNames: []string{"name"}}}}
	inner := &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "validation"}}}
	parser := hclparse.NewParser()
	out := map[string]bool{}
	entries, err := fs.ReadDir(Modules, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".tf") {
			continue
		}
		p := path.Join(dir, e.Name())
		src, _ := Modules.ReadFile(p)
		f, diags := parser.ParseHCL(src, p)
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		content, _, diags := f.Body.PartialContent(schema)
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		for _, b := range content.Blocks {
			vc, _, diags := b.Body.PartialContent(inner)
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			if len(vc.Blocks) > 0 {
				out[b.Labels[0]] = true
			}
		}
	}
	return out
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// --- helpers: Terraform and the provider mirror ---

// providerVersion is the hashicorp/aws version of the offline mirror and of
// the lock file.
const providerVersion = "6.47.1"

type terraformTool struct {
	bin       string
	pluginDir string // "" when only the binary was asked for
	cliConfig string
}

var (
	shared struct {
		once   sync.Once
		dir    string // removed by TestMain
		err    error
		tf     terraformTool
		mirror sync.Once
		merr   error
	}
	hintMirror = "build a provider mirror with `<shared>/tools/aws-provider-mirror DIR` (needs zstd) and set FLYTRAP_TF_PLUGIN_DIR=DIR, or set FLYTRAP_SHARED_DIR to the folder holding tools/aws-provider-mirror"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// unavailable skips the test, or fails it under CI=true, where every test
// must run.
func unavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

func needTerraform(t *testing.T) terraformTool {
	t.Helper()
	shared.once.Do(func() {
		bin, err := exec.LookPath("terraform")
		if err != nil {
			shared.err = fmt.Errorf("terraform (>= 1.5) is not on PATH: %w", err)
			return
		}
		dir, err := os.MkdirTemp("", "flytrap-terraform-test-")
		if err != nil {
			shared.err = err
			return
		}
		shared.dir = dir
		// An empty CLI config: the one the environment names may be missing
		// or point at registries this test must not use.
		cfg := filepath.Join(dir, "terraformrc")
		if err := os.WriteFile(cfg, nil, 0o644); err != nil {
			shared.err = err
			return
		}
		shared.tf = terraformTool{bin: bin, cliConfig: cfg}
	})
	if shared.err != nil {
		unavailable(t, "%v", shared.err)
	}
	return shared.tf
}

// needProvider also unpacks the hashicorp/aws provider mirror, once per test
// run, into the user cache (reused by later runs) or a temporary folder.
func needProvider(t *testing.T) terraformTool {
	t.Helper()
	tf := needTerraform(t)
	shared.mirror.Do(func() {
		const rel = "registry.terraform.io/hashicorp/aws/" + providerVersion + "/linux_amd64/terraform-provider-aws_v" + providerVersion
		if d := os.Getenv("FLYTRAP_TF_PLUGIN_DIR"); d != "" {
			if _, err := os.Stat(filepath.Join(d, filepath.FromSlash(rel))); err != nil {
				shared.merr = fmt.Errorf("FLYTRAP_TF_PLUGIN_DIR=%s holds no %s: %w", d, rel, err)
				return
			}
			shared.tf.pluginDir = d
			return
		}
		dest := filepath.Join(shared.dir, "aws-provider-mirror")
		if cache, err := os.UserCacheDir(); err == nil {
			dest = filepath.Join(cache, "flytrap", "aws-provider-mirror")
		}
		sharedDir := os.Getenv("FLYTRAP_SHARED_DIR")
		if sharedDir == "" {
			sharedDir = filepath.Join("..", "..", "shared")
		}
		script, err := filepath.Abs(filepath.Join(sharedDir, "tools", "aws-provider-mirror"))
		if err == nil {
			_, err = os.Stat(script)
		}
		if err != nil {
			// No script here, but an earlier run may have unpacked the mirror.
			if _, serr := os.Stat(filepath.Join(dest, filepath.FromSlash(rel))); serr == nil {
				shared.tf.pluginDir = dest
				return
			}
			shared.merr = fmt.Errorf("provider mirror script not found (%v): %s", err, hintMirror)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, script, dest).CombinedOutput()
		if err != nil {
			shared.merr = fmt.Errorf("%s %s: %v\n%s\n%s", script, dest, err, out, hintMirror)
			return
		}
		shared.tf.pluginDir = dest
	})
	if shared.merr != nil {
		unavailable(t, "%v", shared.merr)
	}
	tf.pluginDir = shared.tf.pluginDir
	return tf
}

// run runs terraform in dir with a clean environment: no TF_* or AWS_*
// settings from outside, fake credentials, no version check.
func (tf terraformTool) run(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tf.bin, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TF_") && !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "CHECKPOINT_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env,
		"TF_CLI_CONFIG_FILE="+tf.cliConfig,
		"TF_IN_AUTOMATION=1",
		"TF_INPUT=0",
		"CHECKPOINT_DISABLE=1", // no call to checkpoint-api.hashicorp.com (it stalls offline)
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE="+os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE="+os.DevNull,
	)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("terraform %s (%s): %.1fs", strings.Join(args, " "), filepath.Base(dir), time.Since(start).Seconds())
	return out.String(), err
}

func (tf terraformTool) mustRun(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := tf.run(t, dir, args...)
	if err != nil {
		t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, tail(out, 60))
	}
	return out
}

// planWorkspace writes the root module, OfflineOverride, dummy artifacts and
// tfvars (overridden by vars) into a temporary folder and runs init.
func planWorkspace(t *testing.T, tf terraformTool, vars map[string]any) string {
	t.Helper()
	work := t.TempDir()
	if err := WriteTo(work); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(work, OfflineOverrideFileName), OfflineOverride)
	art := filepath.Join(work, "artifacts")
	writeZip(t, filepath.Join(art, "ingest.zip"))
	writeZip(t, filepath.Join(art, "processor.zip"))
	writeFile(t, filepath.Join(art, "flytrap-dashboard"), "\x7fELF dummy dashboard binary")
	tfvars := map[string]any{
		"name":               "test",
		"region":             "eu-west-1",
		"availability_zones": []string{"eu-west-1a", "eu-west-1b"},
		"account_id":         "123456789012",
		"ami_id":             "ami-0123456789abcdef0",
		"admin_email":        "admin@example.com",
		"alert_email":        "alerts@example.com",
		"domain":             "",
		// Without a domain the dashboard is behind CloudFront; deploy
		// looks these up or makes them.
		"cloudfront_prefix_list_id": "pl-4fa04526",
		"origin_secret":             "0123456789abcdef0123456789abcdef-test",
		"ingest_zip_path":           filepath.Join(art, "ingest.zip"),
		"processor_zip_path":        filepath.Join(art, "processor.zip"),
		"dashboard_binary_path":     filepath.Join(art, "flytrap-dashboard"),
		"dashboard_user_data":       "#cloud-config\nruncmd:\n  - [systemctl, start, flytrap-dashboard]\n",
		"tags":                      map[string]string{"Team": "errors"},
	}
	for k, v := range vars {
		tfvars[k] = v
	}
	b, err := json.MarshalIndent(tfvars, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(work, "terraform.tfvars.json"), string(b))
	tf.mustRun(t, work, "init", "-plugin-dir="+tf.pluginDir, "-input=false", "-no-color")
	return work
}

// writeZip writes a Lambda package holding a dummy bootstrap.
func writeZip(t *testing.T, p string) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err == nil {
		_, err = w.Write([]byte("#!/bin/sh\necho dummy\n"))
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, p, buf.String())
}

// TestPlanIngestDomain: with ingest_domain and its Route 53 zone, the plan
// adds the certificate, its DNS validation, the API Gateway custom domain
// and mapping and the alias record (issue 14, finding 7), and DSNs name
// the domain.
func TestPlanIngestDomain(t *testing.T) {
	tf := needProvider(t)
	t.Parallel()
	work := planWorkspace(t, tf, map[string]any{"ingest_domain": "ingest.example.com", "ingest_zone_id": "Z0123456789ABCDEFGHIJ"})
	out := tf.mustRun(t, work, "plan", "-input=false", "-no-color", "-out=flytrap.tfplan")
	if want := fmt.Sprintf("Plan: %d to add, 0 to change, 0 to destroy.", wantResources+6); !strings.Contains(out, want) {
		t.Fatalf("plan does not say %q:\n%s", want, tail(out, 40))
	}
	var plan planJSON
	if err := json.Unmarshal([]byte(tf.mustRun(t, work, "show", "-json", "flytrap.tfplan")), &plan); err != nil {
		t.Fatal(err)
	}
	cert := plan.one(t, "aws_acm_certificate.ingest[0]")
	expect(t, cert, "domain_name", "ingest.example.com")
	expect(t, cert, "validation_method", "DNS")
	dn := plan.one(t, "aws_apigatewayv2_domain_name.ingest[0]")
	expect(t, dn, "domain_name", "ingest.example.com")
	expect(t, dn, "domain_name_configuration.0.endpoint_type", "REGIONAL")
	expect(t, dn, "domain_name_configuration.0.security_policy", "TLS_1_2")
	expect(t, plan.one(t, "aws_apigatewayv2_api_mapping.ingest[0]"), "stage", "$default")
	alias := plan.one(t, "aws_route53_record.ingest[0]")
	expect(t, alias, "zone_id", "Z0123456789ABCDEFGHIJ")
	expect(t, alias, "type", "A")
	plan.one(t, "aws_acm_certificate_validation.ingest[0]")
	plan.one(t, `aws_route53_record.ingest_validation["ingest.example.com"]`)
	if u := walk(plan.OutputChanges, "ingest_url.after"); u != "https://ingest.example.com" {
		t.Errorf("ingest_url = %v, want https://ingest.example.com", u)
	}
}

// TestPlanIngestDomainIsDashboards: one host name cannot serve both the
// dashboard (its instance) and the ingest API (an API Gateway custom
// domain); the plan stops before creating either.
func TestPlanIngestDomainIsDashboards(t *testing.T) {
	tf := needProvider(t)
	t.Parallel()
	work := planWorkspace(t, tf, map[string]any{"domain": "errors.example.com", "ingest_domain": "errors.example.com", "ingest_zone_id": "Z0123456789ABCDEFGHIJ"})
	out, err := tf.run(t, work, "plan", "-input=false", "-no-color")
	if err == nil || !strings.Contains(out, "ingest_domain must differ from domain") {
		t.Errorf("plan: %v\n%s", err, tail(out, 30))
	}
}

// checkIngress checks every ingress rule of the plan: nothing opens port 22
// or all ports, address ranges reach only the dashboard's 80 and 443, the
// CloudFront prefix list only its 80, and the database only its clients'
// groups. It returns the dashboard's web access, sorted, as "443 from
// 0.0.0.0/0" or "80 from CloudFront".
func checkIngress(t *testing.T, plan *planJSON) []string {
	t.Helper()
	var web []string
	for _, r := range plan.all("aws_vpc_security_group_ingress_rule") {
		proto, _ := r.after("ip_protocol").(string)
		from, _ := r.after("from_port").(float64)
		to, _ := r.after("to_port").(float64)
		if proto == "-1" || proto == "all" || (from <= 22 && 22 <= to) {
			t.Errorf("%s opens port 22 (or all ports): %s %v-%v", r.Address, proto, from, to)
		}
		switch {
		case r.after("cidr_ipv4") != nil || r.after("cidr_ipv6") != nil:
			if !strings.HasPrefix(r.Address, "module.dashboard.") || from != to || (from != 80 && from != 443) {
				t.Errorf("%s opens %v-%v to an address range", r.Address, from, to)
			}
			web = append(web, fmt.Sprintf("%v from %v", from, r.after("cidr_ipv4")))
		case r.after("prefix_list_id") != nil:
			if r.Address != "module.dashboard.aws_vpc_security_group_ingress_rule.cloudfront[0]" || from != 80 || to != 80 || r.after("prefix_list_id") != "pl-4fa04526" {
				t.Errorf("%s: prefix list %v on %v-%v", r.Address, r.after("prefix_list_id"), from, to)
			}
			web = append(web, fmt.Sprintf("%v from CloudFront", from))
		case !strings.HasPrefix(r.Address, "module.database.") || from != 5432 || to != 5432:
			t.Errorf("%s: unexpected rule %v-%v", r.Address, from, to)
		}
	}
	sort.Strings(web)
	return web
}

// checkCloudFront: without a domain, HTTPS with CloudFront's certificate
// in front of the instance, redirecting plain HTTP, caching nothing,
// passing every method and header (WebSocket upgrades, cookies, Origin),
// and proving itself to the instance with the origin secret (issue 14,
// finding 3).
func checkCloudFront(t *testing.T, plan *planJSON) {
	t.Helper()
	cf := plan.one(t, "aws_cloudfront_distribution.dashboard[0]")
	expect(t, cf, "enabled", true)
	expect(t, cf, "viewer_certificate.0.cloudfront_default_certificate", true)
	expect(t, cf, "default_cache_behavior.0.viewer_protocol_policy", "redirect-to-https")
	expect(t, cf, "default_cache_behavior.0.cache_policy_id", "4135ea2d-6df8-44a3-9df3-4b5a84be39ad")
	expect(t, cf, "default_cache_behavior.0.origin_request_policy_id", "216adef6-5c7f-47e4-b989-5492eafa07d3")
	if m, _ := cf.after("default_cache_behavior.0.allowed_methods").([]any); len(m) != 7 {
		t.Errorf("allowed_methods %v, want all seven (sign-in, API, uploads)", m)
	}
	expect(t, cf, "origin.0.custom_origin_config.0.origin_protocol_policy", "http-only")
	expect(t, cf, "origin.0.custom_origin_config.0.http_port", 80.0)
	if n, _ := cf.after("origin.0.custom_origin_config.0.origin_read_timeout").(float64); n < 60 {
		t.Errorf("origin_read_timeout %v: an idle live stream (30 s pings) needs at least 60", n)
	}
	if n, _ := cf.after("origin.0.custom_origin_config.0.origin_keepalive_timeout").(float64); n >= 60 {
		t.Errorf("origin_keepalive_timeout %v: must stay below the dashboard's 60 s idle timeout", n)
	}
	expect(t, cf, "origin.0.custom_header.0.name", "X-Flytrap-Origin-Secret")
	if cf.unknown("origin.0.domain_name") != true {
		t.Errorf("origin domain %v, want the Elastic IP's DNS name, known at apply", cf.after("origin.0.domain_name"))
	}
	if u := walk(plan.OutputChanges, "dashboard_url.after"); u != nil {
		t.Errorf("dashboard_url = %v, want the distribution's https://<id>.cloudfront.net, known at apply", u)
	}
}
