package deploy

import (
	"fmt"
	"io/fs"
	"sort"

	"github.com/hashicorp/terraform-config-inspect/tfconfig"

	"github.com/getflytrap/flytrap/terraform"
)

// ModuleResources are the resource types one module declares.
type ModuleResources struct {
	Module string   `json:"module"`
	Types  []string `json:"types"`
}

// StaticResources reads the embedded modules and lists the managed
// resource types each declares: what a dry run can say about the stack
// without Terraform or a provider.
func StaticResources() ([]ModuleResources, error) {
	entries, err := fs.ReadDir(terraform.Modules, "modules")
	if err != nil {
		return nil, err
	}
	var out []ModuleResources
	for _, e := range entries {
		mod, diags := tfconfig.LoadModuleFromFilesystem(tfconfig.WrapFS(terraform.Modules), "modules/"+e.Name())
		if diags.HasErrors() {
			return nil, fmt.Errorf("module %s: %w", e.Name(), diags.Err())
		}
		seen := map[string]int{}
		for _, r := range mod.ManagedResources {
			seen[r.Type]++
		}
		m := ModuleResources{Module: e.Name()}
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
	mod, diags := tfconfig.LoadModuleFromFilesystem(tfconfig.WrapFS(terraform.Modules), "modules/database")
	if diags.HasErrors() {
		return "", fmt.Errorf("module database: %w", diags.Err())
	}
	v, ok := mod.Variables["engine_version"]
	if !ok {
		return "", fmt.Errorf("module database has no engine_version variable")
	}
	s, ok := v.Default.(string)
	if !ok || s == "" {
		return "", fmt.Errorf("module database: engine_version's default %v is not a version", v.Default)
	}
	return s, nil
}
