package api

import (
	"net/http"
	"strconv"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/store"
)

// alertEndpoints are the routes of alert channels, rules, settings and
// delivery history (docs/api.md, "Alerts"): members of a project read,
// admins change, everyone sets their own email opt-out.
func (a *API) alertEndpoints() []endpoint {
	return []endpoint{
		{"GET /api/v1/projects/{project_id}/alert-channels", a.listChannels},
		{"POST /api/v1/projects/{project_id}/alert-channels", a.createChannel},
		{"DELETE /api/v1/alert-channels/{channel_id}", a.deleteChannel},
		{"POST /api/v1/alert-channels/{channel_id}/test", a.testChannel},
		{"GET /api/v1/projects/{project_id}/alert-rules", a.listRules},
		{"POST /api/v1/projects/{project_id}/alert-rules", a.createRule},
		{"PUT /api/v1/alert-rules/{rule_id}", a.putRule},
		{"DELETE /api/v1/alert-rules/{rule_id}", a.deleteRule},
		{"GET /api/v1/projects/{project_id}/alert-settings", a.getAlertSettings},
		{"PUT /api/v1/projects/{project_id}/alert-settings", a.putAlertSettings},
		{"GET /api/v1/projects/{project_id}/notifications", a.listNotifications},
		{"GET /api/v1/projects/{project_id}/alert-not-mailed", a.listNotMailed},
		{"PUT /api/v1/issues/{issue_id}/mute", a.putMute},
		{"GET /api/v1/me/alerts", a.getMyAlerts},
		{"PUT /api/v1/me/alerts", a.putMyAlerts},
	}
}

func (a *API) listChannels(w http.ResponseWriter, r *http.Request) {
	pid, ok := pathID(w, r, "project_id")
	if !ok {
		return
	}
	cs, err := a.svc.Alerts.Channels(r.Context(), actor(r), pid)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page(cs, wireChannel, ""))
}

func (a *API) createChannel(w http.ResponseWriter, r *http.Request) {
	pid, ok := pathID(w, r, "project_id")
	if !ok {
		return
	}
	var req apitypes.NewAlertChannel
	if !decodeBody(w, r, &req) {
		return
	}
	c, warning, err := a.svc.Alerts.CreateChannel(r.Context(), actor(r), pid, req.Kind, req.Name, req.URL)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	// The only answer that shows a webhook's signing secret.
	writeJSON(w, http.StatusCreated, apitypes.CreatedAlertChannel{AlertChannel: wireChannel(c), Secret: c.Secret, Warning: warning})
}

func (a *API) deleteChannel(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "channel_id")
	if !ok {
		return
	}
	if err := a.svc.Alerts.DeleteChannel(r.Context(), actor(r), id); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) testChannel(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "channel_id")
	if !ok {
		return
	}
	n, err := a.svc.Alerts.TestChannel(r.Context(), actor(r), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, wireNotification(n))
}

func (a *API) listRules(w http.ResponseWriter, r *http.Request) {
	pid, ok := pathID(w, r, "project_id")
	if !ok {
		return
	}
	rules, err := a.svc.Alerts.Rules(r.Context(), actor(r), pid)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page(rules, wireRule, ""))
}

// storeRule is the rule a client sent; enabled defaults to true.
func storeRule(q apitypes.NewAlertRule) store.AlertRule {
	return store.AlertRule{ChannelID: q.ChannelID, Type: q.Type, Threshold: q.Threshold, WindowMinutes: q.WindowMinutes,
		MinLevel: q.MinLevel, Environment: q.Environment, Enabled: q.Enabled == nil || *q.Enabled}
}

func (a *API) createRule(w http.ResponseWriter, r *http.Request) {
	pid, ok := pathID(w, r, "project_id")
	if ok {
		a.saveRule(w, r, store.AlertRule{ProjectID: pid}, http.StatusCreated)
	}
}

func (a *API) putRule(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "rule_id")
	if ok {
		a.saveRule(w, r, store.AlertRule{ID: id}, http.StatusOK)
	}
}

// saveRule creates (at.ID 0, in at.ProjectID) or replaces the rule at.ID
// with the body's, and answers status with it.
func (a *API) saveRule(w http.ResponseWriter, r *http.Request, at store.AlertRule, status int) {
	var req apitypes.NewAlertRule
	if !decodeBody(w, r, &req) {
		return
	}
	rule := storeRule(req)
	rule.ID, rule.ProjectID = at.ID, at.ProjectID
	out, err := a.svc.Alerts.PutRule(r.Context(), actor(r), rule)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, status, apitypes.SavedAlertRule{AlertRule: wireRule(out), Warning: a.svc.Alerts.RuleWarning(r.Context(), actor(r), out)})
}

func (a *API) deleteRule(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "rule_id")
	if !ok {
		return
	}
	if err := a.svc.Alerts.DeleteRule(r.Context(), actor(r), id); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// alertSettings are a project's alert settings and, on AWS, the state of
// its members' SNS email subscriptions.
type alertSettings struct {
	CooldownMinutes int64                   `json:"cooldown_minutes"`
	Subscriptions   []store.SNSSubscription `json:"email_subscriptions"`
}

func (a *API) getAlertSettings(w http.ResponseWriter, r *http.Request) {
	pid, ok := pathID(w, r, "project_id")
	if !ok {
		return
	}
	ctx, act := r.Context(), actor(r)
	cooldown, err := a.svc.Alerts.Cooldown(ctx, act, pid)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	subs, err := a.svc.Alerts.Subscriptions(ctx, act, pid)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, alertSettings{CooldownMinutes: int64(cooldown.Minutes()), Subscriptions: nonNil(subs)})
}

func (a *API) putAlertSettings(w http.ResponseWriter, r *http.Request) {
	pid, ok := pathID(w, r, "project_id")
	if !ok {
		return
	}
	var req struct {
		CooldownMinutes int64 `json:"cooldown_minutes"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	if err := a.svc.Alerts.SetCooldown(r.Context(), actor(r), pid, req.CooldownMinutes); err != nil {
		a.fail(w, r, err)
		return
	}
	a.getAlertSettings(w, r)
}

// listNotMailed lists who the project's email alerts skip and why; the
// project's admins only, as the members' addresses are not every
// member's to read.
func (a *API) listNotMailed(w http.ResponseWriter, r *http.Request) {
	pid, ok := pathID(w, r, "project_id")
	if !ok {
		return
	}
	outs, err := a.svc.Alerts.NotMailed(r.Context(), actor(r), pid)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page(outs, wireNotMailed, ""))
}

func (a *API) listNotifications(w http.ResponseWriter, r *http.Request) {
	pid, ok := pathID(w, r, "project_id")
	if !ok {
		return
	}
	limit := 50
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 200 {
			writeError(w, http.StatusBadRequest, "bad_request", "limit must be 1 to 200")
			return
		}
		limit = n
	}
	ns, err := a.svc.Alerts.History(r.Context(), actor(r), pid, limit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page(ns, wireNotification, ""))
}

type muteRequest struct {
	Muted bool `json:"muted"`
}

func (a *API) putMute(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "issue_id")
	if !ok {
		return
	}
	var req muteRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if err := a.svc.Alerts.SetMuted(r.Context(), actor(r), id, req.Muted); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, req)
}

type myAlerts struct {
	EmailOptOut bool `json:"email_opt_out"`
}

func (a *API) getMyAlerts(w http.ResponseWriter, r *http.Request) {
	out, err := a.svc.Alerts.EmailOptOut(r.Context(), actor(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, myAlerts{EmailOptOut: out})
}

func (a *API) putMyAlerts(w http.ResponseWriter, r *http.Request) {
	var req myAlerts
	if !decodeBody(w, r, &req) {
		return
	}
	if err := a.svc.Alerts.SetEmailOptOut(r.Context(), actor(r), req.EmailOptOut); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, req)
}
