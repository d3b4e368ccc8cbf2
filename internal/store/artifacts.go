package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/getflytrap/flytrap/internal/debugid"
	"github.com/getflytrap/flytrap/internal/event"
)

// Artifact file kinds, as sentry-cli's bundle manifest names them.
const (
	ArtifactMinifiedSource = "minified_source"
	ArtifactSourceMap      = "source_map"
	ArtifactSource         = "source"
)

// ArtifactBundle is one uploaded artifact bundle (a zip of minified files
// and their source maps) as stored for one project.
type ArtifactBundle struct {
	ID        int64     `json:"id"`
	ProjectID int64     `json:"project_id"`
	Checksum  string    `json:"checksum"`
	BundleID  string    `json:"bundle_id"`
	Release   string    `json:"release,omitempty"`
	Dist      string    `json:"dist,omitempty"`
	FileCount int       `json:"file_count"`
	Size      int64     `json:"size"`
	CreatedAt time.Time `json:"created_at"`
}

// ArtifactFile is one file of a bundle. Its bytes are in blob storage
// under Blob; Release and Dist are its bundle's.
type ArtifactFile struct {
	ID        int64
	BundleID  int64
	ProjectID int64
	Kind      string
	URL       string
	Name      string
	// DebugID is canonical (debugid.Canonical) or "": SaveArtifactBundle
	// stores any spelling of a debug ID canonical, so that the event's,
	// canonical too, finds it.
	DebugID   string
	SourceMap string
	Blob      string
	Size      int64
	Release   string
	Dist      string
	CreatedAt time.Time
}

// ArtifactFilter selects artifact files of one project. Zero fields do
// not filter, except Release and Dist, which filter whenever ByRelease is
// set (an empty dist is a value: files uploaded without one).
type ArtifactFilter struct {
	ProjectID int64
	BundleID  int64
	// DebugID selects the files of that debug ID, written in any spelling
	// debugid.Canonical reads; one it refuses selects none.
	DebugID string
	// ByRelease keeps only files of Release and Dist. Without it, a
	// Release ranks that release's files (with Dist) before the others.
	ByRelease bool
	Release   string
	Dist      string
	URLs      []string
	Name      string
	Kind      string
	// ExcludeDebugIDOnly drops the files that carry a debug ID from bundles
	// uploaded without a release. Such a file is found by its debug ID
	// alone, as in Sentry: a file of that name without the ID (or with
	// another) is another build, which the map would move to wrong
	// places without a word.
	ExcludeDebugIDOnly bool
	// Limit bounds the files returned (0: 20), newest first.
	Limit int
}

// SaveArtifactBundle stores a bundle and its files for b.ProjectID, and
// the bundle's release as a release of the project if it is new, so
// retention, which removes bundles of releases that no longer exist, keeps
// it. A bundle with the same checksum already stored is returned as it is,
// with created false: sentry-cli asks to assemble the same upload again
// while it waits. A file's debug ID is stored canonical; one that is no
// debug ID is ErrInvalid (callers pass over such text as none before).
func (d *DB) SaveArtifactBundle(ctx context.Context, b ArtifactBundle, files []ArtifactFile) (saved ArtifactBundle, created bool, err error) {
	if b.CreatedAt.IsZero() {
		b.CreatedAt = nowUTC()
	}
	files = slices.Clone(files)
	for i, f := range files {
		if f.DebugID == "" {
			continue
		}
		id, ok := debugid.Canonical(f.DebugID)
		if !ok {
			return ArtifactBundle{}, false, fmt.Errorf("store: save artifact bundle: %w: %s: debug ID %q is not a UUID", ErrInvalid, Clean(f.URL), Clean(f.DebugID))
		}
		files[i].DebugID = id
	}
	b.Release, b.Dist = truncate(b.Release, MaxTagLength), truncate(b.Dist, MaxTagLength)
	if b.Release != "" {
		if p := releaseRefusal("release", b.Release); p != "" {
			return ArtifactBundle{}, false, fmt.Errorf("store: save artifact bundle: %w: %s", ErrInvalid, p)
		}
	}
	err = d.InTx(ctx, func(tx *sql.Tx) error {
		old, err := artifactBundle(ctx, tx, b.ProjectID, b.Checksum)
		if err == nil {
			saved = old
			return nil
		}
		if err != ErrNotFound {
			return err
		}
		if b.Release != "" {
			if err := seeRelease(ctx, tx, b.ProjectID, b.Release, millis(b.CreatedAt)); err != nil {
				return err
			}
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO artifact_bundles
			(project_id, checksum, bundle_id, release_name, dist, file_count, size, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			b.ProjectID, Clean(b.Checksum), Clean(b.BundleID), b.Release, b.Dist, len(files), b.Size, millis(b.CreatedAt)).Scan(&b.ID); err != nil {
			return err
		}
		for _, f := range files {
			if _, err := tx.ExecContext(ctx, `INSERT INTO artifact_files
				(bundle_id, project_id, kind, url, name, debug_id, sourcemap, blob, size, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
				b.ID, b.ProjectID, Clean(f.Kind), Clean(f.URL), Clean(ArtifactName(f.URL)), f.DebugID,
				Clean(f.SourceMap), f.Blob, f.Size, millis(b.CreatedAt)); err != nil {
				return err
			}
		}
		b.FileCount = len(files)
		saved, created = b, true
		return nil
	})
	if err != nil {
		if pgUniqueViolation(err) {
			// A concurrent assemble of the same upload stored it first.
			saved, err = artifactBundle(ctx, d.db, b.ProjectID, b.Checksum)
			return saved, false, err
		}
		return ArtifactBundle{}, false, fmt.Errorf("store: save artifact bundle: %w", err)
	}
	return saved, created, nil
}

// ArtifactName is the last path segment of an artifact URL, without its
// query or fragment: what ArtifactFilter.Name matches, the file-name-only
// lookup of a frame that nothing more specific matches.
func ArtifactName(url string) string {
	if i := strings.IndexAny(url, "?#"); i >= 0 {
		url = url[:i]
	}
	return url[strings.LastIndex(url, "/")+1:]
}

const artifactBundleCols = `id, project_id, checksum, bundle_id, release_name, dist, file_count, size, created_at`

func scanArtifactBundle(row interface{ Scan(...any) error }) (ArtifactBundle, error) {
	var (
		b       ArtifactBundle
		created int64
	)
	if err := row.Scan(&b.ID, &b.ProjectID, &b.Checksum, &b.BundleID, &b.Release, &b.Dist, &b.FileCount, &b.Size, &created); err != nil {
		return ArtifactBundle{}, notFound(err)
	}
	b.CreatedAt = fromMillis(created)
	return b, nil
}

func artifactBundle(ctx context.Context, db dbtx, projectID int64, checksum string) (ArtifactBundle, error) {
	return scanArtifactBundle(db.QueryRowContext(ctx, `SELECT `+artifactBundleCols+
		` FROM artifact_bundles WHERE project_id = $1 AND checksum = $2`, projectID, checksum))
}

// ArtifactBundleByChecksum returns the project's bundle uploaded with
// checksum, or ErrNotFound.
func (d *DB) ArtifactBundleByChecksum(ctx context.Context, projectID int64, checksum string) (ArtifactBundle, error) {
	if !storable(checksum) {
		return ArtifactBundle{}, fmt.Errorf("store: artifact bundle %q: %w", checksum, ErrNotFound)
	}
	b, err := artifactBundle(ctx, d.db, projectID, checksum)
	if err != nil {
		return ArtifactBundle{}, fmt.Errorf("store: artifact bundle %s: %w", checksum, err)
	}
	return b, nil
}

// ListArtifactBundles returns the bundles of a project v may see, newest
// first; release filters by release when not empty.
func (d *DB) ListArtifactBundles(ctx context.Context, v Viewer, projectID int64, release string) ([]ArtifactBundle, error) {
	if !storable(release) {
		return []ArtifactBundle{}, nil
	}
	var q query
	q.add(`SELECT `, artifactBundleCols, ` FROM artifact_bundles WHERE project_id = `, q.arg(projectID),
		` AND `, q.visibleProject(v, projectID))
	if release != "" {
		q.add(` AND release_name = `, q.arg(release))
	}
	q.add(` ORDER BY id DESC`)
	rows, err := d.db.QueryContext(ctx, q.sql(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("store: list artifact bundles: %w", err)
	}
	defer rows.Close()
	bs := []ArtifactBundle{}
	for rows.Next() {
		b, err := scanArtifactBundle(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list artifact bundles: %w", err)
		}
		bs = append(bs, b)
	}
	return bs, rows.Err()
}

// FindArtifacts returns the files f selects, newest first (those of
// f.Release first when it does not filter by it). It takes no
// viewer: the processor looks maps up for the project an event belongs to.
func (d *DB) FindArtifacts(ctx context.Context, f ArtifactFilter) ([]ArtifactFile, error) {
	// An event's frames and debug IDs, and a request's names, may hold
	// text no file was stored with.
	if !storable(f.Name) || !storable(f.Kind) ||
		(f.ByRelease && (!storable(f.Release) || !storable(f.Dist))) {
		return []ArtifactFile{}, nil
	}
	if f.DebugID != "" {
		id, ok := debugid.Canonical(f.DebugID)
		if !ok {
			return []ArtifactFile{}, nil // no file is stored with it
		}
		f.DebugID = id
	}
	if len(f.URLs) > 0 {
		if f.URLs = storableOnly(f.URLs); len(f.URLs) == 0 {
			return []ArtifactFile{}, nil
		}
	}
	if !storable(f.Release) || !storable(f.Dist) {
		f.Release, f.Dist = "", "" // no file is of that release to rank first
	}
	var q query
	q.add(`SELECT f.id, f.bundle_id, f.project_id, f.kind, f.url, f.name, f.debug_id, f.sourcemap, f.blob, f.size,
		b.release_name, b.dist, f.created_at
		FROM artifact_files f JOIN artifact_bundles b ON b.id = f.bundle_id WHERE f.project_id = `, q.arg(f.ProjectID))
	if f.BundleID != 0 {
		q.add(` AND f.bundle_id = `, q.arg(f.BundleID))
	}
	if f.DebugID != "" {
		q.add(` AND f.debug_id = `, q.arg(f.DebugID))
	}
	if f.ByRelease {
		q.add(` AND b.release_name = `, q.arg(f.Release), ` AND b.dist = `, q.arg(f.Dist))
	}
	if len(f.URLs) > 0 {
		q.add(` AND f.url IN (`)
		for i, u := range f.URLs {
			if i > 0 {
				q.add(`, `)
			}
			q.add(q.arg(u))
		}
		q.add(`)`)
	}
	if f.Name != "" {
		q.add(` AND f.name = `, q.arg(f.Name))
	}
	if f.Kind != "" {
		q.add(` AND f.kind = `, q.arg(f.Kind))
	}
	if f.ExcludeDebugIDOnly {
		q.add(` AND (b.release_name <> '' OR f.debug_id = '')`)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 20
	}
	q.add(` ORDER BY `)
	if !f.ByRelease && f.Release != "" {
		q.add(`CASE WHEN b.release_name = `, q.arg(f.Release), ` AND b.dist = `, q.arg(f.Dist), ` THEN 0 ELSE 1 END, `)
	}
	q.add(`f.id DESC LIMIT `, q.arg(limit))
	rows, err := d.db.QueryContext(ctx, q.sql(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("store: find artifacts: %w", err)
	}
	defer rows.Close()
	files := []ArtifactFile{}
	for rows.Next() {
		var (
			a       ArtifactFile
			created int64
		)
		if err := rows.Scan(&a.ID, &a.BundleID, &a.ProjectID, &a.Kind, &a.URL, &a.Name, &a.DebugID, &a.SourceMap, &a.Blob, &a.Size,
			&a.Release, &a.Dist, &created); err != nil {
			return nil, fmt.Errorf("store: find artifacts: %w", err)
		}
		a.CreatedAt = fromMillis(created)
		files = append(files, a)
	}
	return files, rows.Err()
}

// Release is a release of a project: seen in an event or created by an
// upload (sentry-cli releases new, a bundle uploaded for it), with the
// figures GetRelease and ListReleases read from the issues, deploys and
// commits that refer to it.
type Release struct {
	ProjectID int64     `json:"project_id"`
	Version   string    `json:"version"`
	FirstSeen time.Time `json:"first_seen"`
	// DateReleased is when the release was finalized; zero while it is not.
	DateReleased time.Time `json:"date_released"`
	ReleaseFigures
}

// releaseRefusal says why version cannot name a release, as the noun
// ("release", "version") the request called it, or returns "" when it can.
// For "latest" it says what the word means and what to give instead:
// "the release is reserved" left the user guessing which word, and why.
func releaseRefusal(noun, version string) string {
	p := event.ReleaseProblem(version)
	switch {
	case p == "":
		return ""
	case strings.EqualFold(strings.TrimSpace(version), LatestRelease):
		return fmt.Sprintf("%q is a reserved word in searches (the newest release), not a release name: give the release's version, e.g. shop@1.2.3", version)
	}
	return "the " + noun + " " + p
}

// CreateRelease records a release of a project v may see; an existing one
// keeps its first seen, and is seen now (see PruneReleases).
func (d *DB) CreateRelease(ctx context.Context, v Viewer, projectID int64, version string, now time.Time) (Release, error) {
	if version == "" || Clean(version) != version || len([]rune(version)) > MaxTagLength {
		return Release{}, fmt.Errorf("store: create release: %w: a version is 1 to %d characters of valid text", ErrInvalid, MaxTagLength)
	}
	if p := releaseRefusal("version", version); p != "" {
		return Release{}, fmt.Errorf("store: create release: %w: %s", ErrInvalid, p)
	}
	if _, err := d.GetProject(ctx, v, projectID); err != nil {
		return Release{}, fmt.Errorf("store: create release: project %d: %w", projectID, err)
	}
	if err := seeRelease(ctx, d.db, projectID, version, millis(now)); err != nil {
		return Release{}, fmt.Errorf("store: create release: %w", err)
	}
	return d.GetRelease(ctx, v, projectID, version)
}

// GetRelease returns a release of a project v may see.
func (d *DB) GetRelease(ctx context.Context, v Viewer, projectID int64, version string) (Release, error) {
	var q query
	if !storable(version) {
		return Release{}, fmt.Errorf("store: release %q: %w", version, ErrNotFound)
	}
	q.add(`SELECT r.project_id, r.version, r.first_seen, r.date_released, `, releaseIssueFigures, ` FROM releases r WHERE r.project_id = `,
		q.arg(projectID), ` AND r.version = `, q.arg(version), ` AND `, q.visibleProject(v, projectID))
	r, err := scanRelease(d.db.QueryRowContext(ctx, q.sql(), q.args...))
	if err != nil {
		return Release{}, fmt.Errorf("store: release %q: %w", version, notFound(err))
	}
	figs, err := d.releaseFigures(ctx, projectID, version)
	if err != nil {
		return Release{}, fmt.Errorf("store: release %q: %w", version, err)
	}
	r.addFigures(figs)
	return r, nil
}

// ReleaseProjectIDs returns the IDs of the projects v may see that have
// release version, in ascending order: one query where a GetRelease per
// project costs five, for the release endpoints sentry-cli calls without
// naming a project.
func (d *DB) ReleaseProjectIDs(ctx context.Context, v Viewer, version string) ([]int64, error) {
	if !storable(version) {
		return nil, nil
	}
	var q query
	q.add(`SELECT r.project_id FROM releases r WHERE r.version = `, q.arg(version), ` AND `, q.visible(v, "r.project_id"),
		` ORDER BY r.project_id`)
	rows, err := d.db.QueryContext(ctx, q.sql(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("store: projects of release %q: %w", version, err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: projects of release %q: %w", version, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: projects of release %q: %w", version, err)
	}
	return ids, nil
}

// MaxReleasesListed is how many releases ListReleases returns: the
// newest. Any SDK with the project's public key can name a release, so a
// project's releases are not bounded by what its team creates.
const MaxReleasesListed = 1000

// ListReleases returns the releases of a project v may see, newest
// first (of those first seen at the same time, the highest version, the
// one release:latest finds: see newestFirst), at most MaxReleasesListed
// of them.
func (d *DB) ListReleases(ctx context.Context, v Viewer, projectID int64) ([]Release, error) {
	q := d.listReleasesQuery(v, projectID)
	rows, err := d.db.QueryContext(ctx, q.sql(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("store: list releases: %w", err)
	}
	defer rows.Close()
	rs := []Release{}
	for rows.Next() {
		r, err := scanRelease(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list releases: %w", err)
		}
		rs = append(rs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list releases: %w", err)
	}
	if len(rs) == 0 {
		return rs, nil
	}
	sortTies(rs)
	figs, err := d.releaseFigures(ctx, projectID, "")
	if err != nil {
		return nil, fmt.Errorf("store: list releases: %w", err)
	}
	for i := range rs {
		rs[i].addFigures(figs)
	}
	return rs, nil
}

// listReleasesQuery selects ListReleases' releases with their issue
// figures, which are read for these releases only, after the LIMIT.
func (d *DB) listReleasesQuery(v Viewer, projectID int64) *query {
	q := &query{}
	q.add(`SELECT r.project_id, r.version, r.first_seen, r.date_released, `, releaseIssueFigures, ` FROM releases r WHERE r.project_id = `,
		q.arg(projectID), ` AND `, q.visibleProject(v, projectID), ` ORDER BY r.first_seen DESC, `, d.byteOrder("r.version"),
		` DESC LIMIT `, q.arg(MaxReleasesListed))
	return q
}

// sortTies puts each run of rs first seen at the same time in the order
// newestFirst gives their versions.
func sortTies(rs []Release) {
	for i := 0; i < len(rs); {
		j := i + 1
		for j < len(rs) && rs[j].FirstSeen.Equal(rs[i].FirstSeen) {
			j++
		}
		if j-i > 1 {
			byVersion := make(map[string]Release, j-i)
			versions := make([]string, 0, j-i)
			for _, r := range rs[i:j] {
				byVersion[r.Version] = r
				versions = append(versions, r.Version)
			}
			for k, v := range newestFirst(versions) {
				rs[i+k] = byVersion[v]
			}
		}
		i = j
	}
}

// ErrReleaseInUse is DeleteReleases' refusal of a release that issues
// refer to.
var ErrReleaseInUse = errors.New("issues refer to the release")

// DeleteReleases deletes the release version, with its deploys and commits
// and the artifact bundles uploaded for it, from each of projectIDs v may
// see that has it; ErrNotFound when none has it. The bundles' blobs stay
// until the artifact retention job finds no row referring to them. It
// deletes none when an issue of any of them was first or last seen in the
// release, or is resolved in it (ErrReleaseInUse), as Sentry refuses: the
// issue's page links to the release, and its resolution is ordered by when
// the release was first seen.
func (d *DB) DeleteReleases(ctx context.Context, v Viewer, projectIDs []int64, version string) error {
	if !storable(version) {
		return fmt.Errorf("store: delete release %q: %w", version, ErrNotFound)
	}
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		deleted := 0
		for _, projectID := range projectIDs {
			var (
				q   query
				one int
			)
			q.add(`SELECT 1 FROM releases WHERE project_id = `, q.arg(projectID), ` AND version = `, q.arg(version),
				` AND `, q.visibleProject(v, projectID))
			if err := tx.QueryRowContext(ctx, q.sql(), q.args...).Scan(&one); errors.Is(err, sql.ErrNoRows) {
				continue
			} else if err != nil {
				return err
			}
			var used query
			used.add(`SELECT 1 FROM issues WHERE project_id = `, used.arg(projectID), ` AND (first_release = `, used.arg(version),
				` OR last_release = `, used.arg(version), ` OR resolved_in_release = `, used.arg(version),
				` OR resolved_after_release = `, used.arg(version), `) LIMIT 1`)
			switch err := tx.QueryRowContext(ctx, used.sql(), used.args...).Scan(&one); {
			case err == nil:
				return ErrReleaseInUse
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
			if err := deleteArtifactBundles(ctx, tx, `project_id = $1 AND release_name = $2`, projectID, version); err != nil {
				return err
			}
			for _, table := range []string{"release_deploys", "release_commits", "releases"} {
				if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE project_id = $1 AND version = $2`, projectID, version); err != nil {
					return err
				}
			}
			// Its release health goes with it: a release that sends
			// sessions again is recorded anew, its figures from then on.
			for _, table := range []string{"release_sessions", "release_session_ids"} {
				if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE project_id = $1 AND release = $2`, projectID, version); err != nil {
					return err
				}
			}
			deleted++
		}
		if deleted == 0 {
			return ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: delete release %q: %w", version, err)
	}
	return nil
}

// deleteArtifactBundles deletes the bundles where (a condition on
// artifact_bundles with its args) holds, files first.
func deleteArtifactBundles(ctx context.Context, tx *sql.Tx, where string, args ...any) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM artifact_files WHERE bundle_id IN (SELECT id FROM artifact_bundles WHERE `+where+`)`, args...); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM artifact_bundles WHERE `+where, args...)
	return err
}

// PruneArtifacts deletes the bundles uploaded for a release the project no
// longer has (deleted while an upload was running, or by an older Flytrap
// that did not delete artifacts with releases) and returns how many.
// Bundles without a release are found by debug ID and kept.
func (d *DB) PruneArtifacts(ctx context.Context) (int64, error) {
	const orphan = `release_name <> '' AND NOT EXISTS (SELECT 1 FROM releases r
		WHERE r.project_id = artifact_bundles.project_id AND r.version = artifact_bundles.release_name)`
	var n int64
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM artifact_bundles WHERE `+orphan).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		return deleteArtifactBundles(ctx, tx, orphan)
	})
	if err != nil {
		return 0, fmt.Errorf("store: prune artifacts: %w", err)
	}
	return n, nil
}

// ArtifactBlobsInUse returns which of blobs some artifact file refers to.
func (d *DB) ArtifactBlobsInUse(ctx context.Context, blobs []string) (map[string]bool, error) {
	used := map[string]bool{}
	blobs = storableOnly(blobs)
	for len(blobs) > 0 {
		batch := blobs[:min(len(blobs), 500)]
		blobs = blobs[len(batch):]
		var q query
		q.add(`SELECT DISTINCT blob FROM artifact_files WHERE blob IN (`)
		for i, b := range batch {
			if i > 0 {
				q.add(`, `)
			}
			q.add(q.arg(b))
		}
		q.add(`)`)
		rows, err := d.db.QueryContext(ctx, q.sql(), q.args...)
		if err != nil {
			return nil, fmt.Errorf("store: artifact blobs in use: %w", err)
		}
		for rows.Next() {
			var b string
			if err := rows.Scan(&b); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: artifact blobs in use: %w", err)
			}
			used[b] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: artifact blobs in use: %w", err)
		}
	}
	return used, nil
}

// RecordChunkUploads notes that userID uploaded the chunks checksums at
// now (again: the time moves forward), so that ChunksUploadedBy counts
// them as the user's.
func (d *DB) RecordChunkUploads(ctx context.Context, userID int64, checksums []string, now time.Time) error {
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		for _, c := range checksums {
			if _, err := tx.ExecContext(ctx, `INSERT INTO artifact_chunk_uploads (checksum, user_id, uploaded_at) VALUES ($1, $2, $3)
				ON CONFLICT (checksum, user_id) DO UPDATE SET uploaded_at = excluded.uploaded_at`, Clean(c), userID, millis(now)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: record chunk uploads: %w", err)
	}
	return nil
}

// ChunksUploadedBy returns which of checksums userID uploaded, as
// RecordChunkUploads noted and PruneChunkUploads has not deleted since.
func (d *DB) ChunksUploadedBy(ctx context.Context, userID int64, checksums []string) (map[string]bool, error) {
	uploaded := map[string]bool{}
	checksums = storableOnly(checksums)
	for len(checksums) > 0 {
		batch := checksums[:min(len(checksums), 500)]
		checksums = checksums[len(batch):]
		var q query
		q.add(`SELECT checksum FROM artifact_chunk_uploads WHERE user_id = `, q.arg(userID), ` AND checksum IN (`)
		for i, c := range batch {
			if i > 0 {
				q.add(`, `)
			}
			q.add(q.arg(c))
		}
		q.add(`)`)
		rows, err := d.db.QueryContext(ctx, q.sql(), q.args...)
		if err != nil {
			return nil, fmt.Errorf("store: chunks uploaded by user %d: %w", userID, err)
		}
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: chunks uploaded by user %d: %w", userID, err)
			}
			uploaded[c] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store: chunks uploaded by user %d: %w", userID, err)
		}
	}
	return uploaded, nil
}

// PruneChunkUploads deletes the uploads noted before before, as the
// retention job deletes the chunks stored before then, and returns how
// many.
func (d *DB) PruneChunkUploads(ctx context.Context, before time.Time) (int64, error) {
	res, err := d.db.ExecContext(ctx, `DELETE FROM artifact_chunk_uploads WHERE uploaded_at < $1`, millis(before))
	if err != nil {
		return 0, fmt.Errorf("store: prune chunk uploads: %w", err)
	}
	return res.RowsAffected()
}
