package queue

import (
	"context"
	"embed"

	"github.com/getflytrap/flytrap/internal/store"
)

//go:embed migrations
var migrationFiles embed.FS

// migrations are the queue's tables. Their versions are recorded in
// queue_migrations, apart from the store's schema_migrations, so the two
// number their files independently.
var migrations = store.Migrations{
	Owner:   "queue",
	Files:   migrationFiles,
	Table:   "queue_migrations",
	LockKey: 0x666c7971756575, // "flyqueu" in ASCII; the store uses "flytrap"
}

// Migrate creates or upgrades the queue's tables in db. Run it once at
// start-up, after store.Open and before NewLocal; it is safe to run from
// processes starting together, and on databases whose queue tables the
// store's first migration created.
func Migrate(ctx context.Context, db *store.DB) error {
	return db.Migrate(ctx, migrations)
}
