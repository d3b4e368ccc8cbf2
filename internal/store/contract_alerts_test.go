package store

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
)

// saveAlerting saves reqs in one batch with the alert hook at now.
func (e *env) saveAlerting(now time.Time, reqs ...SaveRequest) []SaveResult {
	e.t.Helper()
	res, err := e.db.SaveBatch(e.ctx, reqs, e.db.AlertHook(func() time.Time { return now }))
	if err != nil {
		e.t.Fatalf("SaveBatch: %v", err)
	}
	return res
}

// outbox returns the env project's notifications, oldest first.
func (e *env) outbox() []Notification {
	e.t.Helper()
	ns, err := e.db.ListNotifications(e.ctx, System, e.project.ID, 200)
	if err != nil {
		e.t.Fatal(err)
	}
	for i, j := 0, len(ns)-1; i < j; i, j = i+1, j-1 {
		ns[i], ns[j] = ns[j], ns[i]
	}
	return ns
}

func reasons(ns []Notification) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Reason)
	}
	return out
}

func testAlertConfig(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	member := e.createUser("m@example.com", RoleMember)
	stranger := e.createUser("s@example.com", RoleMember)
	e.addMember(e.project, member)
	mv, sv := Viewer{UserID: member.ID}, Viewer{UserID: stranger.ID}

	// A new project emails its members on new issues and regressions.
	chans, err := db.ListAlertChannels(ctx, mv, e.project.ID)
	if err != nil || len(chans) != 1 || chans[0].Kind != ChannelEmail {
		t.Fatalf("default channels = %+v, %v", chans, err)
	}
	rules, err := db.ListAlertRules(ctx, mv, e.project.ID)
	if err != nil || len(rules) != 2 || rules[0].Type != RuleNewIssue || rules[1].Type != RuleRegression || !rules[0].Enabled {
		t.Fatalf("default rules = %+v, %v", rules, err)
	}
	if _, err := db.ListAlertRules(ctx, sv, e.project.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("stranger lists rules: %v", err)
	}

	hook, err := db.CreateAlertChannel(ctx, System, AlertChannel{ProjectID: e.project.ID, Kind: ChannelWebhook, Name: "ops", URL: "https://example.com/hook"})
	if err != nil || len(hook.Secret) < 40 {
		t.Fatalf("CreateAlertChannel = %+v, %v", hook, err)
	}
	got, err := db.GetAlertChannel(ctx, mv, hook.ID)
	if err != nil || got.Secret != "" || got.URL != hook.URL {
		t.Errorf("GetAlertChannel shows %+v, %v; want no secret", got, err)
	}
	_, err = db.CreateAlertChannel(ctx, mv, AlertChannel{ProjectID: e.project.ID, Kind: ChannelSlack, URL: "https://hooks.slack.com/x"})
	wantErr(t, "member creates channel", err, ErrForbidden)
	_, err = db.CreateAlertChannel(ctx, System, AlertChannel{ProjectID: e.project.ID, Kind: "pager"})
	wantErr(t, "unknown kind", err, ErrInvalid)

	r, err := db.PutAlertRule(ctx, System, AlertRule{ProjectID: e.project.ID, ChannelID: hook.ID, Type: RuleFrequency, Threshold: 10, WindowMinutes: 5, Enabled: true})
	if err != nil || r.ID == 0 {
		t.Fatalf("PutAlertRule = %+v, %v", r, err)
	}
	r.Threshold, r.MinLevel = 20, "error"
	if r, err = db.PutAlertRule(ctx, System, r); err != nil || r.Threshold != 20 {
		t.Fatalf("update rule = %+v, %v", r, err)
	}
	if got, err := db.GetAlertRule(ctx, mv, r.ID); err != nil || got.Threshold != 20 || got.MinLevel != "error" {
		t.Errorf("GetAlertRule = %+v, %v", got, err)
	}
	other := e.createProject("other")
	otherChans, _ := db.ListAlertChannels(ctx, System, other.ID)
	_, err = db.PutAlertRule(ctx, System, AlertRule{ProjectID: e.project.ID, ChannelID: otherChans[0].ID, Type: RuleNewIssue})
	wantErr(t, "rule with another project's channel", err, ErrInvalid)
	_, err = db.PutAlertRule(ctx, mv, r)
	wantErr(t, "member updates rule", err, ErrForbidden)
	wantErr(t, "member deletes rule", db.DeleteAlertRule(ctx, mv, r.ID), ErrForbidden)
	wantErr(t, "stranger deletes rule", db.DeleteAlertRule(ctx, sv, r.ID), ErrNotFound)

	// Deleting a channel deletes its rules.
	if err := db.DeleteAlertChannel(ctx, System, hook.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.GetAlertRule(ctx, System, r.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("rule of a deleted channel: %v", err)
	}

	// A member invited who has not set a password gets no alert email
	// until they do: the address may be a stranger's.
	invited, err := db.CreateUser(ctx, "invited@example.com", "", RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	e.addMember(e.project, invited)
	if got, _ := db.EmailRecipients(ctx, e.project.ID); len(got) != 1 || got[0] != "m@example.com" {
		t.Errorf("recipients with an invited member = %v, want m@example.com only", got)
	}
	if err := db.SetPassword(ctx, invited.ID, "hash-invited"); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.EmailRecipients(ctx, e.project.ID); len(got) != 2 || got[0] != "invited@example.com" {
		t.Errorf("recipients once the invited member set a password = %v", got)
	}
	if err := db.RemoveMember(ctx, System, e.project.ID, invited.ID); err != nil {
		t.Fatal(err)
	}

	// Opt-out takes a member off the recipients.
	if got, _ := db.EmailRecipients(ctx, e.project.ID); len(got) != 1 || got[0] != "m@example.com" {
		t.Errorf("recipients = %v", got)
	}
	if err := db.SetEmailOptOut(ctx, member.ID, true); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.EmailRecipients(ctx, e.project.ID); len(got) != 0 {
		t.Errorf("recipients after opt-out = %v", got)
	}
	if out, _ := db.EmailOptOut(ctx, member.ID); !out {
		t.Error("EmailOptOut = false after opting out")
	}

	if err := db.SetAlertCooldown(ctx, System, e.project.ID, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	if c, err := db.AlertCooldown(ctx, mv, e.project.ID); err != nil || c != 10*time.Minute {
		t.Errorf("AlertCooldown = %v, %v", c, err)
	}
	wantErr(t, "member sets cooldown", db.SetAlertCooldown(ctx, mv, e.project.ID, time.Hour), ErrForbidden)
}

// testAlertOutbox: a new issue writes one notification in the save's
// transaction, and a batch that rolls back writes none.
// testAlertChannelNames: a channel name is unique within its project, in
// any case, concurrent creations included; another project may use it.
// Duplicates stored before the check was made (no unique index refuses
// them) stay listed and deletable.
func testAlertChannelNames(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	p := e.project.ID
	hook, err := db.CreateAlertChannel(ctx, System, AlertChannel{ProjectID: p, Kind: ChannelWebhook, Name: "local hook", URL: "https://example.com/a"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"local hook", "Local Hook", "members by email"} {
		_, err := db.CreateAlertChannel(ctx, System, AlertChannel{ProjectID: p, Kind: ChannelWebhook, Name: name, URL: "https://example.com/b"})
		wantErr(t, "a second channel named "+name, err, ErrConflict)
	}
	other := e.createProject("other")
	if _, err := db.CreateAlertChannel(ctx, System, AlertChannel{ProjectID: other.ID, Kind: ChannelEmail, Name: "local hook"}); err != nil {
		t.Errorf("another project's channel of the same name: %v", err)
	}

	// Concurrent creations of one name: one wins.
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		created  int
		conflict int
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := db.CreateAlertChannel(ctx, System, AlertChannel{ProjectID: p, Kind: ChannelEmail, Name: "race"})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				created++
			case errors.Is(err, ErrConflict):
				conflict++
			default:
				t.Errorf("concurrent creation: %v", err)
			}
		}()
	}
	wg.Wait()
	if created != 1 || conflict != 3 {
		t.Errorf("4 concurrent creations of one name: %d created, %d refused; want 1 and 3", created, conflict)
	}

	// A duplicate stored before the check.
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO alert_channels (project_id, kind, name, url, secret, created_at)
		VALUES ($1, 'email', 'local hook', '', '', 0)`, p); err != nil {
		t.Fatal(err)
	}
	chans, err := db.ListAlertChannels(ctx, System, p)
	if err != nil {
		t.Fatal(err)
	}
	named := 0
	for _, c := range chans {
		if c.Name == "local hook" {
			named++
		}
	}
	if named != 2 {
		t.Errorf("%d channels named local hook listed, want the 2 stored", named)
	}
	if err := db.DeleteAlertChannel(ctx, System, hook.ID); err != nil {
		t.Fatal(err)
	}
	_, err = db.CreateAlertChannel(ctx, System, AlertChannel{ProjectID: p, Kind: ChannelEmail, Name: "LOCAL HOOK"})
	wantErr(t, "a name the remaining duplicate has", err, ErrConflict)
}

func testAlertOutbox(e *env) {
	t := e.t
	now := t0.Add(time.Minute)
	// A batch that fails (its second event's project is missing) leaves
	// no notification behind.
	_, err := e.db.SaveBatch(e.ctx, []SaveRequest{request(e.project.ID, "a"), request(e.project.ID+1000, "b")},
		e.db.AlertHook(func() time.Time { return now }))
	if err == nil {
		t.Fatal("batch with a missing project saved")
	}
	if ns := e.outbox(); len(ns) != 0 {
		t.Fatalf("rolled-back batch left %d notifications", len(ns))
	}
	res := e.saveAlerting(now, request(e.project.ID, "a", withEnv("prod"), withRelease("1.0"), withTitle("<b>boom</b>")))
	ns := e.outbox()
	if len(ns) != 1 {
		t.Fatalf("outbox = %+v", ns)
	}
	n := ns[0]
	if n.Reason != RuleNewIssue || n.Status != NotificationPending || n.IssueID != res[0].IssueID ||
		n.Payload.Title != "<b>boom</b>" || n.Payload.Environment != "prod" || n.Payload.Release != "1.0" || n.Payload.EventID != res[0].EventID {
		t.Errorf("notification = %+v", n)
	}
	// The same event again is a duplicate: nothing more.
	dup := request(e.project.ID, "a", withID(res[0].EventID))
	e.saveAlerting(now, dup)
	if got := len(e.outbox()); got != 1 {
		t.Errorf("duplicate event: %d notifications", got)
	}
	// A muted issue writes nothing, even as a regression.
	if err := e.db.SetIssueMuted(e.ctx, System, res[0].IssueID, true); err != nil {
		t.Fatal(err)
	}
	e.setStatus(res[0].IssueID, StatusResolved, "")
	e.saveAlerting(now, request(e.project.ID, "a"))
	if got := reasons(e.outbox()); len(got) != 1 {
		t.Errorf("muted issue: notifications %v", got)
	}
	if m, _ := e.db.IssueMuted(e.ctx, System, res[0].IssueID); !m {
		t.Error("IssueMuted = false")
	}
}

// testAlertFloodDigest: 10,000 events of one error in batches give one
// alert, then one digest once the cooldown ends, then nothing.
func testAlertFloodDigest(e *env) {
	t := e.t
	now := t0
	total := 0
	for b := 0; b < 100; b++ {
		reqs := make([]SaveRequest, 100)
		for i := range reqs {
			reqs[i] = request(e.project.ID, "flood", withRcv(now), withEnv("production"))
		}
		e.saveAlerting(now, reqs...)
		total += len(reqs)
		now = now.Add(100 * time.Millisecond)
	}
	if got := reasons(e.outbox()); len(got) != 1 || got[0] != RuleNewIssue {
		t.Fatalf("after %d events: %v, want one new_issue", total, got)
	}
	if n, err := e.db.QueueDigests(e.ctx, now); err != nil || n != 0 {
		t.Fatalf("QueueDigests inside the window = %d, %v", n, err)
	}
	after := t0.Add(DefaultAlertCooldown)
	if n, err := e.db.QueueDigests(e.ctx, after); err != nil || n != 1 {
		t.Fatalf("QueueDigests after the window = %d, %v", n, err)
	}
	ns := e.outbox()
	if got := reasons(ns); len(got) != 2 || got[1] != ReasonDigest {
		t.Fatalf("outbox = %v", got)
	}
	if ns[1].Payload.Events != int64(total-1) || ns[1].Payload.Count != int64(total) {
		t.Errorf("digest sums %d events, count %d; want %d, %d", ns[1].Payload.Events, ns[1].Payload.Count, total-1, total)
	}
	if ns[1].Payload.Environment != "production" {
		t.Errorf("digest environment %q, want the latest event's", ns[1].Payload.Environment)
	}
	// No events since: no more digests.
	if n, _ := e.db.QueueDigests(e.ctx, after.Add(2*DefaultAlertCooldown)); n != 0 {
		t.Errorf("QueueDigests without new events = %d", n)
	}
	if got := len(e.outbox()); got != 2 {
		t.Errorf("outbox holds %d", got)
	}
}

// testAlertRegression: a regression alerts once, even within the cooldown
// of the issue's first alert, and the events after it do not.
func testAlertRegression(e *env) {
	t := e.t
	res := e.saveAlerting(t0, request(e.project.ID, "r"))
	e.setStatus(res[0].IssueID, StatusResolved, "")
	var reqs []SaveRequest
	for range 50 {
		reqs = append(reqs, request(e.project.ID, "r"))
	}
	e.saveAlerting(t0.Add(time.Minute), reqs...)
	e.saveAlerting(t0.Add(2*time.Minute), request(e.project.ID, "r"))
	if got := reasons(e.outbox()); len(got) != 2 || got[1] != RuleRegression {
		t.Errorf("outbox = %v, want new_issue, regression", got)
	}
}

// withoutAlertRules deletes the project's alert rules, so that a test's own
// are the only ones, and returns its default (e-mail) channel.
func (e *env) withoutAlertRules() int64 {
	e.t.Helper()
	rules, _ := e.db.ListAlertRules(e.ctx, System, e.project.ID)
	for _, r := range rules {
		if err := e.db.DeleteAlertRule(e.ctx, System, r.ID); err != nil {
			e.t.Fatal(err)
		}
	}
	chans, _ := e.db.ListAlertChannels(e.ctx, System, e.project.ID)
	return chans[0].ID
}

// testAlertFrequencyFilters: a frequency rule fires when the window holds
// more than its threshold, once per cooldown; level and environment
// filters keep other events out.
func testAlertFrequencyFilters(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	mail := e.withoutAlertRules()
	if _, err := db.PutAlertRule(ctx, System, AlertRule{ProjectID: e.project.ID, ChannelID: mail, Type: RuleFrequency,
		Threshold: 5, WindowMinutes: 10, MinLevel: "error", Environment: "prod", Enabled: true}); err != nil {
		t.Fatal(err)
	}
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	save := func(m int, opts ...eventOpt) {
		e.saveAlerting(at(m), request(e.project.ID, "f", append(opts, withRcv(at(m)))...))
	}
	for i := range 5 {
		save(i, withEnv("prod"))
	}
	// Warnings and staging events do not count towards firing.
	save(5, withEnv("prod"), withLevel("warning"))
	save(5, withEnv("staging"))
	if got := len(e.outbox()); got != 0 {
		t.Fatalf("five matching events fired %d", got)
	}
	// Old events leave the window: six events over 20 minutes do not fire.
	save(30, withEnv("prod"))
	if got := len(e.outbox()); got != 0 {
		t.Fatalf("events outside the window fired %d", got)
	}
	for i := 31; i < 37; i++ {
		save(i, withEnv("prod"))
	}
	if got := reasons(e.outbox()); len(got) != 1 || got[0] != RuleFrequency {
		t.Fatalf("outbox = %v, want one frequency", got)
	}
	// Still above the threshold, within the cooldown: no second alert.
	save(37, withEnv("prod"))
	if got := len(e.outbox()); got != 1 {
		t.Errorf("within the cooldown: %d notifications", got)
	}
}

// testAlertFrequencyBatchCount: when one batch takes an issue's window
// over the threshold, the alert is of the batch's last event and says how
// many events the window held (QA: "more than 3 events" alerted with the
// count of the third). It quotes that event's title, culprit and level,
// whose stack it shows, even when the SDK dated it before the issue's
// newest event, whose title the issue keeps (QA: the title of one event
// over the stack of another).
func testAlertFrequencyBatchCount(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	mail := e.withoutAlertRules()
	if _, err := db.PutAlertRule(ctx, System, AlertRule{ProjectID: e.project.ID, ChannelID: mail, Type: RuleFrequency,
		Threshold: 3, WindowMinutes: 5, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	at := t0.Add(time.Minute)
	e.saveAlerting(at, request(e.project.ID, "spike", withRcv(at)))
	e.saveAlerting(at, request(e.project.ID, "spike", withRcv(at)))
	e.saveAlerting(at, request(e.project.ID, "spike", withRcv(at), withID("third")), request(e.project.ID, "spike", withRcv(at), withID("fourth"),
		withAt(t0.Add(-time.Hour)), withTitle("Error spike late"), withCulprit("late.js in f"), withLevel("warning")))
	ns := e.outbox()
	if got := reasons(ns); len(got) != 1 || got[0] != RuleFrequency {
		t.Fatalf("outbox = %v, want one frequency", got)
	}
	if p := ns[0].Payload; p.Count != 4 || p.WindowEvents != 4 || p.WindowMinutes != 5 || p.EventID != "fourth" {
		t.Errorf("payload count %d, window %d events in %d minutes, event %q; want 4, 4 in 5, fourth",
			p.Count, p.WindowEvents, p.WindowMinutes, p.EventID)
	}
	if p := ns[0].Payload; p.Title != "Error spike late" || p.Culprit != "late.js in f" || p.Level != "warning" || p.IssueTitle != "Error spike" {
		t.Errorf("payload title %q, culprit %q, level %q, issue title %q; want the fourth event's and the issue's \"Error spike\"",
			p.Title, p.Culprit, p.Level, p.IssueTitle)
	}
}

// spikeRules leaves the project two rules: new issues to its email
// channel, and three events in windowMinutes to a new webhook channel.
// It returns the two channels' IDs.
func (e *env) spikeRules(windowMinutes int64) (mail, hook int64) {
	e.t.Helper()
	mail = e.withoutAlertRules()
	ch, err := e.db.CreateAlertChannel(e.ctx, System, AlertChannel{ProjectID: e.project.ID, Kind: ChannelWebhook, Name: "spikes", URL: "https://hooks.example.com/x", Secret: "s"})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, r := range []AlertRule{
		{ProjectID: e.project.ID, ChannelID: mail, Type: RuleNewIssue, Enabled: true},
		{ProjectID: e.project.ID, ChannelID: ch.ID, Type: RuleFrequency, Threshold: 3, WindowMinutes: windowMinutes, Enabled: true},
	} {
		if _, err := e.db.PutAlertRule(e.ctx, System, r); err != nil {
			e.t.Fatal(err)
		}
	}
	return mail, ch.ID
}

// testAlertFrequencyOnAnotherChannel: a new-issue alert on one channel
// opens the issue's window, yet a frequency rule on another channel still
// fires when the issue spikes inside it, once; the window's digest then
// goes to both channels.
func testAlertFrequencyOnAnotherChannel(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	mail, hook := e.spikeRules(1)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	for i := range 20 {
		e.saveAlerting(at(i), request(e.project.ID, "spike", withRcv(at(i))))
	}
	var got []string
	for _, n := range e.outbox() {
		got = append(got, fmt.Sprintf("%s→%d", n.Reason, n.ChannelID))
	}
	want := []string{fmt.Sprintf("%s→%d", RuleNewIssue, mail), fmt.Sprintf("%s→%d", RuleFrequency, hook)}
	if !slices.Equal(got, want) {
		t.Fatalf("outbox = %v, want %v", got, want)
	}
	if n, err := db.QueueDigests(ctx, t0.Add(DefaultAlertCooldown)); err != nil || n != 1 {
		t.Fatalf("QueueDigests after the window = %d, %v", n, err)
	}
	digests := map[int64]int64{}
	for _, n := range e.outbox() {
		if n.Reason == ReasonDigest {
			digests[n.ChannelID] = n.Payload.Events
		}
	}
	if len(digests) != 2 || digests[mail] != 19 {
		t.Errorf("digests = %v, want one to each channel, the email's summing the 19 events after the first", digests)
	}
}

// testAlertDueDigestNotLost: an event that comes after the issue's window
// ended, before the alerts job wrote the window's digest, and fires a
// frequency rule, neither drops the digest owed to the window's channels
// nor its events: the digest goes out, to every one of them, summing
// those since each channel's alert (QA: a Slack spike rule took the
// email's digest of 19 events).
func testAlertDueDigestNotLost(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	mail, hook := e.spikeRules(120)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	for i := range 20 {
		e.saveAlerting(at(i), request(e.project.ID, "spike", withRcv(at(i))))
	}
	// The window has ended and its digest is due; the job has not run yet.
	late := t0.Add(DefaultAlertCooldown + time.Second)
	e.saveAlerting(late, request(e.project.ID, "spike", withRcv(late)))
	if n, err := db.QueueDigests(ctx, late.Add(time.Second)); err != nil || n != 1 {
		t.Fatalf("QueueDigests once the window ended = %d, %v; want the digest that was due", n, err)
	}
	var got []string
	for _, n := range e.outbox() {
		s := fmt.Sprintf("%s→%d", n.Reason, n.ChannelID)
		if n.Reason == ReasonDigest {
			s += fmt.Sprintf(" (%d events)", n.Payload.Events)
		}
		got = append(got, s)
	}
	slices.Sort(got[2:])
	// The webhook's frequency alert told of the first 4 events; its
	// digest sums the 17 after.
	want := []string{fmt.Sprintf("%s→%d", RuleNewIssue, mail), fmt.Sprintf("%s→%d", RuleFrequency, hook),
		fmt.Sprintf("%s→%d (20 events)", ReasonDigest, mail), fmt.Sprintf("%s→%d (17 events)", ReasonDigest, hook)}
	slices.Sort(want[2:])
	if !slices.Equal(got, want) {
		t.Errorf("outbox = %v, want %v", got, want)
	}
}

// testAlertNewInEnvironment: a new-issue rule of an environment fires on
// the issue's first event there, as Sentry's does, though the issue was
// first seen elsewhere: a production rule is not silent for good about an
// error that reached staging first (QA: it never fired). A rule of any
// environment still fires once, when the issue is created.
func testAlertNewInEnvironment(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	mail := e.withoutAlertRules()
	hook, err := db.CreateAlertChannel(ctx, System, AlertChannel{ProjectID: e.project.ID, Kind: ChannelWebhook, Name: "prod", URL: "https://hooks.example.com/x", Secret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []AlertRule{
		{ProjectID: e.project.ID, ChannelID: mail, Type: RuleNewIssue, Enabled: true},
		{ProjectID: e.project.ID, ChannelID: hook.ID, Type: RuleNewIssue, Environment: "production", Enabled: true},
	} {
		if _, err := db.PutAlertRule(ctx, System, r); err != nil {
			t.Fatal(err)
		}
	}
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	e.saveAlerting(at(0), request(e.project.ID, "env", withEnv("staging"), withRcv(at(0))))
	// The second production event of the batch, and those after, are not
	// the first there.
	e.saveAlerting(at(1), request(e.project.ID, "env", withEnv("staging"), withRcv(at(1))),
		request(e.project.ID, "env", withEnv("production"), withRcv(at(1)), withID("first-prod")),
		request(e.project.ID, "env", withEnv("production"), withRcv(at(1))))
	e.saveAlerting(at(2), request(e.project.ID, "env", withEnv("production"), withRcv(at(2))))
	var got []string
	for _, n := range e.outbox() {
		got = append(got, fmt.Sprintf("%s→%d %s", n.Reason, n.ChannelID, n.Payload.Environment))
	}
	want := []string{fmt.Sprintf("%s→%d staging", RuleNewIssue, mail), fmt.Sprintf("%s→%d production", RuleNewIssue, hook.ID)}
	if !slices.Equal(got, want) {
		t.Fatalf("outbox = %v, want %v", got, want)
	}
	if p := e.outbox()[1].Payload; p.EventID != "first-prod" || p.Count != 3 {
		t.Errorf("production alert quotes event %q with count %d, want first-prod, 3", p.EventID, p.Count)
	}
}

// testAlertIgnoredAndMuted: an ignored issue sends no alert of any kind,
// seen again or busy, and neither it nor a muted issue sends, once
// unignored or unmuted, a digest of the events before.
func testAlertIgnoredAndMuted(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	ch, _ := db.ListAlertChannels(ctx, System, e.project.ID)
	if _, err := db.PutAlertRule(ctx, System, AlertRule{ProjectID: e.project.ID, ChannelID: ch[0].ID, Type: RuleFrequency,
		Threshold: 5, WindowMinutes: 5, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetAlertCooldown(ctx, System, e.project.ID, time.Minute); err != nil {
		t.Fatal(err)
	}
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	save := func(s, n int, fp string) []SaveResult {
		reqs := make([]SaveRequest, n)
		for i := range reqs {
			reqs[i] = request(e.project.ID, fp, withRcv(at(s)))
		}
		return e.saveAlerting(at(s), reqs...)
	}
	digests := func(s int) int {
		t.Helper()
		n, err := db.QueueDigests(ctx, at(s))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	expect := func(when string, want ...string) {
		t.Helper()
		if got := reasons(e.outbox()); !slices.Equal(got, want) {
			t.Fatalf("%s: outbox = %v, want %v", when, got, want)
		}
	}

	// Three events within the cooldown wait for a digest; the issue is
	// ignored before it is due.
	ig := save(0, 1, "ignored")[0].IssueID
	save(10, 3, "ignored")
	e.setStatus(ig, StatusIgnored, "")
	if n := digests(90); n != 0 {
		t.Errorf("ignored issue: %d digests", n)
	}
	// Seen again, busy past the cooldown: still ignored, and silent.
	res := save(120, 7, "ignored")
	if r := res[len(res)-1]; r.Status != StatusIgnored || r.Regression {
		t.Errorf("ignored issue seen again: %+v", r)
	}
	expect("ignored issue seen again", RuleNewIssue)
	// Unignored, it sends no digest of the ignored time; while the
	// window still holds more than the threshold, its next event fires
	// the frequency rule, once.
	e.setStatus(ig, StatusUnresolved, "")
	if n := digests(150); n != 0 {
		t.Errorf("unignored issue: %d digests", n)
	}
	save(180, 1, "ignored")
	save(181, 1, "ignored")
	expect("unignored issue seen again", RuleNewIssue, RuleFrequency)
	if n := digests(240); n != 1 {
		t.Errorf("unignored issue after its cooldown: %d digests, want 1", n)
	}

	// A muted issue's due events are dropped, not sent on unmute.
	mu := save(200, 1, "muted")[0].IssueID
	save(210, 2, "muted")
	if err := db.SetIssueMuted(ctx, System, mu, true); err != nil {
		t.Fatal(err)
	}
	if n := digests(290); n != 0 {
		t.Errorf("muted issue: %d digests", n)
	}
	if err := db.SetIssueMuted(ctx, System, mu, false); err != nil {
		t.Fatal(err)
	}
	if n := digests(300); n != 0 {
		t.Errorf("unmuted issue: %d digests", n)
	}
	expect("unmuted issue", RuleNewIssue, RuleFrequency, ReasonDigest, RuleNewIssue)
}

// testAlertResolvedSilent: as in Sentry, whose rules apply to unresolved
// issues only, the events of a resolved issue that do not reopen it (an
// older release's, after a resolve in a release) fire no rule, nor count
// towards a digest, and a digest due when the issue is resolved is
// dropped: "Still happening" about an issue a person resolved, or a spike
// alert each cooldown while clients not yet upgraded keep sending the
// fixed error, is noise. The event that reopens it alerts as ever.
func testAlertResolvedSilent(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	ch, _ := db.ListAlertChannels(ctx, System, e.project.ID)
	if _, err := db.PutAlertRule(ctx, System, AlertRule{ProjectID: e.project.ID, ChannelID: ch[0].ID, Type: RuleFrequency,
		Threshold: 3, WindowMinutes: 10, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	save := func(m int, release string) SaveResult {
		res := e.saveAlerting(at(m), request(e.project.ID, "fixed", withRelease(release), withRcv(at(m)), withAt(at(m))))
		return res[0]
	}
	issue := save(0, "shop@2.0").IssueID
	save(1, "shop@2.0")
	e.setStatus(issue, StatusResolved, "shop@2.0")
	// Old clients during the new-issue alert's window, and after it.
	for _, m := range []int{2, 3, 4, 5, 70, 71, 72, 73, 74} {
		if r := save(m, "shop@1.0"); r.Status != StatusResolved || r.Regression {
			t.Fatalf("minute %d: an older release's event made the issue %s (regression %v)", m, r.Status, r.Regression)
		}
		if n, err := db.QueueDigests(ctx, at(m)); err != nil || n != 0 {
			t.Fatalf("QueueDigests at minute %d = %d, %v; want none for a resolved issue", m, n, err)
		}
	}
	if got := reasons(e.outbox()); !slices.Equal(got, []string{RuleNewIssue}) {
		t.Fatalf("outbox = %v, want the new issue only", got)
	}
	if r := save(75, "shop@2.1"); !r.Regression {
		t.Fatalf("a newer release's event: %+v, want a regression", r)
	}
	if got := reasons(e.outbox()); len(got) < 2 || got[1] != RuleRegression {
		t.Errorf("outbox = %v, want new_issue, regression...", got)
	}
}

// testAlertClaim: claims, backoff, dead letters, leases and concurrent
// claimers.
func testAlertClaim(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	for i := range 20 {
		e.saveAlerting(t0, request(e.project.ID, "c"+string(rune('a'+i))))
	}
	now := t0.Add(time.Second)
	// Concurrent claimers never share a row.
	var (
		mu     sync.Mutex
		seen   = map[int64]int{}
		claims = map[int64]ClaimedNotification{}
		wg     sync.WaitGroup
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				cs, err := db.ClaimNotifications(ctx, now, time.Minute, 3)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, c := range cs {
					seen[c.ID]++
					claims[c.ID] = c
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 20 {
		t.Fatalf("claimed %d distinct notifications, want 20", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("notification %d claimed %d times", id, n)
		}
	}

	ids := slices.Sorted(maps.Keys(claims))
	first, second := claims[ids[0]], claims[ids[1]]
	// Starting a send renews the lease: at 50 s of a 1-minute lease, it
	// holds until 1:50.
	if _, err := db.StartNotification(ctx, first, now.Add(50*time.Second), time.Minute); err != nil {
		t.Fatal(err)
	}
	// After the lease, an unfinished claim is handed out again: as a
	// resend if its send had started, else as a plain attempt.
	cs, err := db.ClaimNotifications(ctx, now.Add(70*time.Second), time.Minute, 100)
	if err != nil || containsID(cs, first.ID) || !containsID(cs, second.ID) {
		t.Fatalf("claims while the renewed lease holds = %+v, %v; want the others, not %d", cs, err, first.ID)
	}
	for _, x := range cs {
		if x.ID == second.ID && (x.Resend || x.Attempts != 2) {
			t.Errorf("reclaim of a claim that never started sending = %+v, want no resend", x)
		}
	}
	cs, err = db.ClaimNotifications(ctx, now.Add(2*time.Minute), time.Minute, 1)
	if err != nil || len(cs) != 1 || cs[0].ID != first.ID {
		t.Fatalf("reclaim = %+v, %v", cs, err)
	}
	c := cs[0]
	if !c.Resend || c.Attempts != 2 || c.Channel.Kind != ChannelEmail || c.ProjectName != "main" {
		t.Fatalf("reclaim = %+v", c)
	}
	// The first claim lost the row: it must not send.
	if _, err := db.StartNotification(ctx, first, now.Add(2*time.Minute), time.Minute); !errors.Is(err, ErrClaimLost) {
		t.Errorf("start of a lost claim: %v, want ErrClaimLost", err)
	}
	later := now.Add(2 * time.Minute)
	if c.AttemptID, err = db.StartNotification(ctx, c, later, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishNotification(ctx, c, later, errors.New("smtp: 451 try later"), later.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if cs, _ := db.ClaimNotifications(ctx, later.Add(30*time.Second), time.Minute, 100); containsID(cs, c.ID) {
		t.Error("claimed before its retry time")
	}
	cs, _ = db.ClaimNotifications(ctx, later.Add(61*time.Second), time.Minute, 100)
	var again ClaimedNotification
	for _, x := range cs {
		if x.ID == c.ID {
			again = x
		}
	}
	if again.ID == 0 || again.Resend || again.Attempts != 3 || again.LastError != "smtp: 451 try later" {
		t.Fatalf("retry claim = %+v", again)
	}
	if again.AttemptID, err = db.StartNotification(ctx, again, later.Add(61*time.Second), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishNotification(ctx, again, later.Add(62*time.Second), errors.New("gave up"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	// A stale claim's late outcome changes nothing.
	if err := db.FinishNotification(ctx, c, later.Add(63*time.Second), nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	ns, _ := db.ListNotifications(ctx, System, e.project.ID, 100)
	for _, n := range ns {
		if n.ID == c.ID && (n.Status != NotificationDead || n.Attempts != 3 || n.LastError != "gave up") {
			t.Errorf("dead notification = %+v", n)
		}
	}
	atts, err := db.NotificationAttempts(ctx, System, c.ID)
	if err != nil || len(atts) != 3 || atts[0].Outcome != NotificationSending || atts[0].FinishedAt != nil ||
		atts[1].Outcome != "failed" || atts[2].Error != "gave up" {
		t.Errorf("attempts = %+v, %v", atts, err)
	}
	if cs, _ := db.ClaimNotifications(ctx, later.Add(time.Hour), time.Minute, 100); containsID(cs, c.ID) {
		t.Error("dead notification claimed")
	}
}

// testAlertLogged: an email the server could only log (no SMTP) is
// settled as logged, not sent: never claimed again, its attempt and last
// error saying why, and pruned with the other settled notifications.
func testAlertLogged(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	e.saveAlerting(t0, request(e.project.ID, "logged"))
	now := t0.Add(time.Second)
	cs, err := db.ClaimNotifications(ctx, now, time.Minute, 10)
	if err != nil || len(cs) != 1 || cs[0].Channel.Kind != ChannelEmail {
		t.Fatalf("claim = %+v, %v; want the new issue's email", cs, err)
	}
	c := cs[0]
	if c.AttemptID, err = db.StartNotification(ctx, c, now, time.Minute); err != nil {
		t.Fatal(err)
	}
	notSent := fmt.Errorf("%w: no SMTP server is configured", ErrNotSent)
	if err := db.FinishNotification(ctx, c, now, notSent, time.Time{}); err != nil {
		t.Fatal(err)
	}
	ns := e.outbox()
	if len(ns) != 1 || ns[0].Status != NotificationLogged || ns[0].LastError != notSent.Error() || ns[0].SentAt != nil {
		t.Errorf("logged notification = %+v, want status logged, its reason, no sent_at", ns)
	}
	atts, err := db.NotificationAttempts(ctx, System, c.ID)
	if err != nil || len(atts) != 1 || atts[0].Outcome != NotificationLogged || atts[0].Error != notSent.Error() {
		t.Errorf("attempts = %+v, %v; want one logged", atts, err)
	}
	if cs, _ := db.ClaimNotifications(ctx, now.Add(time.Hour), time.Minute, 10); containsID(cs, c.ID) {
		t.Error("a logged notification was claimed again")
	}
	if got, err := db.PruneHistory(ctx, now.Add(48*time.Hour), 24*time.Hour); err != nil || got.Notifications != 1 {
		t.Errorf("PruneHistory = %+v, %v; want the logged notification pruned", got, err)
	}
}

func containsID(cs []ClaimedNotification, id int64) bool {
	for _, c := range cs {
		if c.ID == id {
			return true
		}
	}
	return false
}

// testAlertNewIssueBurst: a channel gets NewIssueBurst new-issue alerts in
// a NewIssueBurstWindow; the new issues beyond are counted into one held
// notification, due when its bucket ends, naming the latest; once the
// window has passed, new issues alert again.
func testAlertNewIssueBurst(e *env) {
	t := e.t
	bucket := t0.Truncate(NewIssueBurstWindow)
	now := bucket.Add(time.Minute)
	var reqs []SaveRequest
	for i := range NewIssueBurst + 5 {
		reqs = append(reqs, request(e.project.ID, fmt.Sprintf("deploy-%d", i), withRcv(now)))
	}
	e.saveAlerting(now, reqs...)
	later := now.Add(2 * time.Minute)
	res := e.saveAlerting(later, request(e.project.ID, "late-1", withRcv(later)), request(e.project.ID, "late-2", withRcv(later)))
	counts := map[string]int{}
	var held []Notification
	for _, n := range e.outbox() {
		counts[n.Reason]++
		if n.Reason == ReasonNewIssuesHeld {
			held = append(held, n)
		}
	}
	if counts[RuleNewIssue] != NewIssueBurst || len(held) != 1 {
		t.Fatalf("outbox %v, want %d new-issue alerts and one held notification", counts, NewIssueBurst)
	}
	h := held[0]
	if h.Payload.Held != 7 || h.IssueID != res[1].IssueID || h.Payload.Title != "Error late-2" {
		t.Errorf("held notification counts %d, names issue %d %q; want 7 and the latest, %d", h.Payload.Held, h.IssueID, h.Payload.Title, res[1].IssueID)
	}
	if want := bucket.Add(NewIssueBurstWindow); !h.NextAttemptAt.Equal(want) || h.Status != NotificationPending {
		t.Errorf("held notification %s, due %v; want pending until the bucket ends, %v", h.Status, h.NextAttemptAt, want)
	}
	// Past the window of the first alerts, a new issue alerts again.
	after := now.Add(NewIssueBurstWindow + time.Second)
	e.saveAlerting(after, request(e.project.ID, "next-day", withRcv(after)))
	if got := reasons(e.outbox()); got[len(got)-1] != RuleNewIssue {
		t.Errorf("after the window the newest notification is %s, want a new-issue alert", got[len(got)-1])
	}
}

// testAlertLimits: a project has at most MaxAlertChannels channels and
// MaxAlertRules rules (QA's 120 webhooks each alerted by one anonymous
// event); another project is not counted, and one removed makes room.
func testAlertLimits(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	p := e.createProject("crowded").ID
	chans, err := db.ListAlertChannels(ctx, System, p)
	if err != nil {
		t.Fatal(err)
	}
	var last AlertChannel
	for i := len(chans); i < MaxAlertChannels; i++ {
		if last, err = db.CreateAlertChannel(ctx, System, AlertChannel{ProjectID: p, Kind: ChannelWebhook, Name: fmt.Sprintf("hook %d", i), URL: "https://example.com/h"}); err != nil {
			t.Fatalf("channel %d of %d: %v", i+1, MaxAlertChannels, err)
		}
	}
	_, err = db.CreateAlertChannel(ctx, System, AlertChannel{ProjectID: p, Kind: ChannelWebhook, Name: "one too many", URL: "https://example.com/h"})
	wantErr(t, "a channel past the limit", err, ErrInvalid)
	if err == nil || Reason(err) != fmt.Sprintf("a project has at most %d alert channels; remove one first", MaxAlertChannels) {
		t.Errorf("reason %q", Reason(err))
	}
	if _, err := db.CreateAlertChannel(ctx, System, AlertChannel{ProjectID: e.project.ID, Kind: ChannelWebhook, Name: "elsewhere", URL: "https://example.com/h"}); err != nil {
		t.Errorf("another project's channel: %v", err)
	}
	if err := db.DeleteAlertChannel(ctx, System, last.ID); err != nil {
		t.Fatal(err)
	}
	if last, err = db.CreateAlertChannel(ctx, System, AlertChannel{ProjectID: p, Kind: ChannelWebhook, Name: "in its place", URL: "https://example.com/h"}); err != nil {
		t.Errorf("a channel after one was removed: %v", err)
	}

	rules, err := db.ListAlertRules(ctx, System, p)
	if err != nil {
		t.Fatal(err)
	}
	var rule AlertRule
	for i := len(rules); i < MaxAlertRules; i++ {
		if rule, err = db.PutAlertRule(ctx, System, AlertRule{ProjectID: p, ChannelID: last.ID, Type: RuleNewIssue, Enabled: true}); err != nil {
			t.Fatalf("rule %d of %d: %v", i+1, MaxAlertRules, err)
		}
	}
	_, err = db.PutAlertRule(ctx, System, AlertRule{ProjectID: p, ChannelID: last.ID, Type: RuleNewIssue, Enabled: true})
	wantErr(t, "a rule past the limit", err, ErrInvalid)
	// Changing a rule is not adding one.
	rule.Enabled = false
	if _, err := db.PutAlertRule(ctx, System, rule); err != nil {
		t.Errorf("changing a rule at the limit: %v", err)
	}
}

// digestsByChannel runs QueueDigests at at and returns the digests it
// wrote, as channel → events.
func (e *env) digestsByChannel(at time.Time) map[int64]int64 {
	e.t.Helper()
	before := len(e.outbox())
	if _, err := e.db.QueueDigests(e.ctx, at); err != nil {
		e.t.Fatal(err)
	}
	out := map[int64]int64{}
	for _, n := range e.outbox()[before:] {
		if n.Reason == ReasonDigest {
			out[n.ChannelID] = n.Payload.Events
		}
	}
	return out
}

// filteredChannels gives the project a production-only email channel and
// a webhook for errors of any environment, each with a new-issue rule.
func (e *env) filteredChannels() (prodMail, errHook int64) {
	e.t.Helper()
	prodMail = e.withoutAlertRules()
	ch, err := e.db.CreateAlertChannel(e.ctx, System, AlertChannel{ProjectID: e.project.ID, Kind: ChannelWebhook, Name: "errors", URL: "https://hooks.example.com/x"})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, r := range []AlertRule{
		{ProjectID: e.project.ID, ChannelID: prodMail, Type: RuleNewIssue, Environment: "production", Enabled: true},
		{ProjectID: e.project.ID, ChannelID: ch.ID, Type: RuleNewIssue, MinLevel: "error", Enabled: true},
	} {
		if _, err := e.db.PutAlertRule(e.ctx, System, r); err != nil {
			e.t.Fatal(err)
		}
	}
	return prodMail, ch.ID
}

// testAlertDigestPerChannel: a digest counts, for each channel, only the
// events one of that channel's rules keeps by level and environment, and
// quotes the latest of them; a channel owed none gets no digest (QA: a production-only channel got
// "Still happening" digests of staging's events).
func testAlertDigestPerChannel(e *env) {
	t, p := e.t, e.project.ID
	mail, hook := e.filteredChannels()
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	times := func(n int, opts ...eventOpt) []SaveRequest {
		var out []SaveRequest
		for range n {
			out = append(out, request(p, "x", opts...))
		}
		return out
	}
	e.saveAlerting(at(0), request(p, "x", withEnv("production"), withLevel("error")))
	if got := reasons(e.outbox()); len(got) != 2 {
		t.Fatalf("outbox = %v, want a new-issue alert to each channel", got)
	}
	e.saveAlerting(at(1), slices.Concat(times(3, withEnv("production"), withLevel("warning")),
		times(2, withEnv("production"), withLevel("error"), withTitle("prod error")), times(5, withEnv("staging"), withLevel("error")))...)
	before := len(e.outbox())
	got := e.digestsByChannel(at(60))
	if want := map[int64]int64{mail: 5, hook: 7}; !maps.Equal(got, want) {
		t.Errorf("first digests = %v, want %v (production's 5 to the email, the 7 errors to the webhook)", got, want)
	}
	// Each quotes the latest event it counts: the email's is not
	// staging's, though the issue's latest event is.
	for _, n := range e.outbox()[before:] {
		want := "staging"
		if n.ChannelID == mail {
			want = "production"
		}
		if n.Payload.Environment != want {
			t.Errorf("digest to channel %d quotes event %s of %q, want one of %q", n.ChannelID, n.Payload.EventID, n.Payload.Environment, want)
		}
		if n.ChannelID == mail && (n.Payload.Title != "prod error" || n.Payload.Level != "error") {
			t.Errorf("the email's digest quotes %q (%s), want the last production event, prod error (error)", n.Payload.Title, n.Payload.Level)
		}
	}
	// The next window has staging's events only: the webhook's digest.
	e.saveAlerting(at(61), times(4, withEnv("staging"), withLevel("error"))...)
	got = e.digestsByChannel(at(120))
	if want := map[int64]int64{hook: 4}; !maps.Equal(got, want) {
		t.Errorf("second digests = %v, want %v", got, want)
	}
	// Then staging's warnings, which no rule keeps: no digest, and the
	// chain ends, so a later window of production events owes nothing
	// either until an alert opens one.
	e.saveAlerting(at(121), times(3, withEnv("staging"), withLevel("warning"))...)
	if got := e.digestsByChannel(at(180)); len(got) != 0 {
		t.Errorf("digests of events no rule keeps = %v, want none", got)
	}
	e.saveAlerting(at(181), times(2, withEnv("production"), withLevel("error"))...)
	if got := e.digestsByChannel(at(300)); len(got) != 0 {
		t.Errorf("digests after the chain ended = %v, want none", got)
	}
}

// testAlertMergeDigestPerChannel: merging issues adds what each owed to
// each channel, channel by channel.
func testAlertMergeDigestPerChannel(e *env) {
	t, p := e.t, e.project.ID
	mail, hook := e.filteredChannels()
	now := t0.Add(time.Minute)
	a := e.saveAlerting(now, request(p, "a", withEnv("production"), withLevel("error")))[0].IssueID
	b := e.saveAlerting(now, request(p, "b", withEnv("production"), withLevel("error")))[0].IssueID
	e.saveAlerting(now.Add(time.Minute), request(p, "a", withEnv("production"), withLevel("error")),
		request(p, "a", withEnv("staging"), withLevel("error")), request(p, "a", withEnv("staging"), withLevel("error")))
	e.saveAlerting(now.Add(time.Minute), request(p, "b", withEnv("staging"), withLevel("error")),
		request(p, "b", withEnv("production"), withLevel("info")))
	if _, err := e.db.MergeIssues(e.ctx, System, p, []int64{a, b}, a); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT COUNT(*) FROM alert_digest_owed WHERE issue_id = $1`, b); n != 0 {
		t.Errorf("the merged issue keeps %d owed counts", n)
	}
	got := e.digestsByChannel(now.Add(DefaultAlertCooldown))
	if want := map[int64]int64{mail: 2, hook: 4}; !maps.Equal(got, want) {
		t.Errorf("digests after the merge = %v, want %v", got, want)
	}
}

// testAlertPayloadTimes: every kind of notification stores, and so shows
// and sends, its times to the millisecond, whatever the precision of the
// clock it was written by (QA: digests, tests and monitor alerts had
// nanoseconds in `at`, rules' alerts milliseconds).
func testAlertPayloadTimes(e *env) {
	t, db, ctx, p := e.t, e.db, e.ctx, e.project.ID
	mail := e.withoutAlertRules()
	for _, r := range []AlertRule{
		{ProjectID: p, ChannelID: mail, Type: RuleNewIssue, Enabled: true},
		{ProjectID: p, ChannelID: mail, Type: RuleRegression, Enabled: true},
		{ProjectID: p, ChannelID: mail, Type: RuleFrequency, Threshold: 1, WindowMinutes: 5, Enabled: true},
	} {
		if _, err := db.PutAlertRule(ctx, System, r); err != nil {
			t.Fatal(err)
		}
	}
	// Each step's clock has nanoseconds.
	at := func(m int) time.Time { return t0.Add(time.Duration(m)*time.Minute + 123456789) }
	// More new issues than a burst: new_issue and new_issues_held.
	var reqs []SaveRequest
	for i := range NewIssueBurst + 1 {
		reqs = append(reqs, request(p, fmt.Sprintf("burst-%d", i), withRcv(at(0))))
	}
	e.saveAlerting(at(0), reqs...)
	// A frequency alert after the window of the new-issue one, then a
	// digest of the events after it.
	e.saveAlerting(at(61), request(p, "burst-0", withRcv(at(61))), request(p, "burst-0", withRcv(at(61))))
	e.saveAlerting(at(62), request(p, "burst-0", withRcv(at(62))))
	if _, err := db.QueueDigests(ctx, at(200)); err != nil {
		t.Fatal(err)
	}
	res := e.saveAlerting(at(201), request(p, "burst-1", withRcv(at(201))))
	e.setStatus(res[0].IssueID, StatusResolved, "")
	e.saveAlerting(at(202), request(p, "burst-1", withRcv(at(202))))
	if _, err := db.QueueTestNotification(ctx, System, mail, at(203)); err != nil {
		t.Fatal(err)
	}
	// More monitors failing than a burst, then one recovering after
	// the burst's window.
	var cis []CheckInRequest
	for i := range NewIssueBurst + 1 {
		cis = append(cis, checkIn(p, fmt.Sprintf("job-%02d", i), i, event.CheckInError, at(204), hourly()))
	}
	e.saveCheckIns(cis...)
	e.saveCheckIns(checkIn(p, "job-00", 100, event.CheckInOK, at(220), hourly()))
	if _, err := db.QueueDigests(ctx, at(400)); err != nil {
		t.Fatal(err)
	}

	seen := map[string]bool{}
	for _, n := range e.outbox() {
		seen[n.Reason] = true
		if n.Payload.At.IsZero() || n.Payload.At.Nanosecond()%int(time.Millisecond) != 0 {
			t.Errorf("%s notification's at = %v, want a time to the millisecond", n.Reason, n.Payload.At)
		}
		if m := n.Payload.Monitor; m != nil && m.CheckIn.Time.Nanosecond()%int(time.Millisecond) != 0 {
			t.Errorf("%s notification's check-in time = %v, want a time to the millisecond", n.Reason, m.CheckIn.Time)
		}
	}
	for _, r := range []string{RuleNewIssue, ReasonNewIssuesHeld, RuleFrequency, ReasonDigest, RuleRegression, ReasonTest,
		ReasonMonitorFailing, ReasonMonitorsHeld, ReasonMonitorRecovered} {
		if !seen[r] {
			t.Errorf("no %s notification among %v", r, slices.Sorted(maps.Keys(seen)))
		}
	}
}

// testAlertChannelUnsubscribe: a member unsubscribed from one email
// channel (its emails' one-click link) is mailed by the project's other
// email channels still, and by that one again once they turn alert email
// on; a link names only an email channel of a project the user is a
// member of.
func testAlertChannelUnsubscribe(e *env) {
	t, db, ctx, p := e.t, e.db, e.ctx, e.project.ID
	first := e.withoutAlertRules()
	second, err := db.CreateAlertChannel(ctx, System, AlertChannel{ProjectID: p, Kind: ChannelEmail, Name: "spikes"})
	if err != nil {
		t.Fatal(err)
	}
	hook, err := db.CreateAlertChannel(ctx, System, AlertChannel{ProjectID: p, Kind: ChannelWebhook, Name: "hook", URL: "https://hooks.example.com/x"})
	if err != nil {
		t.Fatal(err)
	}
	ann := e.createUser("ann@example.com", RoleMember)
	e.addMember(e.project, ann)
	stranger := e.createUser("stranger@example.com", RoleMember)
	mailed := func(channel int64) []string {
		t.Helper()
		rs, err := db.ChannelRecipients(ctx, channel)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rs {
			out = append(out, r.Email)
		}
		return out
	}
	if got := mailed(first); !slices.Contains(got, "ann@example.com") {
		t.Fatalf("recipients = %v, want ann among them", got)
	}
	u, err := db.UnsubscribeChannel(ctx, first, ann.ID)
	if err != nil || !u.Done || u.ChannelName != "Members by email" || u.ProjectName != e.project.Name || u.Email != "ann@example.com" {
		t.Fatalf("UnsubscribeChannel = %+v, %v", u, err)
	}
	if _, err := db.UnsubscribeChannel(ctx, first, ann.ID); err != nil {
		t.Errorf("UnsubscribeChannel again: %v", err)
	}
	if got := mailed(first); slices.Contains(got, "ann@example.com") {
		t.Errorf("recipients of the channel left = %v", got)
	}
	if got := mailed(second.ID); !slices.Contains(got, "ann@example.com") {
		t.Errorf("recipients of the other channel = %v, want ann still", got)
	}
	// Who is not mailed, for the alerts page: ann by one channel, bob by
	// his account, cy until she sets a password; the stranger, who is no
	// member, not at all.
	bob := e.createUser("Bob@example.com", RoleMember)
	e.addMember(e.project, bob)
	cy, err := db.CreateUser(ctx, "cy@example.com", "", RoleMember)
	if err != nil {
		t.Fatal(err)
	}
	e.addMember(e.project, cy)
	for _, u := range []User{bob, stranger} {
		if err := db.SetEmailOptOut(ctx, u.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	outs, err := db.EmailOptOuts(ctx, System, p)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range outs {
		if o.Since.IsZero() {
			t.Errorf("%+v: no time", o)
		}
		got = append(got, fmt.Sprintf("%s:%d:%t", o.Email, o.ChannelID, o.NoPassword))
	}
	if want := []string{"ann@example.com:" + strconv.FormatInt(first, 10) + ":false", "Bob@example.com:0:false", "cy@example.com:0:true"}; !slices.Equal(got, want) {
		t.Errorf("EmailOptOuts = %v, want %v", got, want)
	}
	if _, err := db.EmailOptOuts(ctx, Viewer{UserID: stranger.ID}, p); !errors.Is(err, ErrNotFound) {
		t.Errorf("EmailOptOuts for a non-member: %v, want ErrNotFound", err)
	}
	if u, err := db.ChannelSubscription(ctx, first, ann.ID); err != nil || !u.Done {
		t.Errorf("ChannelSubscription = %+v, %v; want done", u, err)
	}
	for _, c := range []struct {
		name          string
		channel, user int64
	}{{"a webhook", hook.ID, ann.ID}, {"a stranger", first, stranger.ID}, {"a missing channel", hook.ID + 100, ann.ID}} {
		if _, err := db.UnsubscribeChannel(ctx, c.channel, c.user); !errors.Is(err, ErrNotFound) {
			t.Errorf("UnsubscribeChannel of %s: %v, want ErrNotFound", c.name, err)
		}
	}
	if err := db.SetEmailOptOut(ctx, ann.ID, false); err != nil {
		t.Fatal(err)
	}
	if got := mailed(first); !slices.Contains(got, "ann@example.com") {
		t.Errorf("recipients after ann turned alert email on = %v", got)
	}
	if _, err := db.UnsubscribeChannel(ctx, second.ID, ann.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteAlertChannel(ctx, System, second.ID); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT COUNT(*) FROM alert_channel_optouts WHERE channel_id = $1`, second.ID); n != 0 {
		t.Errorf("a deleted channel keeps %d unsubscriptions", n)
	}
}

// testAlertProjectEmailUnsubscribe: a member unsubscribed from a
// project's email by address (SNS's unsubscribe link) is off every email
// channel of the project and among ProjectEmailUnsubscribed, so the SNS
// topic's subscription is not made again; the admins see it channel by channel;
// an email channel added later, or turning alert email on, mails them
// again; and a project without an email channel records nothing.
func testAlertProjectEmailUnsubscribe(e *env) {
	t, db, ctx, p := e.t, e.db, e.ctx, e.project.ID
	first := e.withoutAlertRules()
	second, err := db.CreateAlertChannel(ctx, System, AlertChannel{ProjectID: p, Kind: ChannelEmail, Name: "spikes"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateAlertChannel(ctx, System, AlertChannel{ProjectID: p, Kind: ChannelWebhook, Name: "hook", URL: "https://hooks.example.com/x"}); err != nil {
		t.Fatal(err)
	}
	ann := e.createUser("Ann@example.com", RoleMember)
	e.addMember(e.project, ann)
	unsubscribed := func() []string {
		t.Helper()
		got, err := db.ProjectEmailUnsubscribed(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := unsubscribed(); len(got) != 0 {
		t.Fatalf("unsubscribed = %v, want none", got)
	}
	// Off one channel of two is not off the project's email.
	if _, err := db.UnsubscribeChannel(ctx, first, ann.ID); err != nil {
		t.Fatal(err)
	}
	if got := unsubscribed(); len(got) != 0 {
		t.Errorf("unsubscribed with one channel left = %v, want none", got)
	}
	for _, c := range []struct {
		email string
		want  int
	}{{"ann@EXAMPLE.com", 1}, {"ann@example.com", 0}, {"nobody@example.com", 0}} {
		if n, err := db.UnsubscribeProjectEmail(ctx, p, c.email); err != nil || n != c.want {
			t.Errorf("UnsubscribeProjectEmail(%s) = %d, %v; want %d", c.email, n, err, c.want)
		}
	}
	if got := unsubscribed(); !slices.Equal(got, []string{"Ann@example.com"}) {
		t.Errorf("unsubscribed = %v, want ann", got)
	}
	for _, ch := range []int64{first, second.ID} {
		rs, err := db.ChannelRecipients(ctx, ch)
		if err != nil || slices.ContainsFunc(rs, func(r Recipient) bool { return r.UserID == ann.ID }) {
			t.Errorf("channel %d recipients = %v, %v; want ann not among them", ch, rs, err)
		}
	}
	outs, err := db.EmailOptOuts(ctx, System, p)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range outs {
		got = append(got, fmt.Sprintf("%s:%d", o.Email, o.ChannelID))
	}
	if want := []string{"Ann@example.com:" + strconv.FormatInt(first, 10), "Ann@example.com:" + strconv.FormatInt(second.ID, 10)}; !slices.Equal(got, want) {
		t.Errorf("EmailOptOuts = %v, want %v", got, want)
	}

	// A channel added later mails her: she left the channels there were.
	third, err := db.CreateAlertChannel(ctx, System, AlertChannel{ProjectID: p, Kind: ChannelEmail, Name: "later"})
	if err != nil {
		t.Fatal(err)
	}
	if got := unsubscribed(); len(got) != 0 {
		t.Errorf("unsubscribed with a new email channel = %v, want none", got)
	}
	if err := db.DeleteAlertChannel(ctx, System, third.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.SetEmailOptOut(ctx, ann.ID, false); err != nil {
		t.Fatal(err)
	}
	if got := unsubscribed(); len(got) != 0 {
		t.Errorf("unsubscribed after ann turned alert email on = %v", got)
	}

	// Without an email channel there is nothing to record, and nobody is
	// unsubscribed from the project's email.
	for _, ch := range []int64{first, second.ID} {
		if err := db.DeleteAlertChannel(ctx, System, ch); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := db.UnsubscribeProjectEmail(ctx, p, "ann@example.com"); err != nil || n != 0 {
		t.Errorf("UnsubscribeProjectEmail without an email channel = %d, %v; want 0", n, err)
	}
	if got := unsubscribed(); len(got) != 0 {
		t.Errorf("unsubscribed without an email channel = %v, want none", got)
	}
}
