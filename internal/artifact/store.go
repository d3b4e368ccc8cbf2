package artifact

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/getflytrap/flytrap/internal/debugid"
	"github.com/getflytrap/flytrap/internal/store"
)

// Metadata is the part of the database artifacts are described in;
// *store.DB implements it.
type Metadata interface {
	SaveArtifactBundle(ctx context.Context, b store.ArtifactBundle, files []store.ArtifactFile) (store.ArtifactBundle, bool, error)
	ArtifactBundleByChecksum(ctx context.Context, projectID int64, checksum string) (store.ArtifactBundle, error)
	FindArtifacts(ctx context.Context, f store.ArtifactFilter) ([]store.ArtifactFile, error)
	PruneArtifacts(ctx context.Context) (int64, error)
	ArtifactBlobsInUse(ctx context.Context, blobs []string) (map[string]bool, error)
	RecordChunkUploads(ctx context.Context, userID int64, checksums []string, now time.Time) error
	ChunksUploadedBy(ctx context.Context, userID int64, checksums []string) (map[string]bool, error)
	PruneChunkUploads(ctx context.Context, before time.Time) (int64, error)
}

// Chunk uploads: sentry-cli splits a bundle into chunks of ChunkSize,
// uploads the ones the server lacks, then asks it to assemble them.
const (
	// ChunkSize is the chunk size the server asks for (sentry.io's).
	ChunkSize = 8 << 20
	// ChunksPerRequest and MaxRequestSize bound one chunk upload request.
	ChunksPerRequest = 8
	MaxRequestSize   = 32 << 20
	// blobGrace is how old an unreferenced blob must be before cleanup
	// deletes it: a file blob is written before its row, a chunk is
	// assembled minutes after its upload.
	blobGrace = time.Hour
)

const (
	chunkPrefix = "chunks/"
	filePrefix  = "files/"
)

// Store keeps uploaded source maps and minified files and finds the map
// of the file a stack frame points into. Bytes go to Blobs (content
// addressed: files/<sha256>, chunks/<sha1>), descriptions to the database.
//
// Find is what the processor's symbolicate stage calls for each frame of
// a minified JavaScript file; ChunksMissing, SaveChunk and Assemble are
// the upload side behind the sentry-cli endpoints; Cleanup is the
// retention job.
type Store struct {
	meta   Metadata
	blobs  Blobs
	limits Limits
	// assembling admits one assembly at a time: each holds the file it
	// is checking and storing in memory (up to MaxFileBytes, and as much
	// again to check a map), so two at once would double the peak a
	// server must have room for.
	assembling chan struct{}
}

// New returns a Store over meta and blobs that accepts bundles within l.
func New(meta Metadata, blobs Blobs, l Limits) *Store {
	return &Store{meta: meta, blobs: blobs, limits: l, assembling: make(chan struct{}, 1)}
}

// Limits returns the bundle limits the Store enforces.
func (s *Store) Limits() Limits { return s.limits }

// validSHA1 reports whether c is a lower-case hex SHA-1, the only chunk
// names accepted.
func validSHA1(c string) bool {
	if len(c) != 2*sha1.Size {
		return false
	}
	_, err := hex.DecodeString(c)
	return err == nil && strings.ToLower(c) == c
}

// SaveChunk stores one chunk userID uploaded under the SHA-1 sentry-cli
// names it by, after checking that the name is the chunk's checksum, and
// notes that the user uploaded it. The bytes are stored once whoever
// uploads them; writing them again keeps them from the retention job for
// another hour.
func (s *Store) SaveChunk(ctx context.Context, userID int64, checksum string, data []byte) error {
	if !validSHA1(checksum) {
		return bundleErrorf("chunk name %q is not a SHA-1 checksum", checksum)
	}
	if int64(len(data)) > ChunkSize {
		return bundleErrorf("chunk %s: %d bytes is more than the chunk size of %d", checksum, len(data), ChunkSize)
	}
	if sum := sha1.Sum(data); hex.EncodeToString(sum[:]) != checksum {
		return bundleErrorf("chunk %s: its SHA-1 is %x", checksum, sum)
	}
	if err := s.blobs.Put(ctx, chunkPrefix+checksum, data); err != nil {
		return err
	}
	return s.meta.RecordChunkUploads(ctx, userID, []string{checksum}, time.Now())
}

// ChunksMissing returns the chunks of checksums that userID has not
// uploaded (or whose bytes are gone), in order. A chunk another user
// uploaded is missing too: the answer would otherwise tell anyone who can
// guess a file's contents whether someone uploaded it, and assemble
// would let them store a bundle they only know the checksums of in their
// own project.
func (s *Store) ChunksMissing(ctx context.Context, userID int64, checksums []string) ([]string, error) {
	for _, c := range checksums {
		if !validSHA1(c) {
			return nil, bundleErrorf("chunk name %q is not a SHA-1 checksum", c)
		}
	}
	mine, err := s.meta.ChunksUploadedBy(ctx, userID, checksums)
	if err != nil {
		return nil, err
	}
	missing := []string{}
	for _, c := range checksums {
		if slices.Contains(missing, c) {
			continue
		}
		ok := mine[c]
		if ok {
			if ok, err = s.blobs.Exists(ctx, chunkPrefix+c); err != nil {
				return nil, err
			}
		}
		if !ok {
			missing = append(missing, c)
		}
	}
	return missing, nil
}

// AssembleRequest asks for the bundle whose chunks were uploaded.
type AssembleRequest struct {
	// UserID is who asks: only the chunks they uploaded count.
	UserID     int64
	ProjectIDs []int64
	// Checksum is the SHA-1 of the whole bundle; Chunks the SHA-1s of its
	// chunks in order.
	Checksum string
	Chunks   []string
	Release  string
	Dist     string
	// ReleaseBundle is a bundle of Release assembled as sentry-cli before
	// artifact bundles did (POST releases/{version}/assemble/): its dist
	// is its manifest's, and a manifest naming another release is refused.
	ReleaseBundle bool
	// ManifestProject, when set, is asked which project a ReleaseBundle
	// whose manifest names one belongs to (sentry-cli 1.47 to 2.14 name
	// the --project they were given there, not in the request), and the
	// bundle goes to that project alone instead of ProjectIDs; its error
	// is returned as it is.
	ManifestProject func(name string) (int64, error)
}

// AssembleResult says how an assemble request went, in sentry-cli's terms.
type AssembleResult struct {
	// State is "ok" (stored), "not_found" (chunks missing).
	State   string
	Missing []string
	// Files is how many files the bundle holds.
	Files int
}

// Assemble joins the chunks of a bundle, checks it and stores its files
// for each project. A bundle already stored is "ok" at once; one whose
// chunks are not all uploaded yet is "not_found" with the missing ones. A
// bundle that fails its checks is a *BundleError.
func (s *Store) Assemble(ctx context.Context, r AssembleRequest) (AssembleResult, error) {
	if !validSHA1(r.Checksum) {
		return AssembleResult{}, bundleErrorf("checksum %q is not a SHA-1", r.Checksum)
	}
	if len(r.ProjectIDs) == 0 {
		return AssembleResult{}, bundleErrorf("no project given")
	}
	if int64(len(r.Chunks)) > s.limits.MaxBundleBytes/ChunkSize+1 {
		return AssembleResult{}, bundleErrorf("%d chunks make a bundle larger than the limit of %d bytes", len(r.Chunks), s.limits.MaxBundleBytes)
	}
	done := true
	for _, p := range r.ProjectIDs {
		b, err := s.meta.ArtifactBundleByChecksum(ctx, p, r.Checksum)
		if errors.Is(err, store.ErrNotFound) {
			done = false
			break
		}
		if err != nil {
			return AssembleResult{}, err
		}
		if b.FileCount == 0 {
			done = false
		}
	}
	if done {
		return AssembleResult{State: "ok", Missing: []string{}}, nil
	}
	missing, err := s.ChunksMissing(ctx, r.UserID, r.Chunks)
	if err != nil {
		return AssembleResult{}, err
	}
	if len(missing) > 0 {
		return AssembleResult{State: "not_found", Missing: missing}, nil
	}
	select {
	case s.assembling <- struct{}{}:
		defer func() { <-s.assembling }()
	case <-ctx.Done():
		return AssembleResult{}, ctx.Err()
	}
	spool, size, err := s.join(ctx, r)
	if err != nil {
		return AssembleResult{}, err
	}
	defer func() {
		spool.Close()
		os.Remove(spool.Name())
	}()
	br, err := OpenBundle(spool, size, s.limits)
	if err != nil {
		return AssembleResult{}, err
	}
	if r.ReleaseBundle {
		if rel := br.Attributes["release"]; rel != "" && rel != r.Release {
			return AssembleResult{}, bundleErrorf("the bundle's manifest is for release %q, not %q", rel, r.Release)
		}
		r.Dist = br.Attributes["dist"]
		if name := br.Attributes["project"]; name != "" && r.ManifestProject != nil {
			id, err := r.ManifestProject(name)
			if err != nil {
				return AssembleResult{}, err
			}
			r.ProjectIDs = []int64{id}
		}
	}
	// Each file is stored as it is read. A file refused after others were
	// stored leaves those without a row, and retention deletes them as it
	// does any file blob no bundle refers to.
	rows := make([]store.ArtifactFile, 0, br.Len())
	err = br.Each(func(f BundleFile) error {
		row, err := s.putFile(ctx, f)
		rows = append(rows, row)
		return err
	})
	if err != nil {
		return AssembleResult{}, err
	}
	if err := s.describe(ctx, r, br.Attributes, rows, size); err != nil {
		return AssembleResult{}, err
	}
	return AssembleResult{State: "ok", Missing: []string{}, Files: len(rows)}, nil
}

// join writes the chunks of r, in order, to a temporary file ($TMPDIR),
// so that a bundle up to MaxBundleBytes is never held in memory, and
// checks that they add up to r.Checksum. The caller closes and removes
// the file.
func (s *Store) join(ctx context.Context, r AssembleRequest) (*os.File, int64, error) {
	spool, err := os.CreateTemp("", "flytrap-bundle-*")
	if err != nil {
		return nil, 0, fmt.Errorf("artifact: assemble bundle: %w", err)
	}
	fail := func(err error) (*os.File, int64, error) {
		spool.Close()
		os.Remove(spool.Name())
		return nil, 0, err
	}
	sum := sha1.New()
	var size int64
	for _, c := range r.Chunks {
		chunk, err := s.blobs.Get(ctx, chunkPrefix+c, ChunkSize)
		if err != nil {
			return fail(err)
		}
		if size += int64(len(chunk)); size > s.limits.MaxBundleBytes {
			return fail(bundleErrorf("more than the limit of %d bytes", s.limits.MaxBundleBytes))
		}
		sum.Write(chunk)
		if _, err := spool.Write(chunk); err != nil {
			return fail(fmt.Errorf("artifact: assemble bundle: %w", err))
		}
	}
	if got := hex.EncodeToString(sum.Sum(nil)); got != r.Checksum {
		return fail(bundleErrorf("the chunks join to SHA-1 %s, not %s", got, r.Checksum))
	}
	return spool, size, nil
}

// SaveReleaseFile stores one file uploaded the legacy way (sentry-cli
// before artifact bundles, POST releases/{version}/files/) as a bundle of
// its own: a .map file name or a source map body makes it a map. Its size
// bytes are read from body (the upload, spooled to disk), never held
// twice. The same file uploaded again for the same release is stored once
// and returned at once; otherwise charge is called with the bytes about
// to be stored, and an error from it is returned as it is, before
// anything is read into memory. Checking and storing the file holds it in
// memory whole, so it waits its turn with assemblies.
func (s *Store) SaveReleaseFile(ctx context.Context, projectID int64, release, dist string, f BundleFile, body io.ReaderAt, size int64, charge func(n int64) error) (store.ArtifactBundle, error) {
	if release == "" || f.URL == "" {
		return store.ArtifactBundle{}, bundleErrorf("a release file needs a release and a name")
	}
	if size > s.limits.MaxFileBytes {
		return store.ArtifactBundle{}, bundleErrorf("%s: %d bytes is more than the limit of %d", f.URL, size, s.limits.MaxFileBytes)
	}
	h := sha1.New()
	for _, part := range []string{release, dist, f.URL} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	if _, err := io.Copy(h, io.NewSectionReader(body, 0, size)); err != nil {
		return store.ArtifactBundle{}, err
	}
	h.Write([]byte{0})
	r := AssembleRequest{ProjectIDs: []int64{projectID}, Checksum: hex.EncodeToString(h.Sum(nil)), Release: release, Dist: dist}
	b, err := s.meta.ArtifactBundleByChecksum(ctx, projectID, r.Checksum)
	if err == nil && b.FileCount > 0 {
		return b, nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.ArtifactBundle{}, err
	}
	if err := charge(size); err != nil {
		return store.ArtifactBundle{}, err
	}
	select {
	case s.assembling <- struct{}{}:
		defer func() { <-s.assembling }()
	case <-ctx.Done():
		return store.ArtifactBundle{}, ctx.Err()
	}
	f.Data = make([]byte, size)
	// ReadAt may answer io.EOF along with the last bytes.
	if n, err := body.ReadAt(f.Data, 0); n != len(f.Data) {
		return store.ArtifactBundle{}, fmt.Errorf("artifact: read release file: %w", cmp.Or(err, io.ErrUnexpectedEOF))
	}
	f.Kind = store.ArtifactMinifiedSource
	if strings.HasSuffix(store.ArtifactName(f.URL), ".map") || checkMap(f.Data) == nil {
		if err := checkMap(f.Data); err != nil {
			return store.ArtifactBundle{}, bundleErrorf("%s: %v", f.URL, err)
		}
		f.Kind = store.ArtifactSourceMap
		f.DebugID = MapDebugID(f.Data)
	} else {
		f.DebugID = DebugIDOf(f.Data)
	}
	row, err := s.putFile(ctx, f)
	if err != nil {
		return store.ArtifactBundle{}, err
	}
	if err := s.describe(ctx, r, nil, []store.ArtifactFile{row}, size); err != nil {
		return store.ArtifactBundle{}, err
	}
	return s.meta.ArtifactBundleByChecksum(ctx, projectID, r.Checksum)
}

// putFile stores the bytes of f under their SHA-256, unless they are
// stored already, and returns the row that describes f.
func (s *Store) putFile(ctx context.Context, f BundleFile) (store.ArtifactFile, error) {
	sum := sha256.Sum256(f.Data)
	key := filePrefix + hex.EncodeToString(sum[:])
	ok, err := s.blobs.Exists(ctx, key)
	if err != nil {
		return store.ArtifactFile{}, err
	}
	if !ok {
		if err := s.blobs.Put(ctx, key, f.Data); err != nil {
			return store.ArtifactFile{}, err
		}
	}
	return store.ArtifactFile{Kind: f.Kind, URL: f.URL, DebugID: f.DebugID, SourceMap: f.SourceMap,
		Blob: key, Size: int64(len(f.Data))}, nil
}

// describe records the bundle of r, of size bytes and with the manifest
// attributes attrs, and its files (rows, stored already) for each project.
func (s *Store) describe(ctx context.Context, r AssembleRequest, attrs map[string]string, rows []store.ArtifactFile, size int64) error {
	release, dist := r.Release, r.Dist
	if release == "" {
		release, dist = attrs["release"], attrs["dist"]
	}
	for _, p := range r.ProjectIDs {
		if _, _, err := s.meta.SaveArtifactBundle(ctx, store.ArtifactBundle{ProjectID: p, Checksum: r.Checksum,
			BundleID: attrs["debug_id"], Release: release, Dist: dist, Size: size}, rows); err != nil {
			return err
		}
	}
	return nil
}

// Find returns the source map for the minified file q names: by debug ID,
// then by release, dist and URL (`~/path` matches the path on any host),
// then by file name alone among the uploads the event's release may use
// (see findByName). For a minified file found, its map is the one with its
// debug ID, the one its manifest's sourcemap header or its own
// `//# sourceMappingURL=` comment names (an inline data: URL included), or
// <file>.map. A frame's debug ID no upload has falls back to the release
// and name, but a map found there that carries another debug ID is
// another build's, never used. No map is ErrNotFound (a *WithoutMapError
// when the file of the frame's debug ID was uploaded alone, an
// *OtherReleasesError when only other releases have the file, an
// *OtherBuildError for another build's debug ID); any other error is the database or
// blob storage failing, which says nothing about whether a map exists.
// Find does not parse the map: Map.Key, its SHA-256, is what a cache of
// parsed maps keys on.
func (s *Store) Find(ctx context.Context, q Query) (Map, error) {
	// Stored debug IDs are canonical, so the other-build check below
	// compares canonical text; a query's that is none is no debug ID.
	q.DebugID, _ = debugid.Canonical(q.DebugID)
	if q.DebugID == "" {
		return s.findByURL(ctx, q)
	}
	f := store.ArtifactFilter{ProjectID: q.ProjectID, DebugID: q.DebugID}
	m, err := s.find(ctx, f)
	if !errors.Is(err, ErrNotFound) {
		return m, err
	}
	m, err = s.findByURL(ctx, q)
	switch {
	case err == nil && m.DebugID != "" && m.DebugID != q.DebugID:
		// Both carry a debug ID, and they differ: the map is of another
		// build (the same release deployed again without new uploads).
		err = &OtherBuildError{AbsPath: q.AbsPath, DebugID: q.DebugID, File: m.File, FileDebugID: m.DebugID}
	case !errors.Is(err, ErrNotFound):
		return m, err
	}
	// The frame's own build, uploaded without its map, says more than
	// what other uploads of the file name lack.
	mins, ferr := s.meta.FindArtifacts(ctx, withKind(f, store.ArtifactMinifiedSource, 1))
	if ferr != nil {
		return Map{}, ferr
	}
	if len(mins) > 0 {
		return Map{}, &WithoutMapError{File: mins[0].URL, DebugID: q.DebugID}
	}
	return Map{}, err
}

// findByURL is Find after the debug ID: by release and URL, then by file
// name.
func (s *Store) findByURL(ctx context.Context, q Query) (Map, error) {
	if q.AbsPath == "" {
		return Map{}, ErrNotFound
	}
	if q.Release != "" {
		urls := candidateURLs(q.AbsPath)
		if m, err := s.find(ctx, store.ArtifactFilter{ProjectID: q.ProjectID, ByRelease: true, Release: q.Release, Dist: q.Dist, URLs: urls}); !errors.Is(err, ErrNotFound) {
			return m, err
		}
	}
	if name := store.ArtifactName(q.AbsPath); name != "" {
		return s.findByName(ctx, q, name)
	}
	return Map{}, ErrNotFound
}

// nameCandidates bounds the uploads of one file name findByName ranks
// within one release: only a release with more uploads of the name than
// this loses its oldest.
const nameCandidates = 100

// maxOtherReleases bounds the other releases an *OtherReleasesError
// names: enough to show which builds the maps came from.
const maxOtherReleases = 2

// nameCandidate is an upload findByName ranks: a minified file, or a map
// uploaded as <url>.map.
type nameCandidate struct {
	f store.ArtifactFile
	// url is the minified file's URL (a map's without ".map").
	url string
	// suffix counts the trailing path segments url shares with the
	// frame's path.
	suffix int
}

// findByName finds the map of a frame by its file name alone. Every
// release's build has an app.min.js, and another build's map would move
// every frame to a wrong place without a word, so an event with a
// release may use only its release's uploads (with its dist), then those
// made without a release and without a debug ID, which are for every
// release: never another release's, which an *OtherReleasesError names
// instead. An event without a release has nothing better than any upload
// of the name but those. One build can
// have several index.js in different directories, so within that the
// upload whose URL shares the longest trailing path with the frame's
// comes first, then the newest. Among equally good uploads of one
// release, different files with different maps are an *AmbiguousError:
// guessing would map frames against another file's positions.
func (s *Store) findByName(ctx context.Context, q Query, name string) (Map, error) {
	uses := []store.ArtifactFilter{{}}
	if q.Release != "" {
		uses = []store.ArtifactFilter{{ByRelease: true, Release: q.Release, Dist: q.Dist}, {ByRelease: true}}
		// A bundle's manifest may name a dist without a release: for
		// every release, but that dist's build only.
		if q.Dist != "" {
			uses = slices.Insert(uses, 1, store.ArtifactFilter{ByRelease: true, Dist: q.Dist})
		}
	}
	frame := pathSegments(q.AbsPath)
	for _, f := range uses {
		// A file uploaded without a release and carrying a debug ID is
		// found by that ID only (step 1), as in Sentry: sentry-cli
		// injects the ID into the deployed file, so a frame of the name
		// without it comes from another build of the file.
		f.ProjectID, f.ExcludeDebugIDOnly = q.ProjectID, true
		cands, err := s.namedUploads(ctx, f, name)
		if err != nil {
			return Map{}, err
		}
		for i := range cands {
			cands[i].suffix = sharedSuffix(frame, pathSegments(cands[i].url))
		}
		slices.SortStableFunc(cands, func(a, b nameCandidate) int {
			return cmp.Or(cmp.Compare(b.suffix, a.suffix), cmp.Compare(b.f.ID, a.f.ID))
		})
		for len(cands) > 0 {
			n := 1
			for n < len(cands) && cands[n].suffix == cands[0].suffix {
				n++
			}
			m, err := s.bestOf(ctx, q.AbsPath, cands[:n])
			if !errors.Is(err, ErrNotFound) {
				return m, err
			}
			cands = cands[n:]
		}
	}
	return Map{}, s.otherReleases(ctx, q, name)
}

// namedUploads returns the files of f a frame of the file name may use:
// minified files of that name and maps uploaded as <name>.map, newest
// first within each kind.
func (s *Store) namedUploads(ctx context.Context, f store.ArtifactFilter, name string) ([]nameCandidate, error) {
	var cands []nameCandidate
	for _, k := range []struct{ kind, name, trim string }{
		{store.ArtifactMinifiedSource, name, ""},
		{store.ArtifactSourceMap, name + ".map", ".map"},
	} {
		f.Name, f.Kind, f.Limit = k.name, k.kind, nameCandidates
		files, err := s.meta.FindArtifacts(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, file := range files {
			cands = append(cands, nameCandidate{f: file, url: strings.TrimSuffix(file.URL, k.trim)})
		}
	}
	return cands, nil
}

// otherReleases is the ErrNotFound of a frame the event may use no
// upload of the file name for: an *OtherReleasesError when other releases
// have some, or one uploaded without a release is for its debug ID only,
// so the reason says which build is missing.
func (s *Store) otherReleases(ctx context.Context, q Query, name string) error {
	cands, err := s.namedUploads(ctx, store.ArtifactFilter{ProjectID: q.ProjectID}, name)
	if err != nil {
		return err
	}
	slices.SortFunc(cands, func(a, b nameCandidate) int { return cmp.Compare(b.f.ID, a.f.ID) })
	e := &OtherReleasesError{File: name, Release: ReleaseName(q.Release, q.Dist)}
	e.DebugIDOnly = slices.ContainsFunc(cands, func(c nameCandidate) bool { return c.f.Release == "" && c.f.DebugID != "" })
	for _, c := range cands {
		r := ReleaseName(c.f.Release, c.f.Dist)
		if q.Release == "" || c.f.Release == "" || r == e.Release || slices.Contains(e.Releases, r) {
			continue
		}
		if len(e.Releases) == maxOtherReleases {
			e.More = true
			break
		}
		e.Releases = append(e.Releases, r)
	}
	if len(e.Releases) == 0 && !e.DebugIDOnly {
		return ErrNotFound
	}
	return e
}

// bestOf returns the map of the newest of equally ranked candidates that
// has one, unless another file of the same release and dist (a different
// URL: the same URL uploaded again replaces the older upload) has a
// different map.
func (s *Store) bestOf(ctx context.Context, absPath string, group []nameCandidate) (Map, error) {
	var (
		best    Map
		bestC   nameCandidate
		found   bool
		matched = map[string]bool{}
	)
	for _, c := range group {
		if matched[c.url] || found && (c.f.Release != bestC.f.Release || c.f.Dist != bestC.f.Dist) {
			continue
		}
		var (
			m   Map
			err error
		)
		if c.f.Kind == store.ArtifactSourceMap {
			m, err = s.loadBeside(ctx, c.f)
		} else {
			m, err = s.mapOf(ctx, c.f)
		}
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return Map{}, err
		}
		matched[c.url] = true
		if !found {
			best, bestC, found = m, c, true
			continue
		}
		if m.Key != best.Key {
			return Map{}, &AmbiguousError{AbsPath: absPath, URLs: []string{bestC.url, c.url}}
		}
	}
	if !found {
		return Map{}, ErrNotFound
	}
	best.Release, best.Dist = bestC.f.Release, bestC.f.Dist
	return best, nil
}

// pathSegments is the path of a URL, `~/` URL or file path as its
// segments, without scheme, host, query and fragment.
func pathSegments(u string) []string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	if _, rest, ok := strings.Cut(u, "://"); ok {
		_, u, _ = strings.Cut(rest, "/")
	}
	return strings.FieldsFunc(strings.TrimPrefix(u, "~/"), func(r rune) bool { return r == '/' })
}

// sharedSuffix counts the trailing segments a and b have in common.
func sharedSuffix(a, b []string) int {
	n := 0
	for n < len(a) && n < len(b) && a[len(a)-1-n] == b[len(b)-1-n] {
		n++
	}
	return n
}

// find returns the map of the first file f selects, in FindArtifacts'
// order: with a debug ID the map that carries it (a map has its minified
// file's); otherwise the map of the minified file f selects, or a map
// uploaded alone as <file>.map.
func (s *Store) find(ctx context.Context, f store.ArtifactFilter) (Map, error) {
	if f.DebugID != "" {
		maps, err := s.meta.FindArtifacts(ctx, withKind(f, store.ArtifactSourceMap, 1))
		if err != nil {
			return Map{}, err
		}
		if len(maps) > 0 {
			m, err := s.load(ctx, maps[0])
			if err != nil {
				return m, err
			}
			mins, err := s.meta.FindArtifacts(ctx, withKind(f, store.ArtifactMinifiedSource, 1))
			if len(mins) > 0 {
				m.Minified, m.MinifiedSize = mins[0].Blob, mins[0].Size
			}
			return m, err
		}
	}
	mins, err := s.meta.FindArtifacts(ctx, withKind(f, store.ArtifactMinifiedSource, 5))
	if err != nil {
		return Map{}, err
	}
	for _, min := range mins {
		m, err := s.mapOf(ctx, min)
		if !errors.Is(err, ErrNotFound) {
			return m, err
		}
	}
	if f.DebugID != "" {
		return Map{}, ErrNotFound
	}
	f.URLs = slices.Clone(f.URLs)
	for i := range f.URLs {
		f.URLs[i] += ".map"
	}
	if f.Name != "" {
		f.Name += ".map"
	}
	maps, err := s.meta.FindArtifacts(ctx, withKind(f, store.ArtifactSourceMap, 1))
	if err != nil || len(maps) == 0 {
		return Map{}, cmp.Or(err, ErrNotFound)
	}
	return s.loadBeside(ctx, maps[0])
}

// loadBeside reads a map found by its own URL, with the minified file
// uploaded beside it (its URL without ".map", in the same upload), if any.
func (s *Store) loadBeside(ctx context.Context, f store.ArtifactFile) (Map, error) {
	m, err := s.load(ctx, f)
	if err != nil {
		return m, err
	}
	mins, err := s.meta.FindArtifacts(ctx, store.ArtifactFilter{ProjectID: f.ProjectID, BundleID: f.BundleID,
		URLs: []string{strings.TrimSuffix(f.URL, ".map")}, Kind: store.ArtifactMinifiedSource, Limit: 1})
	if len(mins) > 0 {
		m.Minified, m.MinifiedSize = mins[0].Blob, mins[0].Size
		m.DebugID = cmp.Or(m.DebugID, mins[0].DebugID)
	}
	return m, err
}

func withKind(f store.ArtifactFilter, kind string, limit int) store.ArtifactFilter {
	f.Kind, f.Limit = kind, limit
	return f
}

// mapOf finds the map of a minified file, and names the file as the one
// it was found through.
func (s *Store) mapOf(ctx context.Context, min store.ArtifactFile) (Map, error) {
	m, err := s.mapOfFile(ctx, min)
	if err == nil {
		m.Minified, m.MinifiedSize = min.Blob, min.Size
		m.DebugID = cmp.Or(m.DebugID, min.DebugID)
	}
	return m, err
}

func (s *Store) mapOfFile(ctx context.Context, min store.ArtifactFile) (Map, error) {
	if min.DebugID != "" {
		maps, err := s.meta.FindArtifacts(ctx, store.ArtifactFilter{ProjectID: min.ProjectID, DebugID: min.DebugID, Kind: store.ArtifactSourceMap, Limit: 1})
		if err != nil {
			return Map{}, err
		}
		if len(maps) > 0 {
			return s.load(ctx, maps[0])
		}
	}
	ref := min.SourceMap
	if ref == "" {
		body, err := s.blobs.Get(ctx, min.Blob, s.limits.MaxFileBytes)
		if err != nil {
			return Map{}, err
		}
		ref = SourceMappingURL(body)
	}
	if strings.HasPrefix(ref, "data:") {
		body, err := decodeDataURL(ref)
		if err != nil {
			return Map{}, fmt.Errorf("%s: inline source map: %w", min.URL, err)
		}
		sum := sha256.Sum256(body)
		return Map{Key: hex.EncodeToString(sum[:]), File: min.URL, Body: body}, nil
	}
	urls := []string{min.URL + ".map"}
	if ref != "" {
		urls = append([]string{resolveURL(min.URL, ref)}, urls...)
	}
	for _, f := range []store.ArtifactFilter{
		{ProjectID: min.ProjectID, BundleID: min.BundleID, URLs: urls, Kind: store.ArtifactSourceMap, Limit: 1},
		{ProjectID: min.ProjectID, ByRelease: true, Release: min.Release, Dist: min.Dist, URLs: urls, Kind: store.ArtifactSourceMap, Limit: 1},
	} {
		if f.ByRelease && min.Release == "" {
			continue
		}
		maps, err := s.meta.FindArtifacts(ctx, f)
		if err != nil {
			return Map{}, err
		}
		if len(maps) > 0 {
			m, err := s.load(ctx, maps[0])
			m.File = min.URL
			return m, err
		}
	}
	return Map{}, ErrNotFound
}

// Source reads the minified file a Map was found through (Map.Minified).
func (s *Store) Source(ctx context.Context, minified string) ([]byte, error) {
	return s.blobs.Get(ctx, minified, s.limits.MaxFileBytes)
}

// load reads a stored map. Its blob key is its checksum.
func (s *Store) load(ctx context.Context, f store.ArtifactFile) (Map, error) {
	body, err := s.blobs.Get(ctx, f.Blob, s.limits.MaxFileBytes)
	if errors.Is(err, ErrBlobNotFound) {
		return Map{}, ErrNotFound
	}
	if err != nil {
		return Map{}, err
	}
	file := strings.TrimSuffix(f.URL, ".map")
	return Map{Key: strings.TrimPrefix(f.Blob, filePrefix), File: file, Body: body, DebugID: f.DebugID}, nil
}

// candidateURLs are the stored URLs an abs_path matches: itself, and
// `~/path` for a URL (with and without its query string).
func candidateURLs(absPath string) []string {
	urls := []string{absPath}
	u, err := url.Parse(absPath)
	if err != nil || u.Path == "" {
		return urls
	}
	if u.Host != "" || u.Scheme != "" {
		if u.RawQuery != "" {
			urls = append(urls, "~"+u.Path+"?"+u.RawQuery)
		}
		urls = append(urls, "~"+u.Path)
	} else if strings.HasPrefix(absPath, "/") {
		urls = append(urls, "~"+u.Path)
	}
	return urls
}

// resolveURL resolves a sourcemap reference against the URL of the file
// that names it, keeping the `~/` form of the file's URL.
func resolveURL(fileURL, ref string) string {
	if strings.Contains(ref, "://") || strings.HasPrefix(ref, "~/") {
		return ref
	}
	base, _, _ := strings.Cut(fileURL, "?")
	dir := base[:strings.LastIndex(base, "/")+1]
	if strings.HasPrefix(ref, "/") {
		if scheme, rest, ok := strings.Cut(base, "://"); ok {
			host, _, _ := strings.Cut(rest, "/")
			return scheme + "://" + host + ref
		}
		return "~" + ref
	}
	prefix := ""
	switch {
	case strings.HasPrefix(dir, "~/"):
		prefix, dir = "~", dir[1:]
	case strings.Contains(dir, "://"):
		scheme, rest, _ := strings.Cut(dir, "://")
		host, p, _ := strings.Cut(rest, "/")
		prefix, dir = scheme+"://"+host, "/"+p
	}
	return prefix + path.Join(dir, ref)
}

// SourceMappingURL returns the last `//# sourceMappingURL=` (or legacy
// `//@`) reference of a JavaScript file, or "".
func SourceMappingURL(js []byte) string {
	for len(js) > 0 {
		i := bytes.LastIndexByte(js, '\n')
		line := bytes.TrimSpace(js[i+1:])
		js = js[:max(i, 0)]
		for _, p := range []string{"//# sourceMappingURL=", "//@ sourceMappingURL="} {
			if rest, ok := bytes.CutPrefix(line, []byte(p)); ok {
				return string(bytes.TrimSpace(rest))
			}
		}
		if i < 0 {
			break
		}
	}
	return ""
}

// decodeDataURL decodes an inline map: data:application/json;base64,...
// (or URL-encoded without ;base64).
func decodeDataURL(ref string) ([]byte, error) {
	meta, data, ok := strings.Cut(strings.TrimPrefix(ref, "data:"), ",")
	if !ok {
		return nil, errors.New("data: URL without a comma")
	}
	if strings.HasSuffix(meta, ";base64") {
		body, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			body, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(data, "="))
		}
		return body, err
	}
	s, err := url.PathUnescape(data)
	return []byte(s), err
}

// Cleaned counts what one Cleanup run deleted.
type Cleaned struct {
	Bundles, Files, Chunks int64
}

// Cleanup is the artifact retention job: it deletes the bundles of
// releases that no longer exist, then the file blobs no row refers to and
// the chunks older than an hour (assembled or abandoned), with the record
// of who uploaded them.
func (s *Store) Cleanup(ctx context.Context, now time.Time) (Cleaned, error) {
	var c Cleaned
	n, err := s.meta.PruneArtifacts(ctx)
	if err != nil {
		return c, err
	}
	c.Bundles = n
	cutoff := now.Add(-blobGrace)
	if _, err := s.meta.PruneChunkUploads(ctx, cutoff); err != nil {
		return c, err
	}
	var old []string
	err = s.blobs.List(ctx, chunkPrefix, func(key string, stored time.Time) error {
		if stored.Before(cutoff) {
			old = append(old, key)
		}
		return nil
	})
	if err != nil {
		return c, err
	}
	for _, k := range old {
		if err := s.blobs.Delete(ctx, k); err != nil {
			return c, err
		}
		c.Chunks++
	}
	old = old[:0]
	if err := s.blobs.List(ctx, filePrefix, func(key string, stored time.Time) error {
		if stored.Before(cutoff) {
			old = append(old, key)
		}
		return nil
	}); err != nil {
		return c, err
	}
	used, err := s.meta.ArtifactBlobsInUse(ctx, old)
	if err != nil {
		return c, err
	}
	for _, k := range old {
		if used[k] {
			continue
		}
		if err := s.blobs.Delete(ctx, k); err != nil {
			return c, err
		}
		c.Files++
	}
	return c, nil
}
