package process

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/inbound"
	"github.com/getflytrap/flytrap/internal/store"
)

// TestInboundFiltersOnBothStores processes, into SQLite and PostgreSQL,
// a batch of events the project's filters drop beside ones they keep:
// the dropped ones are counted per reason and not stored, the kept ones
// stored, and a change of settings applies to a new processor.
func TestInboundFiltersOnBothStores(t *testing.T) {
	for name, dsn := range bothStores {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db, proj := openProject(t, dsn(t), "shop")
			// Legacy browsers is off for a new project (inbound.Defaults);
			// this one drops Internet Explorer.
			s := inbound.Defaults
			s.LegacyBrowsers = []string{inbound.LegacyIE}
			if _, err := db.SetProjectFilters(ctx, store.System, proj.ID, s); err != nil {
				t.Fatal(err)
			}
			received := time.Now().UTC()
			n := 0
			mk := func(edit func(ev *event.Event)) event.Event {
				n++
				ev := event.Event{EventID: strings.Repeat(string(rune('a'+n)), 32), ProjectID: proj.ID, Source: event.SourceSentry,
					Received: received, Timestamp: received, Platform: "javascript", Level: "error",
					Exceptions: []event.Exception{{Type: "TypeError", Value: "x is undefined",
						Frames: []event.Frame{{Filename: "https://shop.example/app.js", Function: "render", Lineno: 3}}}},
					Request: &event.Request{URL: "https://shop.example/", Headers: [][2]string{{"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36"}}},
				}
				if edit != nil {
					edit(&ev)
				}
				return ev
			}
			extension := mk(func(ev *event.Event) {
				ev.Exceptions[0].Frames = append(ev.Exceptions[0].Frames, event.Frame{Filename: "chrome-extension://hijdif/inject.js", Function: "scan"})
			})
			crawler := mk(func(ev *event.Event) {
				ev.Request.Headers[0][1] = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
			})
			local := mk(func(ev *event.Event) { ev.LoopbackIP = true })
			legacy := mk(func(ev *event.Event) {
				ev.Request.Headers[0][1] = "Mozilla/5.0 (Windows NT 6.3; Trident/7.0; rv:11.0) like Gecko"
			})
			kept := mk(nil)
			p := New(Config{Saver: db, Privacy: db, Filters: db})
			var bodies [][]byte
			for _, ev := range []event.Event{extension, crawler, local, legacy, kept} {
				bodies = append(bodies, body(t, ev))
			}
			out := p.ProcessBatch(ctx, bodies)
			wantOut := []inbound.Reason{inbound.ReasonBrowserExtensions, inbound.ReasonWebCrawlers, inbound.ReasonNone, inbound.ReasonLegacyBrowsers, inbound.ReasonNone}
			for i, o := range out {
				if o.Err != nil || o.Filtered != wantOut[i] {
					t.Errorf("event %d: filtered %q, err %v; want %q", i, o.Filtered, o.Err, wantOut[i])
				}
			}
			for _, ev := range []event.Event{extension, crawler, legacy} {
				if _, err := db.GetEvent(ctx, store.System, ev.EventID); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("filtered event %s: GetEvent = %v, want ErrNotFound", ev.EventID, err)
				}
			}
			// Localhost is off by default, as in Sentry.
			for _, ev := range []event.Event{local, kept} {
				if _, err := db.GetEvent(ctx, store.System, ev.EventID); err != nil {
					t.Errorf("kept event %s: %v", ev.EventID, err)
				}
			}
			counts := func() map[inbound.Reason]int64 {
				t.Helper()
				c, err := db.FilteredSince(ctx, store.System, proj.ID, received.Add(-24*time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			want := map[inbound.Reason]int64{inbound.ReasonBrowserExtensions: 1, inbound.ReasonWebCrawlers: 1, inbound.ReasonLegacyBrowsers: 1}
			if got := counts(); !maps.Equal(got, want) {
				t.Errorf("filtered counts = %v, want %v", got, want)
			}

			if _, err := db.SetProjectFilters(ctx, store.System, proj.ID, inbound.Settings{Localhost: true, ErrorMessages: []string{"TypeError: x is *"}}); err != nil {
				t.Fatal(err)
			}
			p = New(Config{Saver: db, Privacy: db, Filters: db})
			local2, message, ext2 := mk(func(ev *event.Event) { ev.LoopbackIP = true; ev.Exceptions[0].Value = "y" }), mk(nil), mk(func(ev *event.Event) {
				ev.Exceptions[0].Value = "y"
				ev.Exceptions[0].Frames[0].Filename = "chrome-extension://hijdif/inject.js"
			})
			out = p.ProcessBatch(ctx, [][]byte{body(t, local2), body(t, message), body(t, ext2)})
			wantOut = []inbound.Reason{inbound.ReasonLocalhost, inbound.ReasonErrorMessage, inbound.ReasonNone}
			for i, o := range out {
				if o.Err != nil || o.Filtered != wantOut[i] {
					t.Errorf("after the change, event %d: filtered %q, err %v; want %q", i, o.Filtered, o.Err, wantOut[i])
				}
			}
			want[inbound.ReasonLocalhost], want[inbound.ReasonErrorMessage] = 1, 1
			if got := counts(); !maps.Equal(got, want) {
				t.Errorf("filtered counts = %v, want %v", got, want)
			}
		})
	}
}

// TestRedeliveredFilteredEventCountedOnce: a queue message an inbound
// filter dropped, redelivered after its count (the processor stopped, or
// its batch failed, before the ack), is dropped again but not counted
// again, on SQLite and PostgreSQL; another event is.
func TestRedeliveredFilteredEventCountedOnce(t *testing.T) {
	for name, dsn := range bothStores {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db, proj := openProject(t, dsn(t), "shop")
			received := time.Now().UTC()
			crawler := func(id string) []byte {
				return body(t, event.Event{EventID: strings.Repeat(id, 32), ProjectID: proj.ID, Source: event.SourceSentry,
					Received: received, Timestamp: received, Platform: "javascript", Level: "error", Message: "x is undefined",
					Request: &event.Request{Headers: [][2]string{{"User-Agent", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"}}}})
			}
			count := func() int64 {
				t.Helper()
				c, err := db.FilteredSince(ctx, store.System, proj.ID, received.Add(-24*time.Hour))
				if err != nil {
					t.Fatal(err)
				}
				return c[inbound.ReasonWebCrawlers]
			}
			for i, batch := range [][][]byte{
				{crawler("a")},
				{crawler("a")},               // redelivered alone
				{crawler("b"), crawler("a")}, // redelivered beside a new one
				{crawler("c"), crawler("c")}, // a batch holding one message twice
			} {
				// A new processor each time, as after a restart.
				p := New(Config{Saver: db, Privacy: db, Filters: db})
				for j, o := range p.ProcessBatch(ctx, batch) {
					if o.Err != nil || o.Filtered != inbound.ReasonWebCrawlers {
						t.Errorf("batch %d, message %d: filtered %q, err %v; want web-crawlers", i, j, o.Filtered, o.Err)
					}
				}
			}
			if got := count(); got != 3 {
				t.Errorf("web crawlers counted %d times, want 3 (events a, b and c once each)", got)
			}
		})
	}
}

// failingFilters cannot read settings.
type failingFilters struct{}

func (failingFilters) ProjectFilters(context.Context, store.Viewer, int64) (inbound.Settings, error) {
	return inbound.Settings{}, errors.New("connection refused")
}

func (failingFilters) CountFiltered(context.Context, []store.Filtered) error { return nil }

// TestUnreadableFiltersRetry: an event whose project's filters cannot be
// read is retried, not stored unfiltered.
func TestUnreadableFiltersRetry(t *testing.T) {
	s := &fakeSaver{}
	p := New(Config{Saver: s, Filters: failingFilters{}})
	_, err := processOne(context.Background(), p, body(t, acceptanceEvent(strings.Repeat("3", 32))))
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("err = %v, want the read's error", err)
	}
}
