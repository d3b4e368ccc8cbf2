// Package templates embeds the text and HTML templates under this folder
// (go:embed cannot reach parent folders, so the files and this package live
// together).
package templates

import "embed"

// FS holds every template, addressed by its path below this folder.
//
//go:embed snippets dashboard static cloudinit alerts account
var FS embed.FS
