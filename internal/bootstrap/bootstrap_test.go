package bootstrap

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/getflytrap/flytrap/internal/auth"
	"github.com/getflytrap/flytrap/internal/service"
	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/testutil/pgtest"
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
	if again.Created || again.CreatedElsewhere || again.AdminPassword != "" || again.APIToken != first.APIToken || again.Project.ID != first.Project.ID || again.Key.PublicKey != first.Key.PublicKey {
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

// firstStart is a database after a first start, with the services and the
// admin that create and delete projects in it as an admin would.
func firstStart(t *testing.T) (*store.DB, Result, *service.Services, service.Actor) {
	t.Helper()
	ctx := context.Background()
	db := openDB(t)
	first, err := Ensure(ctx, db, Input{})
	if err != nil {
		t.Fatal(err)
	}
	u, err := db.UserByEmail(ctx, DefaultAdminEmail)
	if err != nil {
		t.Fatal(err)
	}
	return db, first, service.New(db, nil), service.ActorOf(u)
}

// TestBootstrapRestartKeepsProjectAndKey: projects created after the first
// start, whose names sort before "default" (upper case first), do not take
// its place on a restart, with or without the project and key the first
// start saved; a restart used to hand out the DSN of the first project by
// name.
func TestBootstrapRestartKeepsProjectAndKey(t *testing.T) {
	ctx := context.Background()
	db, first, svc, a := firstStart(t)
	var (
		other store.ProjectKey
		err   error
	)
	for _, name := range []string{"big", "Empty Proj", "ALPHA"} {
		if _, other, err = svc.Projects.Create(ctx, a, name); err != nil {
			t.Fatal(err)
		}
	}
	for _, in := range []Input{
		{ProjectID: first.Project.ID, APIKey: first.Key.PublicKey},
		{}, // dev.json lost or from an older version
		{ProjectID: first.Project.ID, APIKey: other.PublicKey}, // another project's key
	} {
		again, err := Ensure(ctx, db, in)
		if err != nil {
			t.Fatal(err)
		}
		if again.Project.ID != first.Project.ID || again.Key.PublicKey != first.Key.PublicKey || again.LostProjectID != 0 {
			t.Errorf("restart with %+v: project %d (%s), key %s, lost %d; want project %d, key %s",
				in, again.Project.ID, again.Project.Name, again.Key.PublicKey, again.LostProjectID, first.Project.ID, first.Key.PublicKey)
		}
	}
	// Of two active keys (an older installation, or one made outside the
	// service), the saved one stays.
	second, err := db.CreateProjectKey(ctx, first.Project.ID)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := Ensure(ctx, db, Input{ProjectID: first.Project.ID, APIKey: second.PublicKey}); err != nil || again.Key.PublicKey != second.PublicKey {
		t.Errorf("restart with the second active key: key %s, %v; want %s", again.Key.PublicKey, err, second.PublicKey)
	}
	// A project created later that the earlier start handed out stays.
	later, err := Ensure(ctx, db, Input{ProjectID: other.ProjectID, APIKey: other.PublicKey})
	if err != nil || later.Project.ID != other.ProjectID || later.Key.PublicKey != other.PublicKey {
		t.Errorf("restart on project %d: %+v, %v", other.ProjectID, later, err)
	}
}

// TestBootstrapRestartAfterRotation: a key rotated since the last start is
// replaced by the project's new one, not revived.
func TestBootstrapRestartAfterRotation(t *testing.T) {
	ctx := context.Background()
	db, first, svc, a := firstStart(t)
	rotated, err := svc.Keys.Rotate(ctx, a, first.Project.ID)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Ensure(ctx, db, Input{ProjectID: first.Project.ID, APIKey: first.Key.PublicKey})
	if err != nil || again.Project.ID != first.Project.ID || again.Key.PublicKey != rotated.PublicKey {
		t.Errorf("restart after rotation: project %d, key %s, %v; want project %d, key %s",
			again.Project.ID, again.Key.PublicKey, err, first.Project.ID, rotated.PublicKey)
	}
}

// TestBootstrapRestartAfterDelete: when the saved project was deleted, the
// restart takes the oldest remaining project, or creates a default one
// when none is left, and reports the lost one so that the change is said.
func TestBootstrapRestartAfterDelete(t *testing.T) {
	ctx := context.Background()
	db, first, svc, a := firstStart(t)
	var ids []int64
	for _, name := range []string{"web", "Api"} {
		p, _, err := svc.Projects.Create(ctx, a, name)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	if err := svc.Projects.Delete(ctx, a, first.Project.ID); err != nil {
		t.Fatal(err)
	}
	in := Input{ProjectID: first.Project.ID, APIKey: first.Key.PublicKey}
	again, err := Ensure(ctx, db, in)
	if err != nil || again.Project.ID != ids[0] || again.LostProjectID != first.Project.ID || again.Key.PublicKey == "" {
		t.Errorf("restart after delete: project %d, lost %d, key %q, %v; want project %d (web), lost %d",
			again.Project.ID, again.LostProjectID, again.Key.PublicKey, err, ids[0], first.Project.ID)
	}
	for _, id := range ids {
		if err := svc.Projects.Delete(ctx, a, id); err != nil {
			t.Fatal(err)
		}
	}
	fresh, err := Ensure(ctx, db, in)
	if err != nil || fresh.Project.Name != defaultProject || fresh.LostProjectID != first.Project.ID || fresh.Key.PublicKey == "" {
		t.Errorf("restart with no project left: %+v, %v; want a new default project and lost %d", fresh, err, first.Project.ID)
	}
}

// TestBootstrapChosenPassword checks that the first admin's password
// follows the rule of every other password: 8 to 1024 characters, counted
// as characters, not bytes.
func TestBootstrapChosenPassword(t *testing.T) {
	tests := []struct {
		name, password string
		ok             bool
	}{
		{"5 characters", "short", false},
		{"4 two-byte characters (8 bytes)", "пару", false},
		{"ASCII", "long enough", true},
		{"600 two-byte characters", strings.Repeat("пароль", 100), true},
		{"1025 characters", strings.Repeat("p", 1025), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			db := openDB(t)
			b, err := Ensure(ctx, db, Input{AdminEmail: "ops@example.com", AdminPassword: tt.password})
			if !tt.ok {
				if err == nil || !strings.Contains(err.Error(), "8 to 1024 characters") {
					t.Errorf("Ensure = %v, want the password refused with the rule", err)
				}
				if n, _ := db.CountUsers(ctx); n != 0 {
					t.Errorf("%d users after a refused password", n)
				}
				return
			}
			if err != nil || b.AdminPassword != "" || b.AdminEmail != "ops@example.com" {
				t.Fatalf("bootstrap = %+v, %v", b, err)
			}
			u, err := db.UserByEmail(ctx, "ops@example.com")
			if ok, _ := auth.VerifyPassword(tt.password, u.PasswordHash); err != nil || !ok {
				t.Errorf("the stored hash does not verify the chosen password: %v", err)
			}
		})
	}
}

// TestBootstrapProjectHasAdminAndKey checks that the default project is
// created as every project is: the admin its admin member, one active key.
func TestBootstrapProjectHasAdminAndKey(t *testing.T) {
	ctx := context.Background()
	db, b, _, admin := firstStart(t)
	members, err := db.ListMembers(ctx, store.System, b.Project.ID)
	if err != nil || len(members) != 1 || members[0].UserID != admin.UserID || members[0].Role != store.RoleAdmin {
		t.Errorf("members of the default project = %+v, %v; want the admin as admin", members, err)
	}
	keys, err := db.ProjectKeys(ctx, store.System, b.Project.ID)
	if err != nil || len(keys) != 1 || !keys[0].Active || keys[0].PublicKey != b.Key.PublicKey {
		t.Errorf("keys of the default project = %+v, %v; want the one returned, active", keys, err)
	}
}

// TestBootstrapConcurrentFirstStarts: two servers started at once on an
// empty PostgreSQL database both count no users and both try to create the
// admin. Both must start: the loser sees the winner's admin and project as
// a later start would, prints no password (it created none), and the
// database has one admin and one default project.
func TestBootstrapConcurrentFirstStarts(t *testing.T) {
	for round := range 3 {
		ctx := context.Background()
		url := pgtest.URL(t)
		var dbs [2]*store.DB
		for i := range dbs {
			db, err := store.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			dbs[i] = db
		}
		var (
			wg      sync.WaitGroup
			results [2]Result
			errs    [2]error
			start   = make(chan struct{})
		)
		for i := range dbs {
			wg.Go(func() {
				<-start
				results[i], errs[i] = Ensure(ctx, dbs[i], Input{})
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: start %d: %v", round, i, err)
			}
		}
		created := 0
		for _, r := range results {
			if r.Created {
				created++
				if r.AdminPassword == "" {
					t.Errorf("round %d: the start that created the admin printed no password", round)
				}
			} else if r.AdminPassword != "" {
				t.Errorf("round %d: a start that did not create the admin returned password %q", round, r.AdminPassword)
			}
			if r.Created && r.CreatedElsewhere {
				t.Errorf("round %d: a start says it created the admin and that another did", round)
			}
			if r.APIToken == "" || r.Key.PublicKey == "" {
				t.Errorf("round %d: result %+v lacks a token or key", round, r)
			}
		}
		if created != 1 {
			t.Errorf("round %d: %d starts created the admin, want 1", round, created)
		}
		if results[0].Project.ID != results[1].Project.ID {
			t.Errorf("round %d: the starts use projects %d and %d, want one default project", round, results[0].Project.ID, results[1].Project.ID)
		}
		if n, err := dbs[0].CountUsers(ctx); err != nil || n != 1 {
			t.Errorf("round %d: %d users, %v; want 1", round, n, err)
		}
	}
}

// TestBootstrapConcurrentFirstStartsOtherEmails: two first starts at once
// with different FLYTRAP_ADMIN_EMAIL each create their admin (both were
// asked for), and both start, on one default project; the loser of the
// race for the project used to exit with "A project with that name
// already exists".
func TestBootstrapConcurrentFirstStartsOtherEmails(t *testing.T) {
	for round := range 3 {
		ctx := context.Background()
		url := pgtest.URL(t)
		var (
			wg      sync.WaitGroup
			results [2]Result
			errs    [2]error
			start   = make(chan struct{})
		)
		for i, email := range []string{"ops@example.com", "dev@example.com"} {
			db, err := store.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			wg.Go(func() {
				<-start
				results[i], errs[i] = Ensure(ctx, db, Input{AdminEmail: email})
			})
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: start %d: %v", round, i, err)
			}
		}
		if results[0].Project.ID != results[1].Project.ID || results[0].Key.PublicKey == "" || results[1].Key.PublicKey == "" {
			t.Errorf("round %d: projects %d and %d, keys %q and %q; want one default project with a key", round,
				results[0].Project.ID, results[1].Project.ID, results[0].Key.PublicKey, results[1].Key.PublicKey)
		}
	}
}
