package dashboard

import (
	"net/http"
	"strings"
	"time"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/store"
)

// projectCard is one project on the projects page.
type projectCard struct {
	store.ProjectStat
	Day, Fortnight chart
}

func (d *Dashboard) projectsPage(w http.ResponseWriter, r *http.Request, s *session) {
	now := d.now()
	stats, err := d.store.ProjectStats(r.Context(), s.viewer(), now.Add(-14*24*time.Hour))
	if err != nil {
		d.fail(w, r, err)
		return
	}
	cards := make([]projectCard, len(stats))
	for i, st := range stats {
		cards[i] = projectCard{ProjectStat: st, Day: hourlyChart(st.Hourly, now), Fortnight: dailyChart(st.Hourly, now)}
	}
	d.render(w, r, http.StatusOK, "projects", &view{Title: "Projects", Nav: "projects", Data: cards})
}

// snippet is one ready-to-paste SDK setup on the setup page.
type snippet struct {
	ID      string // element id of the setup
	Title   string
	Install string // package manager command, may be empty
	Files   []snippetCode
}

// snippetCode is one file of a snippet, with a copy button of its own: a
// setup of two files copied as one block does not run pasted into one.
type snippetCode struct {
	ID   string // element id, for the copy button
	Name string // file name, empty for a snippet of one file
	Code string
}

// snippetFile is one file of a snippet: its name on the page (empty for
// a snippet of one file) and its template in templates/snippets.
type snippetFile struct{ name, tmpl string }

// snippetSpecs lists the setup snippets in page order.
var snippetSpecs = []struct {
	id, title, install string
	files              []snippetFile
}{
	{"browser", "Browser JavaScript (@sentry/browser)", "npm install @sentry/browser", []snippetFile{{"", "browser.js.tmpl"}}},
	{"react", "React (@sentry/react)", "npm install @sentry/react", []snippetFile{{"", "react.jsx.tmpl"}}},
	// @sentry/node 8 and later must start before express loads, and no
	// longer supports node --require: the app requires it first.
	{"node", "Node.js / Express (@sentry/node)", "npm install @sentry/node", []snippetFile{{"instrument.js", "node-instrument.js.tmpl"}, {"app.js", "node-express.js.tmpl"}}},
	{"python", "Python / Flask (sentry-sdk)", `pip install "sentry-sdk[flask]"`, []snippetFile{{"", "python-flask.py.tmpl"}}},
	{"go", "Go (sentry-go)", "go get github.com/getsentry/sentry-go", []snippetFile{{"", "go.go.tmpl"}}},
	{"flytrap", "Original Flytrap SDKs for JavaScript (flytrap_javascript, flytrap_react, flytrap_express)", "npm install flytrap_express", []snippetFile{{"", "flytrap.js.tmpl"}}},
	{"flytrap-flask", "Original Flytrap SDK for Flask (flytrap_flask)", "pip install flytrap_flask", []snippetFile{{"", "flytrap-flask.py.tmpl"}}},
	{"curl", "Send a test error with curl", "", []snippetFile{{"", "first-error.sh.tmpl"}}},
}

// snippetFileID is the element id of a snippet's file: the snippet's id,
// followed by the file name for one of several files.
func snippetFileID(id, name string) string {
	if name == "" {
		return "snippet-" + id
	}
	return "snippet-" + id + "-" + strings.ReplaceAll(name, ".", "-")
}

// snippetVars are the values the snippet templates fill in.
type snippetVars struct {
	DSN       string
	APIKey    string
	ProjectID int64
	BaseURL   string
}

// setupData is the project setup page's model.
type setupData struct {
	Project   store.Project
	Key       *store.ProjectKey
	DSN       string
	ErrorsURL string
	RejectURL string
	Snippets  []snippet
}

func (d *Dashboard) setupPage(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := d.pathProject(w, r, s)
	if !ok {
		return
	}
	ctx, v, id := r.Context(), s.viewer(), p.ID
	keys, err := d.store.ProjectKeys(ctx, v, id)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	base := d.ingestBase(r)
	data := setupData{Project: p, Key: activeKey(keys), ErrorsURL: base + "/api/errors", RejectURL: base + "/api/rejections"}
	if data.Key != nil {
		data.DSN = dsn(base, data.Key.PublicKey, p.ID)
		vars := snippetVars{DSN: data.DSN, APIKey: data.Key.PublicKey, ProjectID: p.ID, BaseURL: base}
		snippets, err := d.snippets()
		if err != nil {
			d.serverError(w, r, err)
			return
		}
		for _, sp := range snippetSpecs {
			s := snippet{ID: "snippet-" + sp.id, Title: sp.title, Install: sp.install}
			for _, f := range sp.files {
				var b strings.Builder
				if err := snippets.ExecuteTemplate(&b, f.tmpl, vars); err != nil {
					d.serverError(w, r, err)
					return
				}
				s.Files = append(s.Files, snippetCode{ID: snippetFileID(sp.id, f.name), Name: f.name, Code: strings.TrimSpace(b.String())})
			}
			data.Snippets = append(data.Snippets, s)
		}
	}
	// The DSN and ingest key (see compressed).
	sendUncompressed(w)
	d.render(w, r, http.StatusOK, "setup", &view{Title: p.Name + " setup", Nav: "projects", Tab: "setup", ProjectID: p.ID, Data: data, Manages: d.managesProject(r, s, p.ID)})
}

// activeKey returns the newest active key of keys, nil when none is.
func activeKey(keys []store.ProjectKey) *store.ProjectKey {
	for i := len(keys) - 1; i >= 0; i-- {
		if keys[i].Active {
			return &keys[i]
		}
	}
	return nil
}

// dsn builds a Sentry DSN: the base URL with the public key as user name
// and the project ID as path.
func dsn(base, key string, projectID int64) string { return apitypes.DSN(base, key, projectID) }
