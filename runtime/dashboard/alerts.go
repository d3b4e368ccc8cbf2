package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/getflytrap/flytrap/internal/app"
	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/notify"
	"github.com/getflytrap/flytrap/internal/store"
)

// JobAlertSubscriptions keeps each project's SNS topic subscribed by its
// members (notify.SNSSync).
const JobAlertSubscriptions = "alert-subscriptions"

// alertSubscriptionsEvery is how soon a member added or removed is
// subscribed to or unsubscribed from the project's topic.
const alertSubscriptionsEvery = time.Minute

// smtpSecret is the JSON an operator puts in the "<prefix>-alerts-smtp"
// secret to send alert email through SMTP (SES's SMTP interface, say)
// instead of SNS.
type smtpSecret struct {
	URL  string `json:"url"`
	From string `json:"from"`
}

// alertsPrefix is the deployment's resource prefix, from its operations
// topic "<prefix>-alerts": project topics are "<prefix>-alerts-<id>" and
// the SMTP secret "<prefix>-alerts-smtp", which the instance role's policy
// (terraform/alerts_delivery.tf) names.
func alertsPrefix(rc awsx.RuntimeConfig) string {
	arn := rc.AlertsTopicARN
	name := arn[strings.LastIndex(arn, ":")+1:]
	if p, ok := strings.CutSuffix(name, "-alerts"); ok && p != "" {
		return p
	}
	return "flytrap-" + rc.Name
}

// alertsSetup chooses how alert email leaves the dashboard: through SMTP
// when FLYTRAP_SMTP_URL is set or the SMTP secret holds a URL, else
// through one SNS topic per project, whose subscriptions a job keeps in
// step with the members. A secret that cannot be read or used is logged
// and SNS is used: alerting must not keep the dashboard from starting.
// Slack and webhooks reach public addresses only unless allowPrivate
// (FLYTRAP_ALERTS_ALLOW_PRIVATE): inside the VPC, a private address is
// the database, the metadata service or a peered network.
func alertsSetup(ctx context.Context, sm awsx.SecretGetter, topics notify.Topics, rc awsx.RuntimeConfig, db *store.DB,
	getenv func(string) string, allowPrivate bool, log *slog.Logger) (notify.Config, []app.Option) {
	prefix := alertsPrefix(rc)
	if cfg, err := smtpConfig(ctx, sm, prefix, rc, db, getenv); err != nil {
		log.Error("alert email: SMTP settings unusable; sending through SNS instead", "err", err)
	} else if cfg.Mailer != nil {
		log.Info("alert email goes through SMTP")
		cfg.AllowPrivate = allowPrivate
		return cfg, nil
	}
	sync := &notify.SNSSync{Topics: topics, Prefix: prefix, Store: db, Log: log}
	log.Info("alert email goes through SNS, one topic per project", "topics", prefix+"-alerts-<project id>")
	return notify.Config{Mailer: notify.SNSMailer{Topics: topics, Prefix: prefix, Recipients: db.ChannelRecipients}, AllowPrivate: allowPrivate},
		[]app.Option{app.WithJob(app.Job{Name: JobAlertSubscriptions, Every: alertSubscriptionsEvery, Run: sync.Run})}
}

// smtpConfig is the SMTP mailer FLYTRAP_SMTP_URL or the SMTP secret
// configure, or a Config without a mailer when neither does.
func smtpConfig(ctx context.Context, sm awsx.SecretGetter, prefix string, rc awsx.RuntimeConfig, db *store.DB,
	getenv func(string) string) (notify.Config, error) {
	sec := smtpSecret{URL: getenv("FLYTRAP_SMTP_URL"), From: getenv("FLYTRAP_SMTP_FROM")}
	if sec.URL == "" {
		id := prefix + "-alerts-smtp"
		found, err := awsx.GetSecretJSON(ctx, sm, id, &sec)
		if err != nil || !found {
			return notify.Config{}, err
		}
		if sec.URL == "" {
			return notify.Config{}, fmt.Errorf("secret %s has no \"url\": put {\"url\": \"smtp://user:pass@host:587\", \"from\": \"alerts@example.com\"} in it", id)
		}
	}
	smtp, err := notify.NewSMTP(sec.URL, cmp.Or(sec.From, "flytrap@"+rc.Domain), notify.SMTPOptions{})
	if err != nil {
		return notify.Config{}, fmt.Errorf("alert SMTP: %w", err)
	}
	return notify.Config{Mailer: notify.SMTPMailer{SMTP: smtp, Recipients: db.ChannelRecipients}}, nil
}
