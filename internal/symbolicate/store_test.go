package symbolicate

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"reflect"
	"slices"
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
	if err := s.SaveChunk(context.Background(), uploaderID, checksum, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	res, err := s.Assemble(context.Background(), artifact.AssembleRequest{UserID: uploaderID, ProjectIDs: []int64{projectID}, Checksum: checksum,
		Chunks: []string{checksum}, Release: release})
	if err != nil || res.State != "ok" {
		t.Fatalf("Assemble = %+v, %v", res, err)
	}
}

// uploaderID is the user newStore creates, the first of its database,
// who uploads the bundles.
const uploaderID = 1

// newStore returns an artifact store over a new database and blob
// directory, with a project named name and the user uploaderID.
func newStore(t *testing.T, name string) (*store.DB, store.Project, artifact.Dir, *artifact.Store) {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	p, err := db.CreateProject(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	if u, err := db.CreateUser(context.Background(), "ci@example.com", "x", store.RoleMember); err != nil || u.ID != uploaderID {
		t.Fatalf("CreateUser = %+v, %v; want user %d", u, err, uploaderID)
	}
	blobs := artifact.Dir{Root: t.TempDir()}
	return db, p, blobs, artifact.New(db, blobs, artifact.DefaultLimits)
}

// A Node app's server/index.js and worker/index.js, uploaded by release
// without debug IDs, server's uploaded again: the processor maps a
// worker frame with worker's map, and a frame no upload's path fits
// better than another's is left as sent with a note.
func TestSameFileNameInTwoDirectories(t *testing.T) {
	ctx := context.Background()
	_, p, _, maps := newStore(t, "node")
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
	if f := saver.reqs[0].Event.Exceptions[0].Frames[0]; f.AbsPath != "/srv/app/dist/src/worker.ts" || f.Unmapped != "" {
		t.Errorf("worker frame: %s, unmapped %q; want /srv/app/dist/src/worker.ts (../src/worker.ts beside the map)", f.AbsPath, f.Unmapped)
	}
	ev := saver.reqs[1].Event
	if f := ev.Exceptions[0].Frames[0]; f.AbsPath != "/srv/app/dist/index.js" || f.Unmapped != event.UnmappedAmbiguous {
		t.Errorf("frame matching both by name: %s, unmapped %q; want it as sent, %s", f.AbsPath, f.Unmapped, event.UnmappedAmbiguous)
	}
	if len(ev.Notes) != 1 || !strings.Contains(ev.Notes[0], "~/worker/index.js") {
		t.Errorf("notes %q, want one naming the matching uploads", ev.Notes)
	}
}

// Build A uploaded for web@12.0.0 and build B for every release, as
// sentry-cli uploads them by release, without debug IDs: an event maps
// with its own release's map or one made for every release, and an event
// of another release is left as sent with a note naming the releases that
// have the file, never mapped with another build's positions (which sent
// QA's @sentry/browser frames into @sentry/core's eventFilters.ts).
func TestMapsOfOtherReleasesUnused(t *testing.T) {
	ctx := context.Background()
	db, p, blobs, maps := newStore(t, "web")
	// web@14.0.0's map, cut short, as an upload before maps were checked
	// left it.
	cut := readFile(t, "testdata/build-a/app.min.js.map")[:200]
	sum := sha256.Sum256(cut)
	blob := "files/" + hex.EncodeToString(sum[:])
	if err := blobs.Put(ctx, blob, cut); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.SaveArtifactBundle(ctx, store.ArtifactBundle{ProjectID: p.ID, Checksum: "cut", Release: "web@14.0.0"},
		[]store.ArtifactFile{{Kind: store.ArtifactSourceMap, URL: "~/static/js/app.min.js.map", Blob: blob, Size: int64(len(cut))}}); err != nil {
		t.Fatal(err)
	}
	file := func(kind, url, name string) artifact.BundleFile {
		return artifact.BundleFile{Kind: kind, URL: url, Data: readFile(t, name)}
	}
	uploadBundle(t, maps, p.ID, "web@12.0.0",
		file(store.ArtifactMinifiedSource, "~/static/js/app.min.js", "testdata/build-a/app.min.js"),
		file(store.ArtifactSourceMap, "~/static/js/app.min.js.map", "testdata/build-a/app.min.js.map"),
		artifact.BundleFile{Kind: store.ArtifactMinifiedSource, URL: "~/static/js/cart.min.js", Data: []byte("c()\n")},
		artifact.BundleFile{Kind: store.ArtifactSourceMap, URL: "~/static/js/cart.min.js.map",
			Data: []byte(`{"version":3,"file":"vendor.min.js","sources":["v.js"],"names":[],"mappings":"AAAA"}`)})
	uploadBundle(t, maps, p.ID, "",
		file(store.ArtifactMinifiedSource, "~/assets/bundle.min.js", "testdata/build-b/bundle.min.js"),
		file(store.ArtifactSourceMap, "~/assets/bundle.min.js.map", "testdata/build-b/bundle.min.js.map"))

	const otherRelease = "symbolication: no source map of app.min.js for release web@13.0.0: it was uploaded for web@12.0.0 and web@14.0.0, " +
		"and another build's map is never used — upload this release's build, or inject debug IDs"
	for _, tt := range []struct {
		name, release, stack string
		// file replaces app.min.js in the stack's paths.
		file string
		// unmapped is the reason every bundle frame gets, "" for frames
		// mapped to wantBundleFrames.
		unmapped string
		notes    []string
	}{
		{name: "own release", release: "web@12.0.0", stack: "testdata/build-a/stack.txt"},
		{name: "another release's map never", release: "web@13.0.0", stack: "testdata/build-a/stack.txt",
			unmapped: event.UnmappedNoMap, notes: []string{otherRelease}},
		{name: "an upload for every release", release: "web@13.0.0", stack: "testdata/build-b/stack.txt"},
		{name: "no release: any upload, named", stack: "testdata/build-a/stack.txt",
			notes: []string{"symbolication: the event has no release: " + urlA + " was mapped with the source map uploaded for release web@12.0.0"}},
		{name: "own release's cut map, not another's", release: "web@14.0.0", stack: "testdata/build-a/stack.txt",
			unmapped: event.UnmappedBrokenMap, notes: []string{"symbolication: the source map of " + urlA + " cannot be used: unexpected end of JSON input"}},
		{name: "another release's map for another file: no map, not other_file", release: "web@13.0.0", stack: "testdata/build-a/stack.txt", file: "cart.min.js",
			unmapped: event.UnmappedNoMap, notes: []string{"symbolication: no source map of cart.min.js for release web@13.0.0: " +
				"it was uploaded for web@12.0.0, and another build's map is never used — upload this release's build, or inject debug IDs"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sym := New(Config{Maps: maps})
			// The second run takes what the first found from the cache.
			for run := range 2 {
				ev := stackEvent(t, tt.stack)
				ev.ProjectID, ev.Release = p.ID, tt.release
				if tt.file != "" {
					for i := range ev.Exceptions[0].Frames {
						f := &ev.Exceptions[0].Frames[i]
						f.AbsPath = strings.ReplaceAll(f.AbsPath, "app.min.js", tt.file)
						f.Filename = strings.ReplaceAll(f.Filename, "app.min.js", tt.file)
					}
				}
				sent := slices.Clone(ev.Exceptions[0].Frames)
				if err := sym.Symbolicate(ctx, &ev); err != nil {
					t.Fatal(err)
				}
				ex := ev.Exceptions[0]
				if tt.unmapped == "" {
					if got := summarize(lastN(ex.Frames, 4)); !reflect.DeepEqual(got, wantNamedFrames) {
						t.Errorf("run %d: frames\n got %+v\nwant %+v", run, got, wantNamedFrames)
					}
				} else {
					want := slices.Clone(sent)
					for i := len(want) - 4; i < len(want); i++ {
						want[i].Unmapped = tt.unmapped
					}
					if !reflect.DeepEqual(ex.Frames, want) || ex.RawFrames != nil {
						t.Errorf("run %d: frames %+v, raw frames %+v; want the frames as sent, unmapped %s", run, summarize(ex.Frames), ex.RawFrames, tt.unmapped)
					}
				}
				if !slices.Equal(ev.Notes, tt.notes) {
					t.Errorf("run %d: notes %q, want %q", run, ev.Notes, tt.notes)
				}
			}
		})
	}
}

// A release deployed again without new uploads, end to end: build A
// uploaded for shop@1.0 as sentry-cli uploads it (the minified file and
// its map), then build E, the next release of the source, deployed under
// the same URL and still reporting shop@1.0. Without debug IDs its frames
// are past the end of build A's minified line: the processor stores them
// as sent with the note, never mapped through build A's map. With debug
// IDs (build A injected, shop@2.0, and E's frames carrying another ID) the
// release and URL find build A's map, whose debug ID is not the frames':
// it is not used either.
func TestAnotherBuildOfTheRelease(t *testing.T) {
	ctx := context.Background()
	_, p, _, maps := newStore(t, "web")
	jsA, mapA := readFile(t, "testdata/build-a/app.min.js"), readFile(t, "testdata/build-a/app.min.js.map")
	uploadBundle(t, maps, p.ID, "shop@1.0",
		artifact.BundleFile{Kind: store.ArtifactMinifiedSource, URL: "~/static/js/app.min.js", Data: jsA},
		artifact.BundleFile{Kind: store.ArtifactSourceMap, URL: "~/static/js/app.min.js.map", Data: mapA})
	injected, err := artifact.Inject(jsA, mapA)
	if err != nil {
		t.Fatal(err)
	}
	uploadBundle(t, maps, p.ID, "shop@2.0",
		artifact.BundleFile{Kind: store.ArtifactMinifiedSource, URL: "~/static/js/app.min.js", DebugID: injected.DebugID, Data: injected.JS},
		artifact.BundleFile{Kind: store.ArtifactSourceMap, URL: "~/static/js/app.min.js.map", DebugID: injected.DebugID, Data: injected.Map})
	const debugIDE = "e0e0e0e0-1111-4222-8333-444455556666"

	otherID := "symbolication: the source map found for " + urlA + " (~/static/js/app.min.js) has debug ID " + injected.DebugID +
		", and the file has debug ID " + debugIDE + ": it is another build's map, and is not used — " +
		"upload the maps of the deployed build (inject debug IDs into it, deploy it and upload its files)"
	// injectedLines is how far inject moved build A's code down.
	injectedLines := bytes.Count(injected.JS[:bytes.Index(injected.JS, []byte("(()=>"))], []byte("\n"))
	for _, tt := range []struct {
		name, stack, release, debugID string
		// shift moves the frames down by injectedLines.
		shift          bool
		unmapped, note string
	}{
		{"no debug IDs", "testdata/build-e/stack.txt", "shop@1.0", "", false, event.UnmappedOutOfRange, anotherBuild},
		{"another build's debug ID", "testdata/build-e/stack.txt", "shop@2.0", debugIDE, false, event.UnmappedNoMap, otherID},
		// Positions the injected build A has code at, which its map
		// would map: only the debug IDs tell the builds apart.
		{"another build's debug ID, positions in range", "testdata/build-a/stack.txt", "shop@2.0", debugIDE, true, event.UnmappedNoMap, otherID},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev := stackEvent(t, tt.stack)
			ev.ProjectID, ev.Release = p.ID, tt.release
			frames := ev.Exceptions[0].Frames
			for i := len(frames) - 4; i < len(frames); i++ {
				frames[i].DebugID = tt.debugID
				if tt.shift {
					frames[i].Lineno += injectedLines
				}
			}
			sent := slices.Clone(frames)
			b, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			saver := &recordingSaver{}
			for _, out := range process.New(process.Config{Saver: saver, Symbolicator: New(Config{Maps: maps})}).ProcessBatch(ctx, [][]byte{b}) {
				if out.Err != nil {
					t.Fatal(out.Err)
				}
			}
			stored := saver.reqs[0].Event
			ex := stored.Exceptions[0]
			for i, f := range lastN(ex.Frames, 4) {
				want := sent[len(sent)-1-i]
				if f.AbsPath != want.AbsPath || f.Lineno != want.Lineno || f.Colno != want.Colno || f.Function != want.Function || f.Unmapped != tt.unmapped {
					t.Errorf("stored frame %d: %s:%d:%d in %s, unmapped %q; want it as sent, %s:%d:%d in %s, unmapped %q", i,
						f.AbsPath, f.Lineno, f.Colno, f.Function, f.Unmapped, want.AbsPath, want.Lineno, want.Colno, want.Function, tt.unmapped)
				}
			}
			if ex.RawFrames != nil {
				t.Errorf("raw frames stored: %+v; nothing was mapped", summarize(ex.RawFrames))
			}
			if !slices.Contains(stored.Notes, tt.note) {
				t.Errorf("stored notes %q, want %q", stored.Notes, tt.note)
			}
		})
	}
}
