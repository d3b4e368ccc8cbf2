// Package templates embeds the text and HTML templates under this folder
// (go:embed cannot reach parent folders, so the files and this package live
// together).
package templates

import (
	"embed"

	"github.com/getflytrap/flytrap/internal/shell"
)

// FS holds every template, addressed by its path below this folder.
//
//go:embed snippets dashboard static cloudinit alerts account
var FS embed.FS

// SnippetFuncs are the functions the templates under snippets call, for
// text/template's Funcs: shellQuote writes a value as one word of a shell
// command (shell.Quote), since a snippet is pasted into a terminal.
var SnippetFuncs = map[string]any{"shellQuote": shell.Quote}
