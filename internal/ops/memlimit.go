package ops

import (
	"math"
	"runtime/debug"
)

// SetMemoryLimit makes the garbage collector keep the process's Go memory
// under mb MiB, unless the operator chose with GOMEMLIMIT (getenv reads
// the environment) or mb is 0. It returns the limit in force, in bytes,
// or math.MaxInt64 for none.
//
// The request budgets (ingest's bytes in flight, the hashing pool) bound
// live memory, but not the garbage a flood leaves behind: with the
// collector's default pacing the heap may reach twice what is live, and
// outgrown buffers and spent 64 MiB Argon2 blocks double that again. A
// soft limit makes the collector run sooner instead, so RSS under attack
// stays near what the budgets promise.
func SetMemoryLimit(mb int64, getenv func(string) string) int64 {
	if getenv("GOMEMLIMIT") != "" || mb <= 0 {
		return debug.SetMemoryLimit(-1) // a negative value only reads it
	}
	limit := int64(math.MaxInt64)
	if mb < math.MaxInt64>>20 {
		limit = mb << 20
	}
	debug.SetMemoryLimit(limit)
	return limit
}
