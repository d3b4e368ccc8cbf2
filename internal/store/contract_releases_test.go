package store

import (
	"fmt"
	"strings"
	"time"
)

// A release's finalization, deploys and commits, and the figures its
// issues add up to; only members of the project read or write them.
func testReleaseTracking(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	p := e.project.ID
	member := e.createUser("m@example.com", RoleMember)
	e.addMember(e.project, member)
	mv := Viewer{UserID: member.ID}
	outsider := Viewer{UserID: e.createUser("o@example.com", RoleMember).ID}
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)

	if _, err := db.CreateRelease(ctx, mv, p, "1.0", at); err != nil {
		t.Fatal(err)
	}
	// Two issues first seen in 1.0; one of them seen again in 2.0.
	a := e.save("a", withRelease("1.0"), withAt(at.Add(time.Minute)))
	e.save("b", withRelease("1.0"), withAt(at.Add(2*time.Minute)))
	e.save("a", withRelease("2.0"), withAt(at.Add(3*time.Minute)))
	r, err := db.GetRelease(ctx, mv, p, "1.0")
	if err != nil {
		t.Fatal(err)
	}
	if r.NewIssues != 2 || !r.DateReleased.IsZero() || r.FirstEvent.IsZero() || r.LastEvent.IsZero() || r.LastDeploy != nil {
		t.Errorf("GetRelease(1.0) = %+v; want 2 new issues, first and last event, unreleased, no deploy", r)
	}
	if first := e.issue(a.IssueID).FirstSeen; !r.FirstEvent.Equal(first) {
		t.Errorf("FirstEvent = %v, want issue a's first seen %v", r.FirstEvent, first)
	}

	released := at.Add(time.Hour)
	_, err = db.SetReleaseDate(ctx, outsider, p, "1.0", released)
	wantErr(t, "SetReleaseDate by an outsider", err, ErrNotFound)
	if r, err := db.SetReleaseDate(ctx, mv, p, "1.0", released); err != nil || !r.DateReleased.Equal(released) {
		t.Errorf("SetReleaseDate = %+v, %v", r, err)
	}
	_, err = db.SetReleaseDate(ctx, mv, p, "9.9", released)
	wantErr(t, "SetReleaseDate of no release", err, ErrNotFound)

	// Deploys: the last finished is the release's last deploy.
	for _, d := range []Deploy{
		{Environment: "staging", DateFinished: at.Add(2 * time.Hour)},
		{Environment: "production", Name: "deploy <1>", URL: "https://x/1", DateStarted: at.Add(3 * time.Hour), DateFinished: at.Add(4 * time.Hour)},
	} {
		d.ProjectID, d.Version = p, "1.0"
		if _, err := db.CreateDeploy(ctx, mv, d, at.Add(5*time.Hour)); err != nil {
			t.Fatalf("CreateDeploy(%+v): %v", d, err)
		}
	}
	now := at.Add(6 * time.Hour)
	if d, err := db.CreateDeploy(ctx, mv, Deploy{ProjectID: p, Version: "1.0", Environment: "dev"}, now); err != nil || !d.DateFinished.Equal(now) {
		t.Errorf("CreateDeploy without dateFinished = %+v, %v; want finished now", d, err)
	}
	// QA: a deploy of the year 9999 stayed the last deploy for good.
	if _, err := db.CreateRelease(ctx, mv, p, "future", now); err != nil {
		t.Fatal(err)
	}
	future := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	if d, err := db.CreateDeploy(ctx, mv, Deploy{ProjectID: p, Version: "future", Environment: "dev", DateStarted: future, DateFinished: future}, now); err != nil ||
		!d.DateFinished.Equal(now) || !d.DateStarted.IsZero() {
		t.Errorf("CreateDeploy dated 9999 = %+v, %v; want finished now, no start", d, err)
	}
	if d, err := db.CreateDeploy(ctx, mv, Deploy{ProjectID: p, Version: "future", Environment: "dev", DateFinished: now.Add(30 * time.Second)}, now); err != nil ||
		!d.DateFinished.Equal(now.Add(30*time.Second)) {
		t.Errorf("CreateDeploy 30 s ahead = %+v, %v; want its own time, within the clocks' drift", d, err)
	}
	// A message keeps its lines and tabs, not escape sequences or
	// direction controls.
	if err := db.SetReleaseCommits(ctx, mv, p, "future", []Commit{{ID: "aaa2", Message: "hi\x1b]0;pwned\x07 <b>bold</b>\u202e\nline\ttab"}}); err != nil {
		t.Fatal(err)
	}
	if cs, err := db.ListReleaseCommits(ctx, mv, p, "future"); err != nil || len(cs) != 1 || cs[0].Message != "hi]0;pwned <b>bold</b>\nline\ttab" {
		t.Errorf("ListReleaseCommits = %+v, %v", cs, err)
	}
	if err := db.DeleteReleases(ctx, mv, []int64{p}, "future"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		d    Deploy
	}{
		{"no environment", Deploy{}},
		{"long environment", Deploy{Environment: strings.Repeat("e", MaxTagLength+1)}},
		{"NUL in name", Deploy{Environment: "p", Name: "a\x00b"}},
		// sentry-cli prints these to a terminal as they come.
		{"escape sequence in environment", Deploy{Environment: "prod\x1b[2J"}},
		{"slash in environment", Deploy{Environment: "prod/eu"}},
		{"carriage return in name", Deploy{Environment: "p", Name: "canary\rDONE"}},
		{"direction control in URL", Deploy{Environment: "p", URL: "https://x/\u202e"}},
		{"long URL", Deploy{Environment: "p", URL: strings.Repeat("u", MaxURLLength+1)}},
		{"started after finished", Deploy{Environment: "p", DateStarted: at.Add(time.Hour), DateFinished: at}},
	} {
		tt.d.ProjectID, tt.d.Version = p, "1.0"
		_, err := db.CreateDeploy(ctx, mv, tt.d, now)
		wantErr(t, "CreateDeploy "+tt.name, err, ErrInvalid)
	}
	_, err = db.CreateDeploy(ctx, outsider, Deploy{ProjectID: p, Version: "1.0", Environment: "p"}, now)
	wantErr(t, "CreateDeploy by an outsider", err, ErrNotFound)
	_, err = db.CreateDeploy(ctx, mv, Deploy{ProjectID: p, Version: "9.9", Environment: "p"}, now)
	wantErr(t, "CreateDeploy of no release", err, ErrNotFound)
	_, err = db.ListDeploys(ctx, outsider, p, "1.0")
	wantErr(t, "ListDeploys by an outsider", err, ErrNotFound)
	deps, err := db.ListDeploys(ctx, mv, p, "1.0")
	if err != nil {
		t.Fatal(err)
	}
	var envs []string
	for _, d := range deps {
		envs = append(envs, d.Environment)
	}
	if got := strings.Join(envs, " "); got != "dev production staging" {
		t.Errorf("ListDeploys = %q, want the last finished first", got)
	}
	if d := deps[1]; d.Name != "deploy <1>" || d.URL != "https://x/1" || !d.DateStarted.Equal(at.Add(3*time.Hour)) || !deps[2].DateStarted.IsZero() {
		t.Errorf("ListDeploys = %+v", deps)
	}

	// Commits replace each other; a message is cut, not refused.
	long := strings.Repeat("é", MaxCommitMessageBytes)
	commits := []Commit{
		{ID: "b2", Repository: "origin", Message: long, AuthorName: "Bob", AuthorEmail: "bob@example.com", Timestamp: at},
		{ID: "a1", Repository: "owner/repo"},
	}
	wantErr(t, "SetReleaseCommits by an outsider", db.SetReleaseCommits(ctx, outsider, p, "1.0", commits), ErrNotFound)
	if err := db.SetReleaseCommits(ctx, mv, p, "1.0", []Commit{{ID: "old"}}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetReleaseCommits(ctx, mv, p, "1.0", commits); err != nil {
		t.Fatal(err)
	}
	cs, err := db.ListReleaseCommits(ctx, mv, p, "1.0")
	if err != nil || len(cs) != 2 || cs[0].ID != "b2" || cs[1].ID != "a1" || cs[0].AuthorName != "Bob" || !cs[0].Timestamp.Equal(at) || !cs[1].Timestamp.IsZero() {
		t.Fatalf("ListReleaseCommits = %+v, %v", cs, err)
	}
	if n := len(cs[0].Message); n > MaxCommitMessageBytes || n < MaxCommitMessageBytes-1 || !strings.HasPrefix(long, cs[0].Message) {
		t.Errorf("a long message kept %d bytes, want %d cut at a character", n, MaxCommitMessageBytes)
	}
	_, err = db.ListReleaseCommits(ctx, outsider, p, "1.0")
	wantErr(t, "ListReleaseCommits by an outsider", err, ErrNotFound)
	for _, tt := range []struct {
		name    string
		commits []Commit
	}{
		{"too many", make([]Commit, MaxReleaseCommits+1)},
		{"no ID", []Commit{{Repository: "r"}}},
		{"long ID", []Commit{{ID: strings.Repeat("a", 65)}}},
		{"long author", []Commit{{ID: "a", AuthorName: strings.Repeat("n", MaxTagLength+1)}}},
		{"escape sequence in author", []Commit{{ID: "a", AuthorName: "eve\x1b]8;;http://evil/\x1b\\"}}},
	} {
		wantErr(t, "SetReleaseCommits "+tt.name, db.SetReleaseCommits(ctx, mv, p, "1.0", tt.commits), ErrInvalid)
	}

	// The previous release with commits is where set-commits --local of
	// the next one starts.
	if _, err := db.CreateRelease(ctx, mv, p, "3.0", at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if prev, c, err := db.PreviousCommit(ctx, mv, p, "3.0"); err != nil || prev.Version != "1.0" || c.ID != "b2" {
		t.Errorf("PreviousCommit(3.0) = %+v, %+v, %v; want 1.0's newest commit b2", prev, c, err)
	}
	_, _, err = db.PreviousCommit(ctx, mv, p, "1.0")
	wantErr(t, "PreviousCommit of the first release", err, ErrNotFound)
	_, _, err = db.PreviousCommit(ctx, outsider, p, "3.0")
	wantErr(t, "PreviousCommit by an outsider", err, ErrNotFound)

	rs, err := db.ListReleases(ctx, mv, p)
	if err != nil {
		t.Fatal(err)
	}
	byVersion := map[string]Release{}
	for _, r := range rs {
		byVersion[r.Version] = r
	}
	r1, r2 := byVersion["1.0"], byVersion["2.0"]
	if r1.NewIssues != 2 || r1.CommitCount != 2 || r1.DeployCount != 3 || r1.LastDeploy == nil || r1.LastDeploy.Environment != "dev" ||
		!r1.DateReleased.Equal(released) {
		t.Errorf("ListReleases 1.0 = %+v", r1)
	}
	if r2.NewIssues != 0 || r2.LastEvent.IsZero() || !r2.FirstEvent.IsZero() || r2.DeployCount != 0 || r2.LastDeploy != nil {
		t.Errorf("ListReleases 2.0 = %+v; want no new issue, a last event", r2)
	}
	if rs, err := db.ListReleases(ctx, outsider, p); err != nil || len(rs) != 0 {
		t.Errorf("ListReleases(outsider) = %+v, %v", rs, err)
	}

	// Clearing commits; deleting the release takes its deploys and commits.
	if err := db.SetReleaseCommits(ctx, mv, p, "1.0", nil); err != nil {
		t.Fatal(err)
	}
	if r, _ := db.GetRelease(ctx, mv, p, "1.0"); r.CommitCount != 0 {
		t.Errorf("after clearing, CommitCount = %d", r.CommitCount)
	}
	if err := db.SetReleaseCommits(ctx, mv, p, "1.0", commits); err != nil {
		t.Fatal(err)
	}
	// Issues a and b refer to 1.0 (testReleaseInUse has the rules); once
	// they are gone, it goes.
	wantErr(t, "DeleteReleases of a release issues refer to", db.DeleteReleases(ctx, mv, []int64{p}, "1.0"), ErrReleaseInUse)
	for _, id := range e.listAll(System, IssueFilter{ProjectID: p}) {
		if err := db.DeleteIssue(ctx, System, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.DeleteReleases(ctx, mv, []int64{p}, "1.0"); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT COUNT(*) FROM release_deploys`) + e.count(`SELECT COUNT(*) FROM release_commits`); n != 0 {
		t.Errorf("after DeleteReleases: %d deploys and commits left", n)
	}
}

// Past MaxDeploysPerRelease, the deploy that finished first goes.
func testDeployBound(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	p := e.project.ID
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	if _, err := db.CreateRelease(ctx, System, p, "1.0", at); err != nil {
		t.Fatal(err)
	}
	for i := range MaxDeploysPerRelease + 1 {
		d := Deploy{ProjectID: p, Version: "1.0", Environment: "p", DateFinished: at.Add(time.Duration(i) * time.Minute)}
		if _, err := db.CreateDeploy(ctx, System, d, at.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	deps, err := db.ListDeploys(ctx, System, p, "1.0")
	if err != nil || len(deps) != MaxDeploysPerRelease || !deps[len(deps)-1].DateFinished.Equal(at.Add(time.Minute)) {
		t.Errorf("ListDeploys = %d deploys, %v; want %d, the first finished dropped", len(deps), err, MaxDeploysPerRelease)
	}
}

// Repositories are per project, for its members; adding one again
// changes nothing.
func testRepositories(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	p := e.project.ID
	member := e.createUser("m@example.com", RoleMember)
	e.addMember(e.project, member)
	mv := Viewer{UserID: member.ID}
	outsider := Viewer{UserID: e.createUser("o@example.com", RoleMember).ID}
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)

	r, err := db.AddRepository(ctx, mv, p, "owner/repo", at)
	if err != nil || r.Name != "owner/repo" || !r.CreatedAt.Equal(at) {
		t.Fatalf("AddRepository = %+v, %v", r, err)
	}
	if r, err := db.AddRepository(ctx, mv, p, "owner/repo", at.Add(time.Hour)); err != nil || !r.CreatedAt.Equal(at) {
		t.Errorf("AddRepository again = %+v, %v; want the first unchanged", r, err)
	}
	_, err = db.AddRepository(ctx, outsider, p, "x/y", at)
	wantErr(t, "AddRepository by an outsider", err, ErrNotFound)
	_, err = db.AddRepository(ctx, mv, p, "", at)
	wantErr(t, "AddRepository empty", err, ErrInvalid)
	if rs, err := db.ListRepositories(ctx, outsider, p); err != nil || len(rs) != 0 {
		t.Errorf("ListRepositories(outsider) = %+v, %v", rs, err)
	}
	for i := range MaxRepositories - 1 {
		if _, err := db.AddRepository(ctx, mv, p, "r"+strings.Repeat("x", i), at); err != nil {
			t.Fatal(err)
		}
	}
	_, err = db.AddRepository(ctx, mv, p, "one/more", at)
	wantErr(t, "AddRepository past the limit", err, ErrInvalid)
	if rs, err := db.ListRepositories(ctx, mv, p); err != nil || len(rs) != MaxRepositories || rs[0].Name != "owner/repo" {
		t.Errorf("ListRepositories = %d, %v", len(rs), err)
	}
}

// testReleasesListedNewest: any SDK with the public key can name a
// release, so a list holds the newest MaxReleasesListed only.
func testReleasesListedNewest(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	p := e.project.ID
	// One statement: MaxReleasesListed + 1 releases a second apart.
	if _, err := db.db.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i <= $2)
		INSERT INTO releases (project_id, version, first_seen) SELECT $1, 'flood-' || i, CAST($3 AS BIGINT) + i * 1000 FROM n`,
		p, MaxReleasesListed, millis(t0)); err != nil {
		t.Fatal(err)
	}
	rs, err := db.ListReleases(ctx, System, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != MaxReleasesListed || rs[0].Version != fmt.Sprintf("flood-%d", MaxReleasesListed+1) || rs[len(rs)-1].Version != "flood-2" {
		t.Errorf("listed %d releases, %s to %s; want %d, the newest first, the oldest left out", len(rs), rs[0].Version, rs[len(rs)-1].Version, MaxReleasesListed)
	}
}
