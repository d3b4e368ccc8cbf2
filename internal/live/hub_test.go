package live

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/getflytrap/flytrap/internal/livemsg"
)

// drain returns the issue IDs buffered in ch without waiting.
func drain(ch <-chan livemsg.Message) []int64 {
	var ids []int64
	for {
		select {
		case m, ok := <-ch:
			if !ok {
				return ids
			}
			ids = append(ids, m.IssueID)
		default:
			return ids
		}
	}
}

func TestHubRooms(t *testing.T) {
	tests := []struct {
		name     string
		projects []int64
		want     []int64 // issue IDs received; issue i is in project i%10
	}{
		{"one room", []int64{1}, []int64{1, 11}},
		{"two rooms", []int64{1, 2}, []int64{1, 2, 11}},
		{"duplicate room joined once", []int64{2, 2, 2}, []int64{2}},
		{"no rooms", nil, nil},
		{"empty room", []int64{7}, nil},
	}
	h := NewHub(0)
	chans := make([]<-chan livemsg.Message, len(tests))
	for i, tt := range tests {
		ch, cancel := h.Subscribe(tt.projects)
		defer cancel()
		chans[i] = ch
	}
	for _, issue := range []int64{1, 2, 3, 11} {
		h.Deliver(livemsg.Message{Type: livemsg.TypeEvent, ProjectID: issue % 10, IssueID: issue})
	}
	for i, tt := range tests {
		if got := drain(chans[i]); !slices.Equal(got, tt.want) {
			t.Errorf("%s: received %v, want %v", tt.name, got, tt.want)
		}
	}
	if st := h.Stats(); st.Subscribers != len(tests) || st.Delivered != 6 || st.Dropped != 0 {
		t.Errorf("stats = %+v", st)
	}
}

// A subscriber that does not read keeps what fits in its buffer and is
// then cut off, so it knows it missed something; the others, and the
// publisher, are not held up.
func TestHubSlowSubscriber(t *testing.T) {
	h := NewHub(2)
	slow, cancelSlow := h.Subscribe([]int64{1})
	defer cancelSlow()
	fast, cancelFast := h.Subscribe([]int64{1})
	defer cancelFast()
	var got []int64
	for i := int64(1); i <= 5; i++ {
		done := make(chan struct{})
		go func() { h.Deliver(livemsg.Message{Type: livemsg.TypeEvent, ProjectID: 1, IssueID: i}); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Deliver blocked on a full subscriber")
		}
		got = append(got, drain(fast)...)
	}
	if !slices.Equal(got, []int64{1, 2, 3, 4, 5}) {
		t.Errorf("fast subscriber received %v", got)
	}
	var kept []int64
	for m := range slow {
		kept = append(kept, m.IssueID)
	}
	if !slices.Equal(kept, []int64{1, 2}) {
		t.Errorf("slow subscriber kept %v, want [1 2] and then its channel closed", kept)
	}
	if st := h.Stats(); st.Dropped != 1 || st.Subscribers != 1 {
		t.Errorf("dropped = %d, subscribers = %d; want 1, 1", st.Dropped, st.Subscribers)
	}
	if h.Closed() {
		t.Error("the hub reports itself closed")
	}
	cancelSlow() // after a cut-off, cancel is harmless
}

func TestHubUnsubscribe(t *testing.T) {
	h := NewHub(0)
	ch, cancel := h.Subscribe([]int64{1, 2})
	other, cancelOther := h.Subscribe([]int64{1})
	defer cancelOther()
	cancel()
	cancel() // harmless
	if _, ok := <-ch; ok {
		t.Fatal("channel still open after cancel")
	}
	h.Deliver(livemsg.Message{Type: livemsg.TypeEvent, ProjectID: 1, IssueID: 1})
	h.Deliver(livemsg.Message{Type: livemsg.TypeEvent, ProjectID: 2, IssueID: 2})
	if got := drain(other); !slices.Equal(got, []int64{1}) {
		t.Errorf("remaining subscriber received %v", got)
	}
	if st := h.Stats(); st.Subscribers != 1 {
		t.Errorf("subscribers = %d, want 1", st.Subscribers)
	}
	cancelOther()
	h.mu.RLock()
	rooms := len(h.rooms)
	h.mu.RUnlock()
	if rooms != 0 {
		t.Errorf("%d empty rooms kept", rooms)
	}
}

func TestHubClose(t *testing.T) {
	h := NewHub(0)
	inRoom, cancel := h.Subscribe([]int64{1})
	nowhere, cancelNowhere := h.Subscribe(nil)
	h.Close()
	h.Close()
	for name, ch := range map[string]<-chan livemsg.Message{"in a room": inRoom, "in no room": nowhere} {
		select {
		case _, ok := <-ch:
			if ok {
				t.Errorf("%s: received a message", name)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("%s: channel not closed by Close", name)
		}
	}
	cancel()
	cancelNowhere()
	late, cancelLate := h.Subscribe([]int64{1})
	defer cancelLate()
	if _, ok := <-late; ok {
		t.Error("subscription after Close is open")
	}
	h.Deliver(livemsg.Message{Type: livemsg.TypeEvent, ProjectID: 1}) // must not panic
	if st := h.Stats(); st.Subscribers != 0 {
		t.Errorf("subscribers after Close = %d", st.Subscribers)
	}
}

func TestHubPublishTrims(t *testing.T) {
	h := NewHub(0)
	ch, cancel := h.Subscribe([]int64{4})
	defer cancel()
	if err := h.Publish(context.Background(), livemsg.Message{Type: livemsg.TypeNewIssue, ProjectID: 4, Title: strings.Repeat("é", 500)}); err != nil {
		t.Fatal(err)
	}
	if m := <-ch; utf8.RuneCountInString(m.Title) != livemsg.MaxTitleRunes {
		t.Errorf("title of %d runes delivered", utf8.RuneCountInString(m.Title))
	}
}

// Delivering, subscribing and cancelling at once: run with -race. Every
// subscriber that stays must see every message of its room.
func TestHubConcurrent(t *testing.T) {
	h := NewHub(1000)
	keep, cancelKeep := h.Subscribe([]int64{1})
	defer cancelKeep()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				h.Deliver(livemsg.Message{Type: livemsg.TypeEvent, ProjectID: 1})
			}
		})
		wg.Go(func() {
			for range 100 {
				ch, cancel := h.Subscribe([]int64{1, 2})
				drain(ch)
				cancel()
			}
		})
	}
	wg.Wait()
	if n := len(drain(keep)); n != 400 {
		t.Errorf("steady subscriber received %d of 400", n)
	}
	if st := h.Stats(); st.Subscribers != 1 {
		t.Errorf("subscribers = %d, want 1", st.Subscribers)
	}
}
