package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/getflytrap/flytrap/internal/event"
)

// Bounds on what sentry-cli records about a release (docs/limits.md).
const (
	// MaxDeploysPerRelease is the most deploys kept of a release of a
	// project; a new one past it replaces the one that finished first.
	MaxDeploysPerRelease = 500
	// MaxReleaseCommits is the most commits one set-commits may give a
	// release; more is refused, so none is lost without a word.
	MaxReleaseCommits = 1000
	// MaxCommitMessageBytes is the most kept of a commit message; the rest
	// is cut off at a character boundary.
	MaxCommitMessageBytes = 4096
	// MaxURLLength bounds a deploy's URL.
	MaxURLLength = 2048
	// MaxRepositories is the most repositories a project may have.
	MaxRepositories = 100
)

// ReleaseFigures are what a release's issues, deploys and commits add up
// to.
type ReleaseFigures struct {
	// NewIssues counts the issues first seen in the release.
	NewIssues int64 `json:"new_issues"`
	// FirstEvent is when the first of those issues was first seen; zero
	// when there is none.
	FirstEvent time.Time `json:"first_event"`
	// LastEvent is the newest last event of the issues whose latest event
	// was in the release; zero when there is none.
	LastEvent   time.Time `json:"last_event"`
	CommitCount int64     `json:"commit_count"`
	DeployCount int64     `json:"deploy_count"`
	// LastDeploy is the deploy that finished last; nil when there is none.
	LastDeploy *Deploy `json:"last_deploy,omitempty"`
}

// Deploy is a deploy of a release to an environment.
type Deploy struct {
	ID          int64  `json:"id"`
	ProjectID   int64  `json:"project_id"`
	Version     string `json:"version"`
	Environment string `json:"environment"`
	Name        string `json:"name"`
	URL         string `json:"url"`
	// DateStarted is zero when not given.
	DateStarted  time.Time `json:"date_started"`
	DateFinished time.Time `json:"date_finished"`
	CreatedAt    time.Time `json:"created_at"`
}

// Commit is a commit of a release as set-commits sends it. A commit named
// by set-commits --commit REPO@SHA has only an ID and a repository.
type Commit struct {
	ID          string `json:"id"`
	Repository  string `json:"repository"`
	Message     string `json:"message"`
	AuthorName  string `json:"author_name"`
	AuthorEmail string `json:"author_email"`
	// Timestamp is zero when not known.
	Timestamp time.Time `json:"timestamp"`
}

// Repository is a repository a project's commits may name.
type Repository struct {
	ProjectID int64     `json:"project_id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// optionalTime reads back a time stored as 0 when absent.
func optionalTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return fromMillis(ms)
}

// optionalMillis stores a zero time as 0.
func optionalMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return millis(t)
}

// releaseIssueFigures are the issue figures of the release of row r of
// releases: its new issues, when the first of them was first seen and the
// newest last event of the issues whose latest event was in it. Each is a
// range of an index of issues by release that holds the time it needs, and
// MIN and MAX read one entry of it: the releases page's hundreds of
// releases cost as many short reads, where grouping all of the project's
// issues by release read each of them twice (20,000 rows of a big project,
// a seq scan each on PostgreSQL; docs/benchmarks.md).
const releaseIssueFigures = `(SELECT COUNT(*) FROM issues i WHERE i.project_id = r.project_id AND i.first_release = r.version),
	(SELECT MIN(i.first_seen) FROM issues i WHERE i.project_id = r.project_id AND i.first_release = r.version),
	(SELECT MAX(i.last_seen) FROM issues i WHERE i.project_id = r.project_id AND i.last_release = r.version)`

// scanRelease reads a row of releases: project_id, version, first_seen,
// date_released, then releaseIssueFigures.
func scanRelease(row scanner) (Release, error) {
	var (
		r               Release
		first, released int64
		firstEvent      sql.NullInt64
		lastEvent       sql.NullInt64
	)
	if err := row.Scan(&r.ProjectID, &r.Version, &first, &released, &r.NewIssues, &firstEvent, &lastEvent); err != nil {
		return Release{}, err
	}
	r.FirstSeen, r.DateReleased = fromMillis(first), optionalTime(released)
	if firstEvent.Valid {
		r.FirstEvent = fromMillis(firstEvent.Int64)
	}
	if lastEvent.Valid {
		r.LastEvent = fromMillis(lastEvent.Int64)
	}
	return r, nil
}

// releaseFigures adds up the commit and deploy figures of a project's
// releases (releaseIssueFigures has the rest): of version, or of all of
// them when version is empty. The caller has checked that the reader may
// see the project.
func (d *DB) releaseFigures(ctx context.Context, projectID int64, version string) (map[string]ReleaseFigures, error) {
	figs := map[string]ReleaseFigures{}
	one := func(col string) (string, []any) {
		if version == "" {
			return "", []any{projectID}
		}
		return ` AND ` + col + ` = $2`, []any{projectID, version}
	}
	scan := func(sqlText, col string, row func(rows *sql.Rows, f *ReleaseFigures) (string, error)) error {
		cond, args := one(col)
		rows, err := d.db.QueryContext(ctx, strings.Replace(sqlText, "{cond}", cond, 1), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var f ReleaseFigures
			v, err := row(rows, &f)
			if err != nil {
				return err
			}
			g := figs[v]
			switch {
			case f.CommitCount > 0:
				g.CommitCount = f.CommitCount
			case f.DeployCount > 0:
				g.DeployCount, g.LastDeploy = f.DeployCount, f.LastDeploy
			}
			figs[v] = g
		}
		return rows.Err()
	}
	err := scan(`SELECT version, COUNT(*) FROM release_commits WHERE project_id = $1{cond} GROUP BY version`, "version",
		func(rows *sql.Rows, f *ReleaseFigures) (string, error) {
			var v string
			return v, rows.Scan(&v, &f.CommitCount)
		})
	if err == nil {
		// Each release's last deploy, with the release's count of them.
		err = scan(`SELECT `+deployColumns+`, (SELECT COUNT(*) FROM release_deploys c WHERE c.project_id = d.project_id AND c.version = d.version)
			FROM release_deploys d WHERE project_id = $1{cond} AND id = (SELECT l.id FROM release_deploys l
			WHERE l.project_id = d.project_id AND l.version = d.version ORDER BY l.date_finished DESC, l.id DESC LIMIT 1)`, "version",
			func(rows *sql.Rows, f *ReleaseFigures) (string, error) {
				dep, err := scanDeploy(rows, &f.DeployCount)
				f.LastDeploy = &dep
				return dep.Version, err
			})
	}
	if err != nil {
		return nil, fmt.Errorf("release figures: %w", err)
	}
	return figs, nil
}

// addFigures sets r's commit and deploy figures from figs, of
// releaseFigures.
func (r *Release) addFigures(figs map[string]ReleaseFigures) {
	f := figs[r.Version]
	r.CommitCount, r.DeployCount, r.LastDeploy = f.CommitCount, f.DeployCount, f.LastDeploy
}

// releaseExists answers ErrNotFound unless v may see the project and it
// has the release; unlike GetRelease it adds up no figures.
func (d *DB) releaseExists(ctx context.Context, v Viewer, projectID int64, version string) error {
	var (
		q   query
		one int
	)
	if !storable(version) {
		return fmt.Errorf("release %q: %w", version, ErrNotFound)
	}
	q.add(`SELECT 1 FROM releases WHERE project_id = `, q.arg(projectID), ` AND version = `, q.arg(version),
		` AND `, q.visibleProject(v, projectID))
	if err := d.db.QueryRowContext(ctx, q.sql(), q.args...).Scan(&one); err != nil {
		return fmt.Errorf("release %q: %w", version, notFound(err))
	}
	return nil
}

// SetReleaseDate records when a release of a project v may see was
// finalized.
func (d *DB) SetReleaseDate(ctx context.Context, v Viewer, projectID int64, version string, released time.Time) (Release, error) {
	if err := d.releaseExists(ctx, v, projectID, version); err != nil {
		return Release{}, fmt.Errorf("store: finalize release: %w", err)
	}
	if _, err := d.db.ExecContext(ctx, `UPDATE releases SET date_released = $1 WHERE project_id = $2 AND version = $3`,
		optionalMillis(released), projectID, version); err != nil {
		return Release{}, fmt.Errorf("store: finalize release: %w", err)
	}
	return d.GetRelease(ctx, v, projectID, version)
}

const deployColumns = `d.id, d.project_id, d.version, d.environment, d.name, d.url, d.date_started, d.date_finished, d.created_at`

// scanDeploy reads deployColumns and then extra.
func scanDeploy(rows *sql.Rows, extra ...any) (Deploy, error) {
	var (
		dep                      Deploy
		started, finished, added int64
	)
	dest := append([]any{&dep.ID, &dep.ProjectID, &dep.Version, &dep.Environment, &dep.Name, &dep.URL, &started, &finished, &added}, extra...)
	if err := rows.Scan(dest...); err != nil {
		return Deploy{}, err
	}
	dep.DateStarted, dep.DateFinished, dep.CreatedAt = optionalTime(started), fromMillis(finished), fromMillis(added)
	return dep, nil
}

// checkText refuses text that is empty (when required), invalid, longer
// than n runes, or holding control characters: sentry-cli prints these
// fields (deploys list, releases info) to a terminal as they come.
func checkText(what, s string, n int, required bool) error {
	if event.HasControl(s) {
		return fmt.Errorf("%w: %s holds control characters", ErrInvalid, what)
	}
	if (required && s == "") || Clean(s) != s || utf8.RuneCountInString(s) > n {
		if required {
			return fmt.Errorf("%w: %s is 1 to %d characters of valid text", ErrInvalid, what, n)
		}
		return fmt.Errorf("%w: %s is at most %d characters of valid text", ErrInvalid, what, n)
	}
	return nil
}

// environmentProblem refuses an environment name events could not carry.
func environmentProblem(env string) error {
	if p := event.EnvironmentProblem(env); p != "" {
		return fmt.Errorf("%w: the environment %s", ErrInvalid, p)
	}
	return nil
}

// maxDeployAhead is how far ahead of its receipt a deploy's times may be:
// clocks drift.
const maxDeployAhead = time.Minute

// CreateDeploy records a deploy of a release of a project v may see. A
// deploy without DateFinished finished now, as in Sentry. Past
// MaxDeploysPerRelease, the deploy that finished first is dropped.
func (d *DB) CreateDeploy(ctx context.Context, v Viewer, dep Deploy, now time.Time) (Deploy, error) {
	for _, err := range []error{
		checkText("an environment", dep.Environment, MaxTagLength, true),
		checkText("a deploy's name", dep.Name, MaxTagLength, false),
		checkText("a deploy's URL", dep.URL, MaxURLLength, false),
		environmentProblem(dep.Environment),
	} {
		if err != nil {
			return Deploy{}, fmt.Errorf("store: create deploy: %w", err)
		}
	}
	// A deploy dated ahead of now (a wrong clock, or a made-up year 9999)
	// would be the release's last deploy for good and never the one
	// dropped: as for events' timestamps, the time it was received
	// stands in.
	if dep.DateFinished.IsZero() || dep.DateFinished.After(now.Add(maxDeployAhead)) {
		dep.DateFinished = now
	}
	if dep.DateStarted.After(now.Add(maxDeployAhead)) {
		dep.DateStarted = time.Time{}
	}
	if !dep.DateStarted.IsZero() && dep.DateStarted.After(dep.DateFinished) {
		return Deploy{}, fmt.Errorf("store: create deploy: %w: dateStarted is after dateFinished", ErrInvalid)
	}
	if err := d.releaseExists(ctx, v, dep.ProjectID, dep.Version); err != nil {
		return Deploy{}, fmt.Errorf("store: create deploy: %w", err)
	}
	dep.CreatedAt = fromMillis(millis(now))
	dep.DateFinished = fromMillis(millis(dep.DateFinished))
	dep.DateStarted = optionalTime(optionalMillis(dep.DateStarted))
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO release_deploys (project_id, version, environment, name, url, date_started, date_finished, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, dep.ProjectID, dep.Version, dep.Environment, dep.Name, dep.URL,
			optionalMillis(dep.DateStarted), millis(dep.DateFinished), millis(dep.CreatedAt)).Scan(&dep.ID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM release_deploys WHERE project_id = $1 AND version = $2 AND id NOT IN
			(SELECT id FROM release_deploys WHERE project_id = $1 AND version = $2 ORDER BY date_finished DESC, id DESC LIMIT $3)`,
			dep.ProjectID, dep.Version, MaxDeploysPerRelease)
		return err
	})
	if err != nil {
		return Deploy{}, fmt.Errorf("store: create deploy: %w", err)
	}
	return dep, nil
}

// ListDeploys returns the deploys of a release of a project v may see,
// the last finished first.
func (d *DB) ListDeploys(ctx context.Context, v Viewer, projectID int64, version string) ([]Deploy, error) {
	if err := d.releaseExists(ctx, v, projectID, version); err != nil {
		return nil, fmt.Errorf("store: list deploys: %w", err)
	}
	rows, err := d.db.QueryContext(ctx, `SELECT `+deployColumns+` FROM release_deploys d WHERE project_id = $1 AND version = $2
		ORDER BY date_finished DESC, id DESC`, projectID, version)
	if err != nil {
		return nil, fmt.Errorf("store: list deploys: %w", err)
	}
	defer rows.Close()
	deps := []Deploy{}
	for rows.Next() {
		dep, err := scanDeploy(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list deploys: %w", err)
		}
		deps = append(deps, dep)
	}
	return deps, rows.Err()
}

// cutMessage keeps at most MaxCommitMessageBytes of a commit message,
// cleaned, without splitting a character. Lines and tabs stay; other
// control and direction characters go, since a message is shown where a
// terminal or a page may act on them.
func cutMessage(s string) string {
	s = strings.Map(func(r rune) rune {
		if r != '\n' && r != '\t' && event.IsControl(r) {
			return -1
		}
		return r
	}, Clean(s))
	if len(s) <= MaxCommitMessageBytes {
		return s
	}
	s = s[:MaxCommitMessageBytes]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// SetReleaseCommits replaces the commits of a release of a project v may
// see; none clears them. Messages are cut to MaxCommitMessageBytes; more
// than MaxReleaseCommits commits, or a field too long, is ErrInvalid.
func (d *DB) SetReleaseCommits(ctx context.Context, v Viewer, projectID int64, version string, commits []Commit) error {
	if len(commits) > MaxReleaseCommits {
		return fmt.Errorf("store: set commits: %w: %d commits, more than the limit of %d (pass a smaller --initial-depth)",
			ErrInvalid, len(commits), MaxReleaseCommits)
	}
	for i, c := range commits {
		for _, err := range []error{
			checkText("a commit ID", c.ID, 64, true),
			checkText("a repository", c.Repository, MaxTagLength, false),
			checkText("an author name", c.AuthorName, MaxTagLength, false),
			checkText("an author email", c.AuthorEmail, MaxTagLength, false),
		} {
			if err != nil {
				return fmt.Errorf("store: set commits: commit %d: %w", i+1, err)
			}
		}
	}
	if err := d.releaseExists(ctx, v, projectID, version); err != nil {
		return fmt.Errorf("store: set commits: %w", err)
	}
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM release_commits WHERE project_id = $1 AND version = $2`, projectID, version); err != nil {
			return err
		}
		for i, c := range commits {
			if _, err := tx.ExecContext(ctx, `INSERT INTO release_commits (project_id, version, seq, commit_id, repository,
				message, author_name, author_email, committed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
				projectID, version, i, c.ID, c.Repository, cutMessage(c.Message), c.AuthorName, c.AuthorEmail, optionalMillis(c.Timestamp)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: set commits: %w", err)
	}
	return nil
}

// ListReleaseCommits returns the commits of a release of a project v may
// see, in the order they were set (sentry-cli sends the newest first).
func (d *DB) ListReleaseCommits(ctx context.Context, v Viewer, projectID int64, version string) ([]Commit, error) {
	if err := d.releaseExists(ctx, v, projectID, version); err != nil {
		return nil, fmt.Errorf("store: list commits: %w", err)
	}
	rows, err := d.db.QueryContext(ctx, `SELECT commit_id, repository, message, author_name, author_email, committed_at
		FROM release_commits WHERE project_id = $1 AND version = $2 ORDER BY seq`, projectID, version)
	if err != nil {
		return nil, fmt.Errorf("store: list commits: %w", err)
	}
	defer rows.Close()
	cs := []Commit{}
	for rows.Next() {
		var (
			c  Commit
			at int64
		)
		if err := rows.Scan(&c.ID, &c.Repository, &c.Message, &c.AuthorName, &c.AuthorEmail, &at); err != nil {
			return nil, fmt.Errorf("store: list commits: %w", err)
		}
		c.Timestamp = optionalTime(at)
		cs = append(cs, c)
	}
	return cs, rows.Err()
}

// PreviousCommit returns the newest commit (the first set) of the
// release of a project v may see that was first seen last before version
// and has commits: where sentry-cli set-commits --local starts reading the
// git history of version. It is ErrNotFound when there is none.
func (d *DB) PreviousCommit(ctx context.Context, v Viewer, projectID int64, version string) (Release, Commit, error) {
	if err := d.releaseExists(ctx, v, projectID, version); err != nil {
		return Release{}, Commit{}, fmt.Errorf("store: previous commit: %w", err)
	}
	var (
		r         Release
		c         Commit
		first, at int64
	)
	err := d.db.QueryRowContext(ctx, `SELECT r.version, r.first_seen, c.commit_id, c.repository, c.committed_at
		FROM releases r JOIN release_commits c ON c.project_id = r.project_id AND c.version = r.version AND c.seq = 0
		WHERE r.project_id = $1 AND r.first_seen < (SELECT first_seen FROM releases WHERE project_id = $1 AND version = $2)
		ORDER BY r.first_seen DESC, r.version DESC LIMIT 1`, projectID, version).Scan(&r.Version, &first, &c.ID, &c.Repository, &at)
	if err != nil {
		return Release{}, Commit{}, fmt.Errorf("store: previous commit: %w", notFound(err))
	}
	r.ProjectID, r.FirstSeen, c.Timestamp = projectID, fromMillis(first), optionalTime(at)
	return r, c, nil
}

// AddRepository adds a repository to a project v may see, so that
// set-commits --commit may name it; adding one again changes nothing. A
// project has at most MaxRepositories.
func (d *DB) AddRepository(ctx context.Context, v Viewer, projectID int64, name string, now time.Time) (Repository, error) {
	if err := checkText("a repository name", name, MaxTagLength, true); err != nil {
		return Repository{}, fmt.Errorf("store: add repository: %w", err)
	}
	if _, err := d.GetProject(ctx, v, projectID); err != nil {
		return Repository{}, fmt.Errorf("store: add repository: project %d: %w", projectID, err)
	}
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM repositories WHERE project_id = $1 AND name <> $2`, projectID, name).Scan(&n); err != nil {
			return err
		}
		if n >= MaxRepositories {
			return fmt.Errorf("%w: a project has at most %d repositories", ErrInvalid, MaxRepositories)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO repositories (project_id, name, created_at) VALUES ($1, $2, $3)
			ON CONFLICT (project_id, name) DO NOTHING`, projectID, name, millis(now))
		return err
	})
	if err != nil {
		return Repository{}, fmt.Errorf("store: add repository: %w", err)
	}
	var created int64
	if err := d.db.QueryRowContext(ctx, `SELECT created_at FROM repositories WHERE project_id = $1 AND name = $2`, projectID, name).Scan(&created); err != nil {
		return Repository{}, fmt.Errorf("store: add repository: %w", notFound(err))
	}
	return Repository{ProjectID: projectID, Name: name, CreatedAt: fromMillis(created)}, nil
}

// ListRepositories returns the repositories of a project v may see, by
// name.
func (d *DB) ListRepositories(ctx context.Context, v Viewer, projectID int64) ([]Repository, error) {
	var q query
	q.add(`SELECT project_id, name, created_at FROM repositories WHERE project_id = `, q.arg(projectID),
		` AND `, q.visibleProject(v, projectID), ` ORDER BY name`)
	rows, err := d.db.QueryContext(ctx, q.sql(), q.args...)
	if err != nil {
		return nil, fmt.Errorf("store: list repositories: %w", err)
	}
	defer rows.Close()
	rs := []Repository{}
	for rows.Next() {
		var (
			r       Repository
			created int64
		)
		if err := rows.Scan(&r.ProjectID, &r.Name, &created); err != nil {
			return nil, fmt.Errorf("store: list repositories: %w", err)
		}
		r.CreatedAt = fromMillis(created)
		rs = append(rs, r)
	}
	return rs, rows.Err()
}
