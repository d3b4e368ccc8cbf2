//go:build !embedruntime

package runtimebin

import "embed"

// A development build embeds nothing; Provide builds the binaries from the
// source checkout instead.
func embeddedFS() (fsys embed.FS, ok bool) { return embed.FS{}, false }
