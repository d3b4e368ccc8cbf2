package api

import (
	"net/http"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/schedule"
	"github.com/getflytrap/flytrap/internal/store"
)

// monitorCheckIns is how many check-ins the answer for one monitor holds.
const monitorCheckIns = 50

func (a *API) listMonitors(w http.ResponseWriter, r *http.Request) {
	pid, ok := pathID(w, r, "project_id")
	if !ok {
		return
	}
	ms, err := a.store.ListMonitors(r.Context(), viewer(r), pid)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]apitypes.Monitor, len(ms))
	for i, m := range ms {
		out[i] = wireMonitor(m)
	}
	writeJSON(w, http.StatusOK, apitypes.List[apitypes.Monitor]{Data: out})
}

func (a *API) getMonitor(w http.ResponseWriter, r *http.Request) {
	pid, ok := pathID(w, r, "project_id")
	if !ok {
		return
	}
	m, cis, err := a.store.GetMonitor(r.Context(), viewer(r), pid, r.PathValue("slug"), r.URL.Query().Get("environment"), monitorCheckIns)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := wireMonitor(m)
	out.CheckIns = make([]apitypes.CheckIn, len(cis))
	for i, c := range cis {
		out.CheckIns[i] = apitypes.CheckIn{ID: c.ID, Status: c.Status, Environment: c.Environment, Release: c.Release,
			Received: c.Received, Updated: c.Updated}
		if c.Duration != nil {
			s := c.Duration.Seconds()
			out.CheckIns[i].Duration = &s
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) deleteMonitor(w http.ResponseWriter, r *http.Request) {
	pid, ok := pathID(w, r, "project_id")
	if !ok {
		return
	}
	if err := a.store.DeleteMonitor(r.Context(), viewer(r), pid, r.PathValue("slug")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func wireMonitor(m store.Monitor) apitypes.Monitor {
	c := m.Config
	out := apitypes.Monitor{ID: m.ID, ProjectID: m.ProjectID, Slug: m.Slug, Status: m.Status, ScheduleType: c.ScheduleType,
		Schedule: schedule.Text(c), Timezone: c.Timezone, MarginMinutes: c.MarginMinutes, MaxRuntimeMinutes: c.MaxRuntimeMinutes,
		FailureThreshold: c.FailureThreshold, RecoveryThreshold: c.RecoveryThreshold, LastStatus: m.LastStatus, CreatedAt: m.CreatedAt}
	if !m.LastCheckIn.IsZero() {
		t := m.LastCheckIn
		out.LastCheckIn = &t
	}
	if !m.NextExpected.IsZero() {
		t := m.NextExpected
		out.NextExpected = &t
	}
	out.Environments = make([]apitypes.MonitorEnvironment, len(m.Environments))
	for i, e := range m.Environments {
		out.Environments[i] = apitypes.MonitorEnvironment{Name: e.Name, Status: e.Status}
		if !e.LastCheckIn.IsZero() {
			t := e.LastCheckIn
			out.Environments[i].LastCheckIn = &t
		}
		if !e.NextExpected.IsZero() {
			t := e.NextExpected
			out.Environments[i].NextCheckIn = &t
		}
	}
	return out
}
