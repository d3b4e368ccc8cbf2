package dashboard

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/getflytrap/flytrap/internal/schedule"
	"github.com/getflytrap/flytrap/internal/store"
)

// monitorCheckIns is how many check-ins a monitor's page shows.
const monitorCheckIns = 50

// monitorsData is the project monitors page's model.
type monitorsData struct {
	Project  store.Project
	Monitors []store.Monitor
}

// monitorData is a monitor's page model; Environment is the one its
// check-ins are filtered to, "" for all.
type monitorData struct {
	Project     store.Project
	Monitor     store.Monitor
	Environment string
	CheckIns    []store.CheckIn
}

// monitorURL is a monitor's page.
func monitorURL(projectID int64, slug string) string {
	return "/projects/" + strconv.FormatInt(projectID, 10) + "/monitors/" + url.PathEscape(slug)
}

// monitorsPage lists a project's cron monitors by slug.
func (d *Dashboard) monitorsPage(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := d.pathProject(w, r, s)
	if !ok {
		return
	}
	ms, err := d.store.ListMonitors(r.Context(), s.viewer(), p.ID)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	d.render(w, r, http.StatusOK, "monitors", &view{Title: "Monitors · " + p.Name, Nav: "projects", Tab: "monitors", ProjectID: p.ID,
		Data: monitorsData{Project: p, Monitors: ms}, Manages: d.managesProject(r, s, p.ID)})
}

// monitorPage shows a monitor: its status, schedule, each environment's
// status and the newest check-ins, of one environment with
// ?environment=.
func (d *Dashboard) monitorPage(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := d.pathProject(w, r, s)
	if !ok {
		return
	}
	env := r.URL.Query().Get("environment")
	m, cis, err := d.store.GetMonitor(r.Context(), s.viewer(), p.ID, r.PathValue("slug"), env, monitorCheckIns)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	d.render(w, r, http.StatusOK, "monitor", &view{Title: "Monitor " + m.Slug + " · " + p.Name, Nav: "projects", Tab: "monitors", ProjectID: p.ID,
		Data: monitorData{Project: p, Monitor: m, Environment: env, CheckIns: cis}, Manages: d.managesProject(r, s, p.ID)})
}

// confirmDeleteMonitor asks before deleting a monitor, as deleting an
// issue does: the monitor page's Delete link leads here, and only this
// page's form deletes.
func (d *Dashboard) confirmDeleteMonitor(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := d.pathProject(w, r, s)
	if !ok {
		return
	}
	m, _, err := d.store.GetMonitor(r.Context(), s.viewer(), p.ID, r.PathValue("slug"), "", 0)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	d.render(w, r, http.StatusOK, "confirm-delete-monitor", &view{Title: "Delete monitor", Nav: "projects",
		Data: monitorData{Project: p, Monitor: m}})
}

// deleteMonitor deletes a monitor with its check-ins, as the API's DELETE
// does.
func (d *Dashboard) deleteMonitor(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := d.pathProject(w, r, s)
	if !ok {
		return
	}
	slug := r.PathValue("slug")
	if err := d.store.DeleteMonitor(r.Context(), s.viewer(), p.ID, slug); err != nil {
		d.fail(w, r, err)
		return
	}
	d.redirect(w, r, "/projects/"+strconv.FormatInt(p.ID, 10)+"/monitors", "Monitor "+slug+" deleted with its check-ins.")
}

// scheduleText is a monitor's schedule as its page shows it.
func scheduleText(m store.Monitor) string {
	return schedule.Describe(m.Config)
}
