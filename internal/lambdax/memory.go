package lambdax

import "strconv"

// FunctionMemoryMB is the function's memory in MB, which Lambda sets in
// AWS_LAMBDA_FUNCTION_MEMORY_SIZE; 0 outside Lambda. getenv is os.Getenv
// outside tests.
func FunctionMemoryMB(getenv func(string) string) int64 {
	n, err := strconv.ParseInt(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

// MemoryLimitMB is the soft limit a function gives Go's collector
// (ops.SetMemoryLimit): 90 % of memoryMB, the rest being the executable and
// what Go does not manage; 0 (no limit) for 0. Lambda ends an environment
// that outgrows its memory, and without a limit the collector lets the heap
// reach twice what is live before it runs: ingest's largest envelope (20
// MiB of events) peaked at about 120 MB of heap with about 60 MB live, in
// a test process that also ran the S3 and SQS fakes, near a 128 MB
// function's memory.
func MemoryLimitMB(memoryMB int64) int64 {
	return memoryMB * 9 / 10
}
