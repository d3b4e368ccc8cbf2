// Command build cross-compiles Flytrap's runtime binaries (ingest and
// processor Lambda zips, the dashboard executable) into a folder and fails
// when one exceeds its budget (runtimebin.Packages). Release builds run it
// before compiling flytrap with -tags embedruntime:
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
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *out); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out string) error {
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
	sizes, err := runtimebin.CheckSizes(out)
	for _, p := range runtimebin.Packages {
		if n, ok := sizes[p.Artifact]; ok {
			fmt.Printf("%-18s %6.1f MiB (budget %d MiB)\n", p.Artifact, float64(n)/(1<<20), p.MaxBytes>>20)
		}
	}
	return err
}
