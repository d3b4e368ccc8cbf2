//go:build !linux

package pgtest

import "errors"

// startCluster is Linux-only: stopping the cluster with the test process
// relies on the Linux parent-death signal. Elsewhere set
// FLYTRAP_TEST_POSTGRES_URL or run PostgreSQL on 127.0.0.1:5432.
func startCluster() (string, error) {
	return "", errors.New("throwaway clusters are supported on Linux only")
}
