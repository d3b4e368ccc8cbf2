package ingest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
)

// Envelope item types of release health
// (https://develop.sentry.dev/sdk/telemetry/sessions/).
const (
	// itemSession is one update of one session: mobile SDKs, sentry-go,
	// and the browser SDKs (one session per page load).
	itemSession = "session"
	// itemSessions holds aggregates: server SDKs (@sentry/node and
	// others in server mode) count sessions per request and send the sums.
	itemSessions = "sessions"
)

// Bounds on sessions, as Relay's: a session that started more than five
// days before it was received, or more than a minute after, is dropped,
// and so is an item of more aggregates than maxAggregates.
const (
	maxSessionAge    = 5 * 24 * time.Hour
	maxSessionFuture = time.Minute
	maxAggregates    = 100
	maxSessionID     = 128
	// maxSessionCount bounds one aggregate's count of one outcome. An
	// SDK's aggregate counts one process's requests of one minute (Relay
	// takes up to 2^32 - 1, the width of its field): a million is over
	// 16,000 requests a second.
	maxSessionCount = 1_000_000
	// maxItemSessions bounds the sessions of one sessions item, over its
	// aggregates: an item takes one token of the rate limit, and what a
	// project can add up must stay far below store.MaxSessionCount.
	maxItemSessions = 10_000_000
)

// decodeSession reads a session item into out. The session is refused
// (an error) without a sid, a start time within the bounds, a known status
// or a release, since it could not be counted: Relay drops such sessions
// too.
func (d *decoder) decodeSession(payload []byte, hdr envelopeHeader, out *event.Sessions) error {
	obj, err := parseJSONObject(payload)
	if err != nil {
		return err
	}
	sid, ok := obj["sid"].(string)
	if sid = strings.TrimSpace(sid); !ok || sid == "" || len(sid) > maxSessionID {
		return errors.New("without a sid (the session's ID, a string of at most 128 bytes)")
	}
	started, err := d.sessionStart(obj["started"], hdr)
	if err != nil {
		return err
	}
	status := event.SessionOK
	if s, ok := obj["status"].(string); ok {
		status = s
	} else if obj["status"] != nil {
		return fmt.Errorf("with status %s, not a string", jsonKind(obj["status"]))
	}
	switch status {
	case event.SessionOK, event.SessionExited, event.SessionErrored, event.SessionCrashed, event.SessionAbnormal:
	case "unhandled":
		// Newer SDKs' status of a session that ended with an unhandled
		// error that did not crash the app: an errored session.
		status = event.SessionErrored
	default:
		return fmt.Errorf("with status %q; Sentry's are ok, exited, errored, crashed, abnormal and unhandled", clamp(status, 32))
	}
	var errs int64
	if v, present := obj["errors"]; present && v != nil {
		if errs, ok = intValue(v); !ok || errs < 0 {
			return fmt.Errorf("with errors %s, not a count", clamp(compactJSON(v), 32))
		}
	}
	init, _ := obj["init"].(bool)
	release, env, err := d.sessionAttrs(obj["attrs"])
	if err != nil {
		return err
	}
	out.Updates = append(out.Updates, event.SessionUpdate{
		Release:     release,
		Environment: env,
		Started:     started,
		SID:         sid,
		DID:         d.distinctID(obj["did"]),
		Init:        init,
		Status:      status,
		Errored:     errs > 0 || status == event.SessionErrored || status == event.SessionCrashed || status == event.SessionAbnormal,
	})
	return nil
}

// decodeSessions reads a sessions item (aggregates) into out. Aggregates
// whose start time is out of bounds are dropped with the item's others
// kept; the item is refused without a release, when a count is not a
// count of at most maxSessionCount, or when its sessions add up to more
// than maxItemSessions.
func (d *decoder) decodeSessions(payload []byte, hdr envelopeHeader, out *event.Sessions) error {
	obj, err := parseJSONObject(payload)
	if err != nil {
		return err
	}
	release, env, err := d.sessionAttrs(obj["attrs"])
	if err != nil {
		return err
	}
	list, ok := obj["aggregates"].([]any)
	if !ok {
		return errors.New("without aggregates, the list of session counts")
	}
	if len(list) > maxAggregates {
		return fmt.Errorf("with %d aggregates, more than %d", len(list), maxAggregates)
	}
	var (
		aggs  []event.SessionAggregate
		total int64
	)
	for i, v := range list {
		a, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("with aggregates[%d] %s, not an object", i, jsonKind(v))
		}
		started, err := d.sessionStart(a["started"], hdr)
		if err != nil {
			continue
		}
		agg := event.SessionAggregate{Release: release, Environment: env, Started: started, DID: d.distinctID(a["did"])}
		for _, c := range []struct {
			name string
			n    *int64
		}{{"exited", &agg.Exited}, {"errored", &agg.Errored}, {"crashed", &agg.Crashed}, {"abnormal", &agg.Abnormal}, {"unhandled", nil}} {
			v := a[c.name]
			if v == nil {
				continue
			}
			n, ok := intValue(v)
			if !ok || n < 0 || n > maxSessionCount {
				return fmt.Errorf("with aggregates[%d].%s %s, not a count", i, c.name, clamp(compactJSON(v), 32))
			}
			if total += n; total > maxItemSessions {
				return fmt.Errorf("with more than %d sessions over its aggregates", maxItemSessions)
			}
			if c.n == nil {
				agg.Errored += n
			} else {
				*c.n += n
			}
		}
		if agg.Exited+agg.Errored+agg.Crashed+agg.Abnormal > 0 {
			aggs = append(aggs, agg)
		}
	}
	out.Aggregates = append(out.Aggregates, aggs...)
	return nil
}

// sessionStart reads a session's start time, moved by the client's clock
// drift, and refuses one out of the bounds.
func (d *decoder) sessionStart(v any, hdr envelopeHeader) (time.Time, error) {
	t, ok := parseTimestamp(v)
	if !ok {
		return time.Time{}, errors.New("without started, an RFC 3339 time")
	}
	t = t.Add(d.clockDrift(hdr.sentAt)).UTC()
	if t.Before(d.received.Add(-maxSessionAge)) || t.After(d.received.Add(maxSessionFuture)) {
		return time.Time{}, fmt.Errorf("started at %s, more than 5 days before or a minute after it was received", t.Format(time.RFC3339))
	}
	return t, nil
}

// sessionAttrs reads attrs.release, required, and attrs.environment, both
// held to the rules of events' names and cut as events' are
// (event.CutName), so that the sessions of a release longer than
// event.MaxNameLength count under the name its errors are filed under.
func (d *decoder) sessionAttrs(v any) (release, env string, err error) {
	attrs, _ := v.(map[string]any)
	release, _ = attrs["release"].(string)
	release = event.CutName(clamp(release, maxNameBytes))
	if release == "" {
		return "", "", errors.New("without attrs.release; sessions count per release")
	}
	if p := event.ReleaseProblem(release); p != "" {
		return "", "", fmt.Errorf("with attrs.release that %s", p)
	}
	env, _ = attrs["environment"].(string)
	env = event.CutName(clamp(env, maxNameBytes))
	if p := event.EnvironmentProblem(env); env != "" && p != "" {
		return "", "", fmt.Errorf("with attrs.environment that %s", p)
	}
	return release, env, nil
}

// distinctID is the stored pseudonym of a session's did (a user ID, an
// email, an install ID): salted and hashed like an IP address, since it
// serves only to count users once. A did of blanks or the nil UUID is no
// user, as Relay takes it: SDKs send the nil UUID for an unknown install,
// and counting it would make every such session one user.
func (d *decoder) distinctID(v any) string {
	var s string
	switch x := v.(type) {
	case string:
		s = strings.TrimSpace(x)
	case nil:
	default:
		s = compactJSON(x)
	}
	if s == "" || isNilUUID(s) {
		return ""
	}
	sum := sha256.Sum256(append(append(append([]byte(nil), d.salt...), "did:"...), s...))
	return hex.EncodeToString(sum[:])[:32]
}

// isNilUUID reports whether s is the nil UUID, with or without hyphens.
func isNilUUID(s string) bool {
	digits := strings.ReplaceAll(s, "-", "")
	return len(digits) == 32 && strings.Trim(digits, "0") == "" && (len(s) == 32 || len(s) == 36)
}

// sessionsCarrier is the queue message of an envelope of sessions or
// check-ins without an event: them and what identifies the message.
func (d *decoder) sessionsCarrier(projectID int64, s *event.Sessions, checkIns []event.CheckIn, items []envelopeItem, hdr envelopeHeader) *event.Event {
	var crons *event.Crons
	if len(checkIns) > 0 {
		crons = &event.Crons{CheckIns: checkIns}
	}
	return &event.Event{
		EventID:      sessionsCarrierID(projectID, items, hdr),
		ProjectID:    projectID,
		Source:       event.SourceSentry,
		Timestamp:    d.received,
		Received:     d.received,
		Level:        "info",
		Sessions:     s,
		Crons:        crons,
		SessionsOnly: true,
	}
}

// sessionsCarrierID is the ID of the queue message of an envelope of
// sessions without an event: a hash of the project and the envelope's
// session items, so that an SDK sending the envelope again (it had no
// answer, or sends what it cached offline) sends the same message, which
// the store counts once. An update names its session and its state, so
// identical ones say nothing new; aggregates are sums of a minute, which
// two flushes of a server may repeat, so an envelope of them is told apart
// by its sent_at too, which a resent envelope keeps, and one without a
// sent_at gets a random ID: counted again if resent, never dropped.
func sessionsCarrierID(projectID int64, items []envelopeItem, hdr envelopeHeader) string {
	h := sha256.New()
	fmt.Fprintf(h, "sessions:%d\n", projectID)
	for _, it := range items {
		switch it.typ {
		case itemSession, itemCheckIn:
			// A check-in names its run and the run's state: the
			// store keeps the first of each state.
		case itemSessions:
			if hdr.sentAt.IsZero() {
				return newEventID()
			}
			fmt.Fprintf(h, "sent_at:%s\n", hdr.sentAt.Format(time.RFC3339Nano))
		default:
			continue
		}
		fmt.Fprintf(h, "%s:%d\n", it.typ, len(it.payload))
		h.Write(it.payload)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}
