package notify

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/store"
)

// Topics is the part of SNS alert email uses; *awsx.SNSTopics implements
// it.
type Topics interface {
	TopicARN(ctx context.Context, name string) (string, error)
	Publish(ctx context.Context, topicARN, subject, message string, to []string) error
	EmailSubscriptions(ctx context.Context, topicARN string) ([]awsx.SNSSubscription, error)
	SubscribeEmail(ctx context.Context, topicARN, email string) error
	FilterEmail(ctx context.Context, subscriptionARN, email string) error
	Unsubscribe(ctx context.Context, subscriptionARN string) error
}

// TopicName is the SNS topic of a project's alert email: the deployment's
// prefix (the IAM policy grants the prefix's topics only) and the
// project's ID.
func TopicName(prefix string, projectID int64) string {
	return prefix + "-alerts-" + strconv.FormatInt(projectID, 10)
}

// SNSMailer sends a project's alert email through its SNS topic, whose
// subscriptions SNSSync keeps in step with the members. SNS email is plain
// text.
type SNSMailer struct {
	Topics Topics
	Prefix string
	// Recipients are the members the channel mails now: those who turned
	// alert email off or unsubscribed from the channel are not among them.
	Recipients Recipients
}

// Mail publishes e's plain-text body to the project's topic, naming the
// channel's recipients in the message's recipient attribute: each
// subscription's filter policy (awsx.EmailFilterPolicy) lets the message
// through only when it names that subscription's address, so a member
// who turned alert email off or unsubscribed from the channel is not
// mailed, even while their subscription lasts (SNS cannot remove one
// pending confirmation, and SNSSync runs once a minute). With no
// recipient, nothing is published and the notification is dead at once.
// SNS does not tell the subscriptions apart to its caller, and mails
// each with its own unsubscribe link, so e's links are not used.
func (m SNSMailer) Mail(ctx context.Context, projectID, channelID int64, e Email, _ []store.RecipientOutcome) ([]store.RecipientOutcome, error) {
	rs, err := m.Recipients(ctx, channelID)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, permanent{errors.New("no member of the project wants this channel's alert email")}
	}
	to := make([]string, len(rs))
	for i, r := range rs {
		to[i] = r.Email
	}
	arn, err := m.Topics.TopicARN(ctx, TopicName(m.Prefix, projectID))
	if err != nil {
		return nil, err
	}
	return nil, m.Topics.Publish(ctx, arn, e.Subject, e.Text, to)
}

// SyncStore is what SNSSync reads and records; *store.DB implements it.
type SyncStore interface {
	ProjectIDs(ctx context.Context) ([]int64, error)
	EmailRecipients(ctx context.Context, projectID int64) ([]string, error)
	ReplaceSNSSubscriptions(ctx context.Context, projectID int64, subs []store.SNSSubscription, now time.Time) error
	SNSSubscriptions(ctx context.Context, v store.Viewer, projectID int64) ([]store.SNSSubscription, error)
	UnsubscribeProjectEmail(ctx context.Context, projectID int64, email string) (int, error)
	ProjectEmailUnsubscribed(ctx context.Context, projectID int64) ([]string, error)
}

// SNSSync keeps each project's topic subscribed by exactly its members
// who want alert email: it subscribes members added (SNS mails them a
// confirmation link), unsubscribes confirmed subscriptions of people who
// left or opted out, and records every subscription with its state for
// the dashboard. SNS cannot remove a subscription still pending
// confirmation; it lapses after 48 hours unconfirmed. Subscriptions
// carry a filter policy on their own address (awsx.EmailFilterPolicy):
// those made before they did get it the first time this process sees
// them confirmed.
//
// SNS's email carries SNS's own unsubscribe link. A member who clicks it
// deletes their subscription (SNS lists it as Deleted for up to 72 hours,
// then not at all); a subscription recorded confirmed that is deleted or
// gone, and that this process did not unsubscribe, is that member
// leaving the project's alert email, which is recorded as their
// unsubscribing from each of its email channels
// (store.DB.UnsubscribeProjectEmail) rather than subscribing them again.
// An address with no recorded confirmed subscription (the first run, a
// database restored from before it) is subscribed as any other, once
// SNS has cleared a deleted subscription of it: SNS refuses it till then.
type SNSSync struct {
	Topics Topics
	Prefix string
	Store  SyncStore
	Log    *slog.Logger

	mu sync.Mutex
	// filtered are the confirmed subscriptions whose filter policy this
	// process has set, by ARN: each costs one call per
	// process, not one per run.
	filtered map[string]bool
	// unsubscribed are the addresses this process unsubscribed, until it
	// subscribes them again: their subscriptions are gone because it
	// removed them, not because their owners clicked SNS's link.
	unsubscribed map[projectAddress]bool
}

// Run syncs every project; it fits app.Job's Run.
func (s *SNSSync) Run(ctx context.Context, now time.Time) error {
	ids, err := s.Store.ProjectIDs(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		if err := s.syncProject(ctx, id, now); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *SNSSync) syncProject(ctx context.Context, projectID int64, now time.Time) error {
	arn, err := s.Topics.TopicARN(ctx, TopicName(s.Prefix, projectID))
	if err != nil {
		return err
	}
	want, err := s.Store.EmailRecipients(ctx, projectID)
	if err != nil {
		return err
	}
	for i := range want {
		want[i] = strings.ToLower(want[i])
	}
	have, err := s.Topics.EmailSubscriptions(ctx, arn)
	if err != nil {
		return err
	}
	recorded, err := s.Store.SNSSubscriptions(ctx, store.System, projectID)
	if err != nil {
		return err
	}
	// Members off every email channel of the project are not subscribed
	// (SNS would mail them a confirmation for email nobody sends them),
	// though a subscription of theirs is kept: the filter policy stops
	// the alerts, and it serves the channels they turn back on.
	off, err := s.Store.ProjectEmailUnsubscribed(ctx, projectID)
	if err != nil {
		return err
	}
	for i := range off {
		off[i] = strings.ToLower(off[i])
	}
	wasConfirmed := make(map[string]bool)
	for _, r := range recorded {
		if r.Status == store.SubscriptionConfirmed {
			wasConfirmed[strings.ToLower(r.Email)] = true
		}
	}
	state := make(map[string]string)
	// deleted are the addresses whose owners unsubscribed by SNS's link
	// and whose subscriptions SNS still lists, as Deleted.
	deleted := make(map[string]bool)
	// A call SNS refuses for one address (a filter policy for a role
	// without sns:SetSubscriptionAttributes yet or a topic past its 200
	// policies, a subscription past the topic's quota) leaves that
	// address as it was and is reported after the rest of the sync:
	// stopping there would keep the confirmed subscriptions of members
	// who left and never subscribe new ones, run after run.
	var errs []error
	for _, sub := range have {
		email := strings.ToLower(sub.Email)
		switch {
		case sub.Deleted():
			// Not live: SNS delivers it nothing and cannot unsubscribe it.
			deleted[email] = true
		case slices.Contains(want, email):
			if sub.Confirmed() {
				if err := s.filter(ctx, sub); err != nil {
					errs = append(errs, err)
				}
				state[email] = store.SubscriptionConfirmed
			} else if state[email] == "" {
				state[email] = store.SubscriptionPending
			}
		case sub.Confirmed():
			if err := s.Topics.Unsubscribe(ctx, sub.ARN); err != nil {
				errs = append(errs, err)
				continue
			}
			s.setUnsubscribed(projectID, email, true)
			s.log().Info("alert email: unsubscribed from the project's topic", "project", projectID, "email", email)
		}
	}
	for _, email := range want {
		if state[email] != "" || slices.Contains(off, email) {
			continue
		}
		if wasConfirmed[email] && !s.isUnsubscribed(projectID, email) {
			n, err := s.Store.UnsubscribeProjectEmail(ctx, projectID, email)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if n > 0 {
				s.log().Info("alert email: the member unsubscribed from the project's topic by SNS's link; recorded as unsubscribed from its email channels, not subscribed again", "project", projectID, "email", email, "channels", n)
				continue
			}
			// No email channel to record it on: the project mails no
			// alert, and the address is treated as a new one.
			s.log().Info("alert email: the member unsubscribed from the project's topic by SNS's link; the project has no email channel to record it on", "project", projectID, "email", email)
		}
		if deleted[email] {
			// Logged at debug level: it holds for up to 72 hours of
			// runs a minute apart.
			s.log().Debug("alert email: SNS is still deleting the member's subscription (up to 72 hours); subscribing them again once it has", "project", projectID, "email", email)
			continue
		}
		if err := s.Topics.SubscribeEmail(ctx, arn, email); err != nil {
			errs = append(errs, err)
			continue
		}
		s.setUnsubscribed(projectID, email, false)
		state[email] = store.SubscriptionPending
		s.log().Info("alert email: subscribed to the project's topic; SNS mailed a confirmation link", "project", projectID, "email", email)
	}
	subs := make([]store.SNSSubscription, 0, len(want))
	for _, email := range want {
		if state[email] != "" { // not when SNS refused to subscribe it
			subs = append(subs, store.SNSSubscription{Email: email, Status: state[email]})
		}
	}
	return errors.Join(append(errs, s.Store.ReplaceSNSSubscriptions(ctx, projectID, subs, now))...)
}

// filter sets a confirmed subscription's filter policy unless this
// process did already: one subscribed before filter policies were gets
// every message published to the topic, unsubscribed members' included.
func (s *SNSSync) filter(ctx context.Context, sub awsx.SNSSubscription) error {
	s.mu.Lock()
	done := s.filtered[sub.ARN]
	s.mu.Unlock()
	if done {
		return nil
	}
	if err := s.Topics.FilterEmail(ctx, sub.ARN, sub.Email); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.filtered == nil {
		s.filtered = map[string]bool{}
	}
	s.filtered[sub.ARN] = true
	return nil
}

// setUnsubscribed records whether this process unsubscribed email from
// projectID's topic.
func (s *SNSSync) setUnsubscribed(projectID int64, email string, done bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unsubscribed == nil {
		s.unsubscribed = map[projectAddress]bool{}
	}
	if done {
		s.unsubscribed[projectAddress{projectID, email}] = true
	} else {
		delete(s.unsubscribed, projectAddress{projectID, email})
	}
}

// isUnsubscribed reports whether this process unsubscribed email from
// projectID's topic and has not subscribed it since.
func (s *SNSSync) isUnsubscribed(projectID int64, email string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unsubscribed[projectAddress{projectID, email}]
}

// projectAddress is an email address on a project's topic.
type projectAddress struct {
	projectID int64
	email     string
}

func (s *SNSSync) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}
