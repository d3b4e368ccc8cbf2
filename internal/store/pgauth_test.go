package store

// Tests of pgauth.go. They live in package store only to stand in for RDS's
// rds_iam role (rdsIAMRole); every identifier here starts with pgauth so
// they cannot collide with the package's other tests.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/testutil/pgtest"
)

func pgauthSuffix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// pgauthAdminExec runs statements on the server's maintenance database,
// for cluster-wide objects (roles) that outlive a test database.
func pgauthAdminExec(t *testing.T, dsn string, stmts ...string) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/postgres"
	// Plain pgx, not Open: the maintenance database must not be migrated.
	cfg, err := pgx.ParseConfig(u.String())
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
}

// pgauthAs returns dsn with its user replaced.
func pgauthAs(t *testing.T, dsn, user string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(user)
	return u.String()
}

func TestOpenPostgresAsksPasswordPerConnection(t *testing.T) {
	dsn := pgtest.URL(t)
	ctx := context.Background()
	var calls atomic.Int32
	db, err := OpenPostgres(ctx, dsn, func(ctx context.Context) (string, error) {
		if ctx == nil {
			t.Error("password called without a context")
		}
		calls.Add(1)
		return "token-" + pgauthSuffix(), nil
	})
	if err != nil {
		t.Fatalf("OpenPostgres: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if db.Dialect() != DialectPostgres {
		t.Errorf("dialect %s", db.Dialect())
	}
	// The schema was migrated like Open does.
	if _, err := db.CountUsers(ctx); err != nil {
		t.Fatalf("schema not migrated: %v", err)
	}
	before := calls.Load()
	conns := make([]interface{ Close() error }, 3)
	for i := range conns {
		c, err := db.SQL().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	for _, c := range conns {
		c.Close()
	}
	// At most one connection was idle in the pool; the others are new.
	if got := calls.Load() - before; got < 2 {
		t.Errorf("password asked %d times for 3 concurrent connections (%d before), want once per new connection", got, before)
	}

	// A second open of the migrated database reads schema_migrations only.
	again, err := OpenPostgres(ctx, dsn, func(context.Context) (string, error) { return "x", nil })
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	again.Close()
}

func TestOpenPostgresPasswordError(t *testing.T) {
	dsn := pgtest.URL(t)
	boom := errors.New("signing failed")
	_, err := OpenPostgres(context.Background(), dsn, func(context.Context) (string, error) { return "", boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the password function's error", err)
	}
	if _, err := OpenPostgres(context.Background(), dsn, nil); err == nil {
		t.Fatal("nil password function accepted")
	}
}

// TestOpenPostgresSendsPassword checks, against a fake server that asks for
// a cleartext password, that each connection attempt sends what the
// function returned (the test servers trust every login, so only a fake
// can see the password).
func TestOpenPostgresSendsPassword(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	received := make(chan string, 4)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				be := pgproto3.NewBackend(conn, conn)
				if _, err := be.ReceiveStartupMessage(); err != nil {
					return
				}
				be.Send(&pgproto3.AuthenticationCleartextPassword{})
				if be.Flush() != nil || be.SetAuthType(pgproto3.AuthTypeCleartextPassword) != nil {
					return
				}
				msg, err := be.Receive()
				if pw, ok := msg.(*pgproto3.PasswordMessage); ok && err == nil {
					received <- pw.Password
				}
				be.Send(&pgproto3.ErrorResponse{Severity: "FATAL", Code: "28P01", Message: "PAM authentication failed for user \"flytrap_processor\""})
				be.Flush()
			}()
		}
	}()
	var n atomic.Int32
	dsn := "postgres://flytrap_processor:ignored@" + ln.Addr().String() + "/flytrap?sslmode=disable&connect_timeout=5"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = OpenPostgres(ctx, dsn, func(context.Context) (string, error) {
		return "iam-token-" + string(rune('0'+n.Add(1))), nil
	})
	if err == nil || !strings.Contains(err.Error(), "28P01") {
		t.Fatalf("err = %v, want the server's authentication failure", err)
	}
	select {
	case got := <-received:
		if got != "iam-token-1" {
			t.Errorf("server received password %q, want the function's iam-token-1 (not the DSN's)", got)
		}
	default:
		t.Fatal("the server received no password")
	}
}

func TestEnsureProcessorRole(t *testing.T) {
	ctx := context.Background()
	suffix := pgauthSuffix()
	role := "flytrap_processor_" + suffix
	iam := "flytrap_test_rds_iam_" + suffix
	// Registered before pgtest.URL, so it runs after the test database
	// (holding the role's privileges) is dropped.
	var admin string
	t.Cleanup(func() {
		if admin != "" {
			pgauthAdminExec(t, admin, "DROP ROLE IF EXISTS "+role, "DROP ROLE IF EXISTS "+iam)
		}
	})
	dsn := pgtest.URL(t)
	admin = dsn
	// The role exists without LOGIN, as if created by hand: it is fixed.
	pgauthAdminExec(t, dsn, "CREATE ROLE "+iam+" NOLOGIN", "CREATE ROLE "+role+" NOLOGIN")
	saved := rdsIAMRole
	rdsIAMRole = iam
	t.Cleanup(func() { rdsIAMRole = saved })

	master, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { master.Close() })
	for i := range 2 { // idempotent: the dashboard runs it on every start
		if err := master.EnsureProcessorRole(ctx, role); err != nil {
			t.Fatalf("EnsureProcessorRole #%d: %v", i+1, err)
		}
	}
	var isMember, canLogin bool
	if err := master.SQL().QueryRowContext(ctx, `SELECT pg_has_role($1, $2, 'MEMBER'), rolcanlogin FROM pg_roles WHERE rolname = $1`, role, iam).Scan(&isMember, &canLogin); err != nil {
		t.Fatal(err)
	}
	if !isMember || !canLogin {
		t.Errorf("role: member of the IAM role %v, login %v; want both", isMember, canLogin)
	}
	project, err := master.CreateProject(ctx, "p-"+suffix)
	if err != nil {
		t.Fatal(err)
	}
	key, err := master.CreateProjectKey(ctx, project.ID)
	if err != nil {
		t.Fatal(err)
	}

	// Now connect as the processor would.
	proc, err := OpenPostgres(ctx, pgauthAs(t, dsn, role), func(context.Context) (string, error) { return "token", nil })
	if err != nil {
		t.Fatalf("OpenPostgres as %s: %v", role, err)
	}
	t.Cleanup(func() { proc.Close() })
	keys, err := proc.ActiveKeys(ctx)
	if err != nil || keys[key.PublicKey].ProjectID != project.ID {
		t.Fatalf("ActiveKeys as the processor = %v, %v", keys, err)
	}
	res, err := proc.SaveEvent(ctx, SaveRequest{
		Event:           &event.Event{EventID: strings.Repeat("ab", 16), ProjectID: project.ID, Level: "error", Message: "boom", Timestamp: time.Now()},
		Fingerprint:     "fp",
		GroupingVersion: "test",
		Title:           "boom",
	})
	if err != nil || !res.NewIssue {
		t.Fatalf("SaveEvent as the processor = %+v, %v", res, err)
	}

	// And nothing more.
	for _, stmt := range []string{
		"CREATE TABLE pgauth_intruder (id INT)",
		"DELETE FROM schema_migrations",
		"DROP TABLE events",
		"CREATE ROLE pgauth_other_" + suffix,
	} {
		if _, err := proc.SQL().ExecContext(ctx, stmt); err == nil || !strings.Contains(err.Error(), "42501") {
			t.Errorf("%s as the processor: %v, want permission denied (42501)", stmt, err)
		}
	}

	// Tables a later migration creates are covered by default privileges.
	if _, err := master.SQL().ExecContext(ctx, `CREATE TABLE pgauth_later (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v TEXT)`); err != nil {
		t.Fatal(err)
	}
	if _, err := proc.SQL().ExecContext(ctx, `INSERT INTO pgauth_later (v) VALUES ('x')`); err != nil {
		t.Errorf("insert into a table created after the grant: %v", err)
	}
}

func TestEnsureProcessorRoleRejects(t *testing.T) {
	dsn := pgtest.URL(t)
	db, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, role := range []string{"", "Flytrap", "a-b", `x"; DROP TABLE events; --`, strings.Repeat("a", 64)} {
		if err := db.EnsureProcessorRole(context.Background(), role); err == nil {
			t.Errorf("role %q accepted", role)
		}
	}
}
