package store

import (
	"fmt"
	"time"
)

// testTokenScopes: scope and expiry are stored, an expired token
// authenticates nobody, and use is recorded at most once a minute.
func testTokenScopes(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	u := e.createUser("u@example.com", RoleMember)
	soon := nowUTC().Add(time.Hour)
	past := nowUTC().Add(-time.Second)
	readSecret, read, err := db.IssueAPIToken(ctx, u.ID, NewAPIToken{Name: "ci", Scope: ScopeReadOnly, ExpiresAt: &soon})
	if err != nil || read.Scope != ScopeReadOnly || read.ExpiresAt == nil || !read.ExpiresAt.Equal(soon) || read.LastUsedAt != nil {
		t.Fatalf("IssueAPIToken = %+v, %v", read, err)
	}
	oldSecret, _, err := db.IssueAPIToken(ctx, u.ID, NewAPIToken{Name: "old", ExpiresAt: &past})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.IssueAPIToken(ctx, u.ID, NewAPIToken{Name: "x", Scope: "admin"}); err == nil {
		t.Error("an unknown scope was stored")
	}

	owner, tok, err := db.TokenOwner(ctx, readSecret)
	if err != nil || owner.ID != u.ID || tok.Scope != ScopeReadOnly || tok.LastUsedAt == nil {
		t.Fatalf("TokenOwner = %+v %+v, %v", owner, tok, err)
	}
	first := *tok.LastUsedAt
	if _, tok, _ := db.TokenOwner(ctx, readSecret); !tok.LastUsedAt.Equal(first) {
		t.Errorf("last use moved within a minute: %v then %v", first, tok.LastUsedAt)
	}
	wantErr(t, "TokenOwner of an expired token", func() error { _, _, err := db.TokenOwner(ctx, oldSecret); return err }(), ErrNotFound)
	wantErr(t, "UserByAPIToken of an expired token", func() error { _, err := db.UserByAPIToken(ctx, oldSecret); return err }(), ErrNotFound)

	list, err := db.ListAPITokens(ctx, u.ID)
	if err != nil || len(list) != 2 || list[0].Scope != ScopeReadOnly || list[0].LastUsedAt == nil || list[1].ExpiresAt == nil {
		t.Errorf("ListAPITokens = %+v, %v", list, err)
	}

	// With the disk full the use cannot be written; the token still
	// authenticates and the failure goes to the hook.
	var notRecorded []error
	db.OnUsageNotRecorded(func(err error) { notRecorded = append(notRecorded, err) })
	failUpdates(e, "api_tokens")
	freshSecret, _, err := db.IssueAPIToken(ctx, u.ID, NewAPIToken{Name: "fresh"})
	if err != nil {
		t.Fatal(err)
	}
	owner, tok, err = db.TokenOwner(ctx, freshSecret)
	if err != nil || owner.ID != u.ID || tok.LastUsedAt != nil {
		t.Errorf("TokenOwner with its use unwritable = %+v %+v, %v; want the owner, no last use", owner, tok, err)
	}
	if len(notRecorded) != 1 || (db.Dialect() == DialectPostgres && !DiskFull(notRecorded[0])) {
		t.Errorf("OnUsageNotRecorded got %v, want one disk-full error", notRecorded)
	}
}

// failUpdates makes every UPDATE of table fail, as a full disk makes
// writes fail: on PostgreSQL with disk_full (53100); SQLite's triggers can
// only raise a constraint error.
func failUpdates(e *env, table string) {
	stmts := []string{`CREATE TRIGGER fail_update_` + table + ` BEFORE UPDATE ON ` + table + ` BEGIN SELECT RAISE(ABORT, 'disk full'); END`}
	if e.db.Dialect() == DialectPostgres {
		stmts = []string{
			`CREATE FUNCTION fail_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full' USING ERRCODE = 'disk_full'; END $$`,
			`CREATE TRIGGER fail_update_` + table + ` BEFORE UPDATE ON ` + table + ` FOR EACH ROW EXECUTE FUNCTION fail_update()`,
		}
	}
	for _, s := range stmts {
		if _, err := e.db.SQL().ExecContext(e.ctx, s); err != nil {
			e.t.Fatal(err)
		}
	}
}

// testFeed: events in the order they were received, across the viewer's
// projects only, filtered, paged without gaps.
func testFeed(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	base := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	other := e.createProject("other")
	member := e.createUser("m@example.com", RoleMember)
	e.addMember(e.project, member)
	var want []string
	// Each event's culprit is its own, as the processor derived it: the
	// SDK's, else from its transaction, scrubbed as the project's
	// settings say; not its issue's, which is the newest event's.
	culprits := map[string]string{}
	for i := range 5 {
		id := string(rune('a'+i)) + "0000000000000000000000000000000"
		culprit := withSDKCulprit(fmt.Sprintf("app.js in run%d", i))
		culprits[id] = fmt.Sprintf("app.js in run%d", i)
		if i == 1 {
			culprit = withTransaction("GET /reset?token=s3cr3t&next=home")
			culprits[id] = "GET /reset?token=[Filtered]&next=home"
		}
		e.save("fp", withID(id), withRcv(base.Add(time.Duration(i)*time.Second)), withAt(base.Add(time.Duration(-i)*time.Second)), culprit,
			withEnv([]string{"prod", "staging"}[i%2]))
		want = append(want, id)
	}
	// A project that does not scrub keeps its transaction's query.
	if _, err := db.SetProjectPrivacy(ctx, System, other.ID, PrivacySettings{SensitiveFields: []string{}, SafeFields: []string{}}); err != nil {
		t.Fatal(err)
	}
	e.saveIn(other.ID, "fp", withID("f0000000000000000000000000000000"), withRcv(base.Add(time.Second)), withAt(base),
		withTransaction("GET /reset?token=s3cr3t"))

	var got []string
	cursor := ""
	for range 10 {
		page, next, err := db.Feed(ctx, Viewer{UserID: member.ID}, FeedFilter{Since: base, Cursor: cursor, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, fe := range page {
			got = append(got, fe.EventID)
			if fe.Culprit != culprits[fe.EventID] || fe.IssueTitle != "Error fp" || fe.Count != 5 || fe.Status != StatusUnresolved || fe.Payload != nil {
				t.Errorf("feed event %+v, want culprit %q", fe, culprits[fe.EventID])
			}
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	if len(got) != 5 || got[0] != want[0] || got[4] != want[4] {
		t.Errorf("member's feed = %v, want %v", got, want)
	}
	all, _, err := db.Feed(ctx, System, FeedFilter{Since: base.Add(time.Second), Limit: 100})
	if err != nil || len(all) != 5 {
		t.Errorf("admin's feed since +1s = %d events, %v; want 5 (4 of main, 1 of other)", len(all), err)
	}
	for _, fe := range all {
		want := culprits[fe.EventID]
		if fe.ProjectID == other.ID {
			want = "GET /reset?token=s3cr3t"
		}
		if fe.Culprit != want {
			t.Errorf("admin's feed event %s: culprit %q, want %q", fe.EventID, fe.Culprit, want)
		}
	}
	staging, _, _ := db.Feed(ctx, System, FeedFilter{Since: base, Environment: "staging", ProjectIDs: []int64{e.project.ID}})
	if len(staging) != 2 {
		t.Errorf("staging feed = %d events, want 2", len(staging))
	}
	if _, _, err := db.Feed(ctx, System, FeedFilter{Since: base, Cursor: "bogus"}); err == nil {
		t.Error("a bad cursor was accepted")
	}
}

// testSignInTokens: a token's origin is stored (created by name unless
// said otherwise), and DeleteSignInTokens revokes the user's tokens minted
// by signing in with the password, and nothing else: not the user's
// created tokens, not another user's sign-in tokens.
func testSignInTokens(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	u := e.createUser("u@example.com", RoleMember)
	other := e.createUser("o@example.com", RoleMember)
	named, tok, err := db.IssueAPIToken(ctx, u.ID, NewAPIToken{Name: "ci"})
	if err != nil || tok.Origin != TokenCreated {
		t.Fatalf("IssueAPIToken without an origin = %+v, %v; want origin %q", tok, err, TokenCreated)
	}
	login1, tok, err := db.IssueAPIToken(ctx, u.ID, NewAPIToken{Name: "laptop", Origin: TokenSignIn})
	if err != nil || tok.Origin != TokenSignIn {
		t.Fatalf("IssueAPIToken of a sign-in = %+v, %v", tok, err)
	}
	login2, _, err := db.IssueAPIToken(ctx, u.ID, NewAPIToken{Name: "desktop", Origin: TokenSignIn, Scope: ScopeReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	otherLogin, _, err := db.IssueAPIToken(ctx, other.ID, NewAPIToken{Name: "laptop", Origin: TokenSignIn})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.IssueAPIToken(ctx, u.ID, NewAPIToken{Name: "x", Origin: "oauth"}); err == nil {
		t.Error("an unknown origin was stored")
	}
	if _, tok, err := db.TokenOwner(ctx, login1); err != nil || tok.Origin != TokenSignIn {
		t.Errorf("TokenOwner of a sign-in token = %+v, %v", tok, err)
	}

	n, err := db.DeleteSignInTokens(ctx, u.ID)
	if err != nil || n != 2 {
		t.Fatalf("DeleteSignInTokens = %d, %v; want 2", n, err)
	}
	for _, s := range []string{login1, login2} {
		wantErr(t, "TokenOwner of a revoked sign-in token", func() error { _, _, err := db.TokenOwner(ctx, s); return err }(), ErrNotFound)
	}
	if _, _, err := db.TokenOwner(ctx, named); err != nil {
		t.Errorf("the token created by name was revoked: %v", err)
	}
	if _, _, err := db.TokenOwner(ctx, otherLogin); err != nil {
		t.Errorf("another user's sign-in token was revoked: %v", err)
	}
	list, err := db.ListAPITokens(ctx, u.ID)
	if err != nil || len(list) != 1 || list[0].Name != "ci" || list[0].Origin != TokenCreated {
		t.Errorf("ListAPITokens after the revocation = %+v, %v", list, err)
	}
	if n, err := db.DeleteSignInTokens(ctx, u.ID); err != nil || n != 0 {
		t.Errorf("DeleteSignInTokens again = %d, %v; want 0", n, err)
	}
}
