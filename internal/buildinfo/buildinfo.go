// Package buildinfo reports the version of the running binary.
package buildinfo

import "runtime/debug"

// Version is set by release builds with
// -ldflags "-X github.com/getflytrap/flytrap/internal/buildinfo.Version=v1.2.3".
var Version = ""

// String returns the release version, else the module version or VCS
// revision recorded by the Go toolchain, else "dev".
func String() string {
	if Version != "" {
		return Version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "dev-" + s.Value[:12]
		}
	}
	return "dev"
}
