package artifact_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/artifact"
)

// heapBlobs records the live heap (after a collection) each time a file
// blob is stored: the bytes an assembly holds while it stores its files.
type heapBlobs struct {
	artifact.Blobs
	peak uint64
}

func (b *heapBlobs) Put(ctx context.Context, key string, body []byte) error {
	if strings.HasPrefix(key, "files/") {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.peak = max(b.peak, ms.HeapAlloc)
	}
	return b.Blobs.Put(ctx, key, body)
}

// compressible returns n bytes of a minified file that deflates about
// 50 times: 8 KiB of random hex, then spaces. Within the limits on a
// file's and a bundle's compression ratio, many of them inflate to far
// more than the bundle as uploaded.
func compressible(rng *rand.Rand, n int) []byte {
	b := bytes.Repeat([]byte(" "), n)
	const hexdigits = "0123456789abcdef"
	for i := range 8 << 10 {
		b[i] = hexdigits[rng.IntN(16)]
	}
	return b
}

// assembleRaw uploads data as one chunk and assembles it for release 1.0.
func (e *env) assembleRaw(data []byte) (artifact.AssembleResult, error) {
	e.t.Helper()
	sum := sha1.Sum(data)
	c := hex.EncodeToString(sum[:])
	if err := e.s.SaveChunk(e.ctx, e.user.ID, c, data); err != nil {
		e.t.Fatal(err)
	}
	return e.s.Assemble(e.ctx, artifact.AssembleRequest{UserID: e.user.ID, ProjectIDs: []int64{e.proj.ID}, Checksum: c,
		Chunks: []string{c}, Release: "1.0"})
}

// manyFiles zips a bundle of n minified files made by body, written one at
// a time so that the test holds the bundle only as compressed.
func manyFiles(t *testing.T, n int, body func(i int) []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	var m strings.Builder
	m.WriteString(`{"files":{`)
	for i := range n {
		name := fmt.Sprintf("files/_/_/f%05d.js", i)
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(body(i))
		if i > 0 {
			m.WriteString(",")
		}
		fmt.Fprintf(&m, `%q:{"url":"~/f%05d.js","type":"minified_source"}`, name, i)
	}
	m.WriteString(`}}`)
	w, err := zw.Create("manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(m.String()))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestAssembleHoldsOneFileAtATime: a bundle is read, checked and stored a
// file at a time, so assembling 64 MiB of files from a 1.4 MiB bundle
// holds one 256 KiB file, not the 64 MiB (QA found 9,000 files of 28 KiB,
// each within the limits, taking the server from 53 to 312 MB).
func TestAssembleHoldsOneFileAtATime(t *testing.T) {
	const files, size = 256, 256 << 10
	hb := &heapBlobs{Blobs: artifact.Dir{Root: t.TempDir()}}
	e := newEnv(t, hb)
	rng := rand.New(rand.NewPCG(1, 2))
	data := manyFiles(t, files, func(int) []byte { return compressible(rng, size) })
	// Twice, to empty sync.Pools (the zip writer's compressors) too.
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	res, err := e.assembleRaw(data)
	// Live in base, so live while storing too.
	runtime.KeepAlive(data)
	if err != nil || res.State != "ok" || res.Files != files {
		t.Fatalf("Assemble = %+v, %v; want %d files stored", res, err, files)
	}
	grew := float64(hb.peak-min(base, hb.peak)) / (1 << 20)
	t.Logf("%d files of %d KiB (%.1f MiB) from a bundle of %.2f MiB: the live heap grew by %.1f MiB while storing them",
		files, size>>10, float64(files*size)/(1<<20), float64(len(data))/(1<<20), grew)
	// One file, the zip's directory and the rows of 256 files; before,
	// every file was held until the last was stored: 64 MiB.
	if grew > 8 {
		t.Errorf("the live heap grew by %.1f MiB while storing the files; want at most 8 MiB", grew)
	}
}

// TestAssembleRefusesBundleRatio: many small files, each under the 1 MiB
// from which a file's own ratio is checked, that inflate together to more
// than 100 times the bundle are refused before any is inflated.
func TestAssembleRefusesBundleRatio(t *testing.T) {
	hb := &heapBlobs{Blobs: artifact.Dir{Root: t.TempDir()}}
	e := newEnv(t, hb)
	zeros := make([]byte, 28<<10)
	data := manyFiles(t, 2000, func(int) []byte { return zeros })
	_, err := e.assembleRaw(data)
	var be *artifact.BundleError
	want := fmt.Sprintf("its files inflate to %d bytes", 2000*len(zeros))
	if !errors.As(err, &be) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "more than the limit of 100") {
		t.Fatalf("Assemble err = %v, want a BundleError saying %q and naming the limit", err, want)
	}
	if hb.peak != 0 {
		t.Errorf("a refused bundle stored files")
	}
}
