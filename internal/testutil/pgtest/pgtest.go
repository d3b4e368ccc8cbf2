// Package pgtest gives tests a real, fresh PostgreSQL database.
//
// The server is chosen once per test process, by FLYTRAP_TEST_POSTGRES_MODE:
//
//	auto (default)  FLYTRAP_TEST_POSTGRES_URL if set (and nothing else);
//	                else a server on 127.0.0.1:5432 (user postgres or root);
//	                else a throwaway cluster
//	url             only FLYTRAP_TEST_POSTGRES_URL
//	local           only 127.0.0.1:5432
//	cluster         only a throwaway cluster
//
// The URL names a database (usually "postgres") of a role allowed to
// create databases. A throwaway cluster is built with initdb from the
// installed PostgreSQL (initdb on PATH, else the newest
// /usr/lib/postgresql/*/bin) in a temporary directory and is stopped when the
// test process exits; see startCluster.
//
// Without a server, tests skip, except when CI=true: a CI job that lost its
// database must fail, not pass by skipping everything.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Environment variables read by URL.
const (
	EnvURL  = "FLYTRAP_TEST_POSTGRES_URL"
	EnvMode = "FLYTRAP_TEST_POSTGRES_MODE"
)

// localURLs are tried in auto and local mode. This is how a developer
// machine or a CI service container usually runs PostgreSQL: trust
// authentication for the superuser, or for the Unix user's own role.
var localURLs = []string{
	"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable&connect_timeout=2",
	"postgres://root@127.0.0.1:5432/postgres?sslmode=disable&connect_timeout=2",
}

// URL returns the DSN of a new, empty database that is dropped when the test
// ends. Tests that close their connections in a Cleanup registered after
// URL (as usual) have closed them by then; any still open are terminated.
func URL(t testing.TB) string {
	t.Helper()
	admin, err := server(os.Getenv(EnvMode), os.Getenv(EnvURL))
	if err != nil {
		unavailable(t, os.Getenv("CI"), err)
		return ""
	}
	b := make([]byte, 8)
	rand.Read(b)
	name := "flytrap_test_" + hex.EncodeToString(b)
	if err := adminExec(admin, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		if err := adminExec(admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// unavailable ends a test that has no PostgreSQL: a skip, or a failure when
// ci is "true".
func unavailable(t testing.TB, ci string, err error) {
	t.Helper()
	if ci == "true" {
		t.Fatalf("pgtest: no PostgreSQL, and CI=true forbids skipping: %v", err)
		return
	}
	t.Skipf("pgtest: no PostgreSQL (set %s or run one on 127.0.0.1:5432): %v", EnvURL, err)
}

// adminExec runs one statement on the admin database.
func adminExec(dsn, stmt string) error {
	db, err := open(dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = db.ExecContext(ctx, stmt)
	return err
}

func open(dsn string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	return stdlib.OpenDB(*cfg), nil
}

// probe checks that dsn reaches a server where its role may create
// databases.
func probe(dsn string) error {
	db, err := open(dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var ok bool
	if err := db.QueryRowContext(ctx, `SELECT rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = current_user`).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return errors.New("role may not create databases")
	}
	return nil
}

// finder picks a server; its functions are variables so the selection rules
// can be tested without servers.
type finder struct {
	probe   func(dsn string) error
	cluster func() (string, error)
}

func (f finder) find(mode, envURL string) (string, error) {
	tryURL := func() (string, error) {
		if envURL == "" {
			return "", fmt.Errorf("%s is not set", EnvURL)
		}
		if err := f.probe(envURL); err != nil {
			return "", fmt.Errorf("%s: %w", EnvURL, err)
		}
		return envURL, nil
	}
	tryLocal := func() (string, error) {
		var errs []error
		for _, u := range localURLs {
			err := f.probe(u)
			if err == nil {
				return u, nil
			}
			errs = append(errs, err)
		}
		return "", fmt.Errorf("127.0.0.1:5432: %w", errors.Join(errs...))
	}
	tryCluster := func() (string, error) {
		u, err := f.cluster()
		if err != nil {
			return "", fmt.Errorf("throwaway cluster: %w", err)
		}
		return u, nil
	}
	switch mode {
	case "", "auto":
		// An explicit URL is a promise; falling back would hide its
		// breakage behind another server.
		if envURL != "" {
			return tryURL()
		}
		u, errLocal := tryLocal()
		if errLocal == nil {
			return u, nil
		}
		u, errCluster := tryCluster()
		if errCluster == nil {
			return u, nil
		}
		return "", errors.Join(errLocal, errCluster)
	case "url":
		return tryURL()
	case "local":
		return tryLocal()
	case "cluster":
		return tryCluster()
	}
	return "", fmt.Errorf("%s=%q: want auto, url, local or cluster", EnvMode, mode)
}

var (
	serversMu sync.Mutex
	// servers memoizes the choice per (mode, URL), so probing happens once
	// per process, yet a test can switch modes with t.Setenv.
	servers = map[[2]string]serverChoice{}
	// cluster starts at most one throwaway cluster per process.
	cluster = sync.OnceValues(startCluster)
)

type serverChoice struct {
	url string
	err error
}

// server returns the admin DSN of the server for mode.
func server(mode, envURL string) (string, error) {
	serversMu.Lock()
	defer serversMu.Unlock()
	k := [2]string{mode, envURL}
	c, ok := servers[k]
	if !ok {
		c.url, c.err = finder{probe: probe, cluster: cluster}.find(mode, envURL)
		servers[k] = c
	}
	return c.url, c.err
}
