package pgtest

import (
	"context"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"
)

func TestFind(t *testing.T) {
	const envURL = "postgres://ci@db:5432/postgres"
	tests := []struct {
		name      string
		mode      string
		envURL    string
		up        []string // DSNs whose probe succeeds
		clusterOK bool
		want      string // "" when an error is expected
		wantErr   string
		clusters  int // times the cluster was asked for
	}{
		{name: "env URL wins", envURL: envURL, up: []string{envURL, localURLs[0]}, clusterOK: true, want: envURL},
		{name: "broken env URL does not fall back", envURL: envURL, up: []string{localURLs[0]}, clusterOK: true, wantErr: EnvURL},
		{name: "local postgres role", up: []string{localURLs[0], localURLs[1]}, clusterOK: true, want: localURLs[0]},
		{name: "local root role", up: []string{localURLs[1]}, clusterOK: true, want: localURLs[1]},
		{name: "cluster when nothing runs", mode: "auto", clusterOK: true, want: "cluster", clusters: 1},
		{name: "nothing at all", wantErr: "throwaway cluster", clusters: 1},
		{name: "url mode needs the variable", mode: "url", up: []string{localURLs[0]}, wantErr: EnvURL + " is not set"},
		{name: "url mode", mode: "url", envURL: envURL, up: []string{envURL}, want: envURL},
		{name: "local mode does not start a cluster", mode: "local", clusterOK: true, wantErr: "127.0.0.1:5432"},
		{name: "cluster mode ignores running servers", mode: "cluster", envURL: envURL, up: []string{envURL, localURLs[0]}, clusterOK: true, want: "cluster", clusters: 1},
		{name: "unknown mode", mode: "docker", wantErr: "want auto, url, local or cluster"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clusters := 0
			f := finder{
				probe: func(dsn string) error {
					for _, u := range tt.up {
						if u == dsn {
							return nil
						}
					}
					return errors.New("connection refused")
				},
				cluster: func() (string, error) {
					clusters++
					if tt.clusterOK {
						return "cluster", nil
					}
					return "", errors.New("no initdb")
				},
			}
			got, err := f.find(tt.mode, tt.envURL)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("find = %q, %v; want error containing %q", got, err, tt.wantErr)
				}
			} else if err != nil || got != tt.want {
				t.Fatalf("find = %q, %v; want %q", got, err, tt.want)
			}
			if clusters != tt.clusters {
				t.Errorf("cluster started %d times, want %d", clusters, tt.clusters)
			}
		})
	}
}

// recorder is a testing.TB that notes how a test would have ended.
type recorder struct {
	testing.TB
	skipped, failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Skipf(string, ...any)  { r.skipped = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true }

func TestUnavailable(t *testing.T) {
	for _, tt := range []struct {
		ci            string
		skip, failure bool
	}{
		{ci: "", skip: true},
		{ci: "false", skip: true},
		{ci: "true", failure: true},
	} {
		r := &recorder{TB: t}
		unavailable(r, tt.ci, errors.New("refused"))
		if r.skipped != tt.skip || r.failed != tt.failure {
			t.Errorf("CI=%q: skipped %v, failed %v; want %v, %v", tt.ci, r.skipped, r.failed, tt.skip, tt.failure)
		}
	}
}

// checkFreshDatabase uses URL in a subtest and checks that the database
// was new, writable, and dropped when the subtest ended. It returns the DSN.
func checkFreshDatabase(t *testing.T) string {
	var dsn, name string
	ok := t.Run("database", func(t *testing.T) {
		dsn = URL(t)
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		name = strings.TrimPrefix(u.Path, "/")
		db, err := open(dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		ctx := context.Background()
		var current string
		var tables int
		if err := db.QueryRowContext(ctx, `SELECT current_database(),
			(SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public')`).Scan(&current, &tables); err != nil {
			t.Fatal(err)
		}
		if current != name || tables != 0 {
			t.Fatalf("connected to %q with %d tables; want empty %q", current, tables, name)
		}
		if _, err := db.ExecContext(ctx, `CREATE TABLE t (x int); INSERT INTO t VALUES (1)`); err != nil {
			t.Fatal(err)
		}
		if other := URL(t); other == dsn {
			t.Fatalf("two calls returned the same database %s", dsn)
		}
	})
	switch {
	case !ok:
		t.FailNow()
	case name == "":
		t.Skip("no PostgreSQL")
	}
	admin, err := server(os.Getenv(EnvMode), os.Getenv(EnvURL))
	if err != nil {
		t.Fatal(err)
	}
	db, err := open(admin)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("database %s still exists after the test", name)
	}
	return dsn
}

func TestURL(t *testing.T) {
	checkFreshDatabase(t)
}
