package process

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/livemsg"
	"github.com/getflytrap/flytrap/internal/store"
)

// recorder is a livemsg.Publisher that keeps what it was given, after
// check, when set, accepted it.
type recorder struct {
	mu    sync.Mutex
	msgs  []livemsg.Message
	err   error
	check func(m livemsg.Message) error
}

func (r *recorder) Publish(_ context.Context, m livemsg.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.check != nil {
		if err := r.check(m); err != nil {
			return err
		}
	}
	r.msgs = append(r.msgs, m)
	return r.err
}

// fixedSaver answers every save with res (or err) after running the hooks,
// and fails the batch when a hook fails.
type fixedSaver struct {
	res store.SaveResult
	err error
}

func (f fixedSaver) SaveBatch(ctx context.Context, reqs []store.SaveRequest, hooks ...store.TxHook) ([]store.SaveResult, error) {
	if f.err != nil {
		return nil, f.err
	}
	results := make([]store.SaveResult, len(reqs))
	for i := range results {
		results[i] = f.res
	}
	for _, h := range hooks {
		if err := h(ctx, nil, results); err != nil {
			return nil, err
		}
	}
	return results, nil
}

func (f fixedSaver) SaveSessions(_ context.Context, reqs []store.SessionsRequest) ([]store.SessionsResult, error) {
	return make([]store.SessionsResult, len(reqs)), f.err
}

func (f fixedSaver) SaveCheckIns(_ context.Context, reqs []store.CheckInRequest) ([]store.CheckInResult, error) {
	return make([]store.CheckInResult, len(reqs)), f.err
}

func (f fixedSaver) SaveFeedback(_ context.Context, reqs []store.FeedbackRequest) ([]store.FeedbackResult, error) {
	return make([]store.FeedbackResult, len(reqs)), f.err
}

// The live message of a stored event comes from the state the save
// returned, whichever way it travels: from inside the transaction
// (Notify), or after the commit (Publisher).
func TestProcessPublishes(t *testing.T) {
	received := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	ev := event.Event{EventID: "0123456789abcdef0123456789abcdef", ProjectID: 7, Received: received, Level: "warning",
		Exceptions: []event.Exception{{Type: "TypeError", Value: "x is undefined"}}}
	state := store.SaveResult{IssueID: 3, Title: "TypeError: x is undefined (newest)", Level: "error", Status: store.StatusIgnored, Count: 41,
		EventTitle: "TypeError: x is undefined", EventLevel: "warning", EventCulprit: "app.js in f"}
	with := func(r store.SaveResult, set func(*store.SaveResult)) store.SaveResult {
		set(&r)
		return r
	}
	msg := func(typ string) []livemsg.Message {
		return []livemsg.Message{{Type: typ, ProjectID: 7, IssueID: 3, Title: "TypeError: x is undefined", Level: "warning",
			Culprit: "app.js in f", IssueTitle: state.Title, Status: store.StatusIgnored, Count: 41, EventID: ev.EventID, At: received}}
	}
	tests := []struct {
		name    string
		res     store.SaveResult
		saveErr error
		pubErr  error
		want    []livemsg.Message
		wantErr bool
		wantLog string
	}{
		{name: "new issue", res: with(state, func(r *store.SaveResult) { r.NewIssue = true }), want: msg(livemsg.TypeNewIssue)},
		{name: "regression", res: with(state, func(r *store.SaveResult) { r.Regression = true }), want: msg(livemsg.TypeRegression)},
		{name: "event of a known issue", res: state, want: msg(livemsg.TypeEvent)},
		{name: "duplicate publishes nothing", res: store.SaveResult{IssueID: 3, Duplicate: true}},
		{name: "failed save publishes nothing", saveErr: errors.New("disk full"), wantErr: true},
		{name: "publish fails", res: state, pubErr: errors.New("connection refused"), want: msg(livemsg.TypeEvent), wantLog: "publish failed"},
	}
	for _, tt := range tests {
		for _, inTx := range []bool{true, false} {
			name := tt.name + " after the commit"
			if inTx {
				name = tt.name + " in the transaction"
			}
			t.Run(name, func(t *testing.T) {
				var logs bytes.Buffer
				pub := &recorder{err: tt.pubErr}
				cfg := Config{Saver: fixedSaver{res: tt.res, err: tt.saveErr}, Log: slog.New(slog.NewTextHandler(&logs, nil))}
				if inTx {
					cfg.Notify = func(ctx context.Context, _ livemsg.Execer, msgs []livemsg.Message) error {
						for _, m := range msgs {
							pub.Publish(ctx, m)
						}
						return tt.pubErr
					}
				} else {
					cfg.Publisher = pub
				}
				res, err := processOne(context.Background(), New(cfg), body(t, ev))
				// A NOTIFY that fails fails the transaction, and the event
				// is retried; a failed publish after the commit is only
				// logged.
				wantErr := tt.wantErr || (inTx && tt.pubErr != nil)
				if (err != nil) != wantErr {
					t.Fatalf("error = %v, want error %v", err, wantErr)
				}
				if err == nil && res != tt.res {
					t.Errorf("result %+v, want %+v", res, tt.res)
				}
				if len(pub.msgs) != len(tt.want) {
					t.Fatalf("published %+v, want %+v", pub.msgs, tt.want)
				}
				for i := range tt.want {
					if pub.msgs[i] != tt.want[i] {
						t.Errorf("published\n%+v\nwant\n%+v", pub.msgs[i], tt.want[i])
					}
				}
				wantLog := tt.wantLog
				if inTx {
					wantLog = ""
				}
				if wantLog != "" && !strings.Contains(logs.String(), wantLog) {
					t.Errorf("log lacks %q:\n%s", wantLog, logs.String())
				}
				if wantLog == "" && strings.Contains(logs.String(), "level=WARN") {
					t.Errorf("unexpected warning:\n%s", logs.String())
				}
			})
		}
	}
}

// An event received without a time is dated by the processor's clock.
func TestMessageDatedByClock(t *testing.T) {
	now := time.Date(2026, 5, 2, 8, 0, 0, 0, time.FixedZone("CEST", 2*3600))
	pub := &recorder{}
	p := New(Config{Saver: &fakeSaver{}, Publisher: pub, Now: func() time.Time { return now }})
	if _, err := processOne(context.Background(), p, body(t, event.Event{EventID: "0123456789abcdef0123456789abcdef", ProjectID: 1, Message: "m"})); err != nil {
		t.Fatal(err)
	}
	if len(pub.msgs) != 1 || !pub.msgs[0].At.Equal(now) || pub.msgs[0].At.Location() != time.UTC {
		t.Errorf("published %+v, want one message at %v in UTC", pub.msgs, now)
	}
}

// countingStore is the real store, counting reads of issues: the
// processor must not make any.
type countingStore struct {
	*store.DB
	reads int
}

func (c *countingStore) GetIssue(ctx context.Context, v store.Viewer, id int64) (store.Issue, error) {
	c.reads++
	return c.DB.GetIssue(ctx, v, id)
}

// Against the real store, the published counts are the issue's counts and
// the types follow the issue's life: new, event, resolved, regression; a
// batch publishes one message per stored event, in order, after the
// commit, and the processor never reads an issue back.
func TestProcessPublishesWithStore(t *testing.T) {
	ctx := context.Background()
	db, proj := openProject(t, sqliteFile(t), "web")
	// Published strictly after the commit: another connection already
	// sees the event.
	pub := &recorder{check: func(m livemsg.Message) error {
		_, err := db.GetEvent(ctx, store.System, m.EventID)
		return err
	}}
	saver := &countingStore{DB: db}
	p := New(Config{Saver: saver, Publisher: pub})
	ev := func(id string) []byte {
		return body(t, event.Event{EventID: id, ProjectID: proj.ID, Exceptions: []event.Exception{{Type: "RangeError", Value: "too deep"}}})
	}
	send := func(bodies ...[]byte) {
		t.Helper()
		for i, out := range p.ProcessBatch(ctx, bodies) {
			if out.Err != nil {
				t.Fatalf("message %d: %v", i, out.Err)
			}
		}
	}
	send(ev("00000000000000000000000000000001"), ev("00000000000000000000000000000002"), ev("00000000000000000000000000000002"))
	send(ev("00000000000000000000000000000002")) // redelivered: no message
	if len(pub.msgs) != 2 {
		t.Fatalf("published %+v, want two messages", pub.msgs)
	}
	first, second := pub.msgs[0], pub.msgs[1]
	if first.Type != livemsg.TypeNewIssue || first.Count != 1 || first.Title != "RangeError: too deep" || first.Status != store.StatusUnresolved || first.Level != "error" {
		t.Errorf("first message %+v", first)
	}
	if second.Type != livemsg.TypeEvent || second.Count != 2 || second.IssueID != first.IssueID {
		t.Errorf("second message %+v", second)
	}
	if _, err := db.UpdateIssueStatus(ctx, store.System, first.IssueID, store.StatusResolved, ""); err != nil {
		t.Fatal(err)
	}
	send(ev("00000000000000000000000000000003"))
	if m := pub.msgs[len(pub.msgs)-1]; len(pub.msgs) != 3 || m.Type != livemsg.TypeRegression || m.Count != 3 || m.Status != store.StatusUnresolved {
		t.Errorf("third message %+v of %d", m, len(pub.msgs))
	}
	// An event the SDK dated before the issue's newest is still shown as
	// itself: its title and level, not the issue's (QA: a warning shown
	// as the issue's error, and dropped by tail --level warning).
	send(body(t, event.Event{EventID: "00000000000000000000000000000004", ProjectID: proj.ID, Level: "warning",
		Timestamp: time.Now().Add(-time.Hour), Exceptions: []event.Exception{{Type: "RangeError", Value: "too deep"}}}))
	if m := pub.msgs[len(pub.msgs)-1]; len(pub.msgs) != 4 || m.Level != "warning" || m.IssueID != first.IssueID || m.IssueTitle != first.Title {
		t.Errorf("late event's message %+v of %d; want level warning, issue %d titled %q", m, len(pub.msgs), first.IssueID, first.Title)
	}
	if saver.reads != 0 {
		t.Errorf("the processor read the issue %d times; the save's results carry its state", saver.reads)
	}
}
