package ingest

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxReportClients bounds the per-client buckets of the crash-report
// form. A bucket back to full is the same as a new one and is dropped
// when the map is full; only clients that posted within about a minute
// keep theirs.
const maxReportClients = 10_000

// reportLimits is the crash-report form's own budget, apart from the
// project's event rate: a flood of events must not keep users from
// reporting, nor a flood of form posts eat the events' budget. Each post
// takes a token from its project's bucket and from its client address's
// bucket for that project, both or neither.
type reportLimits struct {
	project, client rate.Limit
	projectBurst    int
	clientBurst     int
	maxClients      int
	now             func() time.Time

	mu       sync.Mutex
	projects map[int64]*rate.Limiter
	clients  map[reportClient]*rate.Limiter
}

// reportClient is one client address posting to one project.
type reportClient struct {
	project int64
	ip      string
}

// newReportLimits allows perProject posts a minute to each project and
// perClient a minute to one client address, each with a minute's worth as
// the burst; a limit of zero or less is no limit.
func newReportLimits(perProject, perClient int, now func() time.Time) *reportLimits {
	l := &reportLimits{project: rate.Inf, client: rate.Inf, maxClients: maxReportClients, now: now,
		projects: map[int64]*rate.Limiter{}, clients: map[reportClient]*rate.Limiter{}}
	if perProject > 0 {
		l.project, l.projectBurst = rate.Limit(float64(perProject)/60), perProject
	}
	if perClient > 0 {
		l.client, l.clientBurst = rate.Limit(float64(perClient)/60), perClient
	}
	return l
}

// allow takes a post of ip to project from both budgets. On refusal it
// returns which budget refused ("client" or "project") and how long until
// it has a token again; the other budget keeps its token.
func (l *reportLimits) allow(project int64, ip string) (refused string, wait time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	p, ok := l.projects[project]
	if !ok {
		p = rate.NewLimiter(l.project, l.projectBurst)
		l.projects[project] = p
	}
	var rc *rate.Reservation
	if l.client != rate.Inf {
		c, wait := l.clientLimiter(reportClient{project, ip}, now)
		if c == nil {
			return "client", wait
		}
		rc = c.ReserveN(now, 1)
		if d := rc.DelayFrom(now); d > 0 {
			rc.CancelAt(now)
			return "client", d
		}
	}
	rp := p.ReserveN(now, 1)
	if d := rp.DelayFrom(now); d > 0 {
		rp.CancelAt(now)
		if rc != nil {
			rc.CancelAt(now)
		}
		return "project", d
	}
	return "", 0
}

// clientLimiter is key's bucket, made if need be. With every bucket in use
// it is nil and the wait for one: this many addresses posting within a
// minute is a flood, and a new one waits for a bucket to fill up again.
func (l *reportLimits) clientLimiter(key reportClient, now time.Time) (*rate.Limiter, time.Duration) {
	if c, ok := l.clients[key]; ok {
		return c, 0
	}
	if len(l.clients) >= l.maxClients {
		l.sweep(now)
	}
	if len(l.clients) >= l.maxClients {
		return nil, time.Minute
	}
	c := rate.NewLimiter(l.client, l.clientBurst)
	l.clients[key] = c
	return c, 0
}

// sweep drops the client buckets that are full again.
func (l *reportLimits) sweep(now time.Time) {
	for k, c := range l.clients {
		if c.TokensAt(now) >= float64(l.clientBurst) {
			delete(l.clients, k)
		}
	}
}

// checkReportRate refuses a crash-report post over its budget with 429,
// Retry-After and words the dialog can show.
func (h *Handler) checkReportRate(pid int64, ip string) *apiError {
	refused, wait := h.reports.allow(pid, ip)
	if refused == "" {
		return nil
	}
	secs := max(1, int((wait+time.Second-1)/time.Second))
	who := "this address"
	if refused == "project" {
		who = "this project's users"
	}
	return &apiError{status: http.StatusTooManyRequests, code: "report_rate_limited", reason: ReasonRateLimited, retryAfter: secs,
		msg: fmt.Sprintf("too many crash reports from %s in the last minute; send the report again in %s", who, seconds(secs))}
}
