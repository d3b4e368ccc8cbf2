package main

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/awsx/awsxtest"
	"github.com/getflytrap/flytrap/internal/notify"
	"github.com/getflytrap/flytrap/internal/store"
)

// TestAlertsSetup: the SMTP secret, when it holds a URL, sends alert
// email, and set-password links, through SMTP; without it, or when it is
// unusable, alert email goes through SNS topics named after the
// deployment's operations topic, with the subscription job, and links are
// not emailed.
func TestAlertsSetup(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "flytrap.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rc := awsx.RuntimeConfig{Name: "prod", Domain: "flytrap.example.com", AlertsTopicARN: "arn:aws:sns:us-east-1:000000000000:flytrap-prod-alerts"}
	topics := awsx.NewSNSTopics(awsx.NewSNSCalls(awsxtest.NewSNS(t).Client()))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	none := func(string) string { return "" }
	tests := []struct {
		name, secret string
		getenv       func(string) string
		smtp         bool
	}{
		{"no secret", "", none, false},
		{"secret with a URL", `{"url":"smtp://u:p@email-smtp.us-east-1.amazonaws.com:587","from":"alerts@example.com"}`, none, true},
		{"secret without a URL", `{"from":"alerts@example.com"}`, none, false},
		{"secret with a bad URL", `{"url":"http://example.com"}`, none, false},
		{"environment", "", func(k string) string {
			if k == "FLYTRAP_SMTP_URL" {
				return "smtps://u:p@mail.example.com"
			}
			return ""
		}, true},
		{"private webhooks allowed, SNS", "", func(k string) string {
			if k == notify.EnvAllowPrivate {
				return "1"
			}
			return ""
		}, false},
		{"private webhooks allowed, SMTP", "", func(k string) string {
			return map[string]string{"FLYTRAP_SMTP_URL": "smtps://u:p@mail.example.com", notify.EnvAllowPrivate: "1"}[k]
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sm := awsxtest.NewSecretsManager(t)
			if tt.secret != "" {
				sm.Put("flytrap-prod-alerts-smtp", tt.secret)
			}
			cfg, opts := alertsSetup(ctx, awsxtest.SecretsManagerClient(sm.URL()), topics, rc, db, tt.getenv, tt.getenv(notify.EnvAllowPrivate) == "1", log)
			_, isSMTP := cfg.Mailer.(notify.SMTPMailer)
			sns, isSNS := cfg.Mailer.(notify.SNSMailer)
			if isSMTP != tt.smtp || isSNS == tt.smtp || (isSNS && (sns.Prefix != "flytrap-prod" || len(opts) != 1)) || (isSMTP && len(opts) != 0) {
				t.Errorf("mailer %#v with %d extra jobs", cfg.Mailer, len(opts))
			}
			if links := linkMailer(cfg); (links != nil) != tt.smtp {
				t.Errorf("set-password link mailer %#v with alert mailer %#v", links, cfg.Mailer)
			}
			// Slack and webhooks stay on public addresses unless asked.
			if want := tt.getenv(notify.EnvAllowPrivate) == "1"; cfg.AllowPrivate != want {
				t.Errorf("AllowPrivate %v, want %v", cfg.AllowPrivate, want)
			}
		})
	}
}
