package symbolicate

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/artifact"
	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/process"
	"github.com/getflytrap/flytrap/internal/store"
)

// uploadBundle stores files for release as sentry-cli's upload does.
func uploadBundle(t *testing.T, s *artifact.Store, projectID int64, release string, files ...artifact.BundleFile) {
	t.Helper()
	var buf bytes.Buffer
	if err := artifact.WriteBundle(&buf, map[string]string{"org": "x"}, files); err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(buf.Bytes())
	checksum := hex.EncodeToString(sum[:])
	if err := s.SaveChunk(context.Background(), checksum, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	res, err := s.Assemble(context.Background(), artifact.AssembleRequest{ProjectIDs: []int64{projectID}, Checksum: checksum,
		Chunks: []string{checksum}, Release: release})
	if err != nil || res.State != "ok" {
		t.Fatalf("Assemble = %+v, %v", res, err)
	}
}

// A Node app's server/index.js and worker/index.js, uploaded by release
// without debug IDs, server's uploaded again: the processor maps a
// worker frame with worker's map, and a frame no upload's path fits
// better than another's is left as sent with a note.
func TestSameFileNameInTwoDirectories(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := db.CreateProject(ctx, "node")
	if err != nil {
		t.Fatal(err)
	}
	maps := artifact.New(db, artifact.Dir{Root: t.TempDir()}, artifact.DefaultLimits)
	js := []byte("x()\n//# sourceMappingURL=index.js.map\n")
	bundleOf := func(dir string) []artifact.BundleFile {
		body := `{"version":3,"file":"index.js","sources":["../src/` + dir + `.ts"],"names":[],"mappings":"AAAA"}`
		return []artifact.BundleFile{
			{Kind: store.ArtifactMinifiedSource, URL: "~/" + dir + "/index.js", Data: js},
			{Kind: store.ArtifactSourceMap, URL: "~/" + dir + "/index.js.map", Data: []byte(body)},
		}
	}
	uploadBundle(t, maps, p.ID, "multi-1", append(bundleOf("server"), bundleOf("worker")...)...)
	uploadBundle(t, maps, p.ID, "multi-1", bundleOf("server")...)

	var bodies [][]byte
	for i, file := range []string{"/srv/app/dist/worker/index.js", "/srv/app/dist/index.js"} {
		b, err := json.Marshal(event.Event{EventID: string(rune('a'+i)) + "123456789abcdef0123456789abcdef", ProjectID: p.ID,
			Platform: "node", Release: "multi-1", Exceptions: []event.Exception{{Type: "Error",
				Frames: []event.Frame{{AbsPath: file, Filename: file, Function: "f", Lineno: 1, Colno: 1}}}}})
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, b)
	}
	saver := &recordingSaver{}
	for _, out := range process.New(process.Config{Saver: saver, Symbolicator: New(Config{Maps: maps})}).ProcessBatch(ctx, bodies) {
		if out.Err != nil {
			t.Fatal(out.Err)
		}
	}
	if f := saver.reqs[0].Event.Exceptions[0].Frames[0]; f.AbsPath != "../src/worker.ts" || f.Unmapped != "" {
		t.Errorf("worker frame: %s, unmapped %q; want ../src/worker.ts", f.AbsPath, f.Unmapped)
	}
	ev := saver.reqs[1].Event
	if f := ev.Exceptions[0].Frames[0]; f.AbsPath != "/srv/app/dist/index.js" || f.Unmapped != event.UnmappedAmbiguous {
		t.Errorf("frame matching both by name: %s, unmapped %q; want it as sent, %s", f.AbsPath, f.Unmapped, event.UnmappedAmbiguous)
	}
	if len(ev.Notes) != 1 || !strings.Contains(ev.Notes[0], "~/worker/index.js") {
		t.Errorf("notes %q, want one naming the matching uploads", ev.Notes)
	}
}
