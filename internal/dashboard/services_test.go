package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/api"
	"github.com/getflytrap/flytrap/internal/bootstrap"
	"github.com/getflytrap/flytrap/internal/store"
)

// apiCall sends a JSON request to the REST API over f's store as the
// bearer of token and returns the status and decoded answer.
func (f *fixture) apiCall(token, method, path string, body any) (int, map[string]any) {
	f.t.Helper()
	b, err := json.Marshal(body)
	f.must(err)
	req := httptest.NewRequest(method, "http://flytrap.test"+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	api.New(f.db, nil, nil).ServeHTTP(rec, req)
	var out map[string]any
	json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

// TestAPIUserSignsInOnDashboard is issue 9's acceptance test: a user
// created over the REST API signs in on the dashboard's form with the
// password the API accepted, whatever its bytes. Before the services the
// API counted characters and sign-in counted bytes (1024 at most), so the
// 600-character Cyrillic password (1200 bytes) was accepted and could
// never sign in.
func TestAPIUserSignsInOnDashboard(t *testing.T) {
	f := newFixture(t)
	token, _, err := f.db.CreateAPIToken(f.ctx, f.admin.ID, "acceptance")
	f.must(err)
	passwords := []struct{ name, password string }{
		{"600 Cyrillic characters", strings.Repeat("пароль", 100)},
		{"1024 Cyrillic characters", strings.Repeat("яб", 512)},
		{"300 emoji", strings.Repeat("🔑🗝", 150)},
	}
	for i, p := range passwords {
		t.Run(p.name, func(t *testing.T) {
			email := fmt.Sprintf("user%d@example.com", i)
			code, out := f.apiCall(token, "POST", "/api/v1/users", map[string]string{"email": email, "password": p.password})
			if code != http.StatusCreated {
				t.Fatalf("POST /api/v1/users: HTTP %d %v", code, out)
			}
			// Each password from its own client, so the throttle stays out.
			client := fmt.Sprintf("192.0.2.%d:1", 10+i)
			wantStatus(t, f.login(email, p.password+"!", client, nil), http.StatusUnauthorized)
			r := f.login(email, p.password, client, nil)
			wantRedirect(t, r, "/projects")
			c := cookieNamed(r, sessionCookie)
			if c == nil {
				t.Fatal("signed in without a session cookie")
			}
			u, _, err := f.db.SessionUser(f.ctx, c.Value, time.Now())
			if err != nil || u.Email != email {
				t.Fatalf("the session belongs to %+v, %v; want %s", u, err, email)
			}
			page := httptest.NewRequest("GET", "http://flytrap.test/projects", nil)
			page.AddCookie(c)
			rec := httptest.NewRecorder()
			f.d.ServeHTTP(rec, page)
			if rec.Code != http.StatusOK {
				t.Errorf("GET /projects with the new session: HTTP %d", rec.Code)
			}
		})
	}
}

// TestProjectCreationEverywhere checks that a project created over the
// API, on the dashboard and by bootstrap alike has its creator as admin
// member and exactly one active key.
func TestProjectCreationEverywhere(t *testing.T) {
	f := newFixture(t)
	token, _, err := f.db.CreateAPIToken(f.ctx, f.admin.ID, "everywhere")
	f.must(err)
	ways := []struct {
		name   string
		create func(t *testing.T) (db *store.DB, projectID, creatorID int64)
	}{
		{"API", func(t *testing.T) (*store.DB, int64, int64) {
			code, out := f.apiCall(token, "POST", "/api/v1/projects", map[string]string{"name": "from the API"})
			if code != http.StatusCreated {
				t.Fatalf("POST /api/v1/projects: HTTP %d %v", code, out)
			}
			return f.db, int64(out["id"].(float64)), f.admin.ID
		}},
		{"dashboard", func(t *testing.T) (*store.DB, int64, int64) {
			r := f.post(roleAdmin, "/admin/projects", url.Values{"name": {"from the dashboard"}})
			wantRedirect(t, r, "/admin/projects/")
			id, err := strconv.ParseInt(strings.TrimPrefix(r.Header.Get("Location"), "/admin/projects/"), 10, 64)
			f.must(err)
			return f.db, id, f.admin.ID
		}},
		{"bootstrap", func(t *testing.T) (*store.DB, int64, int64) {
			db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "boot.db"))
			f.must(err)
			t.Cleanup(func() { db.Close() })
			b, err := bootstrap.Ensure(context.Background(), db, bootstrap.Input{})
			f.must(err)
			admin, err := db.UserByEmail(context.Background(), b.AdminEmail)
			f.must(err)
			return db, b.Project.ID, admin.ID
		}},
	}
	for _, w := range ways {
		t.Run(w.name, func(t *testing.T) {
			db, id, creator := w.create(t)
			members, err := db.ListMembers(f.ctx, store.System, id)
			if err != nil || len(members) != 1 || members[0].UserID != creator || members[0].Role != store.RoleAdmin {
				t.Errorf("members = %+v, %v; want the creator (user %d) as admin", members, err, creator)
			}
			keys, err := db.ProjectKeys(f.ctx, store.System, id)
			if err != nil || len(keys) != 1 || !keys[0].Active {
				t.Errorf("keys = %+v, %v; want one active key", keys, err)
			}
		})
	}
}
