package live

import (
	"context"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/getflytrap/flytrap/internal/livemsg"
)

// drain returns the issue IDs waiting in s without waiting.
func drain(s *Subscription) []int64 {
	var ids []int64
	msgs, _ := s.Take()
	for _, m := range msgs {
		ids = append(ids, m.IssueID)
	}
	return ids
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
	subs := make([]*Subscription, len(tests))
	for i, tt := range tests {
		subs[i] = h.Subscribe(tt.projects)
		defer subs[i].Cancel()
	}
	for _, issue := range []int64{1, 2, 3, 11} {
		h.Deliver(livemsg.Message{Type: livemsg.TypeEvent, ProjectID: issue % 10, IssueID: issue})
	}
	for i, tt := range tests {
		if got := drain(subs[i]); !slices.Equal(got, tt.want) {
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
	slow := h.Subscribe([]int64{1})
	defer slow.Cancel()
	fast := h.Subscribe([]int64{1})
	defer fast.Cancel()
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
	kept, open := slow.Take()
	if len(kept) != 2 || kept[0].IssueID != 1 || kept[1].IssueID != 2 || open {
		t.Errorf("slow subscriber kept %v, open %v; want issues 1 and 2, and then the end", kept, open)
	}
	if st := h.Stats(); st.Dropped != 1 || st.Subscribers != 1 {
		t.Errorf("dropped = %d, subscribers = %d; want 1, 1", st.Dropped, st.Subscribers)
	}
	if h.Closed() {
		t.Error("the hub reports itself closed")
	}
	slow.Cancel() // after a cut-off, Cancel is harmless
}

func TestHubUnsubscribe(t *testing.T) {
	h := NewHub(0)
	sub := h.Subscribe([]int64{1, 2})
	other := h.Subscribe([]int64{1})
	defer other.Cancel()
	sub.Cancel()
	sub.Cancel() // harmless
	if _, open := sub.Take(); open {
		t.Fatal("subscription still open after Cancel")
	}
	h.Deliver(livemsg.Message{Type: livemsg.TypeEvent, ProjectID: 1, IssueID: 1})
	h.Deliver(livemsg.Message{Type: livemsg.TypeEvent, ProjectID: 2, IssueID: 2})
	if got := drain(other); !slices.Equal(got, []int64{1}) {
		t.Errorf("remaining subscriber received %v", got)
	}
	if st := h.Stats(); st.Subscribers != 1 {
		t.Errorf("subscribers = %d, want 1", st.Subscribers)
	}
	other.Cancel()
	h.mu.RLock()
	rooms := len(h.rooms)
	h.mu.RUnlock()
	if rooms != 0 {
		t.Errorf("%d empty rooms kept", rooms)
	}
}

func TestHubClose(t *testing.T) {
	h := NewHub(0)
	inRoom := h.Subscribe([]int64{1})
	nowhere := h.Subscribe(nil)
	h.Close()
	h.Close()
	for name, s := range map[string]*Subscription{"in a room": inRoom, "in no room": nowhere} {
		select {
		case <-s.Ready():
			if msgs, open := s.Take(); open || len(msgs) != 0 {
				t.Errorf("%s: received %v, open %v", name, msgs, open)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("%s: not woken by Close", name)
		}
	}
	inRoom.Cancel()
	nowhere.Cancel()
	late := h.Subscribe([]int64{1})
	defer late.Cancel()
	if _, open := late.Take(); open {
		t.Error("subscription after Close is open")
	}
	h.Deliver(livemsg.Message{Type: livemsg.TypeEvent, ProjectID: 1}) // must not panic
	if st := h.Stats(); st.Subscribers != 0 {
		t.Errorf("subscribers after Close = %d", st.Subscribers)
	}
}

func TestHubPublishTrims(t *testing.T) {
	h := NewHub(0)
	sub := h.Subscribe([]int64{4})
	defer sub.Cancel()
	if err := h.Publish(context.Background(), livemsg.Message{Type: livemsg.TypeNewIssue, ProjectID: 4, Title: strings.Repeat("é", 500)}); err != nil {
		t.Fatal(err)
	}
	if msgs, _ := sub.Take(); len(msgs) != 1 || utf8.RuneCountInString(msgs[0].Title) != livemsg.MaxTitleRunes {
		t.Errorf("delivered %v, want one message with a title of %d runes", msgs, livemsg.MaxTitleRunes)
	}
}

// Delivering, subscribing and cancelling at once: run with -race. Every
// subscriber that stays must see every message of its room.
func TestHubConcurrent(t *testing.T) {
	h := NewHub(1000)
	keep := h.Subscribe([]int64{1})
	defer keep.Cancel()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				h.Deliver(livemsg.Message{Type: livemsg.TypeEvent, ProjectID: 1})
			}
		})
		wg.Go(func() {
			for range 100 {
				s := h.Subscribe([]int64{1, 2})
				drain(s)
				s.Cancel()
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

// An idle subscription holds no buffer: a dashboard tab that is open all
// day costs the heap next to nothing until messages wait for it, and what
// waited is let go once taken. (A channel of DefaultBuffer messages held
// 164 KB each, counted against the memory limit whether or not anything
// was sent: 3,000 streams kept the collector running.)
func TestHubIdleSubscriptionMemory(t *testing.T) {
	const n = 1000
	h := NewHub(0)
	heap := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := heap()
	subs := make([]*Subscription, n)
	for i := range subs {
		subs[i] = h.Subscribe([]int64{int64(i%10 + 1)})
	}
	idle := heap()
	per := (int64(idle) - int64(before)) / n
	t.Logf("%d B of heap per idle subscription", per)
	if per > 1024 {
		t.Errorf("an idle subscription holds %d B of heap, want at most 1 KB", per)
	}
	for i := range 100 {
		h.Deliver(livemsg.Message{Type: livemsg.TypeEvent, ProjectID: int64(i%10 + 1), IssueID: int64(i)})
	}
	for _, s := range subs {
		if got := drain(s); len(got) != 10 {
			t.Fatalf("a subscription received %d messages, want 10", len(got))
		}
	}
	if after := heap(); after > idle+n*256 {
		t.Errorf("heap %d B after the messages were taken, %d B before they came", after, idle)
	}
	runtime.KeepAlive(subs)
}
