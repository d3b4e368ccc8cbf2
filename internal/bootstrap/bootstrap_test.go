package bootstrap

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/auth"
	"github.com/getflytrap/flytrap/internal/store"
)

func openDB(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestBootstrapFirstStartAndRestart(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	first, err := Ensure(ctx, db, Input{})
	if err != nil {
		t.Fatal(err)
	}
	if !first.Created || first.AdminEmail != DefaultAdminEmail || len(first.AdminPassword) != 20 || first.APIToken == "" || first.Key.PublicKey == "" {
		t.Fatalf("first start = %+v", first)
	}
	u, err := db.UserByEmail(ctx, DefaultAdminEmail)
	if err != nil || u.Role != store.RoleAdmin {
		t.Fatalf("admin = %+v, %v", u, err)
	}
	if ok, _ := auth.VerifyPassword(first.AdminPassword, u.PasswordHash); !ok {
		t.Error("stored hash does not verify the printed password")
	}

	again, err := Ensure(ctx, db, Input{APIToken: first.APIToken})
	if err != nil {
		t.Fatal(err)
	}
	if again.Created || again.AdminPassword != "" || again.APIToken != first.APIToken || again.Project.ID != first.Project.ID || again.Key.PublicKey != first.Key.PublicKey {
		t.Errorf("restart = %+v, want the first start's project, key and token and no password", again)
	}
	// A lost or foreign token is replaced by a fresh one.
	fresh, err := Ensure(ctx, db, Input{APIToken: "flyt_forgotten"})
	if err != nil || fresh.APIToken == "" || fresh.APIToken == first.APIToken {
		t.Errorf("token after loss = %q, %v", fresh.APIToken, err)
	}
	if _, err := Ensure(ctx, db, Input{AdminEmail: "someone@else"}); err == nil || !strings.Contains(err.Error(), "FLYTRAP_ADMIN_EMAIL") {
		t.Errorf("unknown admin email: %v", err)
	}
}

func TestBootstrapChosenPassword(t *testing.T) {
	ctx := context.Background()
	if _, err := Ensure(ctx, openDB(t), Input{AdminPassword: "short"}); err == nil {
		t.Error("a 5-character admin password was accepted")
	}
	db := openDB(t)
	b, err := Ensure(ctx, db, Input{AdminEmail: "ops@example.com", AdminPassword: "long enough"})
	if err != nil || b.AdminPassword != "" || b.AdminEmail != "ops@example.com" {
		t.Fatalf("bootstrap = %+v, %v", b, err)
	}
}
