package notify_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

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
	f, fake, topics, topic, run := newSNSFixture(t)
	fake.PageSize = 1 // exercise paging
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
	w := notify.NewWorker(f.db, notify.Config{AllowPrivate: true, Mailer: notify.SNSMailer{Topics: topics, Prefix: "flytrap-prod", Recipients: f.db.ChannelRecipients}, Now: f.clock.Now,
		PublicURL: "https://flytrap.example.com"})
	f.save("a", "TypeError: ünïcode title that is long enough to need cutting because SNS subjects stop before one hundred", 1)
	f.run(w)
	pub := fake.Published()
	if len(pub) != 1 || !strings.HasSuffix(pub[0].TopicARN, ":"+topic) || len(pub[0].Subject) >= 100 || !slices.Equal(pub[0].Delivered, []string{"ada@example.com"}) ||
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

// TestSNSMailSkipsWhoOptedOut: against the SNS fake driven by
// aws-sdk-go-v2, an alert published to the project's topic names the
// channel's recipients in a message attribute, and each subscription's
// filter policy lets it through only when it names that subscription's
// address. So a member who unsubscribed from the channel by an email's
// link, or turned alert email off, is not mailed, even before the
// subscriptions job runs and whatever their subscription's state; a
// subscription made before filter policies gets its policy on the job's
// next run; and an alert nobody wants is not published at all.
func TestSNSMailSkipsWhoOptedOut(t *testing.T) {
	f, fake, topics, topic, run := newSNSFixture(t)
	bob, cy, dan := addMember(t, f, "bob@example.com"), addMember(t, f, "cy@example.com"), addMember(t, f, "dan@example.com")

	// Dan subscribed before filter policies: his subscription has none.
	subscribeUnfiltered(t, f, fake, topics, topic, "dan@example.com")
	run()
	for _, who := range []string{"ada", "bob", "cy"} {
		fake.Confirm(topic, who+"@example.com")
	}
	run()
	var want []string
	for _, who := range []string{"ada", "bob", "cy", "dan"} {
		want = append(want, topic+": "+who+`@example.com: {"recipients":["`+who+`@example.com"]}`)
	}
	if got := fake.Policies(); !slices.Equal(got, want) {
		t.Errorf("filter policies:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Bob unsubscribes from the email channel by an email's link and cy
	// turns alert email off; the next alert comes before the job runs.
	chans, err := f.db.ListAlertChannels(f.ctx, store.System, f.project.ID)
	if err != nil || len(chans) != 1 || chans[0].Kind != store.ChannelEmail {
		t.Fatalf("channels %+v, %v", chans, err)
	}
	if _, err := f.db.UnsubscribeChannel(f.ctx, chans[0].ID, bob.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.db.SetEmailOptOut(f.ctx, cy.ID, true); err != nil {
		t.Fatal(err)
	}
	w := notify.NewWorker(f.db, notify.Config{AllowPrivate: true, Now: f.clock.Now,
		Mailer: notify.SNSMailer{Topics: topics, Prefix: "flytrap-prod", Recipients: f.db.ChannelRecipients}})
	f.save("a", "TypeError: a", 1)
	f.run(w)
	pub := fake.Published()
	if len(pub) != 1 || !slices.Equal(pub[0].Delivered, []string{"ada@example.com", "dan@example.com"}) ||
		pub[0].Attributes["recipients"] != `["ada@example.com","dan@example.com"]` {
		t.Fatalf("published %+v, want it delivered to ada and dan only", pub)
	}

	// The job removes cy's subscription; bob's stays, as the project's
	// other email channels would mail him, and this one still does not.
	run()
	if got := strings.Join(fake.Subscriptions(), ","); strings.Contains(got, "cy@") || !strings.Contains(got, "bob@") {
		t.Errorf("subscriptions after the job: %s", got)
	}

	// Nobody left who wants the channel's email: nothing is published,
	// and the notification is dead at once.
	for _, u := range []int64{1, dan.ID} {
		if err := f.db.SetEmailOptOut(f.ctx, u, true); err != nil {
			t.Fatal(err)
		}
	}
	f.save("b", "TypeError: b", 1)
	f.run(w)
	if got := fake.Published(); len(got) != 1 {
		t.Errorf("published %d messages, want still 1", len(got))
	}
	if n := f.outbox()[0]; n.Status != store.NotificationDead || !strings.Contains(n.LastError, "no member") {
		t.Errorf("notification %+v, want dead", n)
	}
}

// newSNSFixture is a project's fixture with its alert topic on a fake SNS:
// the topics client, the topic's name, and run, one pass of SNSSync.
func newSNSFixture(t *testing.T) (f *fixture, fake *awsxtest.SNSFake, topics *awsx.SNSTopics, topic string, run func()) {
	t.Helper()
	f = newFixture(t, "")
	fake = awsxtest.NewSNS(t)
	topics = awsx.NewSNSTopics(awsx.NewSNSCalls(fake.Client()))
	sync := &notify.SNSSync{Topics: topics, Prefix: "flytrap-prod", Store: f.db}
	return f, fake, topics, notify.TopicName("flytrap-prod", f.project.ID), func() {
		t.Helper()
		if err := sync.Run(f.ctx, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSNSSyncGoesOnPastAFilterPolicyRefused: SNS refusing the filter
// policy of a subscription made before them (a role without
// sns:SetSubscriptionAttributes yet, a topic past its 200 policies) is
// reported, and the rest of the project's sync is still done: a member
// who left is unsubscribed, a new member subscribed and the states
// recorded, where the sync stopped at the refusal on every run.
func TestSNSSyncGoesOnPastAFilterPolicyRefused(t *testing.T) {
	f, fake, topics, topic, _ := newSNSFixture(t)
	sync := &notify.SNSSync{Topics: topics, Prefix: "flytrap-prod", Store: f.db}
	carl := addMember(t, f, "carl@example.com")
	// Ada and carl subscribed before filter policies, and confirmed.
	subscribeUnfiltered(t, f, fake, topics, topic, "ada@example.com")
	subscribeUnfiltered(t, f, fake, topics, topic, "carl@example.com")
	// Carl leaves and dora joins before the job's first run.
	if err := f.db.RemoveMember(f.ctx, store.System, f.project.ID, carl.ID); err != nil {
		t.Fatal(err)
	}
	addMember(t, f, "dora@example.com")
	fake.Refuse = func(action, _ string) string {
		if action == "SetSubscriptionAttributes" {
			return "AuthorizationError"
		}
		return ""
	}
	err := sync.Run(f.ctx, f.clock.Now())
	if err == nil || !strings.Contains(err.Error(), "filter policy") {
		t.Errorf("Run = %v, want the refused filter policy reported", err)
	}
	want := topic + ": ada@example.com (confirmed)," + topic + ": dora@example.com (pending)"
	if got := strings.Join(fake.Subscriptions(), ","); got != want {
		t.Errorf("subscriptions = %s, want %s (carl's gone, dora's made)", got, want)
	}
	subs, err := f.db.SNSSubscriptions(f.ctx, store.System, f.project.ID)
	if err != nil || len(subs) != 2 {
		t.Fatalf("recorded subscriptions = %+v, %v; want ada's and dora's", subs, err)
	}
	for _, s := range subs {
		if want := map[string]string{"ada@example.com": store.SubscriptionConfirmed, "dora@example.com": store.SubscriptionPending}[s.Email]; s.Status != want {
			t.Errorf("recorded %s as %s, want %s", s.Email, s.Status, want)
		}
	}

	// Once SNS takes it, the next run sets the policy it could not.
	fake.Refuse = nil
	if err := sync.Run(f.ctx, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if got, want := fake.Policies(), []string{topic + `: ada@example.com: {"recipients":["ada@example.com"]}`, topic + `: dora@example.com: {"recipients":["dora@example.com"]}`}; !slices.Equal(got, want) {
		t.Errorf("filter policies:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// subscribeUnfiltered subscribes email to the topic as a release before
// filter policies did, without one, and confirms it.
func subscribeUnfiltered(t *testing.T, f *fixture, fake *awsxtest.SNSFake, topics *awsx.SNSTopics, topic, email string) {
	t.Helper()
	arn, err := topics.TopicARN(f.ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fake.Client().Subscribe(f.ctx, &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("email"), Endpoint: aws.String(email)}); err != nil {
		t.Fatal(err)
	}
	fake.Confirm(topic, email)
}

// addMember makes a member of f's project with email.
func addMember(t *testing.T, f *fixture, email string) store.User {
	t.Helper()
	u, err := f.db.CreateUser(f.ctx, email, "x", store.RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.AddMember(f.ctx, f.project.ID, u.ID, store.RoleMember); err != nil {
		t.Fatal(err)
	}
	return u
}

// TestSNSSyncGoesOnPastARefusedCall: SNS refusing to subscribe one
// address (a topic past its subscriptions quota) or to unsubscribe one is
// reported, and the rest of the project's sync is still done, the refused
// address left as it was and a subscription that was not made not
// recorded, where the sync stopped at the refusal on every run.
func TestSNSSyncGoesOnPastARefusedCall(t *testing.T) {
	for _, refused := range []string{"Subscribe", "Unsubscribe"} {
		t.Run(refused, func(t *testing.T) {
			f, fake, topics, topic, run := newSNSFixture(t)
			carl := addMember(t, f, "carl@example.com")
			run()
			fake.Confirm(topic, "ada@example.com")
			fake.Confirm(topic, "carl@example.com")
			run()
			// Carl leaves and dora joins; SNS refuses one of the two calls.
			if err := f.db.RemoveMember(f.ctx, store.System, f.project.ID, carl.ID); err != nil {
				t.Fatal(err)
			}
			addMember(t, f, "dora@example.com")
			fake.Refuse = func(action, _ string) string {
				if action == refused {
					return "AuthorizationError"
				}
				return ""
			}
			sync := &notify.SNSSync{Topics: topics, Prefix: "flytrap-prod", Store: f.db}
			if err := sync.Run(f.ctx, f.clock.Now()); err == nil || !strings.Contains(err.Error(), "AuthorizationError") {
				t.Errorf("Run = %v, want the refusal reported", err)
			}
			want := map[string]string{
				"Subscribe":   topic + ": ada@example.com (confirmed)",
				"Unsubscribe": topic + ": ada@example.com (confirmed)," + topic + ": carl@example.com (confirmed)," + topic + ": dora@example.com (pending)",
			}[refused]
			if got := strings.Join(fake.Subscriptions(), ","); got != want {
				t.Errorf("subscriptions = %s, want %s", got, want)
			}
			subs, err := f.db.SNSSubscriptions(f.ctx, store.System, f.project.ID)
			if err != nil {
				t.Fatal(err)
			}
			var recorded []string
			for _, s := range subs {
				recorded = append(recorded, s.Email+" "+s.Status)
			}
			wantRecorded := map[string]string{
				"Subscribe":   "ada@example.com confirmed",
				"Unsubscribe": "ada@example.com confirmed,dora@example.com pending",
			}[refused]
			if got := strings.Join(recorded, ","); got != wantRecorded {
				t.Errorf("recorded %s, want %s", got, wantRecorded)
			}
		})
	}
}

// TestSNSLinkUnsubscribeIsAnOptOut: against the SNS fake driven by
// aws-sdk-go-v2, a member who clicks the unsubscribe link of SNS's email
// is not subscribed again: their subscription, recorded confirmed, is
// Deleted (SNS lists it so for up to 72 hours) or gone by the next run,
// which records them as unsubscribed from the project's email channels,
// so the admins' "Not mailed" list names them and alerts skip them; and
// turning alert email on on their account page subscribes them again.
func TestSNSLinkUnsubscribeIsAnOptOut(t *testing.T) {
	for _, tc := range []struct {
		name string
		// cleared: SNS cleared the deleted subscription before the
		// job's next run (it did not run for 72 hours).
		cleared bool
	}{{"deleted", false}, {"gone", true}} {
		t.Run(tc.name, func(t *testing.T) {
			f, fake, topics, topic, run := newSNSFixture(t)
			bob := addMember(t, f, "bob@example.com")
			run()
			fake.Confirm(topic, "ada@example.com")
			fake.Confirm(topic, "bob@example.com")
			run()

			fake.UnsubscribeByLink(topic, "bob@example.com")
			if tc.cleared {
				fake.ClearDeleted()
			}
			run()
			fake.ClearDeleted()
			run()
			if got := strings.Join(fake.Subscriptions(), ","); got != topic+": ada@example.com (confirmed)" {
				t.Errorf("subscriptions = %s, want ada's only: bob was subscribed again", got)
			}
			subs, err := f.db.SNSSubscriptions(f.ctx, store.System, f.project.ID)
			if err != nil || len(subs) != 1 || subs[0].Email != "ada@example.com" {
				t.Errorf("recorded subscriptions = %+v, %v; want ada's only", subs, err)
			}
			chans, err := f.db.ListAlertChannels(f.ctx, store.System, f.project.ID)
			if err != nil || len(chans) != 1 {
				t.Fatalf("channels %+v, %v", chans, err)
			}
			if got, want := notMailed(t, f), []string{"bob@example.com unsubscribed from " + strconv.FormatInt(chans[0].ID, 10), "quiet@example.com alert email off"}; !slices.Equal(got, want) {
				t.Errorf("not mailed = %v, want %v", got, want)
			}

			w := notify.NewWorker(f.db, notify.Config{AllowPrivate: true, Now: f.clock.Now,
				Mailer: notify.SNSMailer{Topics: topics, Prefix: "flytrap-prod", Recipients: f.db.ChannelRecipients}})
			f.save("a", "TypeError: a", 1)
			f.run(w)
			if pub := fake.Published(); len(pub) != 1 || pub[0].Attributes["recipients"] != `["ada@example.com"]` {
				t.Errorf("published %+v, want it for ada only", pub)
			}

			// Bob saves his account page with alert email on.
			if err := f.db.SetEmailOptOut(f.ctx, bob.ID, false); err != nil {
				t.Fatal(err)
			}
			run()
			if got := strings.Join(fake.Subscriptions(), ","); got != topic+": ada@example.com (confirmed),"+topic+": bob@example.com (pending)" {
				t.Errorf("subscriptions after bob turned alert email on = %s, want his pending", got)
			}
		})
	}
}

// TestSNSDeletedSubscriptionNotLive: a subscription SNS lists as Deleted
// (its recipient clicked SNS's unsubscribe link) with no confirmed one
// recorded (the job's first run, a database restored from before it) is
// no subscription, pending or other: it is not recorded, no opt-out is,
// it is not subscribed again while SNS refuses that, and it is once SNS
// has cleared it.
func TestSNSDeletedSubscriptionNotLive(t *testing.T) {
	f, fake, topics, topic, run := newSNSFixture(t)
	subscribeUnfiltered(t, f, fake, topics, topic, "ada@example.com")
	fake.UnsubscribeByLink(topic, "ada@example.com")
	run() // fails if it asks SNS to subscribe ada while it refuses
	subs, err := f.db.SNSSubscriptions(f.ctx, store.System, f.project.ID)
	if err != nil || len(subs) != 0 {
		t.Errorf("recorded subscriptions = %+v, %v; want none", subs, err)
	}
	if got, want := notMailed(t, f), []string{"quiet@example.com alert email off"}; !slices.Equal(got, want) {
		t.Errorf("not mailed = %v, want %v (the fixture's quiet only)", got, want)
	}
	fake.ClearDeleted()
	run()
	if got := strings.Join(fake.Subscriptions(), ","); got != topic+": ada@example.com (pending)" {
		t.Errorf("subscriptions once SNS cleared the deleted one = %s, want ada's pending", got)
	}
}

// notMailed is the project's "Not mailed" list (store.DB.EmailOptOuts),
// one "email reason" each.
func notMailed(t *testing.T, f *fixture) []string {
	t.Helper()
	outs, err := f.db.EmailOptOuts(f.ctx, store.System, f.project.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range outs {
		switch {
		case o.ChannelID != 0:
			got = append(got, o.Email+" unsubscribed from "+strconv.FormatInt(o.ChannelID, 10))
		case o.NoPassword:
			got = append(got, o.Email+" no password")
		default:
			got = append(got, o.Email+" alert email off")
		}
	}
	return got
}

// failingReplace is the store but for ReplaceSNSSubscriptions, which
// fails while fail is set.
type failingReplace struct {
	*store.DB
	fail bool
}

func (s *failingReplace) ReplaceSNSSubscriptions(ctx context.Context, projectID int64, subs []store.SNSSubscription, now time.Time) error {
	if s.fail {
		return errors.New("database gone")
	}
	return s.DB.ReplaceSNSSubscriptions(ctx, projectID, subs, now)
}

// TestSNSOwnUnsubscribeIsNoOptOut: a subscription the job removed itself
// (the member turned alert email off) is not taken for the member's
// clicking SNS's link when the record of it still says confirmed (the
// database failed to record the run): once they turn alert email on
// again, they are subscribed, not unsubscribed from the channels.
func TestSNSOwnUnsubscribeIsNoOptOut(t *testing.T) {
	f, fake, topics, topic, _ := newSNSFixture(t)
	st := &failingReplace{DB: f.db}
	sync := &notify.SNSSync{Topics: topics, Prefix: "flytrap-prod", Store: st}
	run := func() error { return sync.Run(f.ctx, f.clock.Now()) }
	if err := run(); err != nil {
		t.Fatal(err)
	}
	fake.Confirm(topic, "ada@example.com")
	if err := run(); err != nil {
		t.Fatal(err)
	}
	if err := f.db.SetEmailOptOut(f.ctx, 1, true); err != nil {
		t.Fatal(err)
	}
	st.fail = true
	if err := run(); err == nil {
		t.Fatal("Run recorded nothing and reported no error")
	}
	st.fail = false
	if err := f.db.SetEmailOptOut(f.ctx, 1, false); err != nil {
		t.Fatal(err)
	}
	if err := run(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(fake.Subscriptions(), ","); got != topic+": ada@example.com (pending)" {
		t.Errorf("subscriptions = %s, want ada's pending", got)
	}
	if got, want := notMailed(t, f), []string{"quiet@example.com alert email off"}; !slices.Equal(got, want) {
		t.Errorf("not mailed = %v, want %v", got, want)
	}
}
