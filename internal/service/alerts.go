package service

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/notify"
	"github.com/getflytrap/flytrap/internal/store"
)

// AlertStore is what the alert rules read and change; *store.DB
// implements it.
type AlertStore interface {
	ListAlertChannels(ctx context.Context, v store.Viewer, projectID int64) ([]store.AlertChannel, error)
	CreateAlertChannel(ctx context.Context, v store.Viewer, c store.AlertChannel) (store.AlertChannel, error)
	DeleteAlertChannel(ctx context.Context, v store.Viewer, id int64) error
	QueueTestNotification(ctx context.Context, v store.Viewer, channelID int64, now time.Time) (store.Notification, error)
	ListAlertRules(ctx context.Context, v store.Viewer, projectID int64) ([]store.AlertRule, error)
	GetAlertRule(ctx context.Context, v store.Viewer, id int64) (store.AlertRule, error)
	PutAlertRule(ctx context.Context, v store.Viewer, r store.AlertRule) (store.AlertRule, error)
	DeleteAlertRule(ctx context.Context, v store.Viewer, id int64) error
	AlertCooldown(ctx context.Context, v store.Viewer, projectID int64) (time.Duration, error)
	SetAlertCooldown(ctx context.Context, v store.Viewer, projectID int64, cooldown time.Duration) error
	SetIssueMuted(ctx context.Context, v store.Viewer, issueID int64, muted bool) error
	IssueMuted(ctx context.Context, v store.Viewer, issueID int64) (bool, error)
	SetEmailOptOut(ctx context.Context, userID int64, optOut bool) error
	EmailOptOut(ctx context.Context, userID int64) (bool, error)
	ListNotifications(ctx context.Context, v store.Viewer, projectID int64, limit int) ([]store.Notification, error)
	SNSSubscriptions(ctx context.Context, v store.Viewer, projectID int64) ([]store.SNSSubscription, error)
	EmailOptOuts(ctx context.Context, v store.Viewer, projectID int64) ([]store.OptOut, error)
}

// Alerts holds the rules of alert channels, rules, cooldowns, mutes and
// email opt-outs: members of a project read them, admins change them, and
// everyone decides about their own email.
type Alerts struct {
	store Store
	now   func() time.Time
	// allowPrivate lets webhooks name loopback, private and link-local
	// addresses (notify.EnvAllowPrivate); resolver resolves their hosts
	// when they are added.
	allowPrivate bool
	resolver     notify.Resolver
	// emailLogged says the server writes alert email to its log instead
	// of sending it (flytrap dev without SMTP).
	emailLogged bool
}

// EmailNotSent is the notice that alert email is not sent: shown on the
// alerts page and with a new email channel or rule that mails members, so
// that a team trying Flytrap out does not take the history's "logged" rows
// for mail that went out.
const EmailNotSent = "Alert email is not sent: this server has no SMTP server configured, so it writes each email to its log. Start it with --smtp-url (or FLYTRAP_SMTP_URL) to mail members."

// WithAlertEmailLogged says whether the server only logs alert email, having
// no way to send it (notify.Config without a Mailer); it returns s.
func (s *Services) WithAlertEmailLogged(logged bool) *Services {
	s.Alerts.emailLogged = logged
	return s
}

// EmailNotice is EmailNotSent when the server does not send alert email,
// else "".
func (s *Alerts) EmailNotice() string {
	if s.emailLogged {
		return EmailNotSent
	}
	return ""
}

// RuleWarning is EmailNotSent when r alerts an email channel that the
// server does not send, else "".
func (s *Alerts) RuleWarning(ctx context.Context, a Actor, r store.AlertRule) string {
	if !s.emailLogged {
		return ""
	}
	cs, err := s.store.ListAlertChannels(ctx, a.Viewer(), r.ProjectID)
	if err != nil {
		// Only a notice: the rule is saved either way.
		return ""
	}
	for _, c := range cs {
		if c.ID == r.ChannelID && c.Kind == store.ChannelEmail {
			return EmailNotSent
		}
	}
	return ""
}

// WithAlertDestinations sets whether webhook channels may name loopback,
// private and link-local addresses, as delivery does (notify.Config's
// AllowPrivate), and the resolver that checks a webhook's host when it is
// added (nil: net.DefaultResolver); it returns s.
func (s *Services) WithAlertDestinations(allowPrivate bool, res notify.Resolver) *Services {
	if res == nil {
		res = net.DefaultResolver
	}
	s.Alerts.allowPrivate, s.Alerts.resolver = allowPrivate, res
	return s
}

// Limits of alert settings.
const (
	maxChannelName   = 100
	maxURL           = 2048
	maxThreshold     = 1_000_000
	maxWindowMinutes = int64(store.MaxAlertWindow / time.Minute)
	maxCooldown      = 7 * 24 * 60
)

// Channels returns a project's channels. Slack's and many webhooks' URLs
// carry a token, which only whoever created the channel saw, so URLs are
// shortened: to scheme and host for members (notify.HostURL), since the
// token may be the first path segment; to that and the first segment, a
// token-sized one cut to its first characters, for the project's admins
// (notify.ShortURL), who need to tell receivers on one host apart.
func (s *Alerts) Channels(ctx context.Context, a Actor, projectID int64) ([]store.AlertChannel, error) {
	cs, err := s.store.ListAlertChannels(ctx, a.Viewer(), projectID)
	if err != nil {
		return nil, err
	}
	short := notify.ShortURL
	switch err := s.store.ManagesProject(ctx, a.Viewer(), projectID); {
	case errors.Is(err, store.ErrForbidden):
		short = notify.HostURL
	case err != nil:
		return nil, err
	}
	for i := range cs {
		cs[i].URL = short(cs[i].URL)
	}
	return cs, nil
}

// CreateChannel adds a channel to a project; the project's admins only. Email needs no
// URL; Slack takes an incoming-webhook URL (https://hooks.slack.com/...),
// a webhook any http(s) URL. A name another channel of the project has,
// in any case, is refused (ErrConflict); no name is the kind's. A
// webhook's result carries its signing secret, which is never shown again.
//
// Unless private addresses are allowed (WithAlertDestinations), a webhook
// whose host is, or resolves to, an address delivery would refuse
// (notify.CheckDestination) is refused with delivery's reason; one whose
// host does not resolve now is added, with warning saying so, since DNS
// may be down for a moment.
func (s *Alerts) CreateChannel(ctx context.Context, a Actor, projectID int64, kind, name, rawURL string) (c store.AlertChannel, warning string, err error) {
	if err := requireProjectAdmin(ctx, s.store, a, projectID); err != nil {
		return store.AlertChannel{}, "", err
	}
	name = strings.TrimSpace(name)
	rawURL = strings.TrimSpace(rawURL)
	switch {
	case !store.ValidChannelKind(kind):
		return store.AlertChannel{}, "", refuse(ErrInvalid, "Choose a channel kind: email, slack or webhook.")
	case utf8.RuneCountInString(name) > maxChannelName:
		return store.AlertChannel{}, "", refuse(ErrInvalid, "A channel name has at most %d characters.", maxChannelName)
	case !utf8.ValidString(name):
		return store.AlertChannel{}, "", refuse(ErrInvalid, "Channel names must be valid UTF-8 text.")
	case event.HasControl(name):
		return store.AlertChannel{}, "", refuse(ErrInvalid, "Channel names cannot contain control characters or bidi controls (such as U+202E).")
	}
	if name == "" {
		name = kind
	}
	switch kind {
	case store.ChannelEmail:
		rawURL = ""
	case store.ChannelSlack:
		u, err := url.Parse(rawURL)
		if err != nil || u.Scheme != "https" || u.Host != "hooks.slack.com" || len(rawURL) > maxURL {
			return store.AlertChannel{}, "", refuse(ErrInvalid, "A Slack channel needs its incoming-webhook URL, https://hooks.slack.com/services/...")
		}
	case store.ChannelWebhook:
		u, err := url.Parse(rawURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || len(rawURL) > maxURL {
			return store.AlertChannel{}, "", refuse(ErrInvalid, "A webhook needs an absolute http:// or https:// URL without credentials, of at most %d characters.", maxURL)
		}
		if !s.allowPrivate {
			switch err := notify.CheckDestination(ctx, s.resolver, rawURL); {
			case errors.Is(err, notify.ErrPrivateAddress):
				return store.AlertChannel{}, "", refuse(ErrInvalid, "%s.", sentence(err.Error()))
			case err != nil:
				warning = fmt.Sprintf("Could not resolve %s just now (check its spelling); every delivery resolves it again and is refused if it is not a public address.", u.Hostname())
			}
		}
		// An IPv4 address in another form (2130706433, 127.1) is saved as
		// the dotted quad it stands for, as a browser shows it: delivery
		// connects to that address, where a resolver would look the
		// form up as a name.
		if ip, ok := notify.IPv4Literal(u.Hostname()); ok && ip.String() != u.Hostname() {
			port := u.Port()
			u.Host = ip.String()
			if port != "" {
				u.Host += ":" + port
			}
			if rawURL = u.String(); len(rawURL) > maxURL {
				return store.AlertChannel{}, "", refuse(ErrInvalid, "A webhook needs an absolute http:// or https:// URL without credentials, of at most %d characters.", maxURL)
			}
		}
	}
	c, err = s.store.CreateAlertChannel(ctx, a.Viewer(), store.AlertChannel{ProjectID: projectID, Kind: kind, Name: name, URL: rawURL})
	if errors.Is(err, ErrConflict) {
		return store.AlertChannel{}, "", refuse(ErrConflict, "This project already has a channel named %q; choose another name.", name)
	}
	if err != nil {
		return store.AlertChannel{}, "", err
	}
	if kind == store.ChannelEmail {
		warning = s.EmailNotice()
	}
	return c, warning, nil
}

// sentence starts msg with a capital letter, unless its first word is an
// IP address ("fe80::1 is not a public address"): an address is quoted as
// it is, never "Fe80::1".
func sentence(msg string) string {
	first, _, _ := strings.Cut(msg, " ")
	if _, err := netip.ParseAddr(first); err == nil {
		return msg
	}
	r, n := utf8.DecodeRuneInString(msg)
	return string(unicode.ToUpper(r)) + msg[n:]
}

// DeleteChannel removes a channel and its rules; the project's admins only.
func (s *Alerts) DeleteChannel(ctx context.Context, a Actor, id int64) error {
	return s.store.DeleteAlertChannel(ctx, a.Viewer(), id)
}

// TestChannel queues a test message for a channel; the project's admins only. It goes
// out with the next delivery run, and shows in the history like any other.
func (s *Alerts) TestChannel(ctx context.Context, a Actor, id int64) (store.Notification, error) {
	return s.store.QueueTestNotification(ctx, a.Viewer(), id, s.now())
}

// Rules returns a project's rules.
func (s *Alerts) Rules(ctx context.Context, a Actor, projectID int64) ([]store.AlertRule, error) {
	return s.store.ListAlertRules(ctx, a.Viewer(), projectID)
}

// PutRule creates r (ID 0, in r.ProjectID) or replaces the rule r.ID;
// the project's admins only. A frequency rule needs a threshold of at least 1 and a
// window of 1 minute to a day; min_level is empty or a level; environment
// is empty (any) or at most 200 characters an event could carry
// (event.EnvironmentProblem: no line break, slash or control character).
func (s *Alerts) PutRule(ctx context.Context, a Actor, r store.AlertRule) (store.AlertRule, error) {
	v := a.Viewer()
	if r.ID != 0 {
		old, err := s.store.GetAlertRule(ctx, v, r.ID)
		if err != nil {
			return store.AlertRule{}, err
		}
		r.ProjectID = old.ProjectID
	}
	if err := requireProjectAdmin(ctx, s.store, a, r.ProjectID); err != nil {
		return store.AlertRule{}, err
	}
	r.Environment = strings.TrimSpace(r.Environment)
	switch {
	case !store.ValidRuleType(r.Type):
		return store.AlertRule{}, refuse(ErrInvalid, "Choose when to alert: new_issue, regression or frequency.")
	case r.Type == store.RuleFrequency && (r.Threshold < 1 || r.Threshold > maxThreshold):
		return store.AlertRule{}, refuse(ErrInvalid, "A frequency rule alerts on more than N events: N is 1 to %d.", maxThreshold)
	case r.Type == store.RuleFrequency && (r.WindowMinutes < 1 || r.WindowMinutes > maxWindowMinutes):
		return store.AlertRule{}, refuse(ErrInvalid, "A frequency rule counts events over 1 to %d minutes.", maxWindowMinutes)
	case r.MinLevel != "" && !event.ValidLevel(r.MinLevel):
		return store.AlertRule{}, refuse(ErrInvalid, "The minimum level is empty (any) or one of %s.", strings.Join(event.Levels, ", "))
	case utf8.RuneCountInString(r.Environment) > store.MaxTagLength:
		return store.AlertRule{}, refuse(ErrInvalid, "An environment has at most %d characters.", store.MaxTagLength)
	case event.EnvironmentProblem(r.Environment) != "":
		return store.AlertRule{}, refuse(ErrInvalid, "The environment %q %s: Flytrap drops such an environment from events, as Sentry does, so the rule could never fire.", r.Environment, event.EnvironmentProblem(r.Environment))
	case r.ChannelID <= 0:
		return store.AlertRule{}, refuse(ErrInvalid, "Choose the channel the rule alerts.")
	}
	if r.Type != store.RuleFrequency {
		r.Threshold, r.WindowMinutes = 0, 0
	}
	out, err := s.store.PutAlertRule(ctx, v, r)
	if errors.Is(err, ErrInvalid) {
		return store.AlertRule{}, refuse(ErrInvalid, "Choose one of the project's channels.")
	}
	return out, err
}

// DeleteRule removes a rule; the project's admins only.
func (s *Alerts) DeleteRule(ctx context.Context, a Actor, id int64) error {
	return s.store.DeleteAlertRule(ctx, a.Viewer(), id)
}

// Cooldown returns a project's per-issue cooldown.
func (s *Alerts) Cooldown(ctx context.Context, a Actor, projectID int64) (time.Duration, error) {
	return s.store.AlertCooldown(ctx, a.Viewer(), projectID)
}

// SetCooldown sets a project's per-issue cooldown, 1 minute to 7 days;
// the project's admins only.
func (s *Alerts) SetCooldown(ctx context.Context, a Actor, projectID int64, minutes int64) error {
	if err := requireProjectAdmin(ctx, s.store, a, projectID); err != nil {
		return err
	}
	if minutes < 1 || minutes > maxCooldown {
		return refuse(ErrInvalid, "The cooldown is 1 to %d minutes.", maxCooldown)
	}
	return s.store.SetAlertCooldown(ctx, a.Viewer(), projectID, time.Duration(minutes)*time.Minute)
}

// SetMuted mutes or unmutes an issue's alerts; the project's admins only.
func (s *Alerts) SetMuted(ctx context.Context, a Actor, issueID int64, muted bool) error {
	return s.store.SetIssueMuted(ctx, a.Viewer(), issueID, muted)
}

// Muted reports whether an issue the actor sees is muted.
func (s *Alerts) Muted(ctx context.Context, a Actor, issueID int64) (bool, error) {
	return s.store.IssueMuted(ctx, a.Viewer(), issueID)
}

// SetEmailOptOut records whether the actor wants alert email.
func (s *Alerts) SetEmailOptOut(ctx context.Context, a Actor, optOut bool) error {
	return s.store.SetEmailOptOut(ctx, a.UserID, optOut)
}

// EmailOptOut reports whether the actor opted out of alert email.
func (s *Alerts) EmailOptOut(ctx context.Context, a Actor) (bool, error) {
	return s.store.EmailOptOut(ctx, a.UserID)
}

// History returns a project's latest notifications, newest first.
func (s *Alerts) History(ctx context.Context, a Actor, projectID int64, limit int) ([]store.Notification, error) {
	return s.store.ListNotifications(ctx, a.Viewer(), projectID, limit)
}

// NotMailed returns the members a project's email alerts skip
// (store.DB.EmailOptOuts); its admins only, as the members' addresses
// are not every member's to read.
func (s *Alerts) NotMailed(ctx context.Context, a Actor, projectID int64) ([]store.OptOut, error) {
	outs, manages, err := s.NotMailedIfAdmin(ctx, a, projectID)
	if err == nil && !manages {
		return nil, errOnlyProjectAdmins
	}
	return outs, err
}

// NotMailedIfAdmin is NotMailed for a page that every member of the
// project sees and its admins see more of: it reports whether the actor
// manages the project, with the list only when they do (a member gets
// false and no list, not an error), so that the page needs no check of
// its own and the database is asked once. A project the actor cannot see
// is store.ErrNotFound.
func (s *Alerts) NotMailedIfAdmin(ctx context.Context, a Actor, projectID int64) (outs []store.OptOut, manages bool, err error) {
	switch err := s.store.ManagesProject(ctx, a.Viewer(), projectID); {
	case errors.Is(err, store.ErrForbidden):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	}
	if outs, err = s.store.EmailOptOuts(ctx, a.Viewer(), projectID); err != nil {
		return nil, false, err
	}
	return outs, true, nil
}

// Subscriptions returns a project's SNS email subscriptions (AWS).
func (s *Alerts) Subscriptions(ctx context.Context, a Actor, projectID int64) ([]store.SNSSubscription, error) {
	return s.store.SNSSubscriptions(ctx, a.Viewer(), projectID)
}
