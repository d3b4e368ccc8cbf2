// Package inject implements `flytrap sourcemaps inject`: debug IDs in
// minified JavaScript files and their source maps, as sentry-cli and
// Sentry's bundler plugins write them.
package inject

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
)

// Options are the inputs of `flytrap sourcemaps inject`.
type Options struct {
	IO     *cmdutil.IOStreams
	Dir    string
	DryRun bool
}

// NewCmd returns the inject command.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &Options{IO: f.IO}
	cmd := &cobra.Command{
		Use:               "inject DIR",
		ValidArgsFunction: cmdutil.CompleteFiles,
		Annotations:       map[string]string{cmdutil.PathArgs: "yes"},
		Short:             "Give each JavaScript file under DIR and its source map a debug ID",
		Long: `Write a debug ID into each .js, .mjs and .cjs file under DIR and into its
source map: a snippet that registers the ID at run time (the Sentry SDKs send
it with each error), a //# debugId= comment, and debug_id/debugId in the map,
whose mappings move to match. The ID is derived from the map's content (the
file's when it has no map), the same ID sentry-cli sourcemaps inject gives,
so running it again, or after sentry-cli, changes nothing. Run it on the
build output before you deploy it, then upload the same files with
flytrap sourcemaps upload.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			opts.Dir = args[0]
			return Run(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "report what would change without writing files")
	return cmd
}

// IsJS reports whether a file name is JavaScript that inject and upload
// handle.
func IsJS(name string) bool {
	for _, ext := range []string{".js", ".mjs", ".cjs"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// MapPath returns the path of the external source map of the JavaScript
// file at path: the one its sourceMappingURL names, else <path>.map, when
// that file exists; "" for none or an inline map.
func MapPath(path string, js []byte) string {
	ref := artifact.SourceMappingURL(js)
	if strings.HasPrefix(ref, "data:") {
		return ""
	}
	var candidates []string
	if ref != "" && !strings.Contains(ref, "://") {
		ref, _, _ = strings.Cut(ref, "?")
		candidates = append(candidates, filepath.Join(filepath.Dir(path), filepath.FromSlash(ref)))
	}
	candidates = append(candidates, path+".map")
	for _, c := range candidates {
		if fi, err := os.Stat(c); err == nil && fi.Mode().IsRegular() {
			return c
		}
	}
	return ""
}

// Run injects debug IDs and prints a line per file. A file or map that is
// a symbolic link is left alone: writing through it would change a file
// that may be anywhere (a link in a build directory to /etc/hostname
// named app.js), not the build output inject was given.
func Run(opts *Options) error {
	var injected, already, failed, noMap, links int
	err := filepath.WalkDir(WalkRoot(opts.Dir), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !IsJS(d.Name()) {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			links++
			fmt.Fprintf(opts.IO.ErrOut, "skipped %s: a symbolic link; inject writes only regular files, not what a link points to\n", path)
			return nil
		}
		js, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if id := artifact.DebugIDOf(js); id != "" {
			already++
			fmt.Fprintf(opts.IO.Out, "already has a debug ID  %s  %s\n", id, path)
			return nil
		}
		mapPath := MapPath(path, js)
		if isLink(mapPath) {
			links++
			fmt.Fprintf(opts.IO.ErrOut, "skipped %s: its source map %s is a symbolic link; inject writes only regular files, not what a link points to\n", path, mapPath)
			return nil
		}
		var sm []byte
		if mapPath != "" {
			if sm, err = os.ReadFile(mapPath); err != nil {
				return err
			}
		}
		out, err := artifact.Inject(js, sm)
		if err != nil {
			failed++
			fmt.Fprintf(opts.IO.ErrOut, "skipped %s: %v\n", path, err)
			return nil
		}
		injected++
		note := ""
		if mapPath == "" && !strings.HasPrefix(artifact.SourceMappingURL(js), "data:") {
			noMap++
			note = "  (no source map)"
		}
		fmt.Fprintf(opts.IO.Out, "injected  %s  %s%s\n", out.DebugID, path, note)
		if opts.DryRun {
			return nil
		}
		if out.Map != nil {
			if err := writeKeepingMode(mapPath, out.Map); err != nil {
				return err
			}
		}
		return writeKeepingMode(path, out.JS)
	})
	if err != nil {
		return &cmdutil.Error{Msg: "cannot inject debug IDs into " + opts.Dir, Err: err,
			Hint: "give the directory of your build output, e.g. dist"}
	}
	verb := "injected"
	if opts.DryRun {
		verb = "would inject"
	}
	fmt.Fprintf(opts.IO.Out, "%s %d, already had a debug ID %d, failed %d", verb, injected, already, failed)
	if links > 0 {
		fmt.Fprintf(opts.IO.Out, ", skipped %d behind symbolic links", links)
	}
	fmt.Fprintln(opts.IO.Out)
	if noMap > 0 {
		// Bundlers write no maps by default, and a file without one
		// injects fine: say that its frames will stay minified.
		fmt.Fprintf(opts.IO.Out, "%d without a source map: their errors' frames stay minified; have the bundler write source maps "+
			"(esbuild --sourcemap, Vite build.sourcemap: true, webpack devtool: \"source-map\"), then build and inject again\n", noMap)
	}
	if injected+already+links == 0 && failed == 0 {
		return &cmdutil.Error{Msg: "no .js, .mjs or .cjs files under " + opts.Dir, Hint: "give the directory of your build output"}
	}
	if failed > 0 {
		return errors.New("some files could not be injected; see above")
	}
	return nil
}

// WalkRoot is dir as the root to give filepath.WalkDir: with a trailing
// separator when dir is a symbolic link to a directory (a deploy's
// current -> releases/42), which WalkDir would otherwise take for a file
// and not walk, finding nothing, where "current/" was walked. The links
// under dir are still not followed.
func WalkRoot(dir string) string {
	if !isLink(dir) {
		return dir
	}
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return dir + string(filepath.Separator)
	}
	return dir
}

// isLink reports whether path names a symbolic link.
func isLink(path string) bool {
	fi, err := os.Lstat(path)
	return path != "" && err == nil && fi.Mode()&fs.ModeSymlink != 0
}

// writeKeepingMode replaces a file's content, keeping its permissions.
func writeKeepingMode(path string, data []byte) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, fi.Mode().Perm())
}
