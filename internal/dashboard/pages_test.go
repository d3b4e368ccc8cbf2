package dashboard

import (
	"encoding/base64"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"html"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/inbound"
	"github.com/getflytrap/flytrap/internal/store"
)

func TestProjectsPage(t *testing.T) {
	f := newFixture(t)
	r := f.get(roleMember, "/projects")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r,
		`<body data-project-id="">`,
		fmt.Sprintf(`href="/projects/%d/issues">web</a>`, f.web.ID),
		fmt.Sprintf(`data-live-unresolved="project-%d">2</span>`, f.web.ID),
		`aria-label="Events per hour in the last 24 hours: 3 events"`,
		`aria-label="Events per day in the last 14 days: 3 events"`,
		`<div id="toasts" aria-live="polite"></div>`,
		`<script src="/static/live.js" defer></script>`,
	)
	// The member sees only their project.
	noBody(t, r, "billing")
	// Admins see every project.
	wantBody(t, f.get(roleAdmin, "/projects"), ">billing</a>", ">web</a>")
	// Someone in no project is told so.
	lonely := f.createUser("lonely@example.com", store.RoleMember)
	token, _, err := f.db.CreateSession(f.ctx, lonely.ID, 24*time.Hour)
	f.must(err)
	f.sessions["lonely"] = token
	wantBody(t, f.get("lonely", "/projects"), "not a member of any project")
}

func TestSetupPage(t *testing.T) {
	f := newFixture(t)
	r := f.get(roleMember, fmt.Sprintf("/projects/%d/setup", f.web.ID))
	wantStatus(t, r, http.StatusOK)
	dsn := fmt.Sprintf("http://%s@flytrap.test/%d", f.webKey.PublicKey, f.web.ID)
	wantBody(t, r,
		fmt.Sprintf(`<body data-project-id="%d">`, f.web.ID),
		`<code id="dsn" class="copyable">`+dsn+`</code>`,
		f.webKey.PublicKey,
		"http://flytrap.test/api/errors",
		`data-copy="snippet-go"`,
		// One copy button per file of the Node setup: the two pasted
		// into one file do not run.
		`<p class="snippet-file"><code>instrument.js</code></p>`, `data-copy="snippet-node-instrument-js"`,
		`<p class="snippet-file"><code>app.js</code></p>`, `data-copy="snippet-node-app-js"`,
		`@sentry/browser`, `@sentry/react`, `@sentry/node`, `sentry_sdk.init(`, `sentry.Init(sentry.ClientOptions{`,
		`flytrap.init({`, `projectId: &#34;`+strconv.FormatInt(f.web.ID, 10)+`&#34;`, `apiEndpoint: &#34;http://flytrap.test&#34;`,
		`x-api-key: `+f.webKey.PublicKey,
		// The browser setup says how its minified frames get mapped,
		// with the snippet's release.
		fmt.Sprintf(`//   flytrap sourcemaps upload dist --project %d --release my-app@1.0.0`, f.web.ID),
		// flytrap_flask's init takes snake_case keys in one dict.
		`pip install flytrap_flask`, `flytrap.init({
    &#34;project_id&#34;: &#34;`+strconv.FormatInt(f.web.ID, 10)+`&#34;,
    &#34;api_endpoint&#34;: &#34;http://flytrap.test&#34;,
    &#34;api_key&#34;: &#34;`+f.webKey.PublicKey+`&#34;,
})`, `flytrap.setup_flask_error_handler(app)`,
		// The curl sends the code context as the SDKs do: 11 lines,
		// JSON-encoded inside the JSON body.
		`&#34;line&#34;:42,&#34;column&#34;:18,&#34;context&#34;:&#34;\&#34;const app = express();\\n\\napp.get(`,
	)
	noBody(t, r, "flytrap_flask takes the same")
	// Every SDK snippet carries the DSN.
	if n := strings.Count(r.Body, `dsn: &#34;`+dsn+`&#34;`); n < 3 {
		t.Errorf("DSN in %d JavaScript snippets, want 3", n)
	}
	// A member cannot rotate keys, so no link to the admin page.
	noBody(t, r, "/admin/projects/")
	wantBody(t, f.get(roleAdmin, fmt.Sprintf("/projects/%d/setup", f.web.ID)), fmt.Sprintf(`href="/admin/projects/%d"`, f.web.ID))
}

func TestSnippetsAreValid(t *testing.T) {
	f := newFixture(t)
	vars := snippetVars{DSN: "http://0123abcd@127.0.0.1:8080/7", APIKey: "0123abcd", ProjectID: 7, BaseURL: "http://127.0.0.1:8080"}
	snippets, err := f.d.snippets()
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range snippetSpecs {
		for _, f := range sp.files {
			var b strings.Builder
			if err := snippets.ExecuteTemplate(&b, f.tmpl, vars); err != nil {
				t.Fatalf("%s: %v", f.tmpl, err)
			}
			code := b.String()
			if strings.Contains(code, "{{") || strings.Contains(code, "<no value>") {
				t.Errorf("%s left a placeholder:\n%s", f.tmpl, code)
			}
			if f.tmpl == "go.go.tmpl" {
				if _, err := parser.ParseFile(token.NewFileSet(), "main.go", code, parser.AllErrors); err != nil {
					t.Errorf("Go snippet does not parse: %v\n%s", err, code)
				}
			}
		}
	}
}

func TestIssueListFilters(t *testing.T) {
	f := newFixture(t)
	f.must(nil)
	_, err := f.db.UpdateIssueStatus(f.ctx, store.System, f.issue2, store.StatusIgnored, "")
	f.must(err)
	base := fmt.Sprintf("/projects/%d/issues", f.web.ID)
	tests := []struct {
		query string
		want  []int64
	}{
		{"", []int64{f.issue}}, // unresolved by default
		{"?status=all", []int64{f.issue, f.issue2}},
		{"?status=ignored", []int64{f.issue2}},
		{"?query=is:ignored", []int64{f.issue2}},
		{"?status=all&query=rangeerror", []int64{f.issue2}},
		{"?status=all&query=" + url.QueryEscape(`browser:"Firefox 120"`), []int64{f.issue}},
		{"?status=all&environment=staging", []int64{f.issue2}},
		{"?status=all&release=shop@1.2.3", []int64{f.issue}},
		{"?status=all&level=warning", []int64{f.issue2}},
		{"?status=all&since=30m", nil},
		{"?status=all&since=24h&sort=count", []int64{f.issue, f.issue2}},
		{"?status=all&sort=first_seen", []int64{f.issue2, f.issue}},
		// Sentry's name for the same order.
		{"?status=all&sort=new", []int64{f.issue2, f.issue}},
		// The search box and the selects both hold, as in Sentry.
		{"?status=all&level=error&query=level:warning", nil},
		{"?status=all&environment=production&query=environment:staging", nil},
		{"?status=all&query=" + url.QueryEscape("level:warning level:error"), nil},
		{"?status=all&query=" + url.QueryEscape("level:[warning,error]"), []int64{f.issue, f.issue2}},
		{"?status=all&level=warning&query=" + url.QueryEscape("level:[warning,error]"), []int64{f.issue2}},
		{"?status=all&query=" + url.QueryEscape("timesSeen:>=1 age:-24h title:rangeerror"), []int64{f.issue2}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := f.get(roleMember, base+tt.query)
			wantStatus(t, r, http.StatusOK)
			if got := listedIssues(r.Body); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("issues %v, want %v", got, tt.want)
			}
		})
	}
	r := f.get(roleMember, base)
	wantBody(t, r,
		fmt.Sprintf(`<body data-project-id="%d">`, f.web.ID),
		fmt.Sprintf(`data-live-count="issue-%d">2</span>`, f.issue),
		`<option value="unresolved" selected>`,
	)
	// A search term that sets the status shows in the select.
	wantBody(t, f.get(roleMember, base+"?query=is:ignored"), `<option value="ignored" selected>`)
	// The select keeps its value beside a search that contradicts it, and
	// the empty list says why.
	wantBody(t, f.get(roleMember, base+"?status=all&level=error&query=level:warning"), `<option value="error" selected>`,
		`value="level:warning"`, "The search and the Level, Environment and Release filters must all hold")
	// Keys Flytrap cannot search explain themselves.
	r = f.get(roleMember, base+"?query="+url.QueryEscape("bookmarks:me"))
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, "Flytrap has no bookmarks")
	r = f.get(roleMember, base+"?query="+url.QueryEscape("user.id:user7 OR user.id:user8"))
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `boolean statements containing &#34;OR&#34; or &#34;AND&#34; are not supported in this search`)
	// Bad filters explain themselves instead of failing.
	for _, bad := range []string{"?status=open", "?level=loud", "?sort=title", "?since=yesterday"} {
		r := f.get(roleMember, base+bad)
		wantStatus(t, r, http.StatusBadRequest)
		wantBody(t, r, `class="form-error"`)
	}
	r = f.get(roleMember, base+"?cursor=garbage")
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, "not valid any more")
	if got := listedIssues(r.Body); len(got) != 1 {
		t.Errorf("bad cursor shows %v, want the first page", got)
	}
}

// TestIssueListEmpty: a project without issues gets a first-run prompt
// with its DSN and no bulk toolbar; a list the filters empty says so,
// without the prompt.
func TestIssueListEmpty(t *testing.T) {
	f := newFixture(t)
	empty := f.createProject("empty")
	keys, err := f.db.ProjectKeys(f.ctx, store.System, empty.ID)
	f.must(err)
	tests := []struct {
		name, path string
		want, not  []string
	}{
		{"no issues", fmt.Sprintf("/projects/%d/issues", empty.ID),
			[]string{"No errors yet.", fmt.Sprintf(`<code id="dsn" class="copyable">http://%s@flytrap.test/%d</code>`, keys[0].PublicKey, empty.ID),
				fmt.Sprintf(`href="/projects/%d/setup">Set up an SDK</a>`, empty.ID),
				// live.js shows the first issue when it arrives.
				fmt.Sprintf(`<div class="empty first-run" data-live-first-issue="project-%d">`, empty.ID)},
			[]string{"No issues match", `class="bulk-bar"`}},
		{"no issues, filtered", fmt.Sprintf("/projects/%d/issues?level=fatal", empty.ID),
			[]string{"No errors yet."}, []string{"No issues match", `class="bulk-bar"`}},
		{"no match", fmt.Sprintf("/projects/%d/issues?level=fatal", f.web.ID),
			[]string{"No issues match these filters.", fmt.Sprintf(`<a href="/projects/%d/issues?status=all">All issues</a>`, f.web.ID)},
			[]string{"No errors yet.", "Not sending yet?", `class="bulk-bar"`, `id="dsn"`, "data-live-first-issue"}},
		{"issues", fmt.Sprintf("/projects/%d/issues", f.web.ID),
			[]string{`class="bulk-bar"`}, []string{"No errors yet.", "No issues match"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.get(roleAdmin, tt.path)
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, tt.want...)
			noBody(t, r, tt.not...)
		})
	}
}

var issueLinkRE = regexp.MustCompile(`<a class="issue-title" href="/issues/(\d+)(?:\?[^"]*)?">`)

// listedIssues returns the issue IDs of an issue list page, in order.
func listedIssues(body string) []int64 {
	var ids []int64
	for _, m := range issueLinkRE.FindAllStringSubmatch(body, -1) {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		ids = append(ids, id)
	}
	return ids
}

var (
	nextRE = regexp.MustCompile(`<a href="([^"]+)" rel="next">Next page`)
	prevRE = regexp.MustCompile(`<a href="([^"]+)" rel="prev">‹ Previous page`)
)

// pageLink is the href of the pager's link re matches, "" when it has
// none; it must keep the list's filters.
func pageLink(t *testing.T, re *regexp.Regexp, body string) string {
	t.Helper()
	m := re.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	path := strings.ReplaceAll(m[1], "&amp;", "&")
	if !strings.Contains(path, "query=paged") || !strings.Contains(path, "cursor=") {
		t.Errorf("page link %q lost the filters", path)
	}
	return path
}

func TestIssueListPaging(t *testing.T) {
	f := newFixture(t)
	for i := range 7 {
		f.save(&event.Event{EventID: fmt.Sprintf("%032x", 0xa000+i), ProjectID: f.web.ID, Level: "error",
			Timestamp: now.Add(-time.Duration(10+i) * time.Minute), Message: fmt.Sprintf("paged %d", i)})
	}
	path := fmt.Sprintf("/projects/%d/issues?query=paged&limit=3", f.web.ID)
	var all []int64
	var pages [][]int64
	var prev string
	for page := 0; page < 5 && path != ""; page++ {
		r := f.get(roleMember, path)
		wantStatus(t, r, http.StatusOK)
		all = append(all, listedIssues(r.Body)...)
		pages = append(pages, listedIssues(r.Body))
		if page > 0 {
			wantBody(t, r, "« First page")
		}
		path = pageLink(t, nextRE, r.Body)
		prev = pageLink(t, prevRE, r.Body)
		if (page == 0) != (prev == "") {
			t.Errorf("page %d: previous page link %q", page, prev)
		}
	}
	// Back from the last page, each Previous page link gives the pages
	// before, to the first, which has none.
	for i := len(pages) - 2; i >= 0; i-- {
		r := f.get(roleMember, prev)
		wantStatus(t, r, http.StatusOK)
		if got := listedIssues(r.Body); !slices.Equal(got, pages[i]) {
			t.Errorf("page %d read backwards lists %v, want %v", i, got, pages[i])
		}
		if prev = pageLink(t, prevRE, r.Body); (i == 0) != (prev == "") {
			t.Errorf("page %d read backwards: previous page link %q", i, prev)
		}
	}
	if len(all) != 7 {
		t.Fatalf("paged through %d issues, want 7: %v", len(all), all)
	}
	seen := map[int64]bool{}
	for _, id := range all {
		if seen[id] {
			t.Errorf("issue %d listed twice", id)
		}
		seen[id] = true
	}
}

func TestBulkUpdate(t *testing.T) {
	f := newFixture(t)
	path := fmt.Sprintf("/projects/%d/issues/bulk", f.web.ID)
	back := "query=error&status=unresolved"
	r := f.post(roleMember, path, url.Values{"ids": {strconv.FormatInt(f.issue, 10), strconv.FormatInt(f.issue2, 10)},
		"action": {"resolve"}, "back": {back}})
	wantRedirect(t, r, fmt.Sprintf("/projects/%d/issues?query=error&status=unresolved", f.web.ID))
	if got := flashOf(t, r); got != "ok: 2 issues marked resolved." {
		t.Errorf("flash %q", got)
	}
	for _, id := range []int64{f.issue, f.issue2} {
		if is, _ := f.db.GetIssue(f.ctx, store.System, id); is.Status != store.StatusResolved {
			t.Errorf("issue %d is %s", id, is.Status)
		}
	}
	// Another project's issue among the IDs is left alone.
	r = f.post(roleMember, path, url.Values{"ids": {strconv.FormatInt(f.otherIssue, 10)}, "action": {"ignore"}})
	wantRedirect(t, r, fmt.Sprintf("/projects/%d/issues", f.web.ID))
	if is, _ := f.db.GetIssue(f.ctx, store.System, f.otherIssue); is.Status != store.StatusUnresolved {
		t.Errorf("bulk change reached another project's issue: %s", is.Status)
	}
	// The back field cannot send the browser elsewhere.
	r = f.post(roleMember, path, url.Values{"ids": {strconv.FormatInt(f.issue, 10)}, "action": {"ignore"}, "back": {"//evil.example/?a=b"}})
	if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, fmt.Sprintf("/projects/%d/issues?", f.web.ID)) {
		t.Errorf("redirect to %q", loc)
	}
	tests := []struct {
		name string
		form url.Values
		msg  string
	}{
		{"nothing selected", url.Values{"action": {"resolve"}}, "Select at least one issue"},
		{"unknown action", url.Values{"action": {"explode"}, "ids": {"1"}}, "Choose resolve"},
		{"bad id", url.Values{"action": {"resolve"}, "ids": {"x"}}, "not understood"},
	}
	for _, tt := range tests {
		r := f.post(roleMember, path, tt.form)
		wantStatus(t, r, http.StatusSeeOther)
		if got := flashOf(t, r); !strings.Contains(got, tt.msg) || !strings.HasPrefix(got, "error:") {
			t.Errorf("%s: flash %q", tt.name, got)
		}
	}
}

// TestSkipLinkAndRowLabels: every page starts with a link past the
// navigation to its content, and a screen reader names an issue list's
// checkbox by the issue's title, not by an ID the page does not show.
func TestSkipLinkAndRowLabels(t *testing.T) {
	f := newFixture(t)
	is, err := f.db.GetIssue(f.ctx, store.System, f.issue)
	f.must(err)
	r := f.get(roleMember, fmt.Sprintf("/projects/%d/issues", f.web.ID))
	wantBody(t, r, `<a class="skip-link" href="#content">Skip to content</a>`, `<main class="container" id="content" tabindex="-1">`,
		fmt.Sprintf(`aria-label="Select %s"`, html.EscapeString(is.Title)))
	noBody(t, r, `aria-label="Select issue `)
	wantBody(t, f.get(roleAnon, "/login"), `<a class="skip-link" href="#content">`)
}

// TestProjectTabsHaveAHeading: every tab of a project has one h1, the
// issue list's too, so a screen reader's list of headings names the page.
func TestProjectTabsHaveAHeading(t *testing.T) {
	f := newFixture(t)
	for _, tab := range []string{"issues", "issues?query=nomatch", "feedback", "releases", "monitors", "setup", "alerts"} {
		r := f.get(roleAdmin, fmt.Sprintf("/projects/%d/%s", f.web.ID, tab))
		wantStatus(t, r, http.StatusOK)
		if n := strings.Count(r.Body, "<h1"); n != 1 {
			t.Errorf("%s: %d h1 elements, want 1", tab, n)
		}
	}
}

func TestFlashIsShownOnce(t *testing.T) {
	f := newFixture(t)
	r := f.post(roleMember, issuePath(f.issue)+"/status", url.Values{"status": {"ignored"}})
	c := cookieNamed(r, flashCookie)
	if c == nil {
		t.Fatal("no flash cookie")
	}
	page := f.do(request{role: roleMember, path: issuePath(f.issue), cookies: []*http.Cookie{c}})
	wantBody(t, page, `<div class="flash flash-ok" role="status">Issue ignored.</div>`)
	if cl := cookieNamed(page, flashCookie); cl == nil || cl.MaxAge >= 0 {
		t.Error("showing the flash did not clear it")
	}
}

// TestFlashSigned: the dashboard shows only the flash messages it signed
// for the session that reads them. Cookies are not isolated by port, and a
// sibling subdomain or a man in the middle on plain HTTP can set them, so
// an unsigned message (QA's phishing text), one with a signature that does
// not match, and one signed for another session are not shown, and are
// cleared.
func TestFlashSigned(t *testing.T) {
	f := newFixture(t)
	phish := base64.RawURLEncoding.EncodeToString([]byte("error:Your session is about to expire. Confirm your password at https://flytrap-login.example/verify"))
	r := f.post(roleOutsider, fmt.Sprintf("/issues/%d/status", f.otherIssue), url.Values{"status": {"ignored"}})
	outsiders := cookieNamed(r, flashCookie)
	if outsiders == nil {
		t.Fatal("no flash cookie")
	}
	payload, mac, _ := strings.Cut(outsiders.Value, ".")
	for name, value := range map[string]string{
		"unsigned":                     phish,
		"signature of another message": phish + "." + mac,
		"empty signature":              phish + ".",
		"signed for another session":   outsiders.Value,
		"signed with another key":      payload + "." + sign([]byte("not the key"), "flash\x00"+f.sessions[roleMember], payload),
	} {
		page := f.do(request{role: roleMember, path: "/projects", cookies: []*http.Cookie{{Name: flashCookie, Value: value}}})
		wantStatus(t, page, http.StatusOK)
		noBody(t, page, "flytrap-login.example", "Issue ignored.", `class="flash`)
		if cl := cookieNamed(page, flashCookie); cl == nil || cl.MaxAge >= 0 {
			t.Errorf("%s: the flash cookie was not cleared", name)
		}
	}
	// The outsider's own session shows it.
	page := f.do(request{role: roleOutsider, path: "/projects", cookies: []*http.Cookie{outsiders}})
	wantBody(t, page, `<div class="flash flash-ok" role="status">Issue ignored.</div>`)
	// Markup in a message is shown as text.
	r = f.post(roleAdmin, "/admin/projects", url.Values{"name": {"<script>alert(1)</script>"}})
	page = f.follow(roleAdmin, r)
	noBody(t, page, "<script>alert(1)</script>")
	wantBody(t, page, `role="status">Project &lt;script&gt;alert(1)&lt;/script&gt; created`)
}

func TestIssuePage(t *testing.T) {
	f := newFixture(t)
	firstHour := f.clock.Now().UTC().Truncate(time.Hour).Add(-23 * time.Hour)
	r := f.get(roleMember, issuePath(f.issue))
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r,
		fmt.Sprintf(`<body data-project-id="%d">`, f.web.ID),
		`<h1 class="issue-h1">TypeError: Cannot read properties of undefined (reading &#39;total&#39;)</h1>`,
		`<p class="culprit">GET /checkout</p>`,
		fmt.Sprintf(`data-live-count="issue-%d">2</span>`, f.issue),
		`<span class="level level-error">error</span>`, `<span class="status status-unresolved">Unresolved</span>`,
		fmt.Sprintf(`first seen in <a href="/projects/%d/releases/shop@1.2.3"><code>shop@<wbr>1.<wbr>2.<wbr>3</code></a>`, f.web.ID),
		// latest event first, with a link to the older one
		`Event <code class="event-id">`+f.event2+`</code>`,
		`href="/issues/`+strconv.FormatInt(f.issue, 10)+`?event=`+f.event1+`">« Oldest</a>`,
		`href="/issues/`+strconv.FormatInt(f.issue, 10)+`?event=`+f.event1+`" rel="prev">‹ Older</a>`,
		`<span class="button disabled" aria-disabled="true">Newer ›</span>`,
		// charts; the hourly one's hours machine-readable, for app.js to
		// show in the reader's zone, in UTC said so without it
		`aria-label="Events per hour in the last 24 hours: 2 events"`,
		fmt.Sprintf(`<time datetime="%s" data-hour>%s</time>`, firstHour.Format(time.RFC3339), firstHour.Format("15:04 UTC")),
		fmt.Sprintf(`<g data-hour="%s"><title>%s: 0 events</title>`, firstHour.Format(time.RFC3339), firstHour.Format("Jan 2, 15:04 UTC")),
		`aria-label="Events per day in the last 14 days: 2 events"`,
		// stack trace: in-app frame highlighted and open with its context,
		// library frames collapsed
		`<div class="frame in-app">`,
		`<details class="frame-details" open>`,
		`<span class="frame-loc">src/checkout.js:42:13</span> <span class="muted">in</span> <span class="frame-fn">submitOrder</span> <span class="badge">app</span>`,
		`<li class="current"><span class="ln">42</span><code>  return order.summary.total;</code></li>`,
		`<li><span class="ln">40</span><code>function submitOrder(cart) {</code></li>`,
		`<summary>2 library frames</summary>`,
		`<a href="https://shop.example.com/static/checkout.js" rel="noopener noreferrer nofollow">`,
		"mechanism <code>onerror</code>", "handled: no",
		// notes, breadcrumbs, request, user, context
		"no source map for checkout.js",
		// a breadcrumb's data under its message
		`<td class="wrap crumb"><div class="crumb-message">POST /api/orders</div><code class="crumb-data">{&#34;status_code&#34;:500}</code></td>`,
		`<a href="https://shop.example.com/checkout?step=2" rel="noopener noreferrer nofollow">https://shop.example.com/checkout?step=2</a>`,
		"<td><code>User-Agent</code></td>",
		"<dt>Email</dt><dd>ada@example.com</dd>", "<dt>IP hash</dt>",
		"<dt>SDK</dt><dd>sentry.javascript.browser 8.0.0</dd>", "<dt>Environment</dt><dd>production</dd>",
		// tag distribution across the issue's events
		`<h3>browser</h3>`, `>Chrome 130</a>`, `>50.0%</span>`,
		`href="/projects/`+strconv.FormatInt(f.web.ID, 10)+`/issues?query=browser%3A%22Firefox&#43;120%22&amp;status=all"`,
		// actions
		`<button type="submit" name="status" value="resolved" class="primary">Resolve</button>`,
		`<button type="submit" name="status" value="ignored">Ignore</button>`,
		`<input type="text" name="release" required maxlength="200" placeholder="shop@1.2.3">`,
		`href="/issues/`+strconv.FormatInt(f.issue, 10)+`/delete">Delete…</a>`,
	)
	// The older event, with navigation back.
	r = f.get(roleMember, issuePath(f.issue)+"?event="+f.event1)
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `Event <code class="event-id">`+f.event1+`</code>`, `rel="next">Newer ›</a>`, `>Latest »</a>`,
		`<span class="button disabled" aria-disabled="true">‹ Older</span>`)
	noBody(t, r, "Oldest")
	// UUID form and capitals are accepted.
	uuid := strings.ToUpper(f.event1[:8] + "-" + f.event1[8:12] + "-" + f.event1[12:16] + "-" + f.event1[16:20] + "-" + f.event1[20:])
	wantStatus(t, f.get(roleMember, issuePath(f.issue)+"?event="+uuid), http.StatusOK)
	// An event of another issue, a malformed or unknown ID: 404.
	for _, ev := range []string{"33333333333333333333333333333333", f.otherEvent, "zzz", "ffffffffffffffffffffffffffffffff"} {
		wantStatus(t, f.get(roleAdmin, issuePath(f.issue)+"?event="+ev), http.StatusNotFound)
	}
	// An issue without frames shows its exception all the same.
	r = f.get(roleMember, issuePath(f.issue2))
	wantBody(t, r, `<span class="exc-type">RangeError</span>`, `<p class="exc-value">invalid array length</p>`)
}

// TestIssuePageEventIDShadowing: with web's ingest key (the lower project
// ID) someone posts an event reusing billing's event ID. Billing's issue
// page still shows billing's event for ?event=, where it used to 404
// because the lookup found web's event first; web's issue shows web's.
func TestIssuePageEventIDShadowing(t *testing.T) {
	f := newFixture(t)
	fake := f.save(&event.Event{EventID: f.otherEvent, ProjectID: f.web.ID, Level: "error",
		Timestamp: now, Received: now,
		Exceptions: []event.Exception{{Type: "PhishError", Value: "call this number"}}}).IssueID
	tests := []struct {
		issue       int64
		want, avoid string
	}{
		{f.otherIssue, "secret billing data", "call this number"},
		{fake, "call this number", "secret billing data"},
	}
	for _, tt := range tests {
		r := f.get(roleAdmin, issuePath(tt.issue)+"?event="+f.otherEvent)
		wantStatus(t, r, http.StatusOK)
		wantBody(t, r, tt.want)
		if strings.Contains(r.Body, tt.avoid) {
			t.Errorf("issue %d with ?event=%s shows the other project's event %q", tt.issue, f.otherEvent, tt.avoid)
		}
	}
}

func TestIssuePageWithoutEvents(t *testing.T) {
	f := newFixture(t)
	// Retention keeps issues whose events are all gone.
	_, err := f.db.SQL().ExecContext(f.ctx, `DELETE FROM events WHERE issue_id = $1`, f.issue2)
	f.must(err)
	r := f.get(roleMember, issuePath(f.issue2))
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "removed by retention")
}

func TestIssueStatusActions(t *testing.T) {
	f := newFixture(t)
	path := issuePath(f.issue) + "/status"
	// shop@1.3.0, created before an event names it, is the latest release.
	_, err := f.db.CreateRelease(f.ctx, store.System, f.web.ID, "shop@1.3.0", time.Now())
	f.must(err)
	tests := []struct {
		name       string
		form       url.Values
		wantStatus string
		release    string
		flash      string
	}{
		{"resolve", url.Values{"status": {"resolved"}}, "resolved", "", "ok: Issue resolved."},
		{"unresolve", url.Values{"status": {"unresolved"}}, "unresolved", "", "ok: Issue marked unresolved."},
		{"resolve in an unknown release", url.Values{"status": {"resolved"}, "in_release": {"1"}, "release": {"shop@1.3.1"}}, "unresolved", "",
			"error: No release shop@1.3.1 in project web: check the name on the project's Releases page, or create the release first (flytrap releases new -p web shop@1.3.1)."},
		{"resolve in release", url.Values{"status": {"resolved"}, "in_release": {"1"}, "release": {" shop@1.3.0 "}}, "resolved", "shop@1.3.0", "ok: Issue resolved in release shop@1.3.0."},
		{"resolve in the next release", url.Values{"status": {"resolved"}, "in_release": {"next"}, "release": {""}}, "resolved", "", "ok: Issue resolved in the next release (after shop@1.3.0)."},
		{"resolve in the current release", url.Values{"status": {"resolved"}, "in_release": {"latest"}, "release": {""}}, "resolved", "shop@1.3.0", "ok: Issue resolved in release shop@1.3.0."},
		{"resolve in latest typed", url.Values{"status": {"resolved"}, "in_release": {"1"}, "release": {"latest"}}, "resolved", "shop@1.3.0", "ok: Issue resolved in release shop@1.3.0."},
		{"ignore clears the release", url.Values{"status": {"ignored"}, "release": {"x"}}, "ignored", "", "ok: Issue ignored."},
		{"resolve in release needs one", url.Values{"status": {"resolved"}, "in_release": {"1"}, "release": {"  "}}, "ignored", "", "error: Enter the release"},
		{"release too long", url.Values{"status": {"resolved"}, "release": {strings.Repeat("r", 201)}}, "ignored", "", "error: That release name is not valid"},
		{"resolve in Latest", url.Values{"status": {"resolved"}, "in_release": {"1"}, "release": {"Latest"}}, "ignored", "",
			`error: "Latest" is a reserved word in searches (the newest release), not a release name: give the release's version, e.g. shop@1.2.3.`},
		{"unknown status", url.Values{"status": {"deleted"}}, "ignored", "", "error: Choose resolve"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.form.Set("event", f.event1)
			r := f.post(roleMember, path, tt.form)
			wantRedirect(t, r, issuePath(f.issue)+"?event="+f.event1)
			if got := flashOf(t, r); !strings.HasPrefix(got, tt.flash) {
				t.Errorf("flash %q, want %q", got, tt.flash)
			}
			is, err := f.db.GetIssue(f.ctx, store.System, f.issue)
			f.must(err)
			if is.Status != tt.wantStatus || is.ResolvedInRelease != tt.release {
				t.Errorf("issue is %s in %q, want %s in %q", is.Status, is.ResolvedInRelease, tt.wantStatus, tt.release)
			}
		})
	}
	// The popover offers the next and the current release in one click.
	wantBody(t, f.get(roleMember, issuePath(f.issue)), `<button type="submit" name="in_release" value="next" formnovalidate>The next release</button>`,
		`<button type="submit" name="in_release" value="latest" formnovalidate>The current release (<code>shop@1.3.0</code>)</button>`)
	// A resolved issue offers Unresolve, not Resolve.
	f.post(roleMember, path, url.Values{"status": {"resolved"}})
	r := f.get(roleMember, issuePath(f.issue))
	wantBody(t, r, `value="unresolved">Unresolve</button>`)
	noBody(t, r, `value="resolved" class="primary">Resolve</button>`)
}

// TestResolveInUnknownRelease: a release the project does not have is
// refused, its name escaped on the issue page that says so, and is not
// created.
func TestResolveInUnknownRelease(t *testing.T) {
	f := newFixture(t)
	release := `shop@<img src=x onerror=alert(1)>`
	r := f.post(roleMember, issuePath(f.issue)+"/status", url.Values{"status": {"resolved"}, "in_release": {"1"}, "release": {release}})
	wantRedirect(t, r, issuePath(f.issue))
	page := f.follow(roleMember, r)
	wantStatus(t, page, http.StatusOK)
	wantBody(t, page, "No release shop@&lt;img src=x onerror=alert(1)&gt; in project web")
	noBody(t, page, "<img src=x")
	if _, err := f.db.GetRelease(f.ctx, store.System, f.web.ID, release); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRelease of the refused release: %v, want ErrNotFound", err)
	}
}

// TestResolveInReleaseWithoutReleases: a project without a release offers
// neither the next nor the current release, and a form naming either is
// refused with why, changing nothing.
func TestResolveInReleaseWithoutReleases(t *testing.T) {
	f := newFixture(t)
	r := f.get(roleAdmin, issuePath(f.otherIssue))
	wantBody(t, r, "The next and the current release are offered once the project has a release.")
	noBody(t, r, `value="next"`, `value="latest"`)
	for choice, want := range map[string]string{
		"next":   "error: The next release is the one after the project's latest, and the project has no release yet",
		"latest": `error: "latest" names the project's latest release, and the project has no release yet`,
	} {
		r := f.post(roleAdmin, issuePath(f.otherIssue)+"/status", url.Values{"status": {"resolved"}, "in_release": {choice}})
		if got := flashOf(t, r); !strings.HasPrefix(got, want) {
			t.Errorf("resolve in %s without releases: flash %q, want %q", choice, got, want)
		}
	}
	if is, err := f.db.GetIssue(f.ctx, store.System, f.otherIssue); err != nil || is.Status != store.StatusUnresolved {
		t.Errorf("issue after refused resolves: %+v, %v", is, err)
	}
}

func TestDeleteIssue(t *testing.T) {
	f := newFixture(t)
	r := f.get(roleMember, issuePath(f.issue)+"/delete")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "Delete this issue?", "all its events (<span data-live-count=\"issue-"+strconv.FormatInt(f.issue, 10)+"\">2</span>)", `<button type="submit" class="danger">Delete issue</button>`)
	// The confirmation page only asks; the issue is still there.
	if _, err := f.db.GetIssue(f.ctx, store.System, f.issue); err != nil {
		t.Fatal(err)
	}
	r = f.post(roleMember, issuePath(f.issue)+"/delete", nil)
	wantRedirect(t, r, fmt.Sprintf("/projects/%d/issues", f.web.ID))
	if _, err := f.db.GetIssue(f.ctx, store.System, f.issue); err == nil {
		t.Error("issue still exists")
	}
	wantStatus(t, f.get(roleMember, issuePath(f.issue)), http.StatusNotFound)
}

func TestAdminUsers(t *testing.T) {
	f := newFixture(t)
	r := f.get(roleAdmin, "/admin/users")
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "member@example.com", "outsider@example.com", `<span class="badge">you</span>`)

	// Create: validated, then the user can sign in.
	bad := []struct {
		form url.Values
		msg  string
	}{
		{url.Values{"email": {"not an email"}, "password": {"long enough"}, "role": {"member"}}, "Enter an email address"},
		{url.Values{"email": {"new@example.com"}, "password": {"short"}, "role": {"member"}}, "8 to 1024 characters"},
		{url.Values{"email": {"new@example.com"}, "password": {"long enough"}, "role": {"owner"}}, "Choose the role"},
		{url.Values{"email": {"MEMBER@example.com"}, "password": {"long enough"}, "role": {"member"}}, "already exists"},
	}
	for _, b := range bad {
		r := f.post(roleAdmin, "/admin/users", b.form)
		wantStatus(t, r, http.StatusBadRequest)
		wantBody(t, r, b.msg)
	}
	r = f.post(roleAdmin, "/admin/users", url.Values{"email": {"new@example.com"}, "password": {"long enough"}, "role": {"member"}})
	wantRedirect(t, r, "/admin/users")
	wantRedirect(t, f.login("new@example.com", "long enough", "192.0.2.1:1", nil), "/projects")
	u, err := f.db.UserByEmail(f.ctx, "new@example.com")
	f.must(err)

	// Role changes.
	r = f.post(roleAdmin, fmt.Sprintf("/admin/users/%d/role", u.ID), url.Values{"role": {"admin"}})
	wantRedirect(t, r, "/admin/users")
	if u, _ = f.db.UserByID(f.ctx, u.ID); u.Role != store.RoleAdmin {
		t.Errorf("role %s", u.Role)
	}
	r = f.post(roleAdmin, fmt.Sprintf("/admin/users/%d/role", u.ID), url.Values{"role": {"root"}})
	if got := flashOf(t, r); !strings.HasPrefix(got, "error:") {
		t.Errorf("bad role flash %q", got)
	}
	// The last admin stays an admin: demote the new admin, then try
	// the fixture's admin.
	f.post(roleAdmin, fmt.Sprintf("/admin/users/%d/role", u.ID), url.Values{"role": {"member"}})
	r = f.post(roleAdmin, fmt.Sprintf("/admin/users/%d/role", f.admin.ID), url.Values{"role": {"member"}})
	if got := flashOf(t, r); !strings.Contains(got, "last admin") {
		t.Errorf("demoting the last admin: flash %q", got)
	}

	// Removal, never of oneself.
	r = f.post(roleAdmin, fmt.Sprintf("/admin/users/%d/delete", f.admin.ID), nil)
	if got := flashOf(t, r); !strings.Contains(got, "cannot remove your own") {
		t.Errorf("self-removal flash %q", got)
	}
	r = f.post(roleAdmin, fmt.Sprintf("/admin/users/%d/delete", f.member.ID), nil)
	wantRedirect(t, r, "/admin/users")
	if _, err := f.db.UserByID(f.ctx, f.member.ID); err == nil {
		t.Error("member still exists")
	}
	// Their session ended with them.
	wantRedirect(t, f.get(roleMember, "/projects"), "/login")
	wantStatus(t, f.post(roleAdmin, "/admin/users/99999/delete", nil), http.StatusNotFound)
}

func TestAdminProjects(t *testing.T) {
	f := newFixture(t)
	wantBody(t, f.get(roleAdmin, "/admin/projects"), ">web</a>", ">billing</a>", `aria-current="page">Manage projects</a>`)
	// A project's settings are one of its tabs: the top bar says Projects
	// there, as on its other tabs, for admins and the project's admins.
	for _, role := range []string{roleAdmin, roleLead} {
		r := f.get(role, fmt.Sprintf("/admin/projects/%d", f.web.ID))
		wantBody(t, r, `<a href="/projects" aria-current="page">Projects</a>`, `aria-current="page">Settings</a>`)
		noBody(t, r, `aria-current="page">Manage projects</a>`)
	}

	for _, bad := range []struct{ name, msg string }{{"", "Enter a project name"}, {"web", "already exists"}, {strings.Repeat("x", 101), "at most 100"}, {"a\x01b", "control characters"}} {
		r := f.post(roleAdmin, "/admin/projects", url.Values{"name": {bad.name}})
		wantStatus(t, r, http.StatusBadRequest)
		wantBody(t, r, bad.msg)
	}
	r := f.post(roleAdmin, "/admin/projects", url.Values{"name": {"mobile"}})
	wantRedirect(t, r, "/admin/projects/")
	id, _ := strconv.ParseInt(strings.TrimPrefix(r.Header.Get("Location"), "/admin/projects/"), 10, 64)
	keys, err := f.db.ProjectKeys(f.ctx, store.System, id)
	f.must(err)
	if len(keys) != 1 || !keys[0].Active {
		t.Fatalf("new project keys %+v, want one active key", keys)
	}
	// The creator is the new project's admin member, as over the API.
	members, err := f.db.ListMembers(f.ctx, store.System, id)
	f.must(err)
	if len(members) != 1 || members[0].UserID != f.admin.ID || members[0].Role != store.RoleAdmin {
		t.Fatalf("new project members %+v, want the creating admin as admin", members)
	}
	page := fmt.Sprintf("/admin/projects/%d", id)
	wantBody(t, f.get(roleAdmin, page), keys[0].PublicKey)

	// Members: the member gains and loses the project.
	mobileIssues := fmt.Sprintf("/projects/%d/issues", id)
	wantStatus(t, f.get(roleMember, mobileIssues), http.StatusNotFound)
	r = f.post(roleAdmin, page+"/members", url.Values{"user_id": {strconv.FormatInt(f.member.ID, 10)}, "role": {"member"}})
	wantRedirect(t, r, page)
	wantStatus(t, f.get(roleMember, mobileIssues), http.StatusOK)
	wantBody(t, f.get(roleAdmin, page), "member@example.com")
	r = f.post(roleAdmin, page+"/members", url.Values{"user_id": {"x"}, "role": {"member"}})
	if got := flashOf(t, r); !strings.HasPrefix(got, "error: Choose a user") {
		t.Errorf("bad member flash %q", got)
	}
	wantStatus(t, f.post(roleAdmin, page+"/members", url.Values{"user_id": {"99999"}, "role": {"member"}}), http.StatusNotFound)
	// Remove asks first, as deleting an issue does: the settings page
	// links to a page whose form removes; asking changes nothing.
	remove := fmt.Sprintf("%s/members/%d/remove", page, f.member.ID)
	r = f.get(roleAdmin, page)
	wantBody(t, r, `<a class="danger-text" href="`+remove+`">Remove…</a>`)
	noBody(t, r, `action="`+remove+`"`)
	r = f.get(roleAdmin, remove)
	wantBody(t, r, "Remove this member?", "<strong>member@example.com</strong>", `<form method="post" action="`+remove+`"`, `href="`+page+`">Cancel</a>`)
	wantStatus(t, f.get(roleMember, mobileIssues), http.StatusOK)
	wantStatus(t, f.get(roleAdmin, fmt.Sprintf("%s/members/%d/remove", page, f.outsider.ID)), http.StatusNotFound)
	r = f.post(roleAdmin, remove, nil)
	wantRedirect(t, r, page)
	wantStatus(t, f.get(roleMember, mobileIssues), http.StatusNotFound)

	// Key rotation: a new active key, the old one revoked.
	r = f.post(roleAdmin, page+"/keys/rotate", nil)
	wantRedirect(t, r, page)
	after, err := f.db.ProjectKeys(f.ctx, store.System, id)
	f.must(err)
	if len(after) != 2 || after[0].Active || !after[1].Active {
		t.Fatalf("keys after rotation %+v", after)
	}
	wantBody(t, f.get(roleAdmin, fmt.Sprintf("/projects/%d/setup", id)), after[1].PublicKey)

	// Rename.
	r = f.post(roleAdmin, page+"/rename", url.Values{"name": {"billing"}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, "already exists")
	wantRedirect(t, f.post(roleAdmin, page+"/rename", url.Values{"name": {"mobile app"}}), page)
	if p, _ := f.db.GetProject(f.ctx, store.System, id); p.Name != "mobile app" {
		t.Errorf("name %q", p.Name)
	}

	// Data privacy: on by default, then changed through the form.
	wantBody(t, f.get(roleAdmin, page), `name="scrubbing" checked`, "Save privacy settings")
	r = f.post(roleAdmin, page+"/privacy", url.Values{"sensitive_fields": {"iban\r\norder_ref, vat_id"}, "safe_fields": {"session_id"}, "drop_ip_addresses": {"on"}})
	wantRedirect(t, r, page)
	want := store.PrivacySettings{SensitiveFields: []string{"iban", "order_ref", "vat_id"}, SafeFields: []string{"session_id"}, DropIPAddresses: true}
	if got, err := f.db.ProjectPrivacy(f.ctx, store.System, id); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("privacy settings = %+v, %v; want %+v", got, err, want)
	}
	body := f.get(roleAdmin, page).Body
	if strings.Contains(body, `name="scrubbing" checked`) || !strings.Contains(body, `name="drop_ip_addresses" checked`) ||
		!strings.Contains(body, "iban\norder_ref\nvat_id\n</textarea>") {
		t.Errorf("settings page does not show the saved settings:\n%s", body)
	}
	r = f.post(roleAdmin, page+"/privacy", url.Values{"scrubbing": {"on"}, "safe_fields": {strings.Repeat("x", store.MaxPrivacyFieldLen+1)}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, "at most 100 characters")
	if got, _ := f.db.ProjectPrivacy(f.ctx, store.System, id); !reflect.DeepEqual(got, want) {
		t.Errorf("refused settings were saved: %+v", got)
	}

	// Inbound filters: Sentry's defaults but legacy browsers, then changed
	// through the form;
	// a pattern that is no glob is refused and shown back, escaped; the
	// last day's counts by reason.
	wantBody(t, f.get(roleAdmin, page), `name="browser_extensions" checked`, `name="web_crawlers" checked`, "Filtered in the last 24 h: none.",
		`name="legacy_browsers" value="chrome"> Chrome 110 and lower`, `name="legacy_browsers" value="ie">`,
		`name="legacy_browsers" value="default">`)
	r = f.post(roleAdmin, page+"/filters", url.Values{"localhost": {"on"}, "legacy_browsers": {"ie", "safari"},
		"error_messages": {"*ResizeObserver loop*\r\n*invariant={418,419}*"}, "releases": {"1.2.*"}})
	wantRedirect(t, r, page)
	wantFilters := inbound.Settings{Localhost: true, LegacyBrowsers: []string{inbound.LegacySafari, inbound.LegacyIE},
		ErrorMessages: []string{"*ResizeObserver loop*", "*invariant={418,419}*"}, Releases: []string{"1.2.*"}}
	if got, err := f.db.ProjectFilters(f.ctx, store.System, id); err != nil || !reflect.DeepEqual(got, wantFilters) {
		t.Errorf("filters = %+v, %v; want %+v", got, err, wantFilters)
	}
	r = f.post(roleAdmin, page+"/filters", url.Values{"releases": {"<b>[1.2"}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `releases: invalid pattern: &#34;&lt;b&gt;[1.2&#34;: [ without ].`, "&lt;b&gt;[1.2\n</textarea>")
	r = f.post(roleAdmin, page+"/filters", url.Values{"legacy_browsers": {"<b>netscape"}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, `legacy_browsers: &#34;&lt;b&gt;netscape&#34; is not one of`)
	if got, _ := f.db.ProjectFilters(f.ctx, store.System, id); !reflect.DeepEqual(got, wantFilters) {
		t.Errorf("refused filters were saved: %+v", got)
	}
	f.must(f.db.CountFiltered(f.ctx, []store.Filtered{{ProjectID: id, EventID: "crawler1", Reason: inbound.ReasonWebCrawlers, At: time.Now()},
		{ProjectID: id, EventID: "crawler2", Reason: inbound.ReasonWebCrawlers, At: time.Now()},
		{ProjectID: id, EventID: "extension", Reason: inbound.ReasonBrowserExtensions, At: time.Now()}}))
	body = f.get(roleAdmin, page).Body
	if !strings.Contains(body, "Filtered in the last 24 h: 1 browser extensions, 2 web crawlers.") || strings.Contains(body, `name="web_crawlers" checked`) ||
		!strings.Contains(body, `name="localhost" checked`) || !strings.Contains(body, "*invariant={418,419}*\n</textarea>") ||
		!strings.Contains(body, `value="safari" checked>`) || strings.Contains(body, `value="chrome" checked>`) {
		t.Errorf("settings page does not show the saved filters and counts:\n%s", body)
	}

	// Rate limit: the server's by default, then the project's own, none,
	// and the server's again; a number that is no limit is refused and
	// shown back, escaped.
	wantBody(t, f.get(roleAdmin, page), `name="mode" value="default" checked`, "Save rate limit")
	for _, tt := range []struct {
		form url.Values
		want int
		page string
	}{
		{url.Values{"mode": {"custom"}, "per_minute": {" 120 "}}, 120, `name="per_minute" value="120"`},
		{url.Values{"mode": {"none"}, "per_minute": {"120"}}, store.RateLimitNone, `name="mode" value="none" checked`},
		{url.Values{"mode": {"default"}}, store.RateLimitDefault, `name="mode" value="default" checked`},
	} {
		wantRedirect(t, f.post(roleAdmin, page+"/rate-limit", tt.form), page)
		if got, err := f.db.ProjectRateLimit(f.ctx, store.System, id); err != nil || got != tt.want {
			t.Errorf("rate limit after posting %v = %d, %v; want %d", tt.form, got, err, tt.want)
		}
		wantBody(t, f.get(roleAdmin, page), tt.page)
	}
	for _, bad := range []url.Values{
		{"mode": {"custom"}, "per_minute": {"0"}},
		{"mode": {"custom"}, "per_minute": {"1000001"}},
		{"mode": {"custom"}, "per_minute": {`"><b>fast`}},
		{"mode": {"custom"}},
		{"mode": {"fast"}},
	} {
		r = f.post(roleAdmin, page+"/rate-limit", bad)
		wantStatus(t, r, http.StatusBadRequest)
		wantBody(t, r, "Enter a whole number of events per minute from 1 to 1000000", `name="mode" value="custom"`)
		if strings.Contains(r.Body, "<b>fast") {
			t.Errorf("the refused limit %q is shown unescaped", bad.Get("per_minute"))
		}
		if got, _ := f.db.ProjectRateLimit(f.ctx, store.System, id); got != store.RateLimitDefault {
			t.Errorf("the refused form %v saved %d", bad, got)
		}
	}
	if body := f.post(roleAdmin, page+"/rate-limit", url.Values{"mode": {"custom"}, "per_minute": {"0"}}).Body; !strings.Contains(body, `name="mode" value="custom" checked`) || !strings.Contains(body, `name="per_minute" value="0"`) {
		t.Errorf("a refused limit is not shown back as entered:\n%s", body)
	}
	// A project's own admin sees the limit but may not change it: the
	// server's limit is the operator's.
	webPage := fmt.Sprintf("/admin/projects/%d", f.web.ID)
	if err := f.db.SetProjectRateLimit(f.ctx, store.System, f.web.ID, 120); err != nil {
		t.Fatal(err)
	}
	lead := f.get(roleLead, webPage)
	wantBody(t, lead, "At most 120 events per minute.", "Only admins of this Flytrap server change it")
	if strings.Contains(lead.Body, "/rate-limit") {
		t.Errorf("a project's admin is shown the rate limit form")
	}
	// Refused as the delete form is, as a page that is not there.
	wantStatus(t, f.post(roleLead, webPage+"/rate-limit", url.Values{"mode": {"none"}}), http.StatusNotFound)
	if got, _ := f.db.ProjectRateLimit(f.ctx, store.System, f.web.ID); got != 120 {
		t.Errorf("a project's admin changed the rate limit to %d", got)
	}

	// Delete needs the name typed exactly.
	r = f.post(roleAdmin, page+"/delete", url.Values{"confirm": {"mobile"}})
	wantStatus(t, r, http.StatusBadRequest)
	wantBody(t, r, "Type the project")
	wantRedirect(t, f.post(roleAdmin, page+"/delete", url.Values{"confirm": {"mobile app"}}), "/admin/projects")
	wantStatus(t, f.get(roleAdmin, page), http.StatusNotFound)
}

func TestStaticFiles(t *testing.T) {
	f := newFixture(t)
	for _, p := range []string{"/static/app.css", "/static/app.js"} {
		r := f.get(roleAnon, p)
		wantStatus(t, r, http.StatusOK)
		if r.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("%s Cache-Control %q", p, r.Header.Get("Cache-Control"))
		}
	}
	wantStatus(t, f.get(roleAnon, "/static/"), http.StatusNotFound)
	// Only the static folder is served, never the templates beside it.
	for _, p := range []string{"/static/../dashboard/layout.html", "/static/%2e%2e/dashboard/layout.html", "/static/../snippets/go.go.tmpl"} {
		if r := f.get(roleAnon, p); r.StatusCode == http.StatusOK || strings.Contains(r.Body, "{{") {
			t.Errorf("%s: HTTP %d serves a template", p, r.StatusCode)
		}
	}
	wantStatus(t, f.get(roleAnon, "/static/nope.js"), http.StatusNotFound)
	// Browsers ask for /favicon.ico on their own.
	r := f.get(roleAnon, "/favicon.ico")
	wantStatus(t, r, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); ct != "image/vnd.microsoft.icon" && ct != "image/x-icon" {
		t.Errorf("/favicon.ico Content-Type %q", ct)
	}
	if !strings.HasPrefix(r.Body, "\x00\x00\x01\x00") {
		t.Errorf("/favicon.ico is not an icon: % x", r.Body[:min(len(r.Body), 8)])
	}
}

func TestUnknownPages(t *testing.T) {
	f := newFixture(t)
	for _, p := range []string{"/nope", "/projects/abc/issues", "/projects/0/setup", "/issues/-1", "/issues/99999"} {
		r := f.get(roleMember, p)
		wantStatus(t, r, http.StatusNotFound)
		wantBody(t, r, "Page not found")
	}
}

// TestSentryCLILoginPage: `sentry-cli login` opens Sentry's token page, by
// its path with ":orgslug" in it, which leads to Flytrap's; one signed out
// signs in first and comes back to it.
func TestSentryCLILoginPage(t *testing.T) {
	f := newFixture(t)
	const path = "/orgredirect/organizations/:orgslug/settings/auth-tokens/"
	r := f.get(roleMember, path)
	wantStatus(t, r, http.StatusSeeOther)
	if got := r.Header.Get("Location"); got != "/account/tokens" {
		t.Errorf("Location = %q, want /account/tokens", got)
	}
	r = f.get(roleAnon, "/account/tokens")
	wantStatus(t, r, http.StatusSeeOther)
	if got := r.Header.Get("Location"); !strings.HasPrefix(got, "/login") || !strings.Contains(got, url.QueryEscape("/account/tokens")) {
		t.Errorf("signed out: Location = %q, want the login page coming back to the tokens", got)
	}
}

// TestReleasePages: a project's releases with their figures, and a
// release's deploys and commits, as sentry-cli recorded them.
func TestReleasePages(t *testing.T) {
	f := newFixture(t)
	const version = "shop@1.2.3"
	_, err := f.db.SetReleaseDate(f.ctx, store.System, f.web.ID, version, now.Add(-30*time.Minute))
	f.must(err)
	_, err = f.db.CreateDeploy(f.ctx, store.System, store.Deploy{ProjectID: f.web.ID, Version: version, Environment: "production",
		Name: "canary", URL: "https://ci.example.com/42", DateStarted: now.Add(-25 * time.Minute), DateFinished: now.Add(-20 * time.Minute)}, now)
	f.must(err)
	f.must(f.db.SetReleaseCommits(f.ctx, store.System, f.web.ID, version, []store.Commit{
		{ID: "4b08546bc7f0", Repository: "acme/shop", Message: "Fix the checkout", AuthorName: "Ann", AuthorEmail: "ann@example.com", Timestamp: now.Add(-time.Hour)},
		{ID: "001ee456a11a", Repository: "acme/shop"},
	}))

	r := f.get(roleMember, fmt.Sprintf("/projects/%d/releases", f.web.ID))
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `aria-current="page">Releases</a>`,
		fmt.Sprintf(`<a href="/projects/%d/releases/shop@1.2.3"><code>shop@1.2.3</code></a>`, f.web.ID),
		`<time datetime="2026-`, `title="`, "30 min ago", // released
		`<td class="right">1</td>`,       // one issue first seen in it
		"production <time", "20 min ago", // the last deploy
		`<td class="right">2</td>`) // commits

	r = f.get(roleMember, fmt.Sprintf("/projects/%d/releases/%s", f.web.ID, url.PathEscape(version)))
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, "Release <code>shop@<wbr>1.<wbr>2.<wbr>3</code>", "Released <time",
		`<a href="https://ci.example.com/42" rel="noopener noreferrer nofollow">canary</a>`, "25 min ago",
		"<code title=\"4b08546bc7f0\">4b08546bc7f0</code>", "Fix the checkout", `Ann <span class="muted">&lt;ann@example.com&gt;</span>`,
		fmt.Sprintf(`href="/projects/%d/issues?release=shop%%401.2.3&amp;status=all"`, f.web.ID))
	// An unknown release is a 404.
	wantStatus(t, f.get(roleMember, fmt.Sprintf("/projects/%d/releases/nope", f.web.ID)), http.StatusNotFound)
	// A release without deploys or commits says how to record them.
	_, err = f.db.CreateRelease(f.ctx, store.System, f.web.ID, "2.0", now)
	f.must(err)
	r = f.get(roleMember, fmt.Sprintf("/projects/%d/releases/2.0", f.web.ID))
	wantBody(t, r, "Not finalized", "No deploys", "No commits")
	// A version with a slash, which ingest now drops but an older
	// Flytrap stored, is one path segment, escaped in the link.
	f.save(&event.Event{EventID: fmt.Sprintf("%032x", 0xf00), ProjectID: f.web.ID, Level: "error", Release: "feature/x",
		Message: "from before release names were checked", Timestamp: now, Received: now})
	r = f.get(roleMember, fmt.Sprintf("/projects/%d/releases", f.web.ID))
	wantBody(t, r, fmt.Sprintf(`href="/projects/%d/releases/feature%%2Fx"`, f.web.ID),
		// A release not finalized, such as one its events named, is
		// dated by when it was first seen.
		fmt.Sprintf(`first seen</span> <time datetime="%s"`, now.UTC().Format(time.RFC3339)))
	noBody(t, r, "unreleased")
	wantBody(t, f.get(roleMember, fmt.Sprintf("/projects/%d/releases/feature%%2Fx", f.web.ID)), "Release <code>feature/<wbr>x</code>")
}

// TestReleaseHealthPages: the releases page shows each release's
// crash-free sessions and users of the last 14 days, and a release page
// its health by environment.
func TestReleaseHealthPages(t *testing.T) {
	f := newFixture(t)
	var ups []event.SessionUpdate
	for i := range 8 {
		env := "production"
		if i >= 6 {
			env = "staging"
		}
		u := event.SessionUpdate{Release: "shop@1.2.3", Environment: env, Started: now.Add(-time.Hour), SID: fmt.Sprint("s", i),
			DID: fmt.Sprint("u", i%4), Init: true, Status: event.SessionExited}
		if i == 0 {
			u.Status, u.Errored = event.SessionCrashed, true
		}
		if i == 1 {
			u.Errored = true
		}
		ups = append(ups, u)
	}
	_, err := f.db.SaveSessions(f.ctx, []store.SessionsRequest{{Event: &event.Event{EventID: "m1", ProjectID: f.web.ID,
		Received: now, Level: "info", SessionsOnly: true, Sessions: &event.Sessions{Updates: ups}}}})
	f.must(err)
	_, err = f.db.CreateRelease(f.ctx, store.System, f.web.ID, "2.0", now)
	f.must(err)

	// 8 sessions, 1 crashed: 87.50%; users u0 to u3, u0 crashed: 75.00%.
	r := f.get(roleMember, fmt.Sprintf("/projects/%d/releases", f.web.ID))
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `<th class="right">Crash-free sessions</th>`,
		`<td class="right" title="8 sessions, 1 crashed">87.50%</td>`,
		`<td class="right" title="4 users, 1 with a crash">75.00%</td>`,
		`<td class="right muted" title="no sessions in the last 14 days">-</td>`) // 2.0

	r = f.get(roleMember, fmt.Sprintf("/projects/%d/releases/%s", f.web.ID, url.PathEscape("shop@1.2.3")))
	wantStatus(t, r, http.StatusOK)
	wantBody(t, r, `<span class="stat-num">87.50%</span><span class="stat-label">crash-free sessions</span>`,
		"<td>production</td>\n        <td class=\"right\">6</td>\n        <td class=\"right\">83.33%</td>\n        <td class=\"right\">75.00%</td>\n        <td class=\"right\">4</td>\n        <td class=\"right\">1</td>\n        <td class=\"right\">1</td>",
		"<td>staging</td>\n        <td class=\"right\">2</td>\n        <td class=\"right\">100.00%</td>")
	wantBody(t, f.get(roleMember, fmt.Sprintf("/projects/%d/releases/2.0", f.web.ID)), "No sessions in the last 14 days")
}

// TestEnvironmentScopesIssueFigures: filtered by an environment, the issue
// list and the issue page show each issue's events, users, first and last
// seen and charts there, and the list's links open the issue so.
func TestEnvironmentScopesIssueFigures(t *testing.T) {
	f := newFixture(t)
	// f.issue has two events in production, an hour and three hours ago,
	// by u-42; one more in staging five hours ago, by u-7.
	staging := sampleEvent(f.web.ID, "55555555555555555555555555555555", now.Add(-5*time.Hour))
	staging.Environment, staging.User = "staging", &event.User{ID: "u-7"}
	f.save(staging)
	stat := func(n, label string) string {
		return `<span class="stat-num">` + n + `</span><span class="stat-label">` + label + `</span>`
	}
	seen := func(ago time.Duration) string {
		return `<time datetime="` + now.Add(-ago).Format(time.RFC3339) + `"`
	}
	// statSeen is a first or last seen time of the issue page's figures.
	statSeen := func(ago time.Duration) string { return `<span class="stat-num">` + seen(ago) }
	chart := func(n string) string { return `aria-label="Events per hour in the last 24 hours: ` + n + `"` }
	list := fmt.Sprintf("/projects/%d/issues?status=all", f.web.ID)
	issue := issuePath(f.issue)
	for _, tt := range []struct {
		name, path string
		want, not  []string
	}{
		{"list", list, []string{
			fmt.Sprintf(`<a class="issue-title" href="/issues/%d">`, f.issue),
			fmt.Sprintf(`data-live-count="issue-%d">3</span></td>`, f.issue) + "\n" + `        <td class="num" data-label="Users">2</td>`,
		}, []string{"data-live-env"}},
		{"list in staging", list + "&environment=staging", []string{
			fmt.Sprintf(`<a class="issue-title" href="/issues/%d?environment=staging">`, f.issue),
			fmt.Sprintf(`data-live-count="issue-%d" data-live-env="staging">1</span></td>`, f.issue) + "\n" + `        <td class="num" data-label="Users">1</td>`,
			seen(5 * time.Hour),
		}, []string{seen(time.Hour), seen(3 * time.Hour)}},
		{"list in production by a search term", list + "&query=env:production", []string{
			fmt.Sprintf(`<a class="issue-title" href="/issues/%d?environment=production">`, f.issue),
			fmt.Sprintf(`data-live-count="issue-%d" data-live-env="production">2</span></td>`, f.issue) + "\n" + `        <td class="num" data-label="Users">1</td>`,
			seen(time.Hour), seen(3 * time.Hour),
		}, []string{seen(5 * time.Hour)}},
		{"issue", issue, []string{
			fmt.Sprintf(`data-live-count="issue-%d">3</span>`, f.issue), stat("2", "users"),
			statSeen(5 * time.Hour), statSeen(time.Hour), chart("3 events"), fmt.Sprintf(`first seen in <a href="/projects/%d/releases/shop@1.2.3"><code>shop@<wbr>1.<wbr>2.<wbr>3</code></a>`, f.web.ID),
		}, []string{"environment-scope"}},
		{"issue in staging", issue + "?environment=staging", []string{
			`Events in environment <code>staging</code> only · <a href="` + issue + `">All environments</a>`,
			fmt.Sprintf(`data-live-count="issue-%d" data-live-env="staging">1</span>`, f.issue), stat("1", "users"),
			statSeen(5 * time.Hour), chart("1 event"),
			fmt.Sprintf(`href="/projects/%d/issues?environment=staging"`, f.web.ID),
			`<input type="hidden" name="environment" value="staging">`,
		}, []string{statSeen(time.Hour), statSeen(3 * time.Hour), "first seen in"}},
		{"issue in production", issue + "?environment=production", []string{
			fmt.Sprintf(`data-live-count="issue-%d" data-live-env="production">2</span>`, f.issue), stat("1", "users"),
			statSeen(3 * time.Hour), statSeen(time.Hour), chart("2 events"),
			// The older event, still of this environment's figures.
			fmt.Sprintf(`href="/issues/%d?environment=production&amp;event=%s" rel="prev"`, f.issue, f.event1),
		}, []string{statSeen(5 * time.Hour)}},
		{"issue in an environment without its events", issue + "?environment=development", []string{
			fmt.Sprintf(`data-live-count="issue-%d" data-live-env="development">0</span>`, f.issue), stat("0", "users"),
			stat("—", "first seen"), chart("0 events"),
		}, []string{statSeen(5 * time.Hour), statSeen(time.Hour)}},
		{"issue in an environment named with markup", issue + "?environment=" + url.QueryEscape(`<b>x</b>"`), []string{
			`Events in environment <code>&lt;b&gt;x&lt;/b&gt;&#34;</code> only`,
		}, []string{"<b>x</b>"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := f.get(roleMember, tt.path)
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, tt.want...)
			noBody(t, r, tt.not...)
		})
	}
	// Resolving from the page scoped to staging comes back to it so.
	r := f.post(roleMember, issue+"/status", url.Values{"status": {"resolved"}, "event": {f.event1}, "environment": {"staging"}})
	wantRedirect(t, r, issue+"?environment=staging&event="+f.event1)
}

// TestEnvironmentScopesIssueEvents: filtered by an environment, the issue
// page shows the newest of the issue's events there, its Older and Newer
// links step through those events only, and an issue without events
// there shows an empty state, never another environment's event (QA:
// production filtered, the newer staging event was shown and stepped to).
func TestEnvironmentScopesIssueEvents(t *testing.T) {
	f := newFixture(t)
	// f.issue's production events are event1 (3h ago) and event2 (1h
	// ago); staging adds the oldest and the newest.
	const oldStaging, newStaging = "55555555555555555555555555555555", "66666666666666666666666666666666"
	for id, ago := range map[string]time.Duration{oldStaging: 5 * time.Hour, newStaging: 30 * time.Minute} {
		ev := sampleEvent(f.web.ID, id, now.Add(-ago))
		ev.Environment = "staging"
		f.save(ev)
	}
	shown := func(id string) string { return `<code class="event-id">` + id + `</code>` }
	at := func(env, id, rel string) string {
		return fmt.Sprintf(`href="/issues/%d?environment=%s&amp;event=%s" rel="%s"`, f.issue, env, id, rel)
	}
	issue := issuePath(f.issue)
	for _, tt := range []struct {
		name, path string
		want, not  []string
	}{
		{"every environment", issue, []string{shown(newStaging), fmt.Sprintf(`href="/issues/%d?event=%s" rel="prev"`, f.issue, f.event2)}, nil},
		{"production", issue + "?environment=production", []string{
			shown(f.event2), at("production", f.event1, "prev"), `<span class="button disabled" aria-disabled="true">Newer ›</span>`,
		}, []string{shown(newStaging), newStaging, oldStaging, "Latest »"}},
		{"production, older event", issue + "?environment=production&event=" + f.event1, []string{
			shown(f.event1), at("production", f.event2, "next"), `<span class="button disabled" aria-disabled="true">‹ Older</span>`,
		}, []string{newStaging, oldStaging}},
		{"staging", issue + "?environment=staging", []string{shown(newStaging), at("staging", oldStaging, "prev")},
			[]string{f.event1, f.event2}},
		{"staging, oldest event", issue + "?environment=staging&event=" + oldStaging, []string{shown(oldStaging), at("staging", newStaging, "next")},
			[]string{f.event1, f.event2}},
		{"no events there", issue + "?environment=development", []string{
			"This issue has no events in environment <code>development</code>.",
		}, []string{`class="event-id"`, newStaging, f.event2, "removed by retention"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := f.get(roleMember, tt.path)
			wantStatus(t, r, http.StatusOK)
			wantBody(t, r, tt.want...)
			noBody(t, r, tt.not...)
		})
	}
}

// TestServerRateLimitShown: a project's settings name the server's limit
// the dashboard was given (flytrap dev's --rate-limit, the deployment's
// ingest_rate_limit), and say that it is not known here when it was not,
// rather than the built-in default, which may not be the one ingest uses.
func TestServerRateLimitShown(t *testing.T) {
	for _, tc := range []struct {
		limit int
		want  string
	}{
		{2500, "The server's limit (2,500 events per minute)"},
		{store.RateLimitNone, "The server's limit (no limit)"},
		{0, "The server's limit (set where ingest runs, which this dashboard cannot see)"},
	} {
		f := newFixture(t, func(c *Config) { c.ServerRateLimit = tc.limit })
		page := fmt.Sprintf("/admin/projects/%d", f.web.ID)
		admin := f.get(roleAdmin, page)
		wantBody(t, admin, tc.want+"</span>")
		wantBody(t, f.get(roleLead, page), tc.want+".</p>")
		if strings.Contains(admin.Body, "6,000") {
			t.Errorf("limit %d: the page names 6,000", tc.limit)
		}
	}
}
