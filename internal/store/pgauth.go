package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// OpenPostgres is Open for PostgreSQL with a password that is asked for
// each time the pool opens a connection, instead of one fixed in dsn.
// That is what RDS IAM database authentication needs: a token signed by
// feature/rds/auth BuildAuthToken is valid for 15 minutes, and only at
// connect time, so every new connection needs a fresh one. The dashboard
// uses it too, with the RDS-managed master secret, which RDS rotates.
//
// dsn is a postgres:// URL or a keyword/value string; a password in it is
// replaced by password's. Like Open it checks the connection and brings
// the schema up to date, but when the schema is current it only reads
// schema_migrations, so a role without DDL privileges (the processor's)
// can open the store once the dashboard has migrated it.
func OpenPostgres(ctx context.Context, dsn string, password func(ctx context.Context) (string, error)) (*DB, error) {
	if password == nil {
		return nil, errors.New("store: OpenPostgres needs a password function")
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store: parse PostgreSQL DSN: %w", err)
	}
	connector := stdlib.GetConnector(*cfg, stdlib.OptionBeforeConnect(func(ctx context.Context, cc *pgx.ConnConfig) error {
		p, err := password(ctx)
		if err != nil {
			return fmt.Errorf("store: database password for %s: %w", cc.User, err)
		}
		cc.Password = p
		return nil
	}))
	db := sql.OpenDB(connector)
	// The same pool limits as Open: small RDS instances allow ~80
	// connections shared by the dashboard and up to five processors.
	db.SetMaxOpenConns(10)
	db.SetMaxIdleConns(10)
	db.SetConnMaxIdleTime(5 * time.Minute)
	d := &DB{db: db, dialect: DialectPostgres, connector: connector}
	if err := d.db.PingContext(ctx); err != nil {
		d.db.Close()
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	if err := d.migrateIfBehind(ctx); err != nil {
		d.db.Close()
		return nil, err
	}
	return d, nil
}

// migrateIfBehind runs migrate unless schema_migrations already records
// every migration this binary has. A newer schema is refused like migrate
// refuses it.
func (d *DB) migrateIfBehind(ctx context.Context) error {
	ms, err := migrations(d.dialect)
	if err != nil {
		return err
	}
	if len(ms) == 0 {
		return nil
	}
	// Unread (no table yet), every migration is due; migrate says why if
	// it cannot apply them.
	todo := ms
	if recorded, err := recordedMigrations(ctx, d.db, storeMigrations.Table); err == nil {
		if todo, err = pending(storeMigrations, ms, recorded); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		if len(todo) == 0 {
			return nil
		}
	}
	if err := d.migrate(ctx); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42501" { // insufficient_privilege
			return fmt.Errorf("%w (the schema lacks %s, which this binary needs; flytrap deploy migrates it before it updates the functions, the dashboard when it starts)", err, migrationList(todo))
		}
		return err
	}
	return nil
}

// migrationList names ms for an error: the first few files and how many
// more, since a fresh database lacks them all.
func migrationList(ms []migration) string {
	const shown = 3
	names := make([]string, 0, shown)
	for _, m := range ms[:min(len(ms), shown)] {
		names = append(names, m.name)
	}
	s := "migration " + names[0]
	if len(ms) > 1 {
		s = "migrations " + strings.Join(names, ", ")
	}
	if len(ms) > shown {
		s += fmt.Sprintf(" and %d more", len(ms)-shown)
	}
	return s
}

// rdsIAMRole is the role RDS uses to mark logins that authenticate with IAM
// tokens; a variable so tests on plain PostgreSQL can stand one in.
var rdsIAMRole = "rds_iam"

// roleName is what EnsureProcessorRole accepts: a plain lowercase
// identifier, like the Terraform variable that names it.
var roleName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// EnsureProcessorRole makes role a login for the processor Lambda: it
// creates the role if missing (LOGIN, no password), grants it rds_iam when
// that role exists (on RDS, so it signs in with IAM tokens; plain
// PostgreSQL has no such role and skips the grant), and grants exactly
// what processing needs on the current database and schema: SELECT,
// INSERT, UPDATE and DELETE on every table (schema_migrations read-only)
// and USAGE and SELECT on every sequence, now and for tables created later
// by the connected role (default privileges). It is idempotent; the
// dashboard runs it after migrating, as the master user, on every start.
// PostgreSQL only.
func (d *DB) EnsureProcessorRole(ctx context.Context, role string) error {
	if d.dialect != DialectPostgres {
		return errors.New("store: processor roles exist only on PostgreSQL")
	}
	if !roleName.MatchString(role) {
		return fmt.Errorf("store: processor role %q must be a lowercase identifier", role)
	}
	who := pgx.Identifier{role}.Sanitize()
	err := d.InTx(ctx, func(tx *sql.Tx) error {
		// Roles are shared by the whole server: two dashboards starting
		// together must not both try to create it.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrateLockKey+1)); err != nil {
			return err
		}
		var exists, canLogin, iam bool
		var dbName, schema string
		if err := tx.QueryRowContext(ctx, `SELECT
			EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1),
			EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1 AND rolcanlogin),
			EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $2),
			current_database(), current_schema()`, role, rdsIAMRole).Scan(&exists, &canLogin, &iam, &dbName, &schema); err != nil {
			return err
		}
		db, sch := pgx.Identifier{dbName}.Sanitize(), pgx.Identifier{schema}.Sanitize()
		var stmts []string
		switch {
		case !exists:
			stmts = append(stmts, "CREATE ROLE "+who+" LOGIN")
		case !canLogin:
			// Altering a role needs more than granting to it; only
			// do it when there is something to fix.
			stmts = append(stmts, "ALTER ROLE "+who+" LOGIN")
		}
		if iam {
			stmts = append(stmts, "GRANT "+pgx.Identifier{rdsIAMRole}.Sanitize()+" TO "+who)
		}
		stmts = append(stmts,
			"GRANT CONNECT ON DATABASE "+db+" TO "+who,
			"GRANT USAGE ON SCHEMA "+sch+" TO "+who,
			"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "+sch+" TO "+who,
			// The schema version is the dashboard's business.
			"REVOKE INSERT, UPDATE, DELETE ON TABLE "+sch+".schema_migrations FROM "+who,
			"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "+sch+" TO "+who,
			"ALTER DEFAULT PRIVILEGES IN SCHEMA "+sch+" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "+who,
			"ALTER DEFAULT PRIVILEGES IN SCHEMA "+sch+" GRANT USAGE, SELECT ON SEQUENCES TO "+who,
		)
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: processor role %s: %w", role, err)
	}
	return nil
}
