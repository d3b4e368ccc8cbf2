// Package version implements `flytrap version`.
package version

import (
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/getflytrap/flytrap/internal/buildinfo"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
)

// Options are the inputs of `flytrap version`.
type Options struct {
	IO   *cmdutil.IOStreams
	JSON bool
}

// NewCmd returns the version command.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &Options{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of flytrap",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return Run(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print as JSON")
	return cmd
}

// Run prints the version.
func Run(opts *Options) error {
	if opts.JSON {
		return json.NewEncoder(opts.IO.Out).Encode(map[string]string{
			"version": buildinfo.String(),
			"go":      runtime.Version(),
			"os_arch": runtime.GOOS + "/" + runtime.GOARCH,
		})
	}
	_, err := fmt.Fprintln(opts.IO.Out, Line())
	return err
}

// Line is the version as `flytrap version` and `flytrap --version` print
// it: the build, its Go release and the platform.
func Line() string {
	return fmt.Sprintf("flytrap %s (%s, %s/%s)", buildinfo.String(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
