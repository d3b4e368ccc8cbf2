package deploy

import (
	"encoding/json"
	"io/fs"
	"slices"
	"testing"

	"github.com/hashicorp/terraform-config-inspect/tfconfig"

	"github.com/getflytrap/flytrap/internal/testutil/golden"
	"github.com/getflytrap/flytrap/terraform"
)

// TestModuleSummary reads the embedded modules with
// terraform-config-inspect and checks modules.json, which the binary
// embeds, says the same; -update rewrites it.
func TestModuleSummary(t *testing.T) {
	entries, err := fs.ReadDir(terraform.Modules, "modules")
	if err != nil {
		t.Fatal(err)
	}
	var mods []moduleSummary
	for _, e := range entries {
		mod, diags := tfconfig.LoadModuleFromFilesystem(tfconfig.WrapFS(terraform.Modules), "modules/"+e.Name())
		if diags.HasErrors() {
			t.Fatalf("module %s: %v", e.Name(), diags.Err())
		}
		s := moduleSummary{Name: e.Name(), Resources: []string{}}
		for _, r := range mod.ManagedResources {
			s.Resources = append(s.Resources, r.Type)
		}
		slices.Sort(s.Resources)
		for name, v := range mod.Variables {
			if v.Default != nil {
				if s.Defaults == nil {
					s.Defaults = map[string]any{}
				}
				s.Defaults[name] = v.Default
			}
		}
		mods = append(mods, s)
	}
	got, err := json.MarshalIndent(mods, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	// modulesJSON is the file the binary embeds.
	golden.CheckFile(t, "modules.json", append(got, '\n'))
}
