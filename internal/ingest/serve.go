package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
)

// serveEnvelope handles POST /api/{project_id}/envelope/. The key may sit
// in the envelope header; then only that first line is decoded before the
// key is checked, so a compressed bomb without a valid key costs a decoder
// and one line, not the body.
//
// The envelope is read as a stream: the payloads of events, feedback,
// sessions and check-ins are kept (each within MaxEventBytes, all within MaxBodyBytes), every
// other item's bytes are skipped as they arrive, so an envelope of an
// event and a large attachment is accepted up to MaxEnvelopeBytes in
// bounded memory.
func (h *Handler) serveEnvelope(r *http.Request) (any, *apiError) {
	pid, aerr := pathProject(r)
	if aerr != nil {
		return nil, aerr
	}
	key := sentryKey(r)
	if key != "" {
		if aerr := h.authorize(r.Context(), key, pid); aerr != nil {
			return nil, aerr
		}
		if aerr := h.checkRate(pid); aerr != nil {
			return nil, aerr
		}
	}
	// Until a key vouches for it, the project the URL names is anyone's
	// guess: the body's bytes count against its client until then.
	owner := pid
	if key == "" {
		owner = 0
	}
	b, aerr := h.openBody(r, owner, h.cfg.MaxEnvelopeBytes, h.cfg.MaxEnvelopeBytes)
	if aerr != nil {
		return nil, aerr
	}
	defer b.release()
	er, err := newEnvelopeReader(b.stream(), b.lease, isKeptItem, h.cfg.MaxEventBytes, h.cfg.MaxBodyBytes)
	if err != nil {
		return nil, h.envelopeError(b, err)
	}
	defer er.close()
	hdr, err := er.header()
	if err != nil {
		if key == "" && errors.Is(err, errLongHeader) {
			return nil, badRequest("invalid_envelope", "the envelope header (first line) is longer than %d bytes; send the key in the X-Sentry-Auth header or the sentry_key query parameter instead of the envelope header's dsn", maxHeaderLine)
		}
		return nil, h.envelopeError(b, err)
	}
	if key == "" {
		if aerr := h.authorize(r.Context(), dsnKey(hdr.dsn), pid); aerr != nil {
			return nil, aerr
		}
		if aerr := h.checkRate(pid); aerr != nil {
			return nil, aerr
		}
		if err := b.lease.attach(pid); err != nil {
			return nil, budgetError(err)
		}
	}
	var (
		payloads []envelopeItem
		dropped  uint64
		unwanted categories
		// other is set by a dropped item that is neither of a category
		// nor a client report: a type ingest does not know. Such an
		// envelope gets no rate-limit header, which is for data Flytrap
		// is sure to drop.
		other bool
		// attachments and their bytes, which belong to the envelope's
		// event: its page says they were sent and not kept.
		attachments, attachmentBytes int64
		// sessionItems are charged to the rate limit one each, as
		// events are: each may name a release Flytrap records.
		sessionItems int
		// checkInItems are cron monitors' check-ins, each a token too.
		checkInItems int
	)
	for {
		it, err := er.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, h.envelopeError(b, err)
		}
		if !isKeptItem(it.typ) {
			// Transactions, attachments, client reports, replays...:
			// accepted so SDKs do not retry, but Flytrap tracks errors,
			// feedback, sessions and check-ins only.
			dropped++
			unwanted.add(it.typ)
			if it.typ == "attachment" {
				attachments++
				attachmentBytes += it.size
			}
			if _, known := itemCategories[it.typ]; !known && it.typ != "client_report" {
				other = true
			}
			continue
		}
		switch it.typ {
		case itemSession, itemSessions:
			sessionItems++
		case itemCheckIn:
			checkInItems++
		}
		payloads = append(payloads, it)
	}
	// The decoder's window and slot are not needed to decode events.
	b.endDecode()
	events := make([]*event.Event, 0, len(payloads))
	var (
		// Allocated at the first session item: an envelope of an event
		// alone pays nothing for them.
		sessions *event.Sessions
		checkIns []event.CheckIn
		sd       *decoder
	)
	for _, it := range payloads {
		if it.typ != itemSession && it.typ != itemSessions && it.typ != itemCheckIn {
			continue
		}
		if sd == nil {
			sd = h.newDecoder(h.userIP(r))
		}
		if it.typ == itemCheckIn {
			ci, err := sd.decodeCheckIn(it.payload)
			if err != nil {
				dropped++
				if ok, held := h.checkInDrops.Allow(strconv.FormatInt(pid, 10), h.cfg.Now()); ok {
					h.log.Info("dropped an invalid check-in", "project", pid, "item", it.n,
						"reason", fmt.Sprintf("envelope item %d (check_in) is %v", it.n, err), "not_logged_since", held)
				}
				continue
			}
			checkIns = append(checkIns, ci)
			continue
		}
		if sessions == nil {
			sessions = &event.Sessions{}
		}
		decode := sd.decodeSession
		if it.typ == itemSessions {
			decode = sd.decodeSessions
		}
		if err := decode(it.payload, hdr, sessions); err != nil {
			// Counted and dropped, as Relay drops it: refusing the
			// envelope would make the SDK drop its event too.
			dropped++
			h.log.Debug("dropped an invalid session item", "project", pid, "item", it.n, "type", it.typ,
				"reason", fmt.Sprintf("envelope item %d (%s) is %v", it.n, it.typ, err))
		}
	}
	first := true
	for _, it := range payloads {
		if it.typ == itemSession || it.typ == itemSessions || it.typ == itemCheckIn {
			continue
		}
		eh := hdr
		if !first {
			// The header's event_id names the envelope's (first) event.
			eh.eventID = ""
		}
		first = false
		d := h.newDecoder(h.userIP(r))
		var (
			ev  *event.Event
			err error
		)
		switch it.typ {
		case itemFeedback:
			ev, err = d.decodeFeedback(it.payload, pid, eh)
		case itemUserReport:
			ev, err = d.decodeUserReport(it.payload, pid)
		default:
			ev, err = d.decodeSentry(it.payload, pid, eh)
		}
		if err != nil {
			code := "invalid_event"
			if it.typ != "event" {
				code = "invalid_feedback"
			}
			return nil, badRequest(code, "envelope item %d (%s) is %v", it.n, it.typ, err)
		}
		if attachments > 0 {
			ev.Notes = append(ev.Notes, attachmentNote(attachments, attachmentBytes))
		}
		events = append(events, ev)
	}
	errorEvents := len(events)
	charged := errorEvents
	if sessions != nil && len(sessions.Updates) == 0 && len(sessions.Aggregates) == 0 {
		sessions = nil
	}
	if sessions != nil || len(checkIns) > 0 {
		// The sessions and check-ins ride on the envelope's first
		// event, or on a message of their own; either way each session
		// item and check-in takes a token, so a project's rate bounds
		// what they write too.
		if sessions != nil {
			charged += sessionItems
		}
		charged += len(checkIns)
		if len(events) > 0 {
			events[0].Sessions = sessions
			if len(checkIns) > 0 {
				events[0].Crons = &event.Crons{CheckIns: checkIns}
			}
		} else {
			events = append(events, sd.sessionsCarrier(pid, sessions, checkIns, payloads, hdr))
		}
	}
	if len(events) == 0 {
		h.stats.dropped.Add(dropped)
		if len(unwanted) > 0 && !other {
			return notStored{limits: unwanted.header()}, nil
		}
		return emptyBody{}, nil
	}
	if aerr := h.enqueue(r.Context(), pid, h.limiter, charged, events...); aerr != nil {
		return nil, aerr
	}
	h.stats.dropped.Add(dropped)
	switch {
	case errorEvents > 0:
		return idBody{ID: events[0].EventID}, nil
	case len(unwanted) > 0 && !other:
		// Sessions or check-ins beside data Flytrap drops: the SDK is
		// told about the dropped data as it is without them.
		return notStored{limits: unwanted.header()}, nil
	}
	return emptyBody{}, nil
}

// isKeptItem reports whether an envelope item of type typ is kept and
// decoded: events, user feedback, sessions and check-ins.
func isKeptItem(typ string) bool {
	switch typ {
	case "event", itemFeedback, itemUserReport, itemSession, itemSessions, itemCheckIn:
		return true
	}
	return false
}

// envelopeError maps an error reading an envelope to the answer.
func (h *Handler) envelopeError(b *body, err error) *apiError {
	var (
		bad *errEnvelope
		big *errItemTooLarge
	)
	switch {
	case errors.As(err, &bad):
		b.endDecode()
		return badRequest("invalid_envelope", "the body is not a Sentry envelope: %s", bad.msg)
	case errors.As(err, &big):
		b.endDecode()
		return tooLarge("%s", big.Error())
	case errors.Is(err, errKeptTooLarge):
		b.endDecode()
		return tooLarge("the events of the envelope together exceed %d bytes", h.cfg.MaxBodyBytes)
	}
	return b.fail(err)
}

// admitKeyed checks a request whose key must be in its header or query
// string (store bodies, browsers' security reports) before its body is
// read: the project in the path, the key, and the project's rate.
func (h *Handler) admitKeyed(r *http.Request) (int64, *apiError) {
	pid, aerr := pathProject(r)
	if aerr != nil {
		return 0, aerr
	}
	if aerr := h.authorize(r.Context(), sentryKey(r), pid); aerr != nil {
		return 0, aerr
	}
	if aerr := h.checkRate(pid); aerr != nil {
		return 0, aerr
	}
	return pid, nil
}

// serveStore handles POST /api/{project_id}/store/, the endpoint of SDKs
// that predate envelopes: one event per body, the key never in the body.
func (h *Handler) serveStore(r *http.Request) (any, *apiError) {
	pid, aerr := h.admitKeyed(r)
	if aerr != nil {
		return nil, aerr
	}
	b, body, aerr := h.readBody(r, pid)
	if aerr != nil {
		return nil, aerr
	}
	defer b.release()
	payload, aerr := unwrapRaven(b.lease, body, h.cfg.MaxEventBytes)
	if aerr != nil {
		return nil, aerr
	}
	ev, err := h.newDecoder(h.userIP(r)).decodeSentry(payload, pid, envelopeHeader{})
	if err != nil {
		return nil, badRequest("invalid_event", "the event is %v", err)
	}
	if aerr := h.accept(r.Context(), pid, ev); aerr != nil {
		return nil, aerr
	}
	return idBody{ID: ev.EventID}, nil
}

// serveFlytrap handles the original Flytrap SDK endpoints. The body names
// the project, so the key is checked against it after decoding.
func (h *Handler) serveFlytrap(kind flytrapKind) func(*http.Request) (any, *apiError) {
	return func(r *http.Request) (any, *apiError) {
		keyProject, aerr := h.lookupKey(r.Context(), strings.TrimSpace(r.Header.Get("X-Api-Key")), missingFlytrapKey)
		if aerr != nil {
			return nil, aerr
		}
		if aerr := h.checkRate(keyProject); aerr != nil {
			return nil, aerr
		}
		b, body, aerr := h.readBody(r, keyProject)
		if aerr != nil {
			return nil, aerr
		}
		defer b.release()
		ev, pid, err := h.newDecoder(h.clientIP(r)).decodeFlytrap(kind, body)
		if err != nil {
			return nil, badRequest("invalid_payload", "%v", err)
		}
		if pid != keyProject {
			return nil, wrongProject(pid)
		}
		if aerr := h.accept(r.Context(), pid, ev); aerr != nil {
			return nil, aerr
		}
		return idBody{ID: ev.EventID}, nil
	}
}

// pace holds a request while more events wait for processing than
// PaceBacklog, for at most maxPace, before its body is read (after its
// key and rate limit, so a request refused for them is refused at once). Ingest
// decodes faster than processing saves, and on a machine both share, every
// core ingest takes is one processing lacks: without a hold, a 10 s load
// of 50 KB events left seconds of backlog behind it. Holding the answer is
// the backpressure an SDK's transport already obeys (it sends its next
// event when this one is answered), and it costs no event, where a 429
// makes the SDK drop what it sends until Retry-After.
func (h *Handler) pace(ctx context.Context) {
	if h.cfg.Backlog == nil || h.cfg.PaceBacklog < 0 || h.cfg.MaxBacklog < 0 || h.backlogUnderPace() {
		return
	}
	release := h.pacer.join(h.backlogUnderPace)
	defer h.pacer.leave()
	limit := time.NewTimer(maxPace)
	defer limit.Stop()
	select {
	case <-release:
	case <-limit.C:
	case <-ctx.Done():
	}
}

func (h *Handler) backlogUnderPace() bool { return h.cfg.Backlog.Pending() <= h.cfg.PaceBacklog }

// pacer lets the requests pace holds share one watcher of the backlog
// instead of each polling it.
type pacer struct {
	mu      sync.Mutex
	held    int           // requests waiting on release
	release chan struct{} // closed when the held requests may go; nil while no watcher runs
}

// join counts a held request in and returns the channel closed once done
// reports true, starting the watcher that closes it if none runs.
func (p *pacer) join(done func() bool) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.held++
	if p.release == nil {
		p.release = make(chan struct{})
		go p.watch(p.release, done)
	}
	return p.release
}

// leave counts a request out, released or not.
func (p *pacer) leave() {
	p.mu.Lock()
	p.held--
	p.mu.Unlock()
}

// watch closes release once done reports true, or once no request waits
// on it any more (each gives up after maxPace), so no watcher outlives
// the requests it holds.
func (p *pacer) watch(release chan struct{}, done func() bool) {
	tick := time.NewTicker(paceTick)
	defer tick.Stop()
	for {
		<-tick.C
		p.mu.Lock()
		if p.held == 0 || done() {
			p.release = nil
			p.mu.Unlock()
			close(release)
			return
		}
		p.mu.Unlock()
	}
}

// checkBacklog refuses every event request while more accepted events
// wait for processing than MaxBacklog: the flood is pushed back to the
// SDKs, which pause for Retry-After, instead of growing the queue faster
// than it drains. It is a 429 with X-Sentry-Rate-Limits for all categories
// and the organization scope, since the whole server is behind, not one
// project or kind of data.
func (h *Handler) checkBacklog() *apiError {
	if h.cfg.Backlog == nil || h.cfg.MaxBacklog < 0 {
		return nil
	}
	return h.backlogError(h.cfg.Backlog.Pending() + h.reserved.Load())
}

// reserve counts n decoded events against MaxBacklog until they are in the
// queue, when the queue's Pending counts them. checkBacklog alone lets
// every concurrent request through while none has committed yet: 200 at
// once against a limit of 20 enqueued 144. The returned func releases the
// reservation.
func (h *Handler) reserve(n int) (func(), *apiError) {
	if h.cfg.Backlog == nil || h.cfg.MaxBacklog < 0 {
		return func() {}, nil
	}
	before := h.reserved.Add(int64(n)) - int64(n)
	if aerr := h.backlogError(h.cfg.Backlog.Pending() + before); aerr != nil {
		h.reserved.Add(-int64(n))
		return nil, aerr
	}
	return func() { h.reserved.Add(-int64(n)) }, nil
}

// backlogError is the answer to a request that finds n events ahead of it,
// nil while n is within MaxBacklog.
func (h *Handler) backlogError(n int64) *apiError {
	if n <= h.cfg.MaxBacklog {
		return nil
	}
	return &apiError{status: http.StatusTooManyRequests, code: "backlog", reason: ReasonBacklog,
		retryAfter: backlogRetryAfter, limits: ":organization",
		msg: fmt.Sprintf("the server has %d events waiting to be processed, more than its limit of %d; retry in %s", n, h.cfg.MaxBacklog, seconds(backlogRetryAfter))}
}

// checkRate refuses a project with no token left before its body is
// decoded. It takes no token: the body may hold no event, or several, and
// accept charges what it holds.
func (h *Handler) checkRate(pid int64) *apiError {
	if ok, wait, perMinute := h.limiter.allow(pid, 0); !ok {
		return rateLimited(pid, wait, perMinute)
	}
	return nil
}

// rateLimited is the answer to a project over its rate of perMinute, due
// again in wait. The header names errors, sessions and check-ins
// (monitor), which ingest charges; SDKs keep sending transactions, which
// it drops without counting. The message names the units charged, events,
// session items and check-ins alike: a project's sessions or check-ins may
// be what spent its tokens, and checkRate refuses before it knows what the
// body holds.
func rateLimited(pid int64, wait time.Duration, perMinute int) *apiError {
	secs := max(1, int(math.Ceil(wait.Seconds())))
	return &apiError{status: http.StatusTooManyRequests, code: "rate_limited", reason: ReasonRateLimited,
		retryAfter: secs, limits: "error;default;session;monitor:project",
		msg: fmt.Sprintf("project %d is over its limit of %d events, session items and check-ins per minute; retry in %s", pid, perMinute, seconds(secs))}
}

// seconds is n seconds in words, for a message that says when to retry:
// "1 second", "5 seconds".
func seconds(n int) string {
	if n == 1 {
		return "1 second"
	}
	return fmt.Sprintf("%d seconds", n)
}

// accept charges decoded events to the project's rate and enqueues them,
// an envelope's events in one batch. checkRate let the request through
// with a token left; a project may overdraw by the rest of its envelope,
// and a concurrent request may have taken that token, hence the second
// check.
func (h *Handler) accept(ctx context.Context, pid int64, events ...*event.Event) *apiError {
	return h.enqueue(ctx, pid, h.limiter, len(events), events...)
}

// enqueue is accept charging charged tokens to limiter, nil for none: the
// crash-report form's posts are charged to a budget of their own before,
// and an envelope is charged for its events, session items and check-ins.
func (h *Handler) enqueue(ctx context.Context, pid int64, limiter *limiter, charged int, events ...*event.Event) *apiError {
	bodies := make([][]byte, len(events))
	size := 0
	for i, ev := range events {
		ev.Shape = event.CurrentShape
		body, err := event.Marshal(ev)
		if err != nil {
			// The decoder only produces encodable values; this is a
			// bug, reported like one.
			panic(fmt.Sprintf("ingest: encoding a normalized event: %v", err))
		}
		if limit := maxNormalizedBytes(h.cfg.MaxEventBytes); int64(len(body)) > limit {
			return tooLarge("event %d is %d bytes once normalized, more than the limit of %d (twice the limit on an event as sent)", i+1, len(body), limit)
		}
		bodies[i] = body
		size = max(size, len(body))
	}
	release, aerr := h.reserve(len(events))
	if aerr != nil {
		return aerr
	}
	defer release()
	if limiter != nil && charged > 0 {
		if ok, wait, perMinute := limiter.allow(pid, charged); !ok {
			return rateLimited(pid, wait, perMinute)
		}
	}
	var err error
	if len(bodies) == 1 {
		err = h.queue.Enqueue(ctx, bodies[0])
	} else {
		err = h.queue.EnqueueBatch(ctx, bodies)
	}
	if err != nil {
		var big interface{ TooLarge() bool }
		if errors.As(err, &big) && big.TooLarge() {
			// Retrying cannot help: the SDK must drop it, as for any
			// event over the limits.
			return &apiError{status: http.StatusRequestEntityTooLarge, code: "too_large", reason: ReasonTooLarge,
				msg: fmt.Sprintf("a normalized event (the largest is %d bytes) is more than the queue accepts", size), cause: err}
		}
		return &apiError{status: http.StatusServiceUnavailable, code: "queue_unavailable", reason: ReasonQueueError,
			retryAfter: queueRetryAfter, msg: "the event could not be stored right now; retry later", cause: err}
	}
	for _, ev := range events {
		if !ev.SessionsOnly {
			h.stats.accepted.Add(1)
		}
	}
	return nil
}

// maxNormalizedBytes bounds an event as ingest queues it, so that what is
// queued, processed and stored stays within a small multiple of the
// event-size limit however the JSON was shaped: normalizing replaces
// invalid UTF-8 bytes by three-byte U+FFFD, for one.
func maxNormalizedBytes(maxEventBytes int64) int64 { return 2 * maxEventBytes }

// userIP is the address a Sentry event's "{{auto}}" user IP stands for:
// the first address of X-Sentry-Forwarded-For, which the SDKs' tunnels
// (@sentry/node's handleTunnelRequest) set to the browser's address and
// Relay reads, else the sender's (clientIP). The header claims no more than
// the event's own user.ip_address may, so it is taken as that is; limits
// and fairness keep to clientIP, which a sender cannot pick.
func (h *Handler) userIP(r *http.Request) string {
	first, _, _ := strings.Cut(r.Header.Get("X-Sentry-Forwarded-For"), ",")
	if ip, err := netip.ParseAddr(strings.TrimSpace(first)); err == nil {
		return ip.String()
	}
	return h.clientIP(r)
}

// clientIP is the sender's address: the connection's peer, or with
// TrustForwardedFor the entry the (single) trusted proxy appended last.
func (h *Handler) clientIP(r *http.Request) string {
	if h.cfg.TrustForwardedFor {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			last := xff[len(xff)-1]
			if ip := strings.TrimSpace(last[strings.LastIndexByte(last, ',')+1:]); ip != "" {
				return ip
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// attachmentNote tells the reader of an event that the SDK sent files
// with it (screenshots, log files, minidumps) which Flytrap does not keep.
func attachmentNote(n, size int64) string {
	noun := "attachments"
	if n == 1 {
		noun = "attachment"
	}
	return fmt.Sprintf("%d %s (%s) sent with this event not stored: Flytrap keeps no attachments", n, noun, byteSize(size))
}

// byteSize is a size as people read it: 512 B, 14 KB, 3.2 MB.
func byteSize(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1000*1000:
		return fmt.Sprintf("%d KB", (n+500)/1000)
	default:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
}
