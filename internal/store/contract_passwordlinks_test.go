package store

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"time"
)

// testPasswordLinks: a link's token is stored hashed, works until it
// expires and once only, is replaced by a newer link of the same user and
// ended by a password change or the user's removal.
func testPasswordLinks(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	u := e.createUser("l@example.com", RoleMember)
	other := e.createUser("other@example.com", RoleMember)
	admin := e.createUser("a@example.com", RoleAdmin)

	wantErr(t, "IssuePasswordLink of an unknown purpose", func() error { _, _, err := db.IssuePasswordLink(ctx, u.ID, "x", time.Hour); return err }(), ErrInvalid)
	wantErr(t, "IssuePasswordLink without a ttl", func() error { _, _, err := db.IssuePasswordLink(ctx, u.ID, LinkReset, 0); return err }(), ErrInvalid)
	wantErr(t, "IssuePasswordLink of a missing user", func() error {
		_, _, err := db.IssuePasswordLink(ctx, 999999, LinkReset, time.Hour)
		return err
	}(), ErrNotFound)

	token, l, err := db.IssuePasswordLink(ctx, u.ID, LinkInvite, 7*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(token) {
		t.Errorf("token %q: want 32 random bytes as hex", token)
	}
	if l.ID == 0 || l.UserID != u.ID || l.Purpose != LinkInvite || !l.ExpiresAt.Equal(l.CreatedAt.Add(7*24*time.Hour)) {
		t.Errorf("IssuePasswordLink = %+v", l)
	}
	sum := sha256.Sum256([]byte(token))
	if n := e.count(`SELECT COUNT(*) FROM password_links WHERE token_hash = $1`, hex.EncodeToString(sum[:])); n != 1 {
		t.Errorf("rows with the token's SHA-256 = %d, want 1", n)
	}
	if n := e.count(`SELECT COUNT(*) FROM password_links WHERE token_hash = $1`, token); n != 0 {
		t.Error("the token itself is stored")
	}

	lookups := []struct {
		name  string
		token string
		now   time.Time
		ok    bool
	}{
		{"at creation", token, l.CreatedAt, true},
		{"just before expiry", token, l.ExpiresAt.Add(-time.Millisecond), true},
		{"at expiry", token, l.ExpiresAt, false},
		{"unknown token", otherToken(token), l.CreatedAt, false},
		{"empty token", "", l.CreatedAt, false},
	}
	for _, c := range lookups {
		gotU, gotL, err := db.PasswordLinkUser(ctx, c.token, c.now)
		switch {
		case c.ok && (err != nil || gotU.ID != u.ID || gotL.ID != l.ID || gotL.Purpose != LinkInvite):
			t.Errorf("PasswordLinkUser %s = %+v %+v, %v", c.name, gotU, gotL, err)
		case !c.ok:
			wantErr(t, "PasswordLinkUser "+c.name, err, ErrNotFound)
		}
	}
	wantErr(t, "UsePasswordLink when expired", func() error { _, _, err := db.UsePasswordLink(ctx, token, "h", l.ExpiresAt); return err }(), ErrNotFound)
	wantErr(t, "UsePasswordLink with an empty hash", func() error { _, _, err := db.UsePasswordLink(ctx, token, "", l.CreatedAt); return err }(), ErrInvalid)

	// A newer link replaces the older one.
	newer, nl, err := db.IssuePasswordLink(ctx, u.ID, LinkReset, time.Hour)
	if err != nil || nl.Purpose != LinkReset {
		t.Fatalf("second IssuePasswordLink = %+v, %v", nl, err)
	}
	wantErr(t, "PasswordLinkUser of a replaced link", func() error { _, _, err := db.PasswordLinkUser(ctx, token, nowUTC()); return err }(), ErrNotFound)
	wantErr(t, "UsePasswordLink of a replaced link", func() error { _, _, err := db.UsePasswordLink(ctx, token, "h", nowUTC()); return err }(), ErrNotFound)
	otherToken, _, err := db.IssuePasswordLink(ctx, other.ID, LinkReset, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	// Used once: the password is set, and a second use is refused.
	got, used, err := db.UsePasswordLink(ctx, newer, "new-hash", nowUTC())
	if err != nil || got.ID != u.ID || got.PasswordHash != "new-hash" || used.ID != nl.ID || used.Purpose != LinkReset {
		t.Fatalf("UsePasswordLink = %+v %+v, %v", got, used, err)
	}
	if stored, _ := db.UserByID(ctx, u.ID); stored.PasswordHash != "new-hash" {
		t.Errorf("password hash after use = %q", stored.PasswordHash)
	}
	wantErr(t, "UsePasswordLink a second time", func() error { _, _, err := db.UsePasswordLink(ctx, newer, "again", nowUTC()); return err }(), ErrNotFound)
	if stored, _ := db.UserByID(ctx, u.ID); stored.PasswordHash != "new-hash" {
		t.Errorf("a second use changed the hash to %q", stored.PasswordHash)
	}
	if _, _, err := db.PasswordLinkUser(ctx, otherToken, nowUTC()); err != nil {
		t.Errorf("another user's link stopped working: %v", err)
	}

	// A password change by any other means ends the link.
	if err := db.SetPassword(ctx, other.ID, "changed"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "UsePasswordLink after a password change", func() error { _, _, err := db.UsePasswordLink(ctx, otherToken, "h", nowUTC()); return err }(), ErrNotFound)

	// Removing the user removes their link.
	if _, _, err := db.IssuePasswordLink(ctx, other.ID, LinkReset, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteUser(ctx, Viewer{UserID: admin.ID, Admin: true}, other.ID); err != nil {
		t.Fatalf("DeleteUser of a user with a link: %v", err)
	}
	if n := e.count(`SELECT COUNT(*) FROM password_links WHERE user_id = $1`, other.ID); n != 0 {
		t.Errorf("links of a removed user = %d", n)
	}

	// Pruning deletes expired links only.
	if _, _, err := db.IssuePasswordLink(ctx, u.ID, LinkReset, time.Hour); err != nil {
		t.Fatal(err)
	}
	if n, err := db.PrunePasswordLinks(ctx, nowUTC()); err != nil || n != 0 {
		t.Errorf("PrunePasswordLinks now = %d, %v; want 0", n, err)
	}
	if n, err := db.PrunePasswordLinks(ctx, nowUTC().Add(2*time.Hour)); err != nil || n != 1 {
		t.Errorf("PrunePasswordLinks after expiry = %d, %v; want 1", n, err)
	}
}

// otherToken is token with its first character changed: a token of the
// same shape that was never issued (prefixing "00" would be the token
// itself for one token in 256).
func otherToken(token string) string {
	if token[0] == 'a' {
		return "b" + token[1:]
	}
	return "a" + token[1:]
}

// testForgotLinks: a link the user asked for ("Forgot password?", which
// anyone may ask for an address) never cancels a live link an admin
// issued, and replaces only an expired one or the user's own earlier one.
func testForgotLinks(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	u := e.createUser("invited@example.com", RoleMember)
	invite, _, err := db.IssuePasswordLink(ctx, u.ID, LinkInvite, 7*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = db.IssuePasswordLink(ctx, u.ID, LinkForgot, time.Hour)
	wantErr(t, "a forgot link beside a live invitation", err, ErrConflict)
	if _, _, err := db.PasswordLinkUser(ctx, invite, nowUTC()); err != nil {
		t.Errorf("the invitation after a forgot-password request: %v, want it to work", err)
	}
	// An expired admin link gives way.
	if _, _, err := db.IssuePasswordLink(ctx, u.ID, LinkReset, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	first, fl, err := db.IssuePasswordLink(ctx, u.ID, LinkForgot, time.Hour)
	if err != nil || fl.Purpose != LinkForgot {
		t.Fatalf("a forgot link after the admin's expired = %+v, %v", fl, err)
	}
	// The user's own earlier request gives way too.
	second, _, err := db.IssuePasswordLink(ctx, u.ID, LinkForgot, time.Hour)
	if err != nil {
		t.Fatalf("a second forgot link: %v", err)
	}
	wantErr(t, "the first forgot link after a second", func() error { _, _, err := db.PasswordLinkUser(ctx, first, nowUTC()); return err }(), ErrNotFound)
	// And an admin's new link replaces a forgot one, as any other.
	if _, _, err := db.IssuePasswordLink(ctx, u.ID, LinkReset, time.Hour); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "the forgot link after an admin's reset", func() error { _, _, err := db.PasswordLinkUser(ctx, second, nowUTC()); return err }(), ErrNotFound)
}
