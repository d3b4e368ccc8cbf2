package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/inbound"
)

// This file holds the contract tests of sessions, user, project, member and
// token administration, stats and bulk changes; runContract lists them.

func testSessions(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	u := e.createUser("s@example.com", RoleMember)
	other := e.createUser("o@example.com", RoleMember)
	before := time.Now().Add(-time.Second)
	token, s, err := db.CreateSession(ctx, u.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(token) {
		t.Errorf("token %q: want 32 random bytes as hex", token)
	}
	if s.ID == 0 || s.UserID != u.ID || s.CreatedAt.Before(before) || s.CreatedAt.After(time.Now()) ||
		!s.ExpiresAt.Equal(s.CreatedAt.Add(time.Hour)) {
		t.Errorf("CreateSession = %+v", s)
	}
	sum := sha256.Sum256([]byte(token))
	if n := e.count(`SELECT COUNT(*) FROM sessions WHERE token_hash = $1`, hex.EncodeToString(sum[:])); n != 1 {
		t.Errorf("rows with the token's SHA-256 = %d, want 1", n)
	}
	if n := e.count(`SELECT COUNT(*) FROM sessions WHERE token_hash = $1`, token); n != 0 {
		t.Error("the token itself is stored")
	}

	lookups := []struct {
		name  string
		token string
		now   time.Time
		ok    bool
	}{
		{"at creation", token, s.CreatedAt, true},
		{"just before expiry", token, s.ExpiresAt.Add(-time.Millisecond), true},
		{"at expiry", token, s.ExpiresAt, false},
		{"after expiry", token, s.ExpiresAt.Add(time.Hour), false},
		{"unknown token", strings.Repeat("0", 64), s.CreatedAt, false},
		{"empty token", "", s.CreatedAt, false},
		{"token in upper case", strings.ToUpper(token), s.CreatedAt, false},
	}
	for _, l := range lookups {
		gotU, gotS, err := db.SessionUser(ctx, l.token, l.now)
		switch {
		case l.ok && (err != nil || !reflect.DeepEqual(gotU, u) || gotS != s):
			t.Errorf("SessionUser %s = %+v, %+v, %v; want %+v, %+v", l.name, gotU, gotS, err, u, s)
		case !l.ok:
			wantErr(t, "SessionUser "+l.name, err, ErrNotFound)
		}
	}
	_, _, err = db.CreateSession(ctx, u.ID, 0)
	wantErr(t, "CreateSession without a ttl", err, ErrInvalid)
	_, _, err = db.CreateSession(ctx, other.ID+100, time.Hour)
	wantErr(t, "CreateSession of a missing user", err, ErrNotFound)

	// Signing out everywhere but here, then here.
	second, _, _ := db.CreateSession(ctx, u.ID, time.Hour)
	third, _, _ := db.CreateSession(ctx, u.ID, time.Hour)
	others, _, _ := db.CreateSession(ctx, other.ID, time.Hour)
	if second == token || third == token {
		t.Fatal("two session tokens are equal")
	}
	if err := db.DeleteUserSessions(ctx, u.ID, second); err != nil {
		t.Fatal(err)
	}
	valid := func(tok string) bool {
		_, _, err := db.SessionUser(ctx, tok, time.Now())
		return err == nil
	}
	for tok, want := range map[string]bool{token: false, second: true, third: false, others: true} {
		if valid(tok) != want {
			t.Errorf("after DeleteUserSessions except the second: session %.8s valid = %v, want %v", tok, !want, want)
		}
	}
	if err := db.DeleteUserSessions(ctx, other.ID, ""); err != nil || valid(others) {
		t.Errorf("DeleteUserSessions without exception: %v, session still valid: %v", err, valid(others))
	}
	if err := db.DeleteSession(ctx, second); err != nil || valid(second) {
		t.Errorf("DeleteSession: %v, session still valid: %v", err, valid(second))
	}
	if err := db.DeleteSession(ctx, second); err != nil {
		t.Errorf("DeleteSession of a session already gone: %v", err)
	}

	// Pruning removes expired rows only.
	_, short, _ := db.CreateSession(ctx, u.ID, time.Minute)
	_, long, _ := db.CreateSession(ctx, u.ID, 2*time.Hour)
	total := e.count(`SELECT COUNT(*) FROM sessions`)
	steps := []struct {
		now     time.Time
		deleted int64
	}{
		{short.ExpiresAt.Add(-time.Millisecond), 0},
		{short.ExpiresAt, 1},
		{short.ExpiresAt, 0},
		{long.ExpiresAt, 1},
	}
	for _, s := range steps {
		n, err := db.PruneSessions(ctx, s.now)
		if err != nil || n != s.deleted {
			t.Errorf("PruneSessions(%v) = %d, %v; want %d", s.now, n, err, s.deleted)
		}
	}
	if n := e.count(`SELECT COUNT(*) FROM sessions`); n != total-2 {
		t.Errorf("%d sessions left, want %d", n, total-2)
	}
}

func testUserAdmin(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	admin := e.createUser("admin@example.com", RoleAdmin)
	member := e.createUser("member@example.com", RoleMember)
	av, mv := Viewer{UserID: admin.ID, Admin: true}, Viewer{UserID: member.ID}

	users, err := db.ListUsers(ctx, av)
	if want := []User{admin, member}; err != nil || !reflect.DeepEqual(users, want) {
		t.Errorf("ListUsers = %+v, %v; want %+v", users, err, want)
	}
	_, err = db.ListUsers(ctx, mv)
	wantErr(t, "ListUsers as member", err, ErrForbidden)

	// Each step's roles are those after it.
	steps := []struct {
		name   string
		v      Viewer
		user   int64
		role   string
		err    error
		admin  string
		member string
	}{
		{"member promotes self", mv, member.ID, RoleAdmin, ErrForbidden, RoleAdmin, RoleMember},
		{"bad role", av, member.ID, "owner", ErrInvalid, RoleAdmin, RoleMember},
		{"missing user", av, member.ID + 100, RoleMember, ErrNotFound, RoleAdmin, RoleMember},
		{"last admin demotes self", av, admin.ID, RoleMember, ErrInvalid, RoleAdmin, RoleMember},
		{"admin promotes member", av, member.ID, RoleAdmin, nil, RoleAdmin, RoleAdmin},
		{"promote again", av, member.ID, RoleAdmin, nil, RoleAdmin, RoleAdmin},
		{"one of two admins steps down", av, admin.ID, RoleMember, nil, RoleMember, RoleAdmin},
		{"system demotes the last admin", System, member.ID, RoleMember, ErrInvalid, RoleMember, RoleAdmin},
	}
	for _, s := range steps {
		got, err := db.SetUserRole(ctx, s.v, s.user, s.role)
		if !errors.Is(err, s.err) {
			t.Errorf("%s: err = %v, want %v", s.name, err, s.err)
		}
		if err == nil && (got.ID != s.user || got.Role != s.role || got.Email == "" || got.CreatedAt.IsZero()) {
			t.Errorf("%s: SetUserRole = %+v", s.name, got)
		}
		for id, want := range map[int64]string{admin.ID: s.admin, member.ID: s.member} {
			if u, _ := db.UserByID(ctx, id); u.Role != want {
				t.Errorf("%s: user %d is %s, want %s", s.name, id, u.Role, want)
			}
		}
	}

	if err := db.SetPassword(ctx, member.ID, "argon2id$new"); err != nil {
		t.Fatal(err)
	}
	if u, _ := db.UserByID(ctx, member.ID); u.PasswordHash != "argon2id$new" {
		t.Errorf("hash after SetPassword = %q", u.PasswordHash)
	}
	if u, _ := db.UserByID(ctx, admin.ID); u.PasswordHash != admin.PasswordHash {
		t.Error("SetPassword changed another user's hash")
	}
	wantErr(t, "SetPassword of a missing user", db.SetPassword(ctx, member.ID+100, "h"), ErrNotFound)
	wantErr(t, "SetPassword to an empty hash", db.SetPassword(ctx, member.ID, ""), ErrInvalid)
}

// tableColumns maps every table of the database to its columns.
func tableColumns(t *testing.T, db *DB) map[string][]string {
	t.Helper()
	tables := make(map[string][]string)
	for _, tc := range columns(t, db) {
		table, col, _ := strings.Cut(tc, ".")
		tables[table] = append(tables[table], col)
	}
	return tables
}

func testDeleteUser(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	admin := e.createUser("admin@example.com", RoleAdmin)
	admin2 := e.createUser("admin2@example.com", RoleAdmin)
	member := e.createUser("member@example.com", RoleMember)
	other := e.createProject("other")
	e.addMember(e.project, member)
	e.addMember(other, member)
	e.addMember(e.project, admin)
	memberToken, _, _ := db.CreateAPIToken(ctx, member.ID, "cli")
	memberSession, _, _ := db.CreateSession(ctx, member.ID, time.Hour)
	adminToken, _, _ := db.CreateAPIToken(ctx, admin.ID, "cli")
	if err := db.RecordChunkUploads(ctx, member.ID, []string{"c1"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	av := Viewer{UserID: admin.ID, Admin: true}

	steps := []struct {
		name string
		v    Viewer
		user int64
		err  error
	}{
		{"member deletes an admin", Viewer{UserID: member.ID}, admin2.ID, ErrForbidden},
		{"admin deletes self", av, admin.ID, ErrInvalid},
		{"missing user", av, member.ID + 100, ErrNotFound},
		{"admin deletes member", av, member.ID, nil},
		{"member again", av, member.ID, ErrNotFound},
		{"system deletes one of two admins", System, admin2.ID, nil},
		{"system deletes the last admin", System, admin.ID, ErrInvalid},
	}
	for _, s := range steps {
		wantErr(t, s.name, db.DeleteUser(ctx, s.v, s.user), s.err)
	}
	if _, err := db.UserByID(ctx, admin.ID); err != nil {
		t.Errorf("the last admin is gone: %v", err)
	}
	for table, cols := range tableColumns(t, db) {
		if slices.Contains(cols, "user_id") {
			if n := e.count(`SELECT COUNT(*) FROM `+table+` WHERE user_id IN ($1, $2)`, member.ID, admin2.ID); n != 0 {
				t.Errorf("%s keeps %d rows of deleted users", table, n)
			}
		}
	}
	if n := e.count(`SELECT COUNT(*) FROM project_members WHERE user_id = $1`, admin.ID); n != 1 {
		t.Errorf("the remaining admin has %d memberships, want 1", n)
	}
	_, err := db.UserByAPIToken(ctx, memberToken)
	wantErr(t, "API token of a deleted user", err, ErrNotFound)
	_, _, err = db.SessionUser(ctx, memberSession, time.Now())
	wantErr(t, "session of a deleted user", err, ErrNotFound)
	if _, err := db.UserByAPIToken(ctx, adminToken); err != nil {
		t.Errorf("the remaining admin's token: %v", err)
	}
	if _, err := db.CreateUser(ctx, "member@example.com", "h", RoleMember); err != nil {
		t.Errorf("the email of a deleted user is not free again: %v", err)
	}
}

// testConcurrentLastAdmin has two admins demote, or delete, each other at
// once: one of each pair must fail, or nobody would be admin.
func testConcurrentLastAdmin(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	for round := range 10 {
		a := e.createUser(fmt.Sprintf("a%d@example.com", round), RoleAdmin)
		b := e.createUser(fmt.Sprintf("b%d@example.com", round), RoleAdmin)
		// The survivors of earlier rounds step down: a and b are the only
		// admins.
		if _, err := db.SQL().ExecContext(ctx, `UPDATE users SET role = $1 WHERE id NOT IN ($2, $3)`, RoleMember, a.ID, b.ID); err != nil {
			t.Fatal(err)
		}
		av, bv := Viewer{UserID: a.ID, Admin: true}, Viewer{UserID: b.ID, Admin: true}
		ops := []struct {
			name string
			fns  [2]func() error
		}{
			{"SetUserRole", [2]func() error{
				func() error { _, err := db.SetUserRole(ctx, av, b.ID, RoleMember); return err },
				func() error { _, err := db.SetUserRole(ctx, bv, a.ID, RoleMember); return err },
			}},
			{"DeleteUser", [2]func() error{
				func() error { return db.DeleteUser(ctx, av, b.ID) },
				func() error { return db.DeleteUser(ctx, bv, a.ID) },
			}},
		}
		op := ops[round%len(ops)]
		var (
			wg   sync.WaitGroup
			errs [2]error
		)
		for i, f := range op.fns {
			wg.Go(func() { errs[i] = f() })
		}
		wg.Wait()
		failed := 0
		for _, err := range errs {
			if err != nil {
				failed++
				wantErr(t, op.name+" racing the other admin", err, ErrInvalid)
			}
		}
		if failed != 1 {
			t.Errorf("round %d: %s both ways: %d failed, want exactly 1 (%v)", round, op.name, failed, errs)
		}
		if n := e.count(`SELECT COUNT(*) FROM users WHERE role = $1`, RoleAdmin); n != 1 {
			t.Errorf("round %d: %d admins left, want 1", round, n)
		}
	}
}

// projectState describes everything an admin operation could change, so a
// refused call can be shown to have changed nothing.
func (e *env) projectState(id int64) string {
	e.t.Helper()
	var b strings.Builder
	p, err := e.db.GetProject(e.ctx, System, id)
	fmt.Fprintf(&b, "project %+v %v\n", p, err)
	keys, _ := e.db.ProjectKeys(e.ctx, System, id)
	members, _ := e.db.ListMembers(e.ctx, System, id)
	issues, _, _ := e.db.ListIssues(e.ctx, System, IssueFilter{ProjectID: id, Limit: MaxLimit})
	privacy, _ := e.db.ProjectPrivacy(e.ctx, System, id)
	rate, _ := e.db.ProjectRateLimit(e.ctx, System, id)
	fmt.Fprintf(&b, "keys %+v\nmembers %+v\nissues %+v\nprivacy %+v\nrate limit %d\n", keys, members, issues, privacy, rate)
	return b.String()
}

// testProjectAuthorization checks the project methods that take a viewer,
// for members, non-members and admins: admin-only ones are ErrForbidden to
// a member and ErrNotFound to a non-member, and then change nothing.
func testProjectAuthorization(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	member := e.createUser("member@example.com", RoleMember)
	outsider := e.createUser("outsider@example.com", RoleMember)
	newcomer := e.createUser("newcomer@example.com", RoleMember)
	lead := e.createUser("lead@example.com", RoleMember)
	e.addMember(e.project, outsider)

	type fixture struct {
		p     Project
		issue int64
		event string
	}
	// Who may run an operation.
	const (
		members  = iota // the project's members
		managers        // the project's admins and admin users
		admins          // admin users
	)
	ops := []struct {
		name string
		need int
		do   func(v Viewer, f fixture) error
	}{
		{"RenameProject", managers, func(v Viewer, f fixture) error {
			_, err := db.RenameProject(ctx, v, f.p.ID, f.p.Name+" renamed")
			return err
		}},
		{"DeleteProject", admins, func(v Viewer, f fixture) error { return db.DeleteProject(ctx, v, f.p.ID) }},
		{"ManagesProject", managers, func(v Viewer, f fixture) error { return db.ManagesProject(ctx, v, f.p.ID) }},
		{"AddProjectMember", managers, func(v Viewer, f fixture) error {
			return db.AddProjectMember(ctx, v, f.p.ID, newcomer.ID, RoleMember)
		}},
		{"RemoveMember", managers, func(v Viewer, f fixture) error { return db.RemoveMember(ctx, v, f.p.ID, member.ID) }},
		{"RotateProjectKey", managers, func(v Viewer, f fixture) error { _, err := db.RotateProjectKey(ctx, v, f.p.ID); return err }},
		{"SetProjectPrivacy", managers, func(v Viewer, f fixture) error {
			_, err := db.SetProjectPrivacy(ctx, v, f.p.ID, PrivacySettings{})
			return err
		}},
		{"SetProjectRateLimit", admins, func(v Viewer, f fixture) error { return db.SetProjectRateLimit(ctx, v, f.p.ID, 10) }},
		{"CreateAlertChannel", managers, func(v Viewer, f fixture) error {
			_, err := db.CreateAlertChannel(ctx, v, AlertChannel{ProjectID: f.p.ID, Kind: "email", Name: "team"})
			return err
		}},
		{"SetAlertCooldown", managers, func(v Viewer, f fixture) error { return db.SetAlertCooldown(ctx, v, f.p.ID, time.Hour) }},
		{"SetIssueMuted", managers, func(v Viewer, f fixture) error { return db.SetIssueMuted(ctx, v, f.issue, true) }},
		{"ListMembers", members, func(v Viewer, f fixture) error { _, err := db.ListMembers(ctx, v, f.p.ID); return err }},
		{"ProjectPrivacy", members, func(v Viewer, f fixture) error { _, err := db.ProjectPrivacy(ctx, v, f.p.ID); return err }},
		{"ProjectRateLimit", members, func(v Viewer, f fixture) error { _, err := db.ProjectRateLimit(ctx, v, f.p.ID); return err }},
		{"ProjectHourlyCounts", members, func(v Viewer, f fixture) error {
			_, err := db.ProjectHourlyCounts(ctx, v, f.p.ID, t0)
			return err
		}},
		{"BulkUpdateStatus", members, func(v Viewer, f fixture) error {
			_, err := db.BulkUpdateStatus(ctx, v, f.p.ID, []int64{f.issue}, StatusIgnored)
			return err
		}},
		{"AdjacentEvents", members, func(v Viewer, f fixture) error {
			_, err := db.AdjacentEvents(ctx, v, f.issue, f.event, "")
			return err
		}},
		{"ProjectStats", members, func(v Viewer, f fixture) error {
			stats, err := db.ProjectStats(ctx, v, t0)
			if err == nil && !slices.ContainsFunc(stats, func(s ProjectStat) bool { return s.ID == f.p.ID }) {
				return ErrNotFound
			}
			return err
		}},
	}
	viewers := []struct {
		name string
		v    Viewer
		want [3]error // by need: members, managers, admins
	}{
		{"member", Viewer{UserID: member.ID}, [3]error{nil, ErrForbidden, ErrForbidden}},
		// lead is an admin of every fixture project, but no admin user.
		{"project's admin", Viewer{UserID: lead.ID}, [3]error{nil, nil, ErrForbidden}},
		{"outsider", Viewer{UserID: outsider.ID}, [3]error{ErrNotFound, ErrNotFound, ErrNotFound}},
		{"nobody", Viewer{}, [3]error{ErrNotFound, ErrNotFound, ErrNotFound}},
		{"admin", Viewer{UserID: outsider.ID, Admin: true}, [3]error{nil, nil, nil}},
	}
	n := 0
	for _, op := range ops {
		for _, vw := range viewers {
			// A fresh project per call: the admin's calls succeed and
			// may delete it.
			n++
			f := fixture{p: e.createProject(fmt.Sprintf("authz-%d", n)), event: newEventID()}
			e.addMember(f.p, member)
			if err := db.AddMember(ctx, f.p.ID, lead.ID, RoleAdmin); err != nil {
				t.Fatal(err)
			}
			if _, err := db.CreateProjectKey(ctx, f.p.ID); err != nil {
				t.Fatal(err)
			}
			f.issue = e.saveIn(f.p.ID, "fp", withID(f.event)).IssueID
			want := vw.want[op.need]
			before := e.projectState(f.p.ID)
			err := op.do(vw.v, f)
			if !errors.Is(err, want) {
				t.Errorf("%s as %s: err = %v, want %v", op.name, vw.name, err, want)
			}
			if after := e.projectState(f.p.ID); err != nil && after != before {
				t.Errorf("%s as %s failed but changed the project:\n%s\nto\n%s", op.name, vw.name, before, after)
			}
		}
	}
	// Admins get ErrNotFound for what does not exist.
	missing := e.createProject("missing")
	if err := db.DeleteProject(ctx, System, missing.ID); err != nil {
		t.Fatal(err)
	}
	for _, op := range ops {
		if op.name == "ProjectStats" {
			continue
		}
		err := op.do(System, fixture{p: missing, issue: 1 << 40, event: "none"})
		wantErr(t, op.name+" of a missing project", err, ErrNotFound)
	}
}

func testRenameProject(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	other := e.createProject("other")
	e.createProject("Web Shop EU")
	steps := []struct {
		name, to string
		err      error
		want     string
	}{
		{"rename", "  web shop ", nil, "web shop"},
		{"same name", "web shop", nil, "web shop"},
		{"its own name in another case", "Web Shop", nil, "Web Shop"},
		{"taken", "other", ErrConflict, "Web Shop"},
		// Names resolve by case and by slug too (projectref): a project
		// named so would take the other's uploads.
		{"another's name in another case", "OTHER", ErrConflict, "Web Shop"},
		{"another's slug", "web-shop-eu", ErrConflict, "Web Shop"},
		{"another's slug, spelt otherwise", "web_shop.eu", ErrConflict, "Web Shop"},
		{"a slug of no letters is no match", "日本", nil, "日本"},
		{"back", "web shop", nil, "web shop"},
		{"empty", " ", ErrInvalid, "web shop"},
		{"the old name is free", "main", nil, "main"},
	}
	for _, s := range steps {
		got, err := db.RenameProject(ctx, System, e.project.ID, s.to)
		if !errors.Is(err, s.err) {
			t.Errorf("%s: err = %v, want %v", s.name, err, s.err)
		}
		if err == nil && (got.ID != e.project.ID || got.Name != s.want || !got.CreatedAt.Equal(e.project.CreatedAt)) {
			t.Errorf("%s: RenameProject = %+v", s.name, got)
		}
		if p, _ := db.GetProject(ctx, System, e.project.ID); p.Name != s.want {
			t.Errorf("%s: name %q, want %q", s.name, p.Name, s.want)
		}
	}
	if p, _ := db.GetProject(ctx, System, other.ID); p != other {
		t.Errorf("the other project changed: %+v", p)
	}
	if _, err := db.CreateProject(ctx, "web shop"); err != nil {
		t.Errorf("a name given up by renaming is not free: %v", err)
	}
}

// populate gives a project rows in every table that can hold its data.
func (e *env) populate(p Project, member User) []int64 {
	e.t.Helper()
	var issues []int64
	for i, fp := range []string{"a", "b"} {
		issues = append(issues, e.saveIn(p.ID, fp, withRelease(fmt.Sprintf("%s@%d", p.Name, i)), withUser("u"),
			withTags("k", "v"), withAt(t0.Add(time.Duration(i)*time.Hour))).IssueID)
	}
	e.saveIn(p.ID, "a", withUser("u2"), withEnv("production"))
	// An issue merged into another.
	gone := e.saveIn(p.ID, "merged", withUser("u3")).IssueID
	if _, err := e.db.MergeIssues(e.ctx, System, p.ID, []int64{gone}, issues[0]); err != nil {
		e.t.Fatal(err)
	}
	// An alert: a notification and the issue's alert state, and an event
	// in its cooldown, which its digest owes.
	issues = append(issues, e.saveAlerting(t0, request(p.ID, "alerting"))[0].IssueID)
	e.saveAlerting(t0.Add(time.Minute), request(p.ID, "alerting"))
	if err := e.db.ReplaceSNSSubscriptions(e.ctx, p.ID, []SNSSubscription{{Email: member.Email, Status: SubscriptionPending}}, t0); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.db.CreateProjectKey(e.ctx, p.ID); err != nil {
		e.t.Fatal(err)
	}
	e.addMember(p, member)
	// The member unsubscribed from the project's email channel.
	chans, err := e.db.ListAlertChannels(e.ctx, System, p.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.db.UnsubscribeChannel(e.ctx, chans[0].ID, member.ID); err != nil {
		e.t.Fatal(err)
	}
	// One bundle without a release, one for a release events named.
	e.saveBundle(p.ID, "debug-ids", "", "", ArtifactFile{Kind: ArtifactSourceMap, URL: "~/a.js.map", DebugID: "0b9e1a52-3a0b-4ad5-9b0e-6b3c5a0b2c11", Blob: "b-" + p.Name})
	e.saveBundle(p.ID, "release", p.Name+"@0", "", ArtifactFile{Kind: ArtifactSourceMap, URL: "~/a.js.map", Blob: "b-" + p.Name})
	// A deploy and a commit of that release, and a repository.
	if _, err := e.db.CreateDeploy(e.ctx, System, Deploy{ProjectID: p.ID, Version: p.Name + "@0", Environment: "production"}, t0); err != nil {
		e.t.Fatal(err)
	}
	if err := e.db.SetReleaseCommits(e.ctx, System, p.ID, p.Name+"@0", []Commit{{ID: "abc", Repository: "owner/repo"}}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.db.AddRepository(e.ctx, System, p.ID, "owner/repo", t0); err != nil {
		e.t.Fatal(err)
	}
	// User feedback, about an event and about nothing.
	e.saveFeedback(feedbackReq(p.ID, newEventID(), "", "about nothing", t0), feedbackReq(p.ID, newEventID(), newEventID(), "about an event", t0))
	// A crashed session of a user, for release health.
	if _, err := e.db.SaveSessions(e.ctx, []SessionsRequest{sessionsReq(p.ID, newEventID(),
		[]event.SessionUpdate{update("s1", "u1", event.SessionCrashed, true, true)})}); err != nil {
		e.t.Fatal(err)
	}
	// A cron monitor and its check-in, and a check-in held for a monitor
	// not made yet.
	e.saveCheckIns(checkIn(p.ID, "nightly", 1, event.CheckInOK, t0, hourly()), checkIn(p.ID, "weekly", 2, event.CheckInOK, t0, nil))
	// An event an inbound filter dropped.
	if err := e.db.CountFiltered(e.ctx, []Filtered{{p.ID, newEventID(), inbound.ReasonWebCrawlers, t0}}); err != nil {
		e.t.Fatal(err)
	}
	return issues
}

func testDeleteProject(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	shared := e.createUser("shared@example.com", RoleMember)
	doomed, keep := e.project, e.createProject("keep")
	doomedIssues := e.populate(doomed, shared)
	keepIssues := e.populate(keep, shared)
	token, _, _ := db.CreateAPIToken(ctx, shared.ID, "t")
	if _, _, err := db.CreateSession(ctx, shared.ID, time.Hour); err != nil {
		t.Fatal(err)
	}

	// Every table is counted: a table with project data (a project_id or
	// issue_id column) by the rows of one project, any other one whole.
	tables := tableColumns(t, db)
	projectData := func(table string) bool {
		return table == "projects" || slices.Contains(tables[table], "project_id") || slices.Contains(tables[table], "issue_id")
	}
	rows := func(p Project, issues []int64) map[string]int64 {
		var ids []string
		for _, id := range issues {
			ids = append(ids, strconv.FormatInt(id, 10))
		}
		counts := make(map[string]int64)
		for table, cols := range tables {
			switch {
			case table == "projects":
				counts[table] = e.count(`SELECT COUNT(*) FROM projects WHERE id = $1`, p.ID)
			case slices.Contains(cols, "project_id"):
				counts[table] = e.count(`SELECT COUNT(*) FROM `+table+` WHERE project_id = $1`, p.ID)
			case slices.Contains(cols, "issue_id"):
				counts[table] = e.count(`SELECT COUNT(*) FROM ` + table + ` WHERE issue_id IN (` + strings.Join(ids, ", ") + `)`)
			default:
				counts[table] = e.count(`SELECT COUNT(*) FROM ` + table)
			}
		}
		return counts
	}
	doomedBefore, keepBefore := rows(doomed, doomedIssues), rows(keep, keepIssues)
	for table, n := range doomedBefore {
		if projectData(table) && n == 0 {
			t.Errorf("setup: the project has no rows in %s, so their deletion is not tested", table)
		}
	}
	if err := db.DeleteProject(ctx, System, doomed.ID); err != nil {
		t.Fatal(err)
	}
	for table, n := range rows(doomed, doomedIssues) {
		switch {
		case projectData(table) && n != 0:
			t.Errorf("%s keeps %d rows of the deleted project", table, n)
		case !projectData(table) && n != doomedBefore[table]:
			t.Errorf("%s went from %d to %d rows; it holds no project data", table, doomedBefore[table], n)
		}
	}
	if keepAfter := rows(keep, keepIssues); !reflect.DeepEqual(keepAfter, keepBefore) {
		t.Errorf("the other project's rows changed:\n%v\nto\n%v", keepBefore, keepAfter)
	}
	_, err := db.GetProject(ctx, System, doomed.ID)
	wantErr(t, "GetProject after delete", err, ErrNotFound)
	wantErr(t, "second delete", db.DeleteProject(ctx, System, doomed.ID), ErrNotFound)
	if u, err := db.UserByAPIToken(ctx, token); err != nil || u.ID != shared.ID {
		t.Errorf("a member's token after deleting the project: %v", err)
	}
	if _, err := db.CreateProject(ctx, doomed.Name); err != nil {
		t.Errorf("the name of a deleted project is not free: %v", err)
	}
	_, err = db.SaveEvent(ctx, request(doomed.ID, "late"))
	wantErr(t, "an event arriving for the deleted project", err, ErrNotFound)
}

func testMembers(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	bob := e.createUser("Bob@example.com", RoleMember)
	alice := e.createUser("alice@example.com", RoleMember)
	other := e.createProject("other")
	e.addMember(other, alice)
	av := Viewer{UserID: alice.ID, Admin: true}
	for _, m := range []struct {
		u    User
		role string
	}{{bob, RoleMember}, {alice, RoleMember}, {alice, RoleAdmin}} {
		if err := db.AddProjectMember(ctx, av, e.project.ID, m.u.ID, m.role); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.ListMembers(ctx, Viewer{UserID: bob.ID}, e.project.ID)
	if err != nil || len(got) != 2 {
		t.Fatalf("ListMembers = %+v, %v", got, err)
	}
	// By email, ignoring case; the second add changed alice's role.
	for i, want := range []Member{
		{ProjectID: e.project.ID, UserID: alice.ID, Email: alice.Email, Role: RoleAdmin},
		{ProjectID: e.project.ID, UserID: bob.ID, Email: bob.Email, Role: RoleMember},
	} {
		if want.CreatedAt = got[i].CreatedAt; got[i] != want || got[i].CreatedAt.IsZero() {
			t.Errorf("member %d = %+v, want %+v", i, got[i], want)
		}
	}
	wantErr(t, "AddProjectMember with a bad role", db.AddProjectMember(ctx, av, e.project.ID, bob.ID, "boss"), ErrInvalid)
	wantErr(t, "AddProjectMember of a missing user", db.AddProjectMember(ctx, av, e.project.ID, bob.ID+100, RoleMember), ErrNotFound)
	wantErr(t, "RemoveMember of a non-member", db.RemoveMember(ctx, av, other.ID, bob.ID), ErrNotFound)
	if err := db.RemoveMember(ctx, av, e.project.ID, bob.ID); err != nil {
		t.Fatal(err)
	}
	_, err = db.GetProject(ctx, Viewer{UserID: bob.ID}, e.project.ID)
	wantErr(t, "GetProject by a removed member", err, ErrNotFound)
	if got, _ := db.ListMembers(ctx, System, other.ID); len(got) != 1 || got[0].UserID != alice.ID {
		t.Errorf("members of the other project = %+v", got)
	}
	if got, err := db.ListMembers(ctx, System, e.createProject("empty").ID); err != nil || got == nil || len(got) != 0 {
		t.Errorf("ListMembers of a project without members = %#v, %v; want an empty slice", got, err)
	}
}

func testRotateProjectKey(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	other := e.createProject("other")
	k1, _ := db.CreateProjectKey(ctx, e.project.ID)
	k2, _ := db.CreateProjectKey(ctx, e.project.ID)
	k3, _ := db.CreateProjectKey(ctx, other.ID)
	var previous []ProjectKey
	for _, k := range []ProjectKey{k1, k2} {
		k.Active = false
		previous = append(previous, k)
	}
	for round := range 2 {
		rotated, err := db.RotateProjectKey(ctx, System, e.project.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !rotated.Active || rotated.ProjectID != e.project.ID || rotated.ID == 0 ||
			!regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(rotated.PublicKey) {
			t.Errorf("round %d: RotateProjectKey = %+v", round, rotated)
		}
		keys, err := db.ProjectKeys(ctx, System, e.project.ID)
		if want := append(slices.Clone(previous), rotated); err != nil || !reflect.DeepEqual(keys, want) {
			t.Errorf("round %d: ProjectKeys = %+v, %v; want %+v", round, keys, err, want)
		}
		active, err := db.ActiveKeys(ctx)
		if want := map[string]ActiveKey{rotated.PublicKey: {ProjectID: e.project.ID}, k3.PublicKey: {ProjectID: other.ID}}; err != nil || !reflect.DeepEqual(active, want) {
			t.Errorf("round %d: ActiveKeys = %v, %v; want %v", round, active, err, want)
		}
		rotated.Active = false
		previous = append(previous, rotated)
	}
}

func testProjectStats(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	alpha := e.project // "main"; cards are ordered by name
	beta := e.createProject("other")
	empty := e.createProject("quiet")
	member := e.createUser("member@example.com", RoleMember)
	e.addMember(alpha, member)
	e.addMember(empty, member)
	h := func(d time.Duration) time.Time { return t0.Add(d) } // t0 is 10:00
	since := h(-30 * time.Minute)                             // 9:30: counts from 9:00 on

	// a1 has events before and within the window, a2 only within (and is
	// resolved), a3 only before it.
	for _, at := range []time.Time{h(-2 * time.Hour), h(-50 * time.Minute), t0, h(10 * time.Minute)} {
		e.saveIn(alpha.ID, "a1", withAt(at))
	}
	a2 := e.saveIn(alpha.ID, "a2", withAt(h(time.Hour))).IssueID
	e.setStatus(a2, StatusResolved, "")
	e.saveIn(alpha.ID, "a3", withAt(h(-90*time.Minute)))
	e.saveIn(beta.ID, "b1", withAt(t0))

	alphaHourly := []Bucket{{h(-time.Hour), 1}, {t0, 2}, {h(time.Hour), 1}}
	alphaStat := ProjectStat{Project: alpha, Unresolved: 2, Hourly: alphaHourly}
	betaStat := ProjectStat{Project: beta, Unresolved: 1, Hourly: []Bucket{{t0, 1}}}
	emptyStat := ProjectStat{Project: empty, Hourly: []Bucket{}}
	tests := []struct {
		name  string
		v     Viewer
		since time.Time
		want  []ProjectStat
	}{
		{"admin", System, since, []ProjectStat{alphaStat, betaStat, emptyStat}},
		{"member", Viewer{UserID: member.ID}, since, []ProjectStat{alphaStat, emptyStat}},
		{"nobody", Viewer{UserID: member.ID + 100}, since, []ProjectStat{}},
		{"later window", Viewer{UserID: member.ID}, h(time.Hour), []ProjectStat{
			{Project: alpha, Unresolved: 2, Hourly: alphaHourly[2:]}, emptyStat}},
	}
	for _, tt := range tests {
		got, err := db.ProjectStats(ctx, tt.v, tt.since)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ProjectStats(%s) =\n %+v, %v\nwant %+v", tt.name, got, err, tt.want)
		}
	}
	for _, tt := range []struct {
		p    Project
		want []Bucket
	}{{alpha, alphaHourly}, {empty, []Bucket{}}} {
		got, err := db.ProjectHourlyCounts(ctx, Viewer{UserID: member.ID}, tt.p.ID, since)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ProjectHourlyCounts(%s) = %v, %v; want %v", tt.p.Name, got, err, tt.want)
		}
	}
	if err := db.DeleteIssue(ctx, System, a2); err != nil {
		t.Fatal(err)
	}
	got, err := db.ProjectHourlyCounts(ctx, System, alpha.ID, since)
	if want := alphaHourly[:2]; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ProjectHourlyCounts after deleting an issue = %v, %v; want %v", got, err, want)
	}
}

func testBulkUpdateStatus(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	x, y, z := e.save("x").IssueID, e.save("y").IssueID, e.save("z").IssueID
	e.createRelease("2.0")
	e.setStatus(z, StatusResolved, "2.0")
	foreign := e.saveIn(e.createProject("other").ID, "w").IssueID
	member := e.createUser("member@example.com", RoleMember)
	e.addMember(e.project, member)
	mv := Viewer{UserID: member.ID}
	p := e.project.ID

	type state struct{ status, in string }
	steps := []struct {
		name    string
		v       Viewer
		project int64
		ids     []int64
		status  string
		changed int64
		err     error
		after   map[int64]state
	}{
		{"resolve, ignoring another project's issue", mv, p, []int64{x, y, z, foreign, foreign + 100}, StatusResolved, 3, nil,
			map[int64]state{x: {StatusResolved, ""}, y: {StatusResolved, ""}, z: {StatusResolved, ""}, foreign: {StatusUnresolved, ""}}},
		{"again", mv, p, []int64{x, y, z}, StatusResolved, 0, nil, nil},
		{"duplicates", System, p, []int64{x, x, x}, StatusIgnored, 1, nil,
			map[int64]state{x: {StatusIgnored, ""}, y: {StatusResolved, ""}}},
		{"none", mv, p, nil, StatusUnresolved, 0, nil, map[int64]state{x: {StatusIgnored, ""}}},
		{"the other project's issue by its own ID", mv, p, []int64{foreign}, StatusIgnored, 0, nil,
			map[int64]state{foreign: {StatusUnresolved, ""}}},
		{"bad status", mv, p, []int64{x}, "closed", 0, ErrInvalid, map[int64]state{x: {StatusIgnored, ""}}},
		{"too many", mv, p, make([]int64, MaxBulkIDs+1), StatusResolved, 0, ErrInvalid, nil},
		{"project of another viewer", mv, e.issue(foreign).ProjectID, []int64{foreign}, StatusIgnored, 0, ErrNotFound,
			map[int64]state{foreign: {StatusUnresolved, ""}}},
		{"missing project", System, p + 100, []int64{x}, StatusResolved, 0, ErrNotFound, map[int64]state{x: {StatusIgnored, ""}}},
		{"all ids at the limit", mv, p, append(make([]int64, MaxBulkIDs-2), x, y), StatusUnresolved, 2, nil,
			map[int64]state{x: {StatusUnresolved, ""}, y: {StatusUnresolved, ""}}},
	}
	for _, s := range steps {
		n, err := db.BulkUpdateStatus(ctx, s.v, s.project, s.ids, s.status)
		if !errors.Is(err, s.err) || n != s.changed {
			t.Errorf("%s: BulkUpdateStatus = %d, %v; want %d, %v", s.name, n, err, s.changed, s.err)
		}
		for id, want := range s.after {
			if i := e.issue(id); i.Status != want.status || i.ResolvedInRelease != want.in {
				t.Errorf("%s: issue %d is %s in %q, want %s in %q", s.name, id, i.Status, i.ResolvedInRelease, want.status, want.in)
			}
		}
	}
}

func testAdjacentEvents(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	// Saved out of time order; e1 and e2 share a time, so the row ID
	// (insertion order) orders them, as in ListEvents.
	for _, ev := range []struct {
		id string
		at time.Duration
	}{{"e3", 2 * time.Minute}, {"e0", 0}, {"e1", time.Minute}, {"e2", time.Minute}} {
		e.save("fp", withID(ev.id), withAt(t0.Add(ev.at)))
	}
	issue := e.save("fp", withID("e4"), withAt(t0.Add(3*time.Minute))).IssueID
	e.save("other", withID("between"), withAt(t0.Add(90*time.Second)))
	outsider := e.createUser("outsider@example.com", RoleMember)

	var listed []string
	events, _, _ := db.ListEvents(ctx, System, issue, "", 0, "")
	for _, ev := range events {
		listed = append(listed, ev.EventID)
	}
	if want := []string{"e4", "e3", "e2", "e1", "e0"}; !slices.Equal(listed, want) {
		t.Fatalf("setup: ListEvents = %v, want %v", listed, want)
	}
	tests := []struct {
		event string
		want  AdjacentEvents
		err   error
	}{
		{"e0", AdjacentEvents{Newer: "e1"}, nil},
		{"e1", AdjacentEvents{Oldest: "e0", Older: "e0", Newer: "e2"}, nil},
		{"e2", AdjacentEvents{Oldest: "e0", Older: "e1", Newer: "e3"}, nil},
		{"e3", AdjacentEvents{Oldest: "e0", Older: "e2", Newer: "e4"}, nil},
		{"e4", AdjacentEvents{Oldest: "e0", Older: "e3"}, nil},
		{"between", AdjacentEvents{}, ErrNotFound}, // another issue's event
		{"missing", AdjacentEvents{}, ErrNotFound},
	}
	for _, tt := range tests {
		got, err := db.AdjacentEvents(ctx, System, issue, tt.event, "")
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("AdjacentEvents(%s) = %+v, %v; want %+v, %v", tt.event, got, err, tt.want, tt.err)
		}
	}
	_, err := db.AdjacentEvents(ctx, Viewer{UserID: outsider.ID}, issue, "e2", "")
	wantErr(t, "AdjacentEvents for a non-member", err, ErrNotFound)
}

func testAPITokenAdmin(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	u := e.createUser("u@example.com", RoleMember)
	v := e.createUser("v@example.com", RoleMember)
	secret1, t1, _ := db.CreateAPIToken(ctx, u.ID, "laptop")
	secret2, t2, _ := db.CreateAPIToken(ctx, u.ID, "ci")
	_, t3, _ := db.CreateAPIToken(ctx, v.ID, "laptop")
	for _, tt := range []struct {
		user int64
		want []APIToken
	}{{u.ID, []APIToken{t1, t2}}, {v.ID, []APIToken{t3}}, {v.ID + 100, []APIToken{}}} {
		got, err := db.ListAPITokens(ctx, tt.user)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ListAPITokens(%d) = %#v, %v; want %#v", tt.user, got, err, tt.want)
		}
	}
	steps := []struct {
		name        string
		user, token int64
		err         error
	}{
		{"another user's token", v.ID, t1.ID, ErrNotFound},
		{"own token", u.ID, t1.ID, nil},
		{"again", u.ID, t1.ID, ErrNotFound},
		{"missing token", u.ID, t3.ID + 100, ErrNotFound},
	}
	for _, s := range steps {
		wantErr(t, s.name, db.DeleteAPIToken(ctx, s.user, s.token), s.err)
	}
	_, err := db.UserByAPIToken(ctx, secret1)
	wantErr(t, "a deleted token", err, ErrNotFound)
	if got, err := db.UserByAPIToken(ctx, secret2); err != nil || got.ID != u.ID {
		t.Errorf("the remaining token: %+v, %v", got, err)
	}
	if got, _ := db.ListAPITokens(ctx, v.ID); !reflect.DeepEqual(got, []APIToken{t3}) {
		t.Errorf("the other user's tokens = %+v", got)
	}
}

// testCreateProjectWithKey checks that a project is created with its
// creator as admin and one active key, or not at all.
func testCreateProjectWithKey(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	creator := e.createUser("creator@example.com", RoleAdmin)
	p, k, err := db.CreateProjectWithKey(ctx, " mobile ", creator.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p.ID == 0 || p.Name != "mobile" || k.ProjectID != p.ID || !k.Active || len(k.PublicKey) != 32 {
		t.Errorf("CreateProjectWithKey = %+v, %+v", p, k)
	}
	members, err := db.ListMembers(ctx, System, p.ID)
	if err != nil || len(members) != 1 || members[0].UserID != creator.ID || members[0].Role != RoleAdmin {
		t.Errorf("members of the new project = %+v, %v; want the creator as admin", members, err)
	}
	if keys, err := db.ActiveKeys(ctx); err != nil || keys[k.PublicKey] != (ActiveKey{ProjectID: p.ID}) {
		t.Errorf("ActiveKeys = %v, %v; want the new key", keys, err)
	}

	// Each failure happens after the project row is written (a missing
	// creator) or before it (a taken name); neither may leave rows.
	failures := []struct {
		name      string
		project   string
		creatorID int64
		want      error
	}{
		{"missing creator", "orphan", creator.ID + 100, ErrNotFound},
		{"name taken", "mobile", creator.ID, ErrConflict},
		{"name taken in another case", "Mobile", creator.ID, ErrConflict},
		{"slug taken", " mobile! ", creator.ID, ErrConflict},
		{"empty name", " ", creator.ID, ErrInvalid},
	}
	for _, f := range failures {
		before := [3]int64{e.count(`SELECT COUNT(*) FROM projects`), e.count(`SELECT COUNT(*) FROM project_members`), e.count(`SELECT COUNT(*) FROM project_keys`)}
		_, _, err := db.CreateProjectWithKey(ctx, f.project, f.creatorID)
		wantErr(t, f.name, err, f.want)
		after := [3]int64{e.count(`SELECT COUNT(*) FROM projects`), e.count(`SELECT COUNT(*) FROM project_members`), e.count(`SELECT COUNT(*) FROM project_keys`)}
		if after != before {
			t.Errorf("%s: projects, members, keys = %v, was %v: a failed create left rows behind", f.name, after, before)
		}
	}
	if n := e.count(`SELECT COUNT(*) FROM projects WHERE name = $1`, "orphan"); n != 0 {
		t.Errorf("the project of a failed create exists (%d rows)", n)
	}
}

// testAccessHooks: every change that may take access away runs the
// OnAccessChange hooks once it has happened, and a refused one does not.
func testAccessHooks(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	var n int
	db.OnAccessChange(func() { n++ })
	admin := Viewer{UserID: e.createUser("root@example.com", RoleAdmin).ID, Admin: true}
	bob := e.createUser("bob@example.com", RoleMember)
	e.addMember(e.project, bob)
	_, tok, err := db.CreateAPIToken(ctx, bob.ID, "ci")
	if err != nil {
		t.Fatal(err)
	}
	secret, _, err := db.CreateSession(ctx, bob.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	other := e.createProject("other")
	if n != 0 {
		t.Fatalf("%d hook runs before any access was taken away", n)
	}
	for _, c := range []struct {
		name   string
		change func() error
		runs   int
	}{
		{"a refused token deletion", func() error { return db.DeleteAPIToken(ctx, bob.ID+1, tok.ID) }, 0},
		{"DeleteAPIToken", func() error { return db.DeleteAPIToken(ctx, bob.ID, tok.ID) }, 1},
		{"DeleteSession", func() error { return db.DeleteSession(ctx, secret) }, 1},
		{"DeleteUserSessions", func() error { return db.DeleteUserSessions(ctx, bob.ID, "") }, 1},
		{"SetUserRole", func() error { _, err := db.SetUserRole(ctx, admin, bob.ID, RoleMember); return err }, 1},
		{"RemoveMember", func() error { return db.RemoveMember(ctx, admin, e.project.ID, bob.ID) }, 1},
		{"RotateProjectKey", func() error { _, err := db.RotateProjectKey(ctx, admin, other.ID); return err }, 1},
		{"DeleteProject", func() error { return db.DeleteProject(ctx, admin, other.ID) }, 1},
		{"DeleteUser", func() error { return db.DeleteUser(ctx, admin, bob.ID) }, 1},
	} {
		before := n
		err := c.change()
		if c.runs > 0 && err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if n-before != c.runs {
			t.Errorf("%s ran the hooks %d times, want %d", c.name, n-before, c.runs)
		}
	}
}
