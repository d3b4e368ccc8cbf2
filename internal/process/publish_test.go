package process

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/live"
	"github.com/getflytrap/flytrap/internal/store"
)

// recorder is a live.Publisher that keeps what it was given.
type recorder struct {
	mu   sync.Mutex
	msgs []live.Message
	err  error
}

func (r *recorder) Publish(_ context.Context, m live.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, m)
	return r.err
}

// fixedSaver answers every save with res (or err).
type fixedSaver struct {
	res store.SaveResult
	err error
}

func (f fixedSaver) SaveEvent(context.Context, store.SaveRequest) (store.SaveResult, error) {
	return f.res, f.err
}

// issueReader returns issue, or err.
type issueReader struct {
	issue store.Issue
	err   error
	v     store.Viewer
}

func (r *issueReader) GetIssue(_ context.Context, v store.Viewer, id int64) (store.Issue, error) {
	r.v = v
	if r.err != nil {
		return store.Issue{}, r.err
	}
	is := r.issue
	is.ID = id
	return is, nil
}

func TestProcessPublishes(t *testing.T) {
	received := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	ev := event.Event{EventID: "0123456789abcdef0123456789abcdef", ProjectID: 7, Received: received, Level: "warning",
		Exceptions: []event.Exception{{Type: "TypeError", Value: "x is undefined"}}}
	stored := store.Issue{Title: "TypeError: x is undefined (newest)", Level: "error", Status: store.StatusIgnored, Count: 41}
	base := live.Message{ProjectID: 7, IssueID: 3, EventID: ev.EventID, At: received}
	with := func(typ, title, level, status string, count int64) []live.Message {
		m := base
		m.Type, m.Title, m.Level, m.Status, m.Count = typ, title, level, status, count
		return []live.Message{m}
	}
	tests := []struct {
		name    string
		res     store.SaveResult
		saveErr error
		issues  *issueReader // nil: no reader
		pubErr  error
		want    []live.Message
		wantErr bool
		wantLog string
	}{
		{"new issue", store.SaveResult{IssueID: 3, NewIssue: true}, nil, &issueReader{issue: stored}, nil,
			with(live.TypeNewIssue, stored.Title, "error", store.StatusIgnored, 41), false, ""},
		{"regression", store.SaveResult{IssueID: 3, Regression: true}, nil, &issueReader{issue: stored}, nil,
			with(live.TypeRegression, stored.Title, "error", store.StatusIgnored, 41), false, ""},
		{"event of a known issue", store.SaveResult{IssueID: 3}, nil, &issueReader{issue: stored}, nil,
			with(live.TypeEvent, stored.Title, "error", store.StatusIgnored, 41), false, ""},
		{"duplicate publishes nothing", store.SaveResult{IssueID: 3, Duplicate: true}, nil, &issueReader{issue: stored}, nil,
			nil, false, ""},
		{"failed save publishes nothing", store.SaveResult{}, errors.New("disk full"), &issueReader{issue: stored}, nil,
			nil, true, ""},
		{"no reader: new issue counts one", store.SaveResult{IssueID: 3, NewIssue: true}, nil, nil, nil,
			with(live.TypeNewIssue, "TypeError: x is undefined", "warning", store.StatusUnresolved, 1), false, ""},
		{"no reader: regression", store.SaveResult{IssueID: 3, Regression: true}, nil, nil, nil,
			with(live.TypeRegression, "TypeError: x is undefined", "warning", store.StatusUnresolved, 0), false, ""},
		{"no reader: event count unknown", store.SaveResult{IssueID: 3}, nil, nil, nil,
			with(live.TypeEvent, "TypeError: x is undefined", "warning", "", 0), false, ""},
		{"reader fails: still published", store.SaveResult{IssueID: 3}, nil, &issueReader{err: store.ErrNotFound}, nil,
			with(live.TypeEvent, "TypeError: x is undefined", "warning", "", 0), false, "read issue"},
		{"publish fails: processing succeeds", store.SaveResult{IssueID: 3, NewIssue: true}, nil, &issueReader{issue: stored}, errors.New("connection refused"),
			with(live.TypeNewIssue, stored.Title, "error", store.StatusIgnored, 41), false, "publish failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			pub := &recorder{err: tt.pubErr}
			var reader IssueReader
			if tt.issues != nil {
				reader = tt.issues
			}
			p := New(fixedSaver{res: tt.res, err: tt.saveErr}, log).WithPublisher(pub, reader)
			res, err := p.Process(context.Background(), body(t, ev))
			if (err != nil) != tt.wantErr {
				t.Fatalf("Process error = %v, want error %v", err, tt.wantErr)
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
			if tt.issues != nil && len(tt.want) > 0 && tt.issues.v != store.System {
				t.Errorf("issue read as %+v, want the system viewer", tt.issues.v)
			}
			if tt.wantLog != "" && !strings.Contains(logs.String(), tt.wantLog) {
				t.Errorf("log lacks %q:\n%s", tt.wantLog, logs.String())
			}
			if tt.wantLog == "" && strings.Contains(logs.String(), "level=WARN") {
				t.Errorf("unexpected warning:\n%s", logs.String())
			}
		})
	}
}

// WithPublisher leaves the original Processor as it was.
func TestWithPublisherCopies(t *testing.T) {
	pub := &recorder{}
	plain := New(fixedSaver{res: store.SaveResult{IssueID: 1, NewIssue: true}}, nil)
	_ = plain.WithPublisher(pub, nil)
	if _, err := plain.Process(context.Background(), body(t, event.Event{EventID: "0123456789abcdef0123456789abcdef", ProjectID: 1})); err != nil {
		t.Fatal(err)
	}
	if len(pub.msgs) != 0 {
		t.Errorf("the original processor published %+v", pub.msgs)
	}
}

// Against the real store, the published counts are the issue's counts and
// the types follow the issue's life: new, event, resolved, regression.
func TestProcessPublishesWithStore(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "flytrap.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	proj, err := db.CreateProject(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	hub := live.NewHub(0)
	msgs, cancel := hub.Subscribe([]int64{proj.ID})
	defer cancel()
	p := New(db, nil).WithPublisher(hub, db)
	send := func(id string) {
		t.Helper()
		ev := event.Event{EventID: id, ProjectID: proj.ID, Exceptions: []event.Exception{{Type: "RangeError", Value: "too deep"}}}
		if _, err := p.Process(ctx, body(t, ev)); err != nil {
			t.Fatal(err)
		}
	}
	next := func() live.Message {
		t.Helper()
		select {
		case m := <-msgs:
			return m
		default:
			t.Fatal("nothing published")
			return live.Message{}
		}
	}
	send("00000000000000000000000000000001")
	first := next()
	if first.Type != live.TypeNewIssue || first.Count != 1 || first.Title != "RangeError: too deep" || first.Status != store.StatusUnresolved {
		t.Errorf("first message %+v", first)
	}
	send("00000000000000000000000000000002")
	send("00000000000000000000000000000002") // redelivered: no message
	if m := next(); m.Type != live.TypeEvent || m.Count != 2 || m.IssueID != first.IssueID {
		t.Errorf("second message %+v", m)
	}
	if _, err := db.UpdateIssueStatus(ctx, store.System, first.IssueID, store.StatusResolved, ""); err != nil {
		t.Fatal(err)
	}
	send("00000000000000000000000000000003")
	if m := next(); m.Type != live.TypeRegression || m.Count != 3 || m.Status != store.StatusUnresolved {
		t.Errorf("third message %+v", m)
	}
	select {
	case m := <-msgs:
		t.Errorf("extra message %+v", m)
	default:
	}
}
