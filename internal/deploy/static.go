package deploy

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
)

// modulesJSON is what the CLI needs to know of the embedded Terraform
// modules without running Terraform: each module's managed resource types
// and its variables' defaults, as terraform-config-inspect reads them.
// TestModuleSummary builds it from the modules and fails when this copy
// is stale; `go test ./internal/deploy -run TestModuleSummary -update`
// rewrites it. Reading the modules at run time linked the HCL parser and
// go-cmp into every command, and their initialisers cost `flytrap dev`
// about 1 MB of its idle memory (docs/benchmarks.md).
//
//go:embed modules.json
var modulesJSON []byte

// moduleSummary is one module's entry in modules.json.
type moduleSummary struct {
	Name string `json:"name"`
	// Resources are the managed resource types, one per resource block,
	// sorted.
	Resources []string `json:"resources"`
	// Defaults are the defaults of the variables that have one.
	Defaults map[string]any `json:"defaults,omitempty"`
}

// moduleSummaries decodes modulesJSON.
func moduleSummaries() ([]moduleSummary, error) {
	var mods []moduleSummary
	if err := json.Unmarshal(modulesJSON, &mods); err != nil {
		return nil, fmt.Errorf("the embedded modules' summary: %w", err)
	}
	return mods, nil
}

// ModuleResources are the resource types one module declares.
type ModuleResources struct {
	Module string   `json:"module"`
	Types  []string `json:"types"`
}

// StaticResources lists the managed resource types each embedded module
// declares: what a dry run can say about the stack without Terraform or a
// provider.
func StaticResources() ([]ModuleResources, error) {
	mods, err := moduleSummaries()
	if err != nil {
		return nil, err
	}
	var out []ModuleResources
	for _, mod := range mods {
		seen := map[string]int{}
		for _, t := range mod.Resources {
			seen[t]++
		}
		m := ModuleResources{Module: mod.Name}
		for t, n := range seen {
			if n > 1 {
				t = fmt.Sprintf("%s ×%d", t, n)
			}
			m.Types = append(m.Types, t)
		}
		sort.Strings(m.Types)
		out = append(out, m)
	}
	return out, nil
}

// DBEngineVersion is the PostgreSQL version the embedded database module
// asks RDS for: its engine_version variable's default (the root module
// does not set it). Reading it from the module keeps init's orderability
// check on the version deploy will create.
func DBEngineVersion() (string, error) {
	mods, err := moduleSummaries()
	if err != nil {
		return "", err
	}
	for _, mod := range mods {
		if mod.Name != "database" {
			continue
		}
		v, ok := mod.Defaults["engine_version"]
		if !ok {
			return "", fmt.Errorf("module database has no engine_version variable with a default")
		}
		s, ok := v.(string)
		if !ok || s == "" {
			return "", fmt.Errorf("module database: engine_version's default %v is not a version", v)
		}
		return s, nil
	}
	return "", fmt.Errorf("no database module is embedded")
}

// ProcessorMaxConcurrency is the most processor invocations the SQS event
// source runs at once: the processor module's max_concurrency default
// (the root module does not set it; TestProcessorMaxConcurrency keeps it
// so). The Lambda quota check counts it against the account's quota.
func ProcessorMaxConcurrency() (int, error) {
	mods, err := moduleSummaries()
	if err != nil {
		return 0, err
	}
	for _, mod := range mods {
		if mod.Name != "processor" {
			continue
		}
		// JSON numbers decode as float64.
		v, ok := mod.Defaults["max_concurrency"].(float64)
		if !ok || v < 1 || v != float64(int(v)) {
			return 0, fmt.Errorf("module processor: max_concurrency's default %v is not a whole number of invocations", mod.Defaults["max_concurrency"])
		}
		return int(v), nil
	}
	return 0, fmt.Errorf("no processor module is embedded")
}
