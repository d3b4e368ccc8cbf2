// Package runtimebin provides the binaries `flytrap deploy` ships to AWS:
// the ingest and processor Lambda packages (zips holding an arm64
// `bootstrap`) and the dashboard's linux/arm64 executable.
//
// A release build embeds them (build tag embedruntime; .goreleaser.yaml
// builds them first with ./internal/runtimebin/build). A development build
// cross-compiles them from the source checkout it runs in with the local
// Go toolchain. FLYTRAP_RUNTIME_DIR overrides both with a folder of
// prebuilt files.
package runtimebin

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// File names of the artifacts, in a dist folder and in the workspace.
const (
	IngestZip       = "ingest.zip"
	ProcessorZip    = "processor.zip"
	DashboardBinary = "flytrap-dashboard"
)

// Names lists the artifacts.
var Names = []string{IngestZip, ProcessorZip, DashboardBinary}

// Module is the module path a source checkout must declare.
const Module = "github.com/getflytrap/flytrap"

// Size budgets of the runtime executables (a Lambda's bootstrap before
// zipping). Lambda reads and starts its package on every cold start, so
// the functions stay small; the dashboard instance starts once per deploy
// and links the SDK's service clients next to html/template, whose
// reflective method lookup keeps their exported methods alive.
const (
	MaxLambdaBytes    = 15 << 20
	MaxDashboardBytes = 30 << 20
)

// Packages are the runtime mains, relative to the module root, with the
// artifact each becomes and the budget of its executable.
var Packages = []struct {
	Dir, Artifact string
	MaxBytes      int64
}{
	{"runtime/ingest", IngestZip, MaxLambdaBytes},
	{"runtime/processor", ProcessorZip, MaxLambdaBytes},
	{"runtime/dashboard", DashboardBinary, MaxDashboardBytes},
}

// BuildTags are the tags of the runtime builds: no RPC shim in the Lambda
// runtime (provided.al2023 speaks the Runtime API), and no SQLite driver
// (the AWS binaries use PostgreSQL only; this keeps them small).
const BuildTags = "lambda.norpc nosqlite"

// EnvDir names a folder of prebuilt artifacts that wins over everything:
// ingest.zip, processor.zip and flytrap-dashboard, or the plain binaries
// ingest, processor and dashboard.
const EnvDir = "FLYTRAP_RUNTIME_DIR"

// Artifacts are the files deploy hands to Terraform.
type Artifacts struct {
	IngestZip       string `json:"ingest_zip"`
	ProcessorZip    string `json:"processor_zip"`
	DashboardBinary string `json:"dashboard_binary"`
	// Source is "env" (FLYTRAP_RUNTIME_DIR), "embedded" or "built".
	Source string `json:"source"`
	// SHA256 maps each artifact's name to its hex digest.
	SHA256 map[string]string `json:"sha256"`
}

// Options say where the artifacts go and where they may come from.
type Options struct {
	// Dir receives the artifacts (created if needed).
	Dir string
	// PrebuiltDir, when set, is a folder holding the three files (the
	// value of FLYTRAP_RUNTIME_DIR).
	PrebuiltDir string
	// WorkDir is where to look for a source checkout (its parents too);
	// "" means the current directory.
	WorkDir string
	// Go is the go command; "" looks it up on PATH.
	Go string
	// Log receives the build's output.
	Log io.Writer
}

// ErrUnavailable: this binary embeds no runtime, no prebuilt folder is
// set, and there is no source checkout with a Go toolchain to build one.
var ErrUnavailable = errors.New("the runtime binaries are not available")

// Embedded reports whether this flytrap carries the runtime binaries.
func Embedded() bool {
	_, ok := embeddedFS()
	return ok
}

// Provide writes the artifacts into o.Dir from the first source available:
// o.PrebuiltDir, the embedded copies, or a cross-compile of the source
// checkout around o.WorkDir.
func Provide(ctx context.Context, o Options) (Artifacts, error) {
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return Artifacts{}, err
	}
	switch fsys, embedded := embeddedFS(); {
	case o.PrebuiltDir != "":
		if err := fromPrebuilt(o.PrebuiltDir, o.Dir); err != nil {
			return Artifacts{}, fmt.Errorf("%s=%s: %w", EnvDir, o.PrebuiltDir, err)
		}
		return finish(o.Dir, "env")
	case embedded:
		if err := copyFrom(fsys, "dist", o.Dir); err != nil {
			return Artifacts{}, fmt.Errorf("embedded runtime: %w", err)
		}
		return finish(o.Dir, "embedded")
	}
	src, err := source(o.WorkDir)
	if err != nil {
		return Artifacts{}, err
	}
	goCmd := o.Go
	if goCmd == "" {
		if goCmd, err = exec.LookPath("go"); err != nil {
			return Artifacts{}, fmt.Errorf("%w: building them from %s needs the Go toolchain on PATH (%v)", ErrUnavailable, src, err)
		}
	}
	if err := Build(ctx, BuildOptions{Source: src, Out: o.Dir, Go: goCmd, Log: o.Log}); err != nil {
		return Artifacts{}, err
	}
	return finish(o.Dir, "built")
}

// Missing returns the error Provide would return, without building
// anything, when it has nowhere to take the artifacts from: no
// prebuiltDir, no embedded copies, and workDir ("" for the current
// directory) outside a source checkout. It returns nil when Provide would
// go ahead.
func Missing(workDir, prebuiltDir string) error {
	if prebuiltDir != "" || Embedded() {
		return nil
	}
	_, err := source(workDir)
	return err
}

// source returns the checkout a development build cross-compiles the
// artifacts from: the one holding workDir ("" for the current directory).
func source(workDir string) (string, error) {
	if workDir == "" {
		var err error
		if workDir, err = os.Getwd(); err != nil {
			return "", err
		}
	}
	src, err := FindSource(workDir)
	if err != nil {
		return "", fmt.Errorf("%w: this flytrap is a development build without embedded runtime binaries, and %v", ErrUnavailable, err)
	}
	return src, nil
}

// Checkout returns the root of the source checkout this binary was
// compiled from, if its build kept source paths (go build or go run
// without -trimpath) and the checkout is still there; "" otherwise. It is
// where a development build can deploy from.
func Checkout() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return ""
	}
	src, err := FindSource(filepath.Dir(file))
	if err != nil {
		return ""
	}
	return src
}

// FindSource returns the root of the Flytrap source checkout holding dir:
// the nearest parent with a go.mod declaring Module and the runtime mains.
func FindSource(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && declaresModule(b, Module) {
			for _, p := range Packages {
				if _, err := os.Stat(filepath.Join(d, filepath.FromSlash(p.Dir))); err != nil {
					return "", fmt.Errorf("the checkout at %s has no %s", d, p.Dir)
				}
			}
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%s is not inside a checkout of %s", dir, Module)
		}
	}
}

func declaresModule(gomod []byte, module string) bool {
	for _, line := range strings.Split(string(gomod), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "module" && strings.Trim(f[1], `"`) == module {
			return true
		}
	}
	return false
}

// BuildOptions configure Build.
type BuildOptions struct {
	// Source is the module root.
	Source string
	// Out receives the artifacts.
	Out string
	// Go is the go command.
	Go string
	// Log receives a line when the build starts and one as each artifact
	// is ready: a cross-compile takes minutes, which would otherwise pass
	// in silence.
	Log io.Writer
}

// Build cross-compiles the runtime mains for linux/arm64 (static, stripped,
// trimmed paths) and packages the Lambdas as zips holding `bootstrap`.
func Build(ctx context.Context, o BuildOptions) error {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Go == "" {
		o.Go = "go"
	}
	tmp, err := os.MkdirTemp("", "flytrap-runtime-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return err
	}
	fmt.Fprintf(o.Log, "cross-compiling %s, %s and %s for linux/arm64 from %s: this takes minutes (the first one most)\n",
		Packages[0].Artifact, Packages[1].Artifact, Packages[2].Artifact, o.Source)
	// One go build per main, so that each can be reported as it is
	// ready; the build cache compiles the packages they share once.
	for _, p := range Packages {
		start := time.Now()
		bin := filepath.Join(tmp, filepath.Base(p.Dir))
		args := []string{"build", "-tags", BuildTags, "-trimpath", "-ldflags=-s -w", "-o", bin, "./" + p.Dir}
		cmd := exec.CommandContext(ctx, o.Go, args...)
		cmd.Dir = o.Source
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
		// The compiler's output is kept for the error only: on success it
		// is nothing but "go: downloading ..." lines, noise on a deploy's
		// console.
		var stderr bytes.Buffer
		cmd.Stdout = &stderr
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("cross-compile the runtime binaries (%s %s in %s): %w\n%s", o.Go, strings.Join(args, " "), o.Source, err, strings.TrimSpace(stderr.String()))
		}
		dst := filepath.Join(o.Out, p.Artifact)
		if strings.HasSuffix(p.Artifact, ".zip") {
			err = ZipBootstrap(bin, dst)
		} else {
			err = copyFile(bin, dst, 0o755)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(o.Log, "built %s in %s\n", p.Artifact, time.Since(start).Round(time.Second))
	}
	return nil
}

// ExecutableSize returns the size of the executable an artifact carries:
// the `bootstrap` inside a Lambda zip, or the file itself.
func ExecutableSize(path string) (int64, error) {
	if !strings.HasSuffix(path, ".zip") {
		fi, err := os.Stat(path)
		if err != nil {
			return 0, err
		}
		return fi.Size(), nil
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		return 0, err
	}
	defer zr.Close()
	for _, f := range zr.File {
		if f.Name == "bootstrap" {
			return int64(f.UncompressedSize64), nil
		}
	}
	return 0, fmt.Errorf("%s holds no bootstrap", path)
}

// CheckSizes compares the executables of the artifacts in dir with their
// budgets and returns each one's size, keyed by artifact name.
func CheckSizes(dir string) (map[string]int64, error) {
	sizes := map[string]int64{}
	var over []string
	for _, p := range Packages {
		n, err := ExecutableSize(filepath.Join(dir, p.Artifact))
		if err != nil {
			return nil, err
		}
		sizes[p.Artifact] = n
		if n > p.MaxBytes {
			over = append(over, fmt.Sprintf("%s is %d bytes (%.1f MiB), over its %d MiB budget", p.Artifact, n, float64(n)/(1<<20), p.MaxBytes>>20))
		}
	}
	if len(over) > 0 {
		return sizes, fmt.Errorf("%s; see docs/benchmarks.md for what links what", strings.Join(over, "; "))
	}
	return sizes, nil
}

// zipTime is the modification time of every zip entry: a fixed time makes
// the zip of an unchanged binary byte-identical, so Terraform sees no
// change and does not redeploy the function.
var zipTime = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// ZipBootstrap writes a Lambda package: a zip with bin as the executable
// `bootstrap`, which the provided.al2023 runtime starts.
func ZipBootstrap(bin, dst string) error {
	b, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate, Modified: zipTime}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return writeAtomic(dst, buf.Bytes(), 0o644)
}

// fromPrebuilt copies the artifacts from a folder that holds either the
// packaged files (ingest.zip, processor.zip, flytrap-dashboard) or the
// plain `go build` outputs of the runtime mains (ingest, processor,
// dashboard), which are packaged here.
func fromPrebuilt(src, dst string) error {
	for _, p := range Packages {
		packaged := filepath.Join(src, p.Artifact)
		plain := filepath.Join(src, filepath.Base(p.Dir))
		out := filepath.Join(dst, p.Artifact)
		_, err := os.Stat(packaged)
		switch {
		case err == nil && strings.HasSuffix(p.Artifact, ".zip"):
			err = copyFile(packaged, out, 0o644)
		case err == nil:
			err = copyFile(packaged, out, 0o755)
		case strings.HasSuffix(p.Artifact, ".zip"):
			err = ZipBootstrap(plain, out)
		default:
			err = copyFile(plain, out, 0o755)
		}
		if err != nil {
			return fmt.Errorf("%s: %w (want %s or %s)", p.Artifact, err, p.Artifact, filepath.Base(p.Dir))
		}
	}
	return nil
}

// copyFrom copies the artifacts from dir in fsys to dst.
func copyFrom(fsys fs.FS, dir, dst string) error {
	for _, name := range Names {
		b, err := fs.ReadFile(fsys, pathJoin(dir, name))
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if name == DashboardBinary {
			mode = 0o755
		}
		if err := writeAtomic(filepath.Join(dst, name), b, mode); err != nil {
			return err
		}
	}
	return nil
}

func pathJoin(dir, name string) string {
	if dir == "." {
		return name
	}
	return dir + "/" + name
}

func copyFile(src, dst string, mode os.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return writeAtomic(dst, b, mode)
}

// writeAtomic replaces dst only when the content differs, so an unchanged
// artifact keeps its file and Terraform's view of it is stable.
func writeAtomic(dst string, b []byte, mode os.FileMode) error {
	if old, err := os.ReadFile(dst); err == nil && bytes.Equal(old, b) {
		return os.Chmod(dst, mode)
	}
	tmp := dst + ".tmp"
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// finish checks the artifacts in dir and returns their paths and digests.
func finish(dir, source string) (Artifacts, error) {
	a := Artifacts{
		IngestZip:       filepath.Join(dir, IngestZip),
		ProcessorZip:    filepath.Join(dir, ProcessorZip),
		DashboardBinary: filepath.Join(dir, DashboardBinary),
		Source:          source,
		SHA256:          map[string]string{},
	}
	for _, name := range Names {
		p := filepath.Join(dir, name)
		b, err := os.ReadFile(p)
		if err != nil {
			return Artifacts{}, err
		}
		if strings.HasSuffix(name, ".zip") {
			if err := checkLambdaZip(b); err != nil {
				return Artifacts{}, fmt.Errorf("%s: %w", p, err)
			}
		} else if len(b) < 4 || string(b[:4]) != "\x7fELF" {
			return Artifacts{}, fmt.Errorf("%s is not a Linux executable", p)
		}
		sum := sha256.Sum256(b)
		a.SHA256[name] = hex.EncodeToString(sum[:])
	}
	return a, nil
}

// checkLambdaZip makes sure a package holds an executable bootstrap.
func checkLambdaZip(b []byte) error {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return fmt.Errorf("not a zip: %w", err)
	}
	for _, f := range zr.File {
		if f.Name == "bootstrap" {
			if f.Mode()&0o111 == 0 {
				return errors.New("bootstrap is not executable")
			}
			return nil
		}
	}
	return errors.New("no bootstrap at the top of the zip")
}
