package notify_test

import (
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/awsx/awsxtest"
	"github.com/getflytrap/flytrap/internal/notify"
	"github.com/getflytrap/flytrap/internal/store"
)

// TestSNSSubscriptionsFollowMembers: against a protocol-level SNS fake
// driven by aws-sdk-go-v2, members who want alert email are subscribed to
// their project's topic (pending until they confirm), members removed or
// opted out are unsubscribed once confirmed, the dashboard's record shows
// each state, and an alert is published to the topic as plain text.
func TestSNSSubscriptionsFollowMembers(t *testing.T) {
	f := newFixture(t, "")
	fake := awsxtest.NewSNS(t)
	fake.PageSize = 1 // exercise paging
	topics := awsx.NewSNSTopics(awsx.NewSNSCalls(fake.Client()))
	sync := &notify.SNSSync{Topics: topics, Prefix: "flytrap-prod", Store: f.db}
	topic := notify.TopicName("flytrap-prod", f.project.ID)
	run := func() {
		t.Helper()
		if err := sync.Run(f.ctx, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	bob, err := f.db.CreateUser(f.ctx, "bob@example.com", "x", store.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.AddMember(f.ctx, f.project.ID, bob.ID, store.RoleMember); err != nil {
		t.Fatal(err)
	}
	run()
	want := topic + ": ada@example.com (pending)," + topic + ": bob@example.com (pending)"
	if got := strings.Join(fake.Subscriptions(), ","); got != want {
		t.Fatalf("subscriptions = %s, want %s", got, want)
	}
	fake.Confirm(topic, "ada@example.com")
	fake.Confirm(topic, "bob@example.com")
	run()
	subs, err := f.db.SNSSubscriptions(f.ctx, store.System, f.project.ID)
	if err != nil || len(subs) != 2 || subs[0].Status != store.SubscriptionConfirmed {
		t.Fatalf("recorded subscriptions = %+v, %v", subs, err)
	}

	// Bob leaves: his confirmed subscription goes. Ada opts out: hers too.
	if err := f.db.RemoveMember(f.ctx, store.System, f.project.ID, bob.ID); err != nil {
		t.Fatal(err)
	}
	run()
	if got := strings.Join(fake.Subscriptions(), ","); got != topic+": ada@example.com (confirmed)" {
		t.Errorf("after bob left: %s", got)
	}

	// An alert goes to the topic.
	w := notify.NewWorker(f.db, notify.Config{AllowPrivate: true, Mailer: notify.SNSMailer{Topics: topics, Prefix: "flytrap-prod"}, Now: f.clock.Now,
		PublicURL: "https://flytrap.example.com"})
	f.save("a", "TypeError: ünïcode title that is long enough to need cutting because SNS subjects stop before one hundred", 1)
	f.run(w)
	pub := fake.Published()
	if len(pub) != 1 || !strings.HasSuffix(pub[0].TopicARN, ":"+topic) || len(pub[0].Subject) >= 100 ||
		!strings.Contains(pub[0].Message, "at renderCart (app/cart.js:42)") || !strings.Contains(pub[0].Message, "https://flytrap.example.com/issues/") {
		t.Errorf("published = %+v", pub)
	}
	for _, n := range f.outbox() {
		if n.Status != store.NotificationSent {
			t.Errorf("notification %+v", n)
		}
	}

	if err := f.db.SetEmailOptOut(f.ctx, 1, true); err != nil {
		t.Fatal(err)
	}
	run()
	if got := fake.Subscriptions(); len(got) != 0 {
		t.Errorf("after ada opted out: %v", got)
	}
}
