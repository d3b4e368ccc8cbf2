package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/notify"
	"github.com/getflytrap/flytrap/internal/store"
)

// alertRoutes registers the project's alerts page, its actions, muting an
// issue and the account's email opt-out. Members see the page; the
// services refuse members' changes, which answer 404 like other admin
// actions.
func (d *Dashboard) alertRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /projects/{id}/alerts", d.page(d.alertsPage))
	m.HandleFunc("POST /projects/{id}/alerts/channels", d.action(d.createChannel))
	m.HandleFunc("POST /projects/{id}/alerts/channels/{channel}/delete", d.action(d.deleteChannel))
	m.HandleFunc("POST /projects/{id}/alerts/channels/{channel}/test", d.action(d.testChannel))
	m.HandleFunc("POST /projects/{id}/alerts/rules", d.action(d.createRule))
	m.HandleFunc("GET /projects/{id}/alerts/rules/{rule}", d.page(d.rulePage))
	m.HandleFunc("POST /projects/{id}/alerts/rules/{rule}", d.action(d.editRule))
	m.HandleFunc("POST /projects/{id}/alerts/rules/{rule}/enabled", d.action(d.setRuleEnabled))
	m.HandleFunc("POST /projects/{id}/alerts/rules/{rule}/delete", d.action(d.deleteRule))
	m.HandleFunc("POST /projects/{id}/alerts/settings", d.action(d.setCooldown))
	m.HandleFunc("POST /issues/{id}/mute", d.action(d.muteIssue))
	m.HandleFunc("POST /account/alerts", d.action(d.setEmailOptOut))
	m.HandleFunc("GET "+notify.UnsubscribePath+"{token}", d.unsubscribePage)
	m.HandleFunc("POST "+notify.UnsubscribePath+"{token}", d.unsubscribe)
}

// alertsData is the alerts page's model.
type alertsData struct {
	Project store.Project
	// RuleFields has the project's channels and the new-rule form's
	// choices; its Rule is the zero rule.
	RuleFields
	Rules           []ruleView
	CooldownMinutes int64
	History         []store.Notification
	Subscriptions   []store.SNSSubscription
	// NotMailed are, by email channel, the members it does not mail:
	// those who turned alert email off, then those who unsubscribed from
	// it. Only the project's admins see it.
	NotMailed map[int64][]store.OptOut
	// NewSecret is a webhook's signing secret, shown on the page its
	// creation redirects to and never again (takeReveal).
	NewSecret      string
	NewSecretFor   string
	Error          string
	ChannelKinds   []string
	DefaultChannel int64
	// EmailNotice says alert email is only logged (no SMTP), or is "".
	EmailNotice string
}

// RuleFields is the model of the fields the new-rule and edit forms
// share (templates/dashboard/layout.html, "rule-fields"): Rule is what
// they show, the zero rule for a new one.
type RuleFields struct {
	Rule      ruleView
	Channels  []store.AlertChannel
	Levels    []string
	RuleTypes []string
}

func newRuleFields(channels []store.AlertChannel) RuleFields {
	return RuleFields{Channels: channels, Levels: event.Levels, RuleTypes: ruleTypes}
}

// ruleView is a rule with its channel's name.
type ruleView struct {
	store.AlertRule
	ChannelName string
}

// When says in words what makes the rule alert.
func (v ruleView) When() string {
	switch v.Type {
	case store.RuleNewIssue:
		return "New issue"
	case store.RuleRegression:
		return "Regression"
	}
	return fmt.Sprintf("More than %d events in %d min", v.Threshold, v.WindowMinutes)
}

// reasonWords says in words why a notification of the delivery history
// was sent; a reason this version does not know shows as stored.
func reasonWords(reason string) string {
	switch reason {
	case store.RuleNewIssue:
		return "new issue"
	case store.RuleRegression:
		return "regression"
	case store.RuleFrequency:
		return "more events than the rule allows"
	case store.ReasonDigest:
		return "digest of further events"
	case store.ReasonTest:
		return "test"
	case store.ReasonNewIssuesHeld:
		return "new issues held back during a burst"
	case store.ReasonMonitorsHeld:
		return "cron monitor alerts held back during a burst"
	case store.ReasonMonitorFailing:
		return "cron monitor failing"
	case store.ReasonMonitorRecovered:
		return "cron monitor recovered"
	}
	return reason
}

// ruleData is the model of one rule's page: an edit form for admins, the
// rule read-only for members.
type ruleData struct {
	Project store.Project
	// RuleFields's Rule is the rule as stored, or as the refused form
	// sent it.
	RuleFields
	Error string
}

var ruleTypes = []string{store.RuleNewIssue, store.RuleRegression, store.RuleFrequency}

func alertsURL(projectID int64) string {
	return "/projects/" + strconv.FormatInt(projectID, 10) + "/alerts"
}

// newSecret is a webhook's signing secret on its way from the form that
// created the channel to the alerts page (redirectReveal).
type newSecret struct {
	Secret  string `json:"secret"`
	Channel string `json:"channel"`
}

func (d *Dashboard) alertsPage(w http.ResponseWriter, r *http.Request, s *session) {
	var data alertsData
	var ns newSecret
	if d.takeReveal(w, r, s, &ns) {
		data.NewSecret, data.NewSecretFor = ns.Secret, ns.Channel
	}
	d.showAlerts(w, r, s, http.StatusOK, data)
}

func (d *Dashboard) showAlerts(w http.ResponseWriter, r *http.Request, s *session, status int, data alertsData) {
	p, ok := d.pathProject(w, r, s)
	if !ok {
		return
	}
	ctx, a := r.Context(), s.actor()
	var err error
	data.Project = p
	data.EmailNotice = d.svc.Alerts.EmailNotice()
	data.ChannelKinds = []string{store.ChannelEmail, store.ChannelSlack, store.ChannelWebhook}
	channels, err := d.svc.Alerts.Channels(ctx, a, p.ID)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	data.RuleFields = newRuleFields(channels)
	names := map[int64]string{}
	for _, c := range data.Channels {
		names[c.ID] = c.Name
	}
	if len(data.Channels) > 0 {
		data.DefaultChannel = data.Channels[0].ID
	}
	rules, err := d.svc.Alerts.Rules(ctx, a, p.ID)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	for _, rule := range rules {
		data.Rules = append(data.Rules, ruleView{AlertRule: rule, ChannelName: names[rule.ChannelID]})
	}
	cooldown, err := d.svc.Alerts.Cooldown(ctx, a, p.ID)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	data.CooldownMinutes = int64(cooldown.Minutes())
	if data.History, err = d.svc.Alerts.History(ctx, a, p.ID, 50); err != nil {
		d.fail(w, r, err)
		return
	}
	if data.Subscriptions, err = d.svc.Alerts.Subscriptions(ctx, a, p.ID); err != nil {
		d.fail(w, r, err)
		return
	}
	// The service checks whether the viewer manages the project, which
	// the page's forms need too: one check, not one here and one there.
	outs, manages, err := d.svc.Alerts.NotMailedIfAdmin(ctx, a, p.ID)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	if manages {
		data.NotMailed = notMailed(data.Channels, outs)
	}
	d.render(w, r, status, "alerts", &view{Title: "Alerts · " + p.Name, Nav: "projects", Tab: "alerts", Data: data, Manages: manages})
}

// notMailed sorts opt-outs (store.DB.EmailOptOuts) under the email
// channels they stop: one with no channel stops all of them.
func notMailed(channels []store.AlertChannel, outs []store.OptOut) map[int64][]store.OptOut {
	m := map[int64][]store.OptOut{}
	for _, c := range channels {
		if c.Kind != store.ChannelEmail {
			continue
		}
		for _, o := range outs {
			if o.ChannelID == 0 || o.ChannelID == c.ID {
				m[c.ID] = append(m[c.ID], o)
			}
		}
	}
	return m
}

// alertRefused shows the alerts page again with a refusal's message (bad
// input), or answers like any failed action (404 for members).
func (d *Dashboard) alertRefused(w http.ResponseWriter, r *http.Request, s *session, err error) {
	if msg, ok := refusal(err); ok {
		d.showAlerts(w, r, s, http.StatusBadRequest, alertsData{Error: msg})
		return
	}
	d.fail(w, r, err)
}

func (d *Dashboard) createChannel(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := pathID(r, "id")
	if !ok {
		d.notFound(w, r)
		return
	}
	c, warning, err := d.svc.Alerts.CreateChannel(r.Context(), s.actor(), id, r.PostForm.Get("kind"), r.PostForm.Get("name"), r.PostForm.Get("url"))
	if err != nil {
		d.alertRefused(w, r, s, err)
		return
	}
	msg := "Channel " + c.Name + " added."
	if warning != "" {
		msg += " " + warning
	}
	if c.Secret != "" {
		// Redirected like every other form, so a reload adds no second
		// channel; the secret goes sealed to the page, which shows it
		// once.
		d.redirectReveal(w, r, s, alertsURL(id), msg, newSecret{Secret: c.Secret, Channel: c.Name})
		return
	}
	d.redirect(w, r, alertsURL(id), msg)
}

func (d *Dashboard) deleteChannel(w http.ResponseWriter, r *http.Request, s *session) {
	d.alertAction(w, r, "channel", "Channel deleted, with its rules.", func(id int64) error {
		return d.svc.Alerts.DeleteChannel(r.Context(), s.actor(), id)
	})
}

func (d *Dashboard) testChannel(w http.ResponseWriter, r *http.Request, s *session) {
	d.alertAction(w, r, "channel", "Test message queued; it goes out within seconds and shows in the history below.", func(id int64) error {
		_, err := d.svc.Alerts.TestChannel(r.Context(), s.actor(), id)
		return err
	})
}

// alertAction runs do with the path's {name} ID and goes back to the
// project's alerts page with msg, or answers do's error.
func (d *Dashboard) alertAction(w http.ResponseWriter, r *http.Request, name, msg string, do func(id int64) error) {
	project, ok1 := pathID(r, "id")
	id, ok2 := pathID(r, name)
	if !ok1 || !ok2 {
		d.notFound(w, r)
		return
	}
	if err := do(id); err != nil {
		d.fail(w, r, err)
		return
	}
	d.redirect(w, r, alertsURL(project), msg)
}

func (d *Dashboard) createRule(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := pathID(r, "id")
	if !ok {
		d.notFound(w, r)
		return
	}
	rule := ruleForm(r.PostForm)
	rule.ProjectID, rule.Enabled = id, true
	out, err := d.svc.Alerts.PutRule(r.Context(), s.actor(), rule)
	if err != nil {
		d.alertRefused(w, r, s, err)
		return
	}
	msg := "Rule added."
	if warning := d.svc.Alerts.RuleWarning(r.Context(), s.actor(), out); warning != "" {
		msg += " " + warning
	}
	d.redirect(w, r, alertsURL(id), msg)
}

// ruleForm reads a rule form's fields. A number that does not parse is 0,
// which the service refuses with the message the form shows.
func ruleForm(f url.Values) store.AlertRule {
	num := func(k string) int64 {
		n, _ := strconv.ParseInt(strings.TrimSpace(f.Get(k)), 10, 64)
		return n
	}
	return store.AlertRule{ChannelID: num("channel_id"), Type: f.Get("type"), Threshold: num("threshold"),
		WindowMinutes: num("window_minutes"), MinLevel: f.Get("min_level"), Environment: f.Get("environment")}
}

// pathRule loads the project and the rule the path names, as the viewer
// may see them; a rule of another project is not found. On failure it
// has answered the request.
func (d *Dashboard) pathRule(w http.ResponseWriter, r *http.Request, s *session) (store.Project, store.AlertRule, bool) {
	p, ok := d.pathProject(w, r, s)
	if !ok {
		return p, store.AlertRule{}, false
	}
	id, ok := pathID(r, "rule")
	if !ok {
		d.notFound(w, r)
		return p, store.AlertRule{}, false
	}
	rules, err := d.svc.Alerts.Rules(r.Context(), s.actor(), p.ID)
	if err != nil {
		d.fail(w, r, err)
		return p, store.AlertRule{}, false
	}
	for _, rule := range rules {
		if rule.ID == id {
			return p, rule, true
		}
	}
	d.notFound(w, r)
	return p, store.AlertRule{}, false
}

func (d *Dashboard) rulePage(w http.ResponseWriter, r *http.Request, s *session) {
	p, rule, ok := d.pathRule(w, r, s)
	if ok {
		d.showRule(w, r, s, http.StatusOK, p, rule, "")
	}
}

// showRule renders rule's page with msg, the refusal of what the form sent.
func (d *Dashboard) showRule(w http.ResponseWriter, r *http.Request, s *session, status int, p store.Project, rule store.AlertRule, msg string) {
	channels, err := d.svc.Alerts.Channels(r.Context(), s.actor(), p.ID)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	data := ruleData{Project: p, RuleFields: newRuleFields(channels), Error: msg}
	data.Rule.AlertRule = rule
	for _, c := range channels {
		if c.ID == rule.ChannelID {
			data.Rule.ChannelName = c.Name
		}
	}
	d.render(w, r, status, "alert-rule", &view{Title: "Alert rule · " + p.Name, Nav: "projects", Tab: "alerts", Data: data, Manages: d.managesProject(r, s, p.ID)})
}

// editRule replaces a rule's conditions and channel with the form's; it
// stays on or off as it was.
func (d *Dashboard) editRule(w http.ResponseWriter, r *http.Request, s *session) {
	p, old, ok := d.pathRule(w, r, s)
	if !ok {
		return
	}
	rule := ruleForm(r.PostForm)
	rule.ID, rule.ProjectID, rule.Enabled = old.ID, p.ID, old.Enabled
	if _, err := d.svc.Alerts.PutRule(r.Context(), s.actor(), rule); err != nil {
		if msg, ok := refusal(err); ok {
			d.showRule(w, r, s, http.StatusBadRequest, p, rule, msg)
			return
		}
		d.fail(w, r, err)
		return
	}
	d.redirect(w, r, alertsURL(p.ID), "Rule saved.")
}

// setRuleEnabled turns a rule on (enabled=1) or off; setting, not
// toggling, so a form sent twice leaves what it said.
func (d *Dashboard) setRuleEnabled(w http.ResponseWriter, r *http.Request, s *session) {
	p, rule, ok := d.pathRule(w, r, s)
	if !ok {
		return
	}
	rule.Enabled = r.PostForm.Get("enabled") == "1"
	if _, err := d.svc.Alerts.PutRule(r.Context(), s.actor(), rule); err != nil {
		d.fail(w, r, err)
		return
	}
	msg := "Rule turned off: it sends no alerts until turned on again."
	if rule.Enabled {
		msg = "Rule turned on."
	}
	d.redirect(w, r, alertsURL(p.ID), msg)
}

func (d *Dashboard) deleteRule(w http.ResponseWriter, r *http.Request, s *session) {
	d.alertAction(w, r, "rule", "Rule deleted.", func(id int64) error {
		return d.svc.Alerts.DeleteRule(r.Context(), s.actor(), id)
	})
}

func (d *Dashboard) setCooldown(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := pathID(r, "id")
	if !ok {
		d.notFound(w, r)
		return
	}
	minutes, _ := strconv.ParseInt(strings.TrimSpace(r.PostForm.Get("cooldown_minutes")), 10, 64)
	if err := d.svc.Alerts.SetCooldown(r.Context(), s.actor(), id, minutes); err != nil {
		d.alertRefused(w, r, s, err)
		return
	}
	d.redirect(w, r, alertsURL(id), "Cooldown saved.")
}

func (d *Dashboard) muteIssue(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := pathID(r, "id")
	if !ok {
		d.notFound(w, r)
		return
	}
	muted := r.PostForm.Get("muted") == "1"
	if err := d.svc.Alerts.SetMuted(r.Context(), s.actor(), id, muted); err != nil {
		d.failIssue(w, r, s, id, err)
		return
	}
	msg := "Alerts for this issue are back on."
	if muted {
		msg = "Issue muted: it sends no alerts and no digests until unmuted."
	}
	d.redirect(w, r, "/issues/"+strconv.FormatInt(id, 10), msg)
}

func (d *Dashboard) setEmailOptOut(w http.ResponseWriter, r *http.Request, s *session) {
	optOut := r.PostForm.Get("email_opt_out") == "on"
	if err := d.svc.Alerts.SetEmailOptOut(r.Context(), s.actor(), optOut); err != nil {
		d.fail(w, r, err)
		return
	}
	msg := "You will receive alert email for your projects."
	if optOut {
		msg = "You will not receive alert email. Slack and webhook alerts are unaffected."
	}
	d.redirect(w, r, "/account", msg)
}

// unsubscribePage asks whether to unsubscribe from an email channel, by
// the link of an alert email's List-Unsubscribe header. It changes
// nothing: mail scanners follow links, and a GET that unsubscribed would
// unsubscribe every member whose mail is scanned.
func (d *Dashboard) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	d.unsubscribeAnswer(w, r, false)
}

// unsubscribe unsubscribes from the link's channel: the page's button, or
// a mail client's one-click POST (RFC 8058), which carries no session and
// no CSRF token. The link's signature is the authority, as it names one
// member and one channel.
func (d *Dashboard) unsubscribe(w http.ResponseWriter, r *http.Request) {
	d.unsubscribeAnswer(w, r, true)
}

func (d *Dashboard) unsubscribeAnswer(w http.ResponseWriter, r *http.Request, post bool) {
	// The URL holds the link's token.
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	channel, user, err := d.unsubscriber.Check(r.Context(), r.PathValue("token"))
	switch {
	case errors.Is(err, notify.ErrExpiredUnsubscribeLink):
		d.errorPage(w, r, http.StatusGone, "Link expired", upperFirst(err.Error())+".")
		return
	case errors.Is(err, notify.ErrBadUnsubscribeLink):
		d.errorPage(w, r, http.StatusBadRequest, "Link not valid", upperFirst(err.Error())+".")
		return
	case err != nil:
		d.serverError(w, r, err)
		return
	}
	var u store.Unsubscription
	if post {
		u, err = d.store.UnsubscribeChannel(r.Context(), channel, user)
	} else {
		u, err = d.store.ChannelSubscription(r.Context(), channel, user)
	}
	if errors.Is(err, store.ErrNotFound) {
		d.errorPage(w, r, http.StatusNotFound, "Nothing to unsubscribe from",
			"This email channel was deleted, or you are no longer a member of its project: it sends you no more email.")
		return
	}
	if err != nil {
		d.serverError(w, r, err)
		return
	}
	d.render(w, r, http.StatusOK, "unsubscribe", &view{Title: "Unsubscribe", Data: u})
}

// upperFirst capitalizes an error's message for a page's sentence.
func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
