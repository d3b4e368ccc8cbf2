// Package tf finds or installs Terraform and runs it through terraform-exec
// behind a small interface (Runner), decoding its machine-readable JSON
// stream (Decode) for progress views.
package tf

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-version"
	install "github.com/hashicorp/hc-install"
	"github.com/hashicorp/hc-install/fs"
	"github.com/hashicorp/hc-install/product"
	"github.com/hashicorp/hc-install/releases"
	"github.com/hashicorp/hc-install/src"
)

// PinnedVersion is the Terraform release installed when none suitable is on
// PATH. It is the version the modules are tested with.
const PinnedVersion = "1.11.4"

// Version constraints for the two uses. A real deploy locks the S3 state
// with a lock file next to it (use_lockfile, Terraform ≥ 1.10), which
// needs no DynamoDB table (the root module requires it); an offline plan
// only needs what terraform.OfflineOverride declares (>= 1.5).
const (
	DeployConstraint = ">= 1.10"
	PlanConstraint   = ">= 1.5"
)

// releasesHost is what a download needs to reach.
const releasesHost = "releases.hashicorp.com"

// EnsureOptions say which Terraform is acceptable and where to install one.
type EnsureOptions struct {
	// Constraint the binary on PATH must satisfy, e.g. DeployConstraint.
	Constraint string
	// CacheDir holds installed versions (<CacheDir>/<version>/terraform);
	// "" means <user cache dir>/flytrap/terraform.
	CacheDir string
	// DownloadTimeout bounds the download; 0 means 3 minutes.
	DownloadTimeout time.Duration
	// Lookup resolves a host name; nil uses net.DefaultResolver. Tests make
	// it fail to act offline.
	Lookup func(ctx context.Context, host string) ([]string, error)
}

// Installed is the Terraform found or installed.
type Installed struct {
	Path string `json:"path"`
	// Source is "path" (found on PATH), "cache" (installed earlier into the
	// cache) or "download".
	Source string `json:"source"`
}

// ErrUnavailable: no suitable Terraform is on PATH or in the cache, and
// none could be downloaded.
var ErrUnavailable = errors.New("terraform is not available")

// Ensure finds a Terraform satisfying opts.Constraint on PATH or in the
// cache, or installs PinnedVersion into the cache with hc-install.
//
// Offline, hc-install's download retries for about 15 s before failing, so
// a name lookup of the releases host goes first and fails fast.
func Ensure(ctx context.Context, opts EnsureOptions) (Installed, error) {
	constraints, err := version.NewConstraint(opts.Constraint)
	if err != nil {
		return Installed{}, fmt.Errorf("terraform version constraint %q: %w", opts.Constraint, err)
	}
	cacheDir := opts.CacheDir
	if cacheDir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return Installed{}, fmt.Errorf("%w: no user cache directory to install into (%v)", ErrUnavailable, err)
		}
		cacheDir = filepath.Join(base, "flytrap", "terraform")
	}
	pinned := version.Must(version.NewVersion(PinnedVersion))
	pinnedDir := filepath.Join(cacheDir, PinnedVersion)

	i := install.NewInstaller()
	// PATH first: a team's own Terraform wins when it is new enough.
	if p, err := i.Ensure(ctx, []src.Source{&fs.Version{Product: product.Terraform, Constraints: constraints}}); err == nil {
		return Installed{Path: p, Source: "path"}, nil
	}
	if p, err := i.Ensure(ctx, []src.Source{&fs.ExactVersion{Product: product.Terraform, Version: pinned, ExtraPaths: []string{pinnedDir}}}); err == nil {
		return Installed{Path: p, Source: "cache"}, nil
	}

	lookup := opts.Lookup
	if lookup == nil {
		lookup = net.DefaultResolver.LookupHost
	}
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	_, lerr := lookup(lctx, releasesHost)
	cancel()
	if lerr != nil {
		return Installed{}, fmt.Errorf("%w: none %s on PATH, and %s is unreachable to download %s (%v)", ErrUnavailable, opts.Constraint, releasesHost, PinnedVersion, lerr)
	}
	if err := os.MkdirAll(pinnedDir, 0o755); err != nil {
		return Installed{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	timeout := opts.DownloadTimeout
	if timeout == 0 {
		timeout = 3 * time.Minute
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	p, err := i.Ensure(dctx, []src.Source{&releases.ExactVersion{
		Product:    product.Terraform,
		Version:    pinned,
		InstallDir: pinnedDir,
		Timeout:    timeout,
	}})
	if err != nil {
		return Installed{}, fmt.Errorf("%w: none %s on PATH, and downloading %s from %s failed: %v", ErrUnavailable, opts.Constraint, PinnedVersion, releasesHost, err)
	}
	return Installed{Path: p, Source: "download"}, nil
}
