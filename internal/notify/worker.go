package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
)

// Defaults of Config.
const (
	DefaultMaxAttempts = 8
	DefaultBackoff     = 30 * time.Second
	DefaultMaxBackoff  = time.Hour
	DefaultLease       = 2 * time.Minute
	DefaultSendTimeout = 30 * time.Second
	DefaultBatch       = 50
	// DefaultConcurrency is how many sends a worker has under way at once.
	DefaultConcurrency = 4
	// DefaultEvery is how often the delivery job runs: the delay between
	// an event's commit and its alert going out.
	DefaultEvery = 5 * time.Second
)

// Store is what the worker reads and records; *store.DB implements it.
type Store interface {
	QueueDigests(ctx context.Context, now time.Time) (int, error)
	ClaimNotifications(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.ClaimedNotification, error)
	StartNotification(ctx context.Context, c store.ClaimedNotification, now time.Time, lease time.Duration) (int64, error)
	ReleaseNotification(ctx context.Context, c store.ClaimedNotification) error
	FinishNotification(ctx context.Context, c store.ClaimedNotification, now time.Time, sendErr error, retryAt time.Time) error
	GetProjectEvent(ctx context.Context, v store.Viewer, projectID int64, eventID string) (store.EventRow, error)
	PruneMinuteCounts(ctx context.Context, now time.Time) error
	SettleRecipients(ctx context.Context, notificationID int64, rs []store.RecipientOutcome, now time.Time) error
	// EnsureSetting keeps the key of emails' unsubscribe links.
	EnsureSetting(ctx context.Context, key, value string) (string, error)
}

// Mailer sends a project's alert email to the members who want it.
type Mailer interface {
	// Mail sends e, a message of the email channel channelID, to the
	// project's members who want it, but those settled by an earlier
	// attempt, and returns those it settled now, if it tells members
	// apart.
	Mail(ctx context.Context, projectID, channelID int64, e Email, settled []store.RecipientOutcome) ([]store.RecipientOutcome, error)
}

// Config configures a Worker.
type Config struct {
	// Mailer sends email channels' messages; nil logs them (Log) and
	// records them as logged, not sent (store.NotificationLogged), which
	// is what `flytrap dev` without SMTP does.
	Mailer Mailer
	// HTTP posts to Slack and webhooks (nil: a client with SendTimeout
	// that connects to public addresses only, unless AllowPrivate).
	HTTP *http.Client
	// AllowPrivate lets the default client post to loopback, private and
	// link-local addresses (EnvAllowPrivate).
	AllowPrivate bool
	// PublicURL is the dashboard's base URL, for links in messages.
	PublicURL string
	// Log receives delivery failures; nil discards them.
	Log *slog.Logger
	// Now is the clock of attempts and backoff (nil: time.Now).
	Now func() time.Time
	// MaxAttempts is how many sends a notification gets before it is
	// dead (default DefaultMaxAttempts).
	MaxAttempts int
	// Backoff is the wait after the first failed attempt, doubled after
	// each further one up to MaxBackoff.
	Backoff, MaxBackoff time.Duration
	// Lease is how long a claim holds a notification; one not finished
	// by then (its process died) is claimed again. It is renewed right
	// before each send, so it must exceed SendTimeout.
	Lease       time.Duration
	SendTimeout time.Duration
	// Concurrency is how many sends are under way at once, so that one
	// hanging receiver does not hold up every other alert (default
	// DefaultConcurrency).
	Concurrency int
	// Batch is how many notifications one claim takes, at most
	// Concurrency×(Lease/SendTimeout): the rows of a claim wait for a
	// free send, and a row that waited longer than its lease would be
	// claimed by another process and, here, skipped.
	Batch int
}

// Worker delivers the outbox. Run it as a background job of every server
// (internal/app registers it); several processes may run it on one
// PostgreSQL database, as claims never overlap.
type Worker struct {
	store     Store
	cfg       Config
	lastPrune time.Time
	// unsubscribe signs emails' unsubscribe links; nil without a
	// PublicURL, which links need.
	unsubscribe *Unsubscriber
}

// NewWorker returns a worker over s.
func NewWorker(s Store, cfg Config) *Worker {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = DefaultSendTimeout
	}
	if cfg.Lease <= cfg.SendTimeout {
		cfg.Lease = max(DefaultLease, 2*cfg.SendTimeout)
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	cfg.Batch = min(cfg.Batch, cfg.Concurrency*int(cfg.Lease/cfg.SendTimeout))
	if cfg.HTTP == nil {
		cfg.HTTP = newHTTPClient(cfg.SendTimeout, cfg.AllowPrivate)
	}
	if cfg.Mailer == nil {
		cfg.Mailer = logMailer{cfg.Log}
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	w := &Worker{store: s, cfg: cfg}
	if cfg.PublicURL != "" {
		w.unsubscribe = NewUnsubscriber(cfg.PublicURL, s, cfg.Now)
	}
	return w
}

// maxRounds bounds the claims of one run, so a huge backlog does not keep
// one run going for ever; the next run continues.
const maxRounds = 20

// Run queues due digests, then claims and sends notifications until none
// is due (or maxRounds claims), recording each outcome. It fits
// app.Job's Run.
func (w *Worker) Run(ctx context.Context, now time.Time) error {
	var errs []error
	if _, err := w.store.QueueDigests(ctx, now); err != nil {
		errs = append(errs, err)
	}
	if now.Sub(w.lastPrune) >= 10*time.Minute {
		if err := w.store.PruneMinuteCounts(ctx, now); err != nil {
			errs = append(errs, err)
		} else {
			w.lastPrune = now
		}
	}
	for range maxRounds {
		claimed, err := w.store.ClaimNotifications(ctx, w.cfg.Now(), w.cfg.Lease, w.cfg.Batch)
		if err != nil {
			errs = append(errs, err)
			break
		}
		// Each notification is sent and then recorded by one goroutine;
		// notifications are independent, so they need no order among them.
		var (
			g  errgroup.Group
			mu sync.Mutex
		)
		g.SetLimit(w.cfg.Concurrency)
		for _, c := range claimed {
			g.Go(func() error {
				if err := w.deliver(ctx, c); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
				return nil
			})
		}
		g.Wait()
		if len(claimed) < w.cfg.Batch || ctx.Err() != nil {
			break
		}
	}
	return errors.Join(errs...)
}

// deliver sends one claimed notification and records the outcome. The
// send comes first and the record after it: a process that dies between
// the two leaves the claim to run out, and the notification is sent again,
// once, with the same idempotency key.
func (w *Worker) deliver(ctx context.Context, c store.ClaimedNotification) error {
	// The send's timeout runs from before the lease is renewed, so the
	// renewed lease, longer than SendTimeout, outlasts the whole send.
	if ctx.Err() != nil {
		// Stopping before the send: give the claim back rather than
		// leave it to run out, which would cost the notification an
		// attempt and the lease's wait.
		return w.store.ReleaseNotification(context.WithoutCancel(ctx), c)
	}
	sctx, cancel := context.WithTimeout(ctx, w.cfg.SendTimeout)
	defer cancel()
	id, err := w.store.StartNotification(ctx, c, w.cfg.Now(), w.cfg.Lease)
	if errors.Is(err, store.ErrClaimLost) {
		w.cfg.Log.Info("alert: skipped a notification whose claim ran out before its send; another claim sends it",
			"notification", c.ID, "attempt", c.Attempts)
		return nil
	}
	if err != nil {
		return err
	}
	c.AttemptID = id
	if c.Resend {
		w.cfg.Log.Warn("alert: sending again a notification whose last attempt has no outcome (its process stopped)",
			"notification", c.ID, "key", c.IdempotencyKey, "attempt", c.Attempts)
	}
	err = w.send(sctx, c)
	now := w.cfg.Now()
	var retryAt time.Time
	if err != nil && !errors.Is(err, store.ErrNotSent) {
		var (
			p       permanent
			partial store.PartialError
		)
		if !errors.As(err, &p) && !errors.As(err, &partial) && c.Attempts < w.cfg.MaxAttempts {
			retryAt = now.Add(w.backoff(c.Attempts))
		}
		if errors.As(err, &partial) {
			w.cfg.Log.Warn("alert: email refused for some members, sent to the others", "notification", c.ID,
				"channel", c.ChannelID, "attempt", c.Attempts, "err", err)
		} else {
			args := []any{"notification", c.ID, "channel", c.ChannelID, "attempt", c.Attempts, "retry_at", retryAt, "err", err}
			var se *sendError
			if errors.As(err, &se) {
				args = append(args, "cause", se.err)
			}
			w.cfg.Log.Warn("alert: delivery failed", args...)
		}
	}
	if ferr := w.store.FinishNotification(context.WithoutCancel(ctx), c, now, err, retryAt); ferr != nil {
		return ferr
	}
	return nil
}

// backoff is the wait after the attempt-th failed attempt: Backoff,
// doubled per attempt, at most MaxBackoff.
func (w *Worker) backoff(attempt int) time.Duration {
	d := w.cfg.Backoff
	for i := 1; i < attempt && d < w.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, w.cfg.MaxBackoff)
}

func (w *Worker) send(ctx context.Context, c store.ClaimedNotification) error {
	m := w.message(ctx, c)
	switch c.Channel.Kind {
	case store.ChannelEmail:
		e, err := renderEmail(m)
		if err != nil {
			return permanent{err}
		}
		if w.unsubscribe != nil {
			e.UnsubscribeURL = func(ctx context.Context, userID int64) (string, error) {
				return w.unsubscribe.URL(ctx, c.ChannelID, userID)
			}
		}
		settled, err := w.cfg.Mailer.Mail(ctx, c.ProjectID, c.ChannelID, e, c.Settled)
		if len(settled) > 0 {
			if serr := w.store.SettleRecipients(context.WithoutCancel(ctx), c.ID, settled, w.cfg.Now()); serr != nil {
				// The next attempt mails them again, with the same Message-ID.
				w.cfg.Log.Warn("alert: recording the members an email reached failed", "notification", c.ID, "err", serr)
			}
		}
		return err
	case store.ChannelSlack:
		return sendSlack(ctx, w.cfg.HTTP, c.Channel.URL, m)
	case store.ChannelWebhook:
		return sendWebhook(ctx, w.cfg.HTTP, c.Channel.URL, c.Channel.Secret, m, w.cfg.Now())
	case "":
		return permanent{errors.New("the channel was deleted")}
	}
	return permanent{fmt.Errorf("unknown channel kind %q", c.Channel.Kind)}
}

// message is what c says, with the first lines of the stack of the event
// it quotes when that event is still stored.
func (w *Worker) message(ctx context.Context, c store.ClaimedNotification) Message {
	m := Message{Key: c.IdempotencyKey, Reason: c.Reason, Project: c.ProjectName, Payload: c.Payload}
	if w.cfg.PublicURL != "" {
		m.AccountURL = w.cfg.PublicURL + "/account"
		if c.IssueID > 0 {
			m.IssueURL = w.cfg.PublicURL + "/issues/" + strconv.FormatInt(c.IssueID, 10)
		}
		if mon := c.Payload.Monitor; mon != nil {
			m.MonitorURL = w.cfg.PublicURL + "/projects/" + strconv.FormatInt(c.ProjectID, 10) + "/monitors/" + url.PathEscape(mon.Slug)
		}
	}
	if c.Payload.EventID == "" {
		return m
	}
	row, err := w.store.GetProjectEvent(ctx, store.System, c.ProjectID, c.Payload.EventID)
	if err != nil {
		// Pruned or deleted since: the message goes without a stack.
		return m
	}
	var ev event.Event
	if event.Unmarshal(row.Payload, &ev) == nil {
		m.Stack = stackLines(&ev)
	}
	return m
}

// ErrNoMailer is the outcome of an alert email the server only logged:
// it wraps store.ErrNotSent, so the notification is recorded as logged,
// and says what to configure, where the delivery history shows it.
var ErrNoMailer = fmt.Errorf("%w: no SMTP server is configured (start the server with --smtp-url or FLYTRAP_SMTP_URL)", store.ErrNotSent)

// logMailer is the mailer without SMTP or SNS: it logs the message.
type logMailer struct{ log *slog.Logger }

func (l logMailer) Mail(_ context.Context, projectID, _ int64, e Email, _ []store.RecipientOutcome) ([]store.RecipientOutcome, error) {
	l.log.Info("alert email (no SMTP configured: logged, not sent; see docs/alerts.md)", "project", projectID, "subject", e.Subject)
	return nil, ErrNoMailer
}

// Recipients returns the members an email channel mails;
// store.DB.ChannelRecipients is one.
type Recipients func(ctx context.Context, channelID int64) ([]store.Recipient, error)

// SMTPMailer mails a project's members through SMTP.
type SMTPMailer struct {
	SMTP       *SMTP
	Recipients Recipients
}

// Mail sends e to each of the project's members who want alert email and
// are not settled yet; with none, the notification is dead at once. When
// the only failures are members refused for good, the notification is
// sent if any member got it (a PartialError), else dead.
//
// With e.UnsubscribeURL, each member's message has a List-Unsubscribe
// header with that member's link.
func (m SMTPMailer) Mail(ctx context.Context, projectID, channelID int64, e Email, settled []store.RecipientOutcome) ([]store.RecipientOutcome, error) {
	rs, err := m.Recipients(ctx, channelID)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, permanent{errors.New("no member of the project wants this channel's alert email")}
	}
	done := map[string]bool{}
	for _, r := range settled {
		done[r.Address] = true
	}
	var to []string
	for _, r := range rs {
		if done[r.Email] {
			continue
		}
		to = append(to, r.Email)
		if e.UnsubscribeURL == nil {
			continue
		}
		link, err := e.UnsubscribeURL(ctx, r.UserID)
		if err != nil {
			return nil, err
		}
		if e.unsubscribe == nil {
			e.unsubscribe = map[string]string{}
		}
		e.unsubscribe[r.Email] = link
	}
	var now []store.RecipientOutcome
	if len(to) > 0 {
		var refused refusals
		if now, err = m.SMTP.Send(ctx, to, e); err != nil && !errors.As(err, &refused) {
			return now, err
		}
	}
	// Every member is settled: the refusals of all attempts are the
	// outcome, so the last error names them whichever attempt met them.
	var (
		refused   refusals
		delivered bool
	)
	for _, r := range append(slices.Clone(settled), now...) {
		if r.Error == "" {
			delivered = true
		} else {
			refused = append(refused, r)
		}
	}
	switch {
	case len(refused) == 0:
		return now, nil
	case delivered:
		return now, store.PartialError{Err: refused}
	}
	return now, permanent{refused}
}
