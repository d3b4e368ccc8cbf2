package ingest

import "time"

// warnEvery is how often ingest logs a WARN line for refusals with the
// same code (a full disk, an unavailable queue, a spent memory budget).
// The first refusal of a code is logged at once; the rest of its interval
// is counted and reported on the next line. Every refusal still counts in
// flytrap_ingest_rejected_total.
const warnEvery = 10 * time.Second
