// Command build cross-compiles Flytrap's runtime binaries (ingest and
// processor Lambda zips, the dashboard executable) into a folder. Release
// builds run it before compiling flytrap with -tags embedruntime:
//
//	go run ./internal/runtimebin/build -o internal/runtimebin/dist
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/getflytrap/flytrap/internal/runtimebin"
)

func main() {
	out := flag.String("o", filepath.Join("internal", "runtimebin", "dist"), "output folder")
	maxMB := flag.Int("max-mb", 15, "fail when an artifact is larger than this many MB (0: no limit)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *out, int64(*maxMB)<<20); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out string, maxBytes int64) error {
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	src, err := runtimebin.FindSource(wd)
	if err != nil {
		return err
	}
	if err := runtimebin.Build(ctx, runtimebin.BuildOptions{Source: src, Out: out, Go: "go", Log: os.Stderr}); err != nil {
		return err
	}
	for _, name := range runtimebin.Names {
		fi, err := os.Stat(filepath.Join(out, name))
		if err != nil {
			return err
		}
		fmt.Printf("%-18s %6.1f MB\n", name, float64(fi.Size())/(1<<20))
		if maxBytes > 0 && fi.Size() > maxBytes {
			return fmt.Errorf("%s is %d bytes, over the %d MB budget", name, fi.Size(), maxBytes>>20)
		}
	}
	return nil
}
