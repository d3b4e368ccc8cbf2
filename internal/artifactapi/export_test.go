package artifactapi

import "time"

// SetReleaseFileWait shortens how long a release-file upload waits for a
// slot, so that a test sees the 429 without waiting 30 s.
func (h *Handler) SetReleaseFileWait(d time.Duration) { h.fileWait = d }

// SetClock replaces the handler's clock, so that a test sees time pass
// between the calls of one request.
func (h *Handler) SetClock(now func() time.Time) { h.now = now }
