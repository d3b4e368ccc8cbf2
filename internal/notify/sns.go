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
}

// SNSSync keeps each project's topic subscribed by exactly its members
// who want alert email: it subscribes members added (SNS mails them a
// confirmation link), unsubscribes confirmed subscriptions of people who
// left or opted out, and records every subscription with its state for
// the dashboard. SNS cannot remove a subscription still pending
// confirmation; it lapses after three days unconfirmed. Subscriptions
// carry a filter policy on their own address (awsx.EmailFilterPolicy):
// those made before they did get it the first time this process sees
// them confirmed.
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
	state := make(map[string]string)
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
			s.log().Info("alert email: unsubscribed from the project's topic", "project", projectID, "email", email)
		}
	}
	for _, email := range want {
		if state[email] != "" {
			continue
		}
		if err := s.Topics.SubscribeEmail(ctx, arn, email); err != nil {
			errs = append(errs, err)
			continue
		}
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

func (s *SNSSync) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}
