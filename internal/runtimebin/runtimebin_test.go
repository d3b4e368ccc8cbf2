package runtimebin

import (
	"archive/zip"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeELF(t *testing.T, p string) {
	t.Helper()
	if err := os.WriteFile(p, []byte("\x7fELF not really"), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestZipBootstrapIsReproducible(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	writeELF(t, bin)
	a, b := filepath.Join(dir, "a.zip"), filepath.Join(dir, "b.zip")
	if err := ZipBootstrap(bin, a); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // a timestamp from the clock would differ now
	if err := ZipBootstrap(bin, b); err != nil {
		t.Fatal(err)
	}
	za, _ := os.ReadFile(a)
	zb, _ := os.ReadFile(b)
	if !bytes.Equal(za, zb) {
		t.Error("zipping the same binary twice gives different bytes: every deploy would update the functions")
	}
	zr, err := zip.NewReader(bytes.NewReader(za), int64(len(za)))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" || zr.File[0].Mode().Perm() != 0o755 {
		t.Errorf("zip holds %v with mode %v", zr.File[0].Name, zr.File[0].Mode())
	}
}

func TestProvideFromPrebuiltDir(t *testing.T) {
	pre := t.TempDir()
	bin := filepath.Join(pre, "bin")
	writeELF(t, bin)
	for _, z := range []string{IngestZip, ProcessorZip} {
		if err := ZipBootstrap(bin, filepath.Join(pre, z)); err != nil {
			t.Fatal(err)
		}
	}
	writeELF(t, filepath.Join(pre, DashboardBinary))
	out := filepath.Join(t.TempDir(), "artifacts")
	a, err := Provide(context.Background(), Options{Dir: out, PrebuiltDir: pre})
	if err != nil {
		t.Fatal(err)
	}
	if a.Source != "env" || a.IngestZip != filepath.Join(out, IngestZip) || len(a.SHA256) != 3 {
		t.Errorf("artifacts %+v", a)
	}
	if fi, _ := os.Stat(a.DashboardBinary); fi.Mode().Perm() != 0o755 {
		t.Errorf("dashboard mode %v", fi.Mode())
	}
	// Unchanged artifacts keep their files (stable for Terraform).
	before, _ := os.Stat(a.IngestZip)
	if _, err := Provide(context.Background(), Options{Dir: out, PrebuiltDir: pre}); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(a.IngestZip)
	if !before.ModTime().Equal(after.ModTime()) {
		t.Error("an unchanged artifact was rewritten")
	}
}

func TestProvideFromPlainBinaries(t *testing.T) {
	pre := t.TempDir()
	for _, n := range []string{"ingest", "processor", "dashboard"} {
		writeELF(t, filepath.Join(pre, n))
	}
	a, err := Provide(context.Background(), Options{Dir: t.TempDir(), PrebuiltDir: pre})
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(a.ProcessorZip)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if zr.File[0].Name != "bootstrap" {
		t.Errorf("processor.zip holds %s", zr.File[0].Name)
	}
}

func TestProvideRefusesBadArtifacts(t *testing.T) {
	tests := []struct {
		name  string
		setup func(dir string)
		want  string
	}{
		{"missing", func(dir string) {}, "no such file"},
		{"zip without bootstrap", func(dir string) {
			var buf bytes.Buffer
			zw := zip.NewWriter(&buf)
			w, _ := zw.Create("main")
			w.Write([]byte("x"))
			zw.Close()
			os.WriteFile(filepath.Join(dir, IngestZip), buf.Bytes(), 0o644)
			os.WriteFile(filepath.Join(dir, ProcessorZip), buf.Bytes(), 0o644)
			writeELF(t, filepath.Join(dir, DashboardBinary))
		}, "no bootstrap"},
		{"not a zip", func(dir string) {
			os.WriteFile(filepath.Join(dir, IngestZip), []byte("nope"), 0o644)
			os.WriteFile(filepath.Join(dir, ProcessorZip), []byte("nope"), 0o644)
			writeELF(t, filepath.Join(dir, DashboardBinary))
		}, "not a zip"},
		{"dashboard not ELF", func(dir string) {
			bin := filepath.Join(dir, "b")
			writeELF(t, bin)
			ZipBootstrap(bin, filepath.Join(dir, IngestZip))
			ZipBootstrap(bin, filepath.Join(dir, ProcessorZip))
			os.WriteFile(filepath.Join(dir, DashboardBinary), []byte("#!/bin/sh"), 0o755)
		}, "not a Linux executable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pre := t.TempDir()
			tt.setup(pre)
			_, err := Provide(context.Background(), Options{Dir: t.TempDir(), PrebuiltDir: pre})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Provide = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestProvideOutsideACheckout(t *testing.T) {
	if Embedded() {
		t.Skip("an embedruntime build always has the binaries")
	}
	_, err := Provide(context.Background(), Options{Dir: t.TempDir(), WorkDir: t.TempDir()})
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "not inside a checkout") {
		t.Errorf("Provide = %v", err)
	}
}

// A cross-compile takes minutes: Build says so when it starts, then names
// each artifact as it is ready, as the go command finishes it.
func TestBuildReportsProgress(t *testing.T) {
	src, out := t.TempDir(), t.TempDir()
	// A go command that writes the -o file and logs its package.
	goCmd := filepath.Join(t.TempDir(), "go")
	script := "#!/bin/sh\nwhile [ $# -gt 1 ]; do [ \"$1\" = -o ] && o=$2; shift; done\nprintf '\\177ELF' > \"$o\"\necho \"$1\" >> " + filepath.Join(src, "built") + "\n"
	if err := os.WriteFile(goCmd, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	if err := Build(context.Background(), BuildOptions{Source: src, Out: out, Go: goCmd, Log: &log}); err != nil {
		t.Fatal(err)
	}
	want := "cross-compiling ingest.zip, processor.zip and flytrap-dashboard for linux/arm64 from " + src + ": this takes minutes (the first one most)\n" +
		"built ingest.zip in 0s\nbuilt processor.zip in 0s\nbuilt flytrap-dashboard in 0s\n"
	if log.String() != want {
		t.Errorf("log:\n%s\nwant:\n%s", log.String(), want)
	}
	if b, err := os.ReadFile(filepath.Join(src, "built")); err != nil || string(b) != "./runtime/ingest\n./runtime/processor\n./runtime/dashboard\n" {
		t.Errorf("go built %q, %v; want each runtime main in turn", b, err)
	}
	if _, err := finish(out, "built"); err != nil {
		t.Error(err)
	}
}

// Missing says, before a deploy or in init's advice, whether Provide
// would have nowhere to take the binaries from.
func TestMissing(t *testing.T) {
	if Embedded() {
		t.Skip("an embedruntime build always has the binaries")
	}
	if err := Missing(t.TempDir(), ""); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "not inside a checkout") {
		t.Errorf("outside a checkout: Missing = %v", err)
	}
	if err := Missing(t.TempDir(), t.TempDir()); err != nil {
		t.Errorf("with a prebuilt folder: Missing = %v", err)
	}
	if err := Missing(".", ""); err != nil {
		t.Errorf("inside the checkout: Missing = %v", err)
	}
}

// A test binary keeps its source paths, as go build and go run do: it
// knows the checkout it was built from.
func TestCheckout(t *testing.T) {
	want, err := FindSource(".")
	if err != nil {
		t.Fatal(err)
	}
	if got := Checkout(); got != want {
		t.Errorf("Checkout = %q, want %q", got, want)
	}
}

func TestFindSource(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "go.mod"), []byte("module "+Module+"\n\ngo 1.26\n"), 0o644)
	for _, p := range Packages {
		os.MkdirAll(filepath.Join(root, p.Dir), 0o755)
	}
	deep := filepath.Join(root, "internal", "x")
	os.MkdirAll(deep, 0o755)
	if got, err := FindSource(deep); err != nil || got != root {
		t.Errorf("FindSource = %q, %v; want %q", got, err, root)
	}
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/other\n"), 0o644)
	if _, err := FindSource(other); err == nil {
		t.Error("another module was taken for the checkout")
	}
	os.RemoveAll(filepath.Join(root, "runtime", "dashboard"))
	if _, err := FindSource(deep); err == nil || !strings.Contains(err.Error(), "runtime/dashboard") {
		t.Errorf("a checkout without the dashboard: %v", err)
	}
}

// TestBuildFromSource cross-compiles the real runtime mains of this
// checkout: linux/arm64, static, each under the 15 MB budget.
func TestBuildFromSource(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles three binaries")
	}
	src, err := FindSource(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range Packages {
		if m, _ := filepath.Glob(filepath.Join(src, p.Dir, "*.go")); len(m) == 0 {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s has no Go files", p.Dir)
			}
			t.Skipf("%s has no Go files yet", p.Dir)
		}
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go on PATH")
	}
	out := t.TempDir()
	start := time.Now()
	a, err := Provide(context.Background(), Options{Dir: out, WorkDir: src, Go: goCmd})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built in %.1fs", time.Since(start).Seconds())
	if a.Source != "built" {
		t.Errorf("source %s", a.Source)
	}
	check := func(name string, b []byte) {
		f, err := elf.NewFile(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if f.Machine != elf.EM_AARCH64 || f.Class != elf.ELFCLASS64 {
			t.Errorf("%s: machine %v class %v, want arm64", name, f.Machine, f.Class)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s is dynamically linked", name)
			}
		}
		t.Logf("%s: %.1f MiB", name, float64(len(b))/(1<<20))
	}
	for _, z := range []string{a.IngestZip, a.ProcessorZip} {
		zr, err := zip.OpenReader(z)
		if err != nil {
			t.Fatal(err)
		}
		rc, _ := zr.File[0].Open()
		var buf bytes.Buffer
		buf.ReadFrom(rc)
		rc.Close()
		zr.Close()
		check(filepath.Base(z)+"/bootstrap", buf.Bytes())
	}
	b, _ := os.ReadFile(a.DashboardBinary)
	check(DashboardBinary, b)
	if _, err := CheckSizes(out); err != nil {
		t.Error(err)
	}
}

// TestCheckSizes holds each executable to its own budget: a Lambda's
// bootstrap (not its zip) to 15 MiB, the dashboard to 30 MiB.
func TestCheckSizes(t *testing.T) {
	tests := []struct {
		name                       string
		ingest, processor, dashbrd int64
		wantErr                    []string
	}{
		{"all within", MaxLambdaBytes, MaxLambdaBytes - 1, MaxDashboardBytes, nil},
		{"dashboard may exceed the Lambda budget", 1 << 20, 1 << 20, 20 << 20, nil},
		{"lambda over", MaxLambdaBytes + 1, 1 << 20, 1 << 20, []string{"ingest.zip is 15728641 bytes", "15 MiB budget"}},
		{"dashboard over", 1 << 20, 1 << 20, MaxDashboardBytes + 1, []string{"flytrap-dashboard is 31457281 bytes", "30 MiB budget"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, n := range map[string]int64{"ingest": tt.ingest, "processor": tt.processor} {
				bin := filepath.Join(dir, name)
				if err := os.WriteFile(bin, nil, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Truncate(bin, n); err != nil {
					t.Fatal(err)
				}
				if err := ZipBootstrap(bin, filepath.Join(dir, name+".zip")); err != nil {
					t.Fatal(err)
				}
			}
			dash := filepath.Join(dir, DashboardBinary)
			if err := os.WriteFile(dash, nil, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(dash, tt.dashbrd); err != nil {
				t.Fatal(err)
			}
			sizes, err := CheckSizes(dir)
			if sizes[IngestZip] != tt.ingest || sizes[ProcessorZip] != tt.processor || sizes[DashboardBinary] != tt.dashbrd {
				t.Errorf("sizes %v", sizes)
			}
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Errorf("CheckSizes: %v", err)
				}
				return
			}
			for _, w := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("CheckSizes = %v, want %q", err, w)
				}
			}
		})
	}
}
