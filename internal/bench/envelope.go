package bench

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// Size is an event's size class: the bytes of its JSON before compression.
type Size string

// The size classes issue 10's figures are measured with.
const (
	Size2K  Size = "2k"
	Size50K Size = "50k"
)

// Bytes returns the JSON size the class pads an event to, or 0 for an
// unknown class.
func (s Size) Bytes() int {
	switch s {
	case Size2K:
		return 2 << 10
	case Size50K:
		return 50 << 10
	}
	return 0
}

// errorKinds are the exception types the groups cycle through; the
// frames' function names carry the group's number, so every group is its
// own issue however the server groups.
var errorKinds = []struct{ typ, module, value string }{
	{"ValueError", "builtins", "invalid literal for int() with base 10: 'item-%d'"},
	{"KeyError", "builtins", "'customer_%d'"},
	{"TypeError", "builtins", "unsupported operand type(s) for +: 'int' and 'NoneType' (line %d)"},
	{"ZeroDivisionError", "builtins", "division by zero in batch %d"},
	{"AttributeError", "builtins", "'NoneType' object has no attribute 'total_%d'"},
	{"OperationalError", "sqlite3", "database is locked (attempt %d)"},
	{"ConnectionError", "requests.exceptions", "HTTPSConnectionPool(host='api.example.com', port=443): Max retries exceeded (pool %d)"},
	{"TimeoutError", "builtins", "timed out after %d ms"},
}

// words make breadcrumbs and context lines text a log would hold, so gzip
// compresses them as much as it would real events and no more.
var words = strings.Fields(`order customer invoice payment cart checkout request response
	session user token cache database query retry timeout connect read write commit rollback
	queue worker job batch item price total discount shipping address email status pending
	failed succeeded started finished GET POST PUT /api/v1/orders /api/v1/users /checkout
	200 201 404 500 503 ms SELECT UPDATE INSERT FROM WHERE id = ? AND LIMIT`)

// payloads holds one envelope template per distinct error. A request's
// body is two gzip members, which a conforming gzip reader reads as one
// stream (RFC 1952 §2.2): a small one compressed per request, carrying the unique
// event ID, and the event's constant rest, compressed once. Compressing
// 50 KB per request would spend on the client the CPU the server under
// test shares on one machine.
type payloads struct {
	groups    []template
	eventSize int // mean bytes of event JSON, before compression
	bodySize  int // mean bytes of a request body, as sent
	gz        sync.Pool
}

// template is one distinct error's envelope: envelopeStart, the ID, mid,
// the ID again and the gzip-compressed tailGz.
type template struct {
	mid    []byte // from the envelope header's ID to the event's
	tailGz []byte // the rest of the event, gzip-compressed
}

const envelopeStart = `{"event_id":"`

// idLen is the length of an event ID: 32 hex digits.
const idLen = 32

// newPayloads builds distinct templates of class size, their events in
// environment env. seed makes the text reproducible, so tests and runs
// compress alike.
func newPayloads(size Size, distinct int, env string, now time.Time, seed uint64) (*payloads, error) {
	target := size.Bytes()
	if target == 0 {
		return nil, fmt.Errorf("unknown size %q: use 2k or 50k", size)
	}
	if distinct < 1 {
		return nil, fmt.Errorf("distinct errors must be at least 1, not %d", distinct)
	}
	p := &payloads{gz: sync.Pool{New: func() any {
		w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
		return w
	}}}
	rng := rand.New(rand.NewPCG(seed, uint64(distinct)))
	var evSum, bodySum int
	for g := range distinct {
		rest, err := eventJSON(g, size, env, target, now, rng)
		if err != nil {
			return nil, err
		}
		// The payload is {"event_id":"<id>", followed by rest without
		// its opening brace; its length does not depend on the ID.
		n := len(`{"event_id":"`) + idLen + len(`",`) + len(rest) - 1
		mid := fmt.Sprintf(`","sent_at":%q,"sdk":{"name":"sentry.python","version":"2.19.0"}}`+"\n"+
			`{"type":"event","length":%d,"content_type":"application/json"}`+"\n"+`{"event_id":"`, now.UTC().Format(time.RFC3339), n)
		var tail bytes.Buffer
		w, _ := gzip.NewWriterLevel(&tail, gzip.BestSpeed)
		w.Write([]byte(`",`))
		w.Write(rest[1:])
		if err := w.Close(); err != nil {
			return nil, err
		}
		t := template{mid: []byte(mid), tailGz: tail.Bytes()}
		p.groups = append(p.groups, t)
		evSum += n
		bodySum += len(p.body(g, strings.Repeat("0", idLen)))
	}
	p.eventSize, p.bodySize = evSum/distinct, bodySum/distinct
	return p, nil
}

// body returns the request body of group g's event with ID id.
func (p *payloads) body(g int, id string) []byte {
	t := &p.groups[g]
	var b bytes.Buffer
	b.Grow(len(t.mid) + len(t.tailGz) + 2*idLen)
	w := p.gz.Get().(*gzip.Writer)
	w.Reset(&b)
	// The ID appears twice: in the envelope header and in the event.
	w.Write([]byte(envelopeStart + id))
	w.Write(t.mid)
	w.Write([]byte(id))
	w.Close()
	p.gz.Put(w)
	b.Write(t.tailGz)
	return b.Bytes()
}

// eventID returns the seq'th ID of a run: run's 16 random hex digits and
// seq's 16, so IDs are unique within a run and across runs.
func eventID(run string, seq uint64) string {
	return fmt.Sprintf("%s%016x", run, seq)
}

// randomRun returns 16 hex digits that tell this run's event IDs apart
// from earlier runs'.
func randomRun() string {
	var b [8]byte
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return hex.EncodeToString(b[:])
}

// eventJSON is group g's event in environment env without its ID: a
// Python exception with 10 to 29 frames, a request, tags, contexts and
// breadcrumbs, padded to target bytes.
func eventJSON(g int, size Size, env string, target int, now time.Time, rng *rand.Rand) ([]byte, error) {
	kind := errorKinds[g%len(errorKinds)]
	nframes := 10 + g%20
	big := size == Size50K
	if !big {
		// Fourteen frames alone would outgrow 2 KB.
		nframes = 10 + g%2
	}
	frames := make([]map[string]any, nframes)
	for i := range frames {
		f := map[string]any{
			"filename": fmt.Sprintf("app/svc/m%d.py", i),
			"function": fmt.Sprintf("handle_%d_%d", g, i),
			"lineno":   10 + (g*7+i*13)%400,
			"in_app":   i >= nframes/2,
		}
		if big {
			f["module"] = fmt.Sprintf("app.svc.m%d", i)
			f["abs_path"] = "/srv/app/" + f["filename"].(string)
			f["context_line"] = sentence(rng, 8)
			f["pre_context"] = []string{sentence(rng, 6), sentence(rng, 7), sentence(rng, 5)}
			f["post_context"] = []string{sentence(rng, 6), sentence(rng, 4)}
			f["vars"] = map[string]any{"order_id": rng.IntN(1e6), "user": sentence(rng, 2), "retries": rng.IntN(5)}
		}
		frames[i] = f
	}
	ev := map[string]any{
		"timestamp":   stamp(now),
		"platform":    "python",
		"level":       "error",
		"logger":      "app.worker",
		"server_name": "web-1",
		"release":     "bench@1.0.0",
		"environment": env,
		"exception": map[string]any{"values": []any{map[string]any{
			"type":       kind.typ,
			"module":     kind.module,
			"value":      fmt.Sprintf(kind.value, g),
			"mechanism":  map[string]any{"type": "generic", "handled": false},
			"stacktrace": map[string]any{"frames": frames},
		}}},
		"request": map[string]any{
			"url":     fmt.Sprintf("https://shop.example.com/api/v1/orders/%d", g),
			"method":  "POST",
			"headers": map[string]string{"User-Agent": "Mozilla/5.0 Firefox/133.0", "Content-Type": "application/json"},
		},
		"tags": map[string]string{"region": "eu-west-1", "customer_tier": "gold", "feature": fmt.Sprintf("flag-%d", g%5)},
		"contexts": map[string]any{
			"os":      map[string]any{"name": "Linux", "version": "6.8.0"},
			"runtime": map[string]any{"name": "CPython", "version": "3.12.7"},
			"trace":   map[string]any{"trace_id": fmt.Sprintf("%032x", rng.Uint64()), "span_id": fmt.Sprintf("%016x", rng.Uint64())},
		},
		"user": map[string]any{"id": fmt.Sprintf("user-%d", g)},
		"sdk":  map[string]any{"name": "sentry.python", "version": "2.19.0"},
	}
	// Breadcrumbs fill the event up to the SDKs' default maximum, as an
	// app that has been running a while sends them; what is still short
	// of target goes into the frames' local variables (rows a handler
	// fetched), then the request's body, each within sentry-python's
	// limits of 10 members a container and 1,024 characters a string.
	// More breadcrumbs than SDKs send would be mostly dropped by the
	// server (it keeps the last 100), so the event would not be processed
	// at the size it is sent.
	var crumbs []any
	var body map[string]any
	for row := 0; ; {
		ev["breadcrumbs"] = map[string]any{"values": crumbs}
		b, err := json.Marshal(ev)
		if err != nil {
			return nil, err
		}
		short := target - (len(b) + idLen + len(`"event_id":"",`))
		if short <= 0 {
			return b, nil
		}
		switch {
		case len(crumbs) < maxBreadcrumbs:
			crumbs = append(crumbs, breadcrumb(rng, now.Add(-time.Duration(len(crumbs))*time.Second)))
		case big && row < nframes*(maxBreadth-3):
			vars := frames[row%nframes]["vars"].(map[string]any)
			vars[fmt.Sprintf("row_%d", row)] = map[string]any{"id": rng.IntN(1e6), "status": words[rng.IntN(len(words))],
				"customer": sentence(rng, 2), "note": sentence(rng, 20+rng.IntN(25))}
			row++
		case len(body) < maxBreadth:
			if body == nil {
				body = map[string]any{}
				ev["request"].(map[string]any)["data"] = body
			}
			body[fmt.Sprintf("field_%d", len(body))] = clampText(sentence(rng, 150), min(short, maxValueLength))
		default:
			return nil, fmt.Errorf("an event of %d frames cannot reach %d bytes within the SDK's limits", nframes, target)
		}
	}
}

// sentry-python's limits on what it sends of a local variable or a
// request body: members of a container, and characters of a string.
const (
	maxBreadth     = 10
	maxValueLength = 1024
)

func clampText(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// maxBreadcrumbs is the Sentry SDKs' default max_breadcrumbs.
const maxBreadcrumbs = 100

// breadcrumb returns one of the kinds the Python SDK records on its own:
// an outgoing HTTP request, a database query or a log line, each with the
// data the SDK attaches.
func breadcrumb(rng *rand.Rand, at time.Time) map[string]any {
	c := map[string]any{"timestamp": stamp(at), "level": "info"}
	switch rng.IntN(3) {
	case 0:
		c["type"], c["category"] = "http", "httplib"
		c["data"] = map[string]any{
			"url":         fmt.Sprintf("https://api.example.com/v1/%s/%d", words[rng.IntN(len(words))], rng.IntN(1e5)),
			"method":      []string{"GET", "POST", "PUT"}[rng.IntN(3)],
			"status_code": []int{200, 201, 404, 500}[rng.IntN(4)],
			"reason":      "OK",
		}
	case 1:
		c["category"] = "query"
		c["message"] = "SELECT " + sentence(rng, 3+rng.IntN(5)) + " FROM orders WHERE id = %s"
		c["data"] = map[string]any{"db.system": "postgresql", "db.paramstyle": "format", "db.params": []any{rng.IntN(1e6)}}
	default:
		c["category"] = "app.worker"
		c["message"] = sentence(rng, 4+rng.IntN(10))
	}
	return c
}

// stamp formats t as SDKs may, with a fixed length so an event's size
// does not depend on the clock.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func sentence(rng *rand.Rand, n int) string {
	s := make([]string, n)
	for i := range s {
		s[i] = words[rng.IntN(len(words))]
	}
	return strings.Join(s, " ")
}

// Bodies returns n request bodies of class size as Run sends them: gzip
// envelopes of distinct errors in turn, each with an event ID of its own.
// They are for benchmarks of the server's path of an event, which want the
// load tool's events without its HTTP client.
func Bodies(size Size, distinct, n int) ([][]byte, error) {
	const run = "0123456789abcdef"
	p, err := newPayloads(size, distinct, runEnvironment(run), time.Now(), 1)
	if err != nil {
		return nil, err
	}
	bodies := make([][]byte, n)
	for i := range bodies {
		seq := uint64(i + 1)
		bodies[i] = p.body(int(seq%uint64(distinct)), eventID(run, seq))
	}
	return bodies, nil
}
