// Package terraform holds Flytrap's Terraform configuration for AWS (the root
// module in this folder and its child modules under modules/) and embeds it,
// so the flytrap binary can write it into a deploy workspace. go:embed cannot
// reach parent folders, so the files and this package live together.
//
// See docs/deploy-terraform.md for what the modules create.
package terraform

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Modules holds the root module's *.tf files and its dependency lock file
// (LockFileName) at the top level and each child module's under
// modules/<name>/, as laid out in the repository. Nothing else is embedded:
// no state or override.
//
//go:embed *.tf modules/*/*.tf .terraform.lock.hcl
var Modules embed.FS

// LockFileName is Terraform's dependency lock file: it pins the provider
// version. WriteTo overwrites the workspace's copy, so the pin moves with a
// flytrap upgrade and hashes recorded from a dry run's provider mirror never
// meet a real init against the registry.
const LockFileName = ".terraform.lock.hcl"

// WriteTo writes the embedded configuration into dir, creating it if needed,
// so that dir is a root module Terraform can init and apply.
//
// It first removes the configuration a previous version may have left: every
// *.tf and *.tf.json file directly in dir (including an override such as
// OfflineOverrideFileName left by a dry run) and the whole modules/ folder.
// Everything else in dir (.terraform/, tfvars, plans, local state) is kept;
// the lock file is replaced by the embedded one.
func WriteTo(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("terraform: create workspace: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("terraform: read workspace: %w", err)
	}
	for _, e := range entries {
		n := e.Name()
		if e.Type().IsRegular() && (strings.HasSuffix(n, ".tf") || strings.HasSuffix(n, ".tf.json")) {
			if err := os.Remove(filepath.Join(dir, n)); err != nil {
				return fmt.Errorf("terraform: remove stale %s: %w", n, err)
			}
		}
	}
	if err := os.RemoveAll(filepath.Join(dir, "modules")); err != nil {
		return fmt.Errorf("terraform: remove stale modules: %w", err)
	}
	return fs.WalkDir(Modules, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := Modules.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return fmt.Errorf("terraform: write %s: %w", p, err)
		}
		return nil
	})
}
