//go:build embedruntime

package runtimebin

import "embed"

// dist holds the runtime binaries of a release build. .goreleaser.yaml's
// before-hook (`go run ./internal/runtimebin/build -o internal/runtimebin/dist`)
// writes them; building with -tags embedruntime without them fails at
// compile time, which is the point: a release cannot ship without them.
//
//go:embed dist/ingest.zip dist/processor.zip dist/flytrap-dashboard
var dist embed.FS

func embeddedFS() (fsys embed.FS, ok bool) { return dist, true }
