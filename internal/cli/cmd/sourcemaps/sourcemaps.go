// Package sourcemaps implements `flytrap sourcemaps`, the parent of the
// inject and upload commands.
package sourcemaps

import (
	"github.com/spf13/cobra"

	"github.com/getflytrap/flytrap/internal/cli/cmd/sourcemaps/inject"
	"github.com/getflytrap/flytrap/internal/cli/cmd/sourcemaps/upload"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
)

// NewCmd returns the sourcemaps command.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sourcemaps <command>",
		Short: "Give minified JavaScript debug IDs and upload its source maps",
		Long: `Stack traces from minified JavaScript read like the original source once
Flytrap has the source maps: inject debug IDs into the build output, deploy it,
then upload the maps to your Flytrap server (docs/sourcemaps.md).`,
	}
	cmd.AddCommand(inject.NewCmd(f), upload.NewCmd(f))
	return cmd
}
