package dashboard

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/store"
)

// Who may reach a route.
const (
	scopeWeb     = "web"     // web's members (and admins)
	scopeBilling = "billing" // billing's members (and admins)
	scopeAnyone  = "anyone"  // every signed-in user
	scopeAdmin   = "admin"   // admins only
	// The project's admins (and admin users).
	scopeWebAdmins     = "web admins"
	scopeBillingAdmins = "billing admins"
	scopeNobody        = "nobody" // no one: the IDs do not belong together
)

// route is one row of the authorization matrix. Paths and forms may use
// placeholders filled from the fixture: {web}, {billing} (project IDs),
// {issue}, {otherIssue}, {event1}, {otherEvent}, {member}, {outsider},
// {victim} (a user nobody else needs), {release} (a release of web's).
type route struct {
	method, path string
	form         url.Values
	scope        string
	ok           int // status for those in scope
}

// matrix lists every dashboard route, for web's and billing's resources
// where it has any.
func matrix() []route {
	var rs []route
	for _, p := range []struct{ scope, admins, project, issue, event, member string }{
		{scopeWeb, scopeWebAdmins, "{web}", "{issue}", "{event1}", "{member}"},
		{scopeBilling, scopeBillingAdmins, "{billing}", "{otherIssue}", "{otherEvent}", "{outsider}"},
	} {
		rs = append(rs,
			route{"GET", "/projects/" + p.project + "/setup", nil, p.scope, 200},
			route{"GET", "/projects/" + p.project + "/issues", nil, p.scope, 200},
			route{"GET", "/projects/" + p.project + "/feedback", nil, p.scope, 200},
			route{"GET", "/projects/" + p.project + "/feedback?cursor=nope", nil, p.scope, 400},
			route{"GET", "/projects/" + p.project + "/releases", nil, p.scope, 200},
			route{"GET", "/projects/" + p.project + "/monitors", nil, p.scope, 200},
			route{"GET", "/projects/" + p.project + "/monitors/nope", nil, scopeNobody, 404},
			route{"GET", "/projects/" + p.project + "/monitors/nightly", nil, p.scope, 200},
			route{"GET", "/projects/" + p.project + "/monitors/nightly/delete", nil, p.admins, 200},
			route{"POST", "/projects/" + p.project + "/monitors/nightly/delete", nil, p.admins, 303},
			route{"POST", "/projects/" + p.project + "/monitors/nope/delete", nil, scopeNobody, 404},
			route{"GET", "/projects/" + p.project + "/issues?status=all&query=x&sort=count", nil, p.scope, 200},
			route{"GET", "/issues/" + p.issue, nil, p.scope, 200},
			route{"GET", "/issues/" + p.issue + "?event=" + p.event, nil, p.scope, 200},
			route{"GET", "/issues/" + p.issue + "/delete", nil, p.scope, 200},
			route{"POST", "/projects/" + p.project + "/issues/bulk", url.Values{"ids": {p.issue}, "action": {"ignore"}}, p.scope, 303},
			route{"POST", "/issues/" + p.issue + "/status", url.Values{"status": {"resolved"}}, p.scope, 303},
			route{"POST", "/issues/" + p.issue + "/status", url.Values{"status": {"resolved"}, "in_release": {"1"}, "release": {"9.9"}}, p.scope, 303},
			route{"POST", "/issues/" + p.issue + "/delete", nil, p.scope, 303},

			route{"GET", "/admin/projects/" + p.project, nil, p.admins, 200},
			route{"POST", "/admin/projects/" + p.project + "/rename", url.Values{"name": {"renamed"}}, p.admins, 303},
			route{"POST", "/admin/projects/" + p.project + "/privacy", url.Values{"safe_fields": {"session_id"}}, p.admins, 303},
			route{"POST", "/admin/projects/" + p.project + "/filters", url.Values{"localhost": {"on"}}, p.admins, 303},
			route{"POST", "/admin/projects/" + p.project + "/rate-limit", url.Values{"mode": {"custom"}, "per_minute": {"120"}}, scopeAdmin, 303},
			route{"POST", "/admin/projects/" + p.project + "/delete", url.Values{"confirm": {p.scope}}, scopeAdmin, 303},
			// Adding by user ID is the admins' form: it would let a
			// project's admin list every user's email, one ID at a time.
			route{"POST", "/admin/projects/" + p.project + "/members", url.Values{"user_id": {"{victim}"}, "role": {"member"}}, scopeAdmin, 303},
			route{"POST", "/admin/projects/" + p.project + "/members", url.Values{"email": {"VICTIM@example.com"}, "role": {"admin"}}, p.admins, 303},
			route{"GET", "/admin/projects/" + p.project + "/members/" + p.member + "/remove", nil, p.admins, 200},
			route{"POST", "/admin/projects/" + p.project + "/members/" + p.member + "/remove", nil, p.admins, 303},
			route{"POST", "/admin/projects/" + p.project + "/keys/rotate", nil, p.admins, 303},
		)
		rs = append(rs, alertMatrix(p.scope, p.admins, p.project, p.issue)...)
	}
	rs = append(rs,
		// An issue with an event of another project's issue, either way.
		route{"GET", "/issues/{issue}?event={otherEvent}", nil, scopeNobody, 404},
		route{"GET", "/issues/{otherIssue}?event={event1}", nil, scopeNobody, 404},
		route{"POST", "/projects/{web}/issues/bulk", url.Values{"ids": {"{otherIssue}"}, "action": {"resolve"}}, scopeWeb, 303},
		route{"POST", "/projects/{web}/issues/bulk", url.Values{"ids": {"{issue}", "{issue2}"}, "action": {"merge"}}, scopeWeb, 303},
		route{"GET", "/projects/{web}/issues/merge?ids={issue}&ids={issue2}", nil, scopeWeb, 200},
		route{"POST", "/projects/{web}/issues/merge", url.Values{"ids": {"{issue}", "{issue2}"}, "into": {"{issue}"}}, scopeWeb, 303},
		// web's events name the release; billing has none of that name.
		route{"GET", "/projects/{web}/releases/{release}", nil, scopeWeb, 200},
		route{"GET", "/projects/{billing}/releases/{release}", nil, scopeNobody, 404},

		route{"GET", "/projects", nil, scopeAnyone, 200},
		route{"GET", "/account", nil, scopeAnyone, 200},
		route{"POST", "/account/password", url.Values{"current": {"wrong password"}, "new": {"new password"}, "confirm": {"new password"}}, scopeAnyone, 400},
		route{"POST", "/logout", nil, scopeAnyone, 303},
		route{"POST", "/account/alerts", url.Values{"email_opt_out": {"on"}}, scopeAnyone, 303},
		route{"GET", "/account/tokens", nil, scopeAnyone, 200},
		route{"POST", "/account/tokens", url.Values{"name": {"ci"}, "scope": {"read"}, "expires_days": {"30"}}, scopeAnyone, 303},
		// Nobody revokes another user's token.
		route{"POST", "/account/tokens/{victimToken}/revoke", nil, scopeNobody, 404},

		route{"GET", "/admin/users", nil, scopeAdmin, 200},
		route{"POST", "/admin/users", url.Values{"email": {"x@example.com"}, "password": {"long enough"}, "role": {"member"}}, scopeAdmin, 303},
		route{"POST", "/admin/users/{victim}/role", url.Values{"role": {"admin"}}, scopeAdmin, 303},
		route{"POST", "/admin/users/{victim}/sign-out", nil, scopeAdmin, 303},
		route{"POST", "/admin/users/{victim}/delete", nil, scopeAdmin, 303},
		route{"GET", "/admin/projects", nil, scopeAdmin, 200},
		route{"POST", "/admin/projects", url.Values{"name": {"new project"}}, scopeAdmin, 303},
	)
	return rs
}

// expect is the status role gets on r; anonymous visitors are redirected
// to the sign-in page (303) everywhere.
func (r route) expect(role string) int {
	in := false
	switch role {
	case roleAnon:
		return http.StatusSeeOther
	case roleAdmin:
		in = r.scope != scopeNobody
	case roleMember:
		in = r.scope == scopeWeb || r.scope == scopeAnyone
	case roleOutsider:
		in = r.scope == scopeBilling || r.scope == scopeAnyone
	case roleLead:
		in = r.scope == scopeWeb || r.scope == scopeAnyone || r.scope == scopeWebAdmins
	}
	if in {
		return r.ok
	}
	return http.StatusNotFound
}

// fill replaces the placeholders of s.
func (f *fixture) fill(s string, victim int64) string {
	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	return strings.NewReplacer(
		"{web}", id(f.web.ID), "{billing}", id(f.billing.ID),
		"{issue}", id(f.issue), "{issue2}", id(f.issue2), "{otherIssue}", id(f.otherIssue),
		"{event1}", f.event1, "{otherEvent}", f.otherEvent, "{release}", url.PathEscape("shop@1.2.3"),
		"{member}", id(f.member.ID), "{outsider}", id(f.outsider.ID), "{victim}", id(victim),
		"{webChannel}", id(f.firstChannel(f.web.ID)), "{billingChannel}", id(f.firstChannel(f.billing.ID)),
		"{webRule}", id(f.firstRule(f.web.ID)), "{billingRule}", id(f.firstRule(f.billing.ID)),
	).Replace(s)
}

// snapshot describes everything a refused action must leave unchanged.
func (f *fixture) snapshot() string {
	f.t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT id || ':' || status || ':' || resolved_in_release FROM issues ORDER BY id`,
		`SELECT id || ':' || name || ':' || scrubbing || ':' || sensitive_fields || ':' || safe_fields || ':' || drop_ip FROM projects ORDER BY id`,
		`SELECT id || ':' || email || ':' || role || ':' || password_hash FROM users ORDER BY id`,
		`SELECT project_id || ':' || user_id || ':' || role FROM project_members ORDER BY project_id, user_id`,
		`SELECT id || ':' || active FROM project_keys ORDER BY id`,
		`SELECT id FROM sessions ORDER BY id`,
		`SELECT id || ':' || alert_cooldown_minutes FROM projects ORDER BY id`,
		`SELECT id || ':' || kind || ':' || name FROM alert_channels ORDER BY id`,
		`SELECT id || ':' || channel_id || ':' || rule_type || ':' || threshold || ':' || window_minutes || ':' || min_level || ':' || environment || ':' || enabled FROM alert_rules ORDER BY id`,
		`SELECT issue_id || ':' || muted FROM alert_issue_state ORDER BY issue_id`,
		`SELECT id || ':' || reason FROM alert_notifications ORDER BY id`,
		`SELECT user_id FROM alert_email_optouts ORDER BY user_id`,
		`SELECT id || ':' || user_id || ':' || scope FROM api_tokens ORDER BY id`,
		`SELECT id || ':' || project_id || ':' || slug FROM monitors ORDER BY id`,
		`SELECT id FROM monitor_checkins ORDER BY id`,
	} {
		rows, err := f.db.SQL().QueryContext(f.ctx, q)
		f.must(err)
		for rows.Next() {
			var s string
			f.must(rows.Scan(&s))
			b.WriteString(s + ";")
		}
		f.must(rows.Err())
		rows.Close()
		b.WriteString("\n")
	}
	return b.String()
}

// TestAuthorizationMatrix requests every route as an admin, web's member,
// billing's member (an outsider to web), web's admin (lead, no admin
// user) and an anonymous visitor, with
// the IDs of both projects' issues and events. Those out of scope get 404
// (never 403, which would confirm the ID exists) and change nothing;
// anonymous visitors are sent to the sign-in page.
func TestAuthorizationMatrix(t *testing.T) {
	roles := []string{roleAdmin, roleMember, roleOutsider, roleLead, roleAnon}
	shared := newFixture(t) // GETs do not change anything
	sharedVictim := shared.createUser("victim@example.com", "member").ID
	shared.addMonitors()
	for _, rt := range matrix() {
		for _, role := range roles {
			name := fmt.Sprintf("%s %s as %s", rt.method, rt.path, role)
			t.Run(name, func(t *testing.T) {
				// Rows are independent: POSTs get their own fixture and
				// GETs change nothing.
				t.Parallel()
				// A copy of the shared fixture reports to this subtest.
				fc := *shared
				fc.t = t
				f, victim := &fc, sharedVictim
				if rt.method == http.MethodPost {
					f = newFixture(t)
					victim = f.createUser("victim@example.com", "member").ID
					f.addMonitors()
				}
				form := url.Values{}
				for k, vs := range rt.form {
					for _, v := range vs {
						form.Add(k, f.fill(v, victim))
					}
				}
				path := f.fill(rt.path, victim)
				if strings.Contains(path, "{victimToken}") {
					_, tk, err := f.db.CreateAPIToken(f.ctx, victim, "victim's")
					f.must(err)
					path = strings.ReplaceAll(path, "{victimToken}", strconv.FormatInt(tk.ID, 10))
				}
				before := f.snapshot()
				r := f.do(request{method: rt.method, role: role, path: path, form: form})
				want := rt.expect(role)
				if r.StatusCode != want {
					t.Fatalf("HTTP %d, want %d; Location %q\n%s", r.StatusCode, want, r.Header.Get("Location"), excerpt(r.Body))
				}
				switch {
				case role == roleAnon:
					if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, "/login") {
						t.Errorf("anonymous visitor sent to %q, not /login", loc)
					}
				case want == http.StatusNotFound:
					if !strings.Contains(r.Body, "Page not found") {
						t.Errorf("404 is not the not-found page")
					}
					// A refusal reveals nothing of the other project.
					for _, secret := range []string{"secret billing data", "TypeError", f.webKey.PublicKey} {
						if strings.Contains(r.Body, secret) {
							t.Errorf("404 page shows %q", secret)
						}
					}
				}
				if want != rt.ok || role == roleAnon {
					if after := f.snapshot(); after != before {
						t.Errorf("a refused %s changed the data:\nbefore %s\nafter  %s", rt.method, before, after)
					}
				}
			})
		}
	}
}

// TestMatrixCoversEveryRoute keeps the matrix in step with the routes:
// a route added without a row here fails.
func TestMatrixCoversEveryRoute(t *testing.T) {
	covered := map[string]bool{}
	for _, rt := range matrix() {
		p := rt.path
		if i := strings.IndexByte(p, '?'); i >= 0 {
			p = p[:i]
		}
		covered[rt.method+" "+normalizeRoute(p)] = true
	}
	for _, want := range []string{
		"GET /projects", "GET /projects/{id}/setup", "GET /projects/{id}/issues", "POST /projects/{id}/issues/bulk",
		"GET /projects/{id}/issues/merge", "POST /projects/{id}/issues/merge",
		"GET /projects/{id}/releases", "GET /projects/{id}/releases/{id}", "GET /projects/{id}/monitors",
		"GET /projects/{id}/monitors/{slug}", "GET /projects/{id}/monitors/{slug}/delete", "POST /projects/{id}/monitors/{slug}/delete",
		"GET /issues/{id}", "POST /issues/{id}/status", "GET /issues/{id}/delete", "POST /issues/{id}/delete",
		"GET /account", "POST /account/password", "POST /logout",
		"GET /account/tokens", "POST /account/tokens", "POST /account/tokens/{id}/revoke",
		"GET /admin/users", "POST /admin/users", "POST /admin/users/{id}/role", "POST /admin/users/{id}/sign-out", "POST /admin/users/{id}/delete",
		"GET /admin/projects", "POST /admin/projects", "GET /admin/projects/{id}", "POST /admin/projects/{id}/rename",
		"POST /admin/projects/{id}/privacy", "POST /admin/projects/{id}/filters", "POST /admin/projects/{id}/rate-limit",
		"POST /admin/projects/{id}/delete", "POST /admin/projects/{id}/members", "GET /admin/projects/{id}/members/{id}/remove", "POST /admin/projects/{id}/members/{id}/remove",
		"POST /admin/projects/{id}/keys/rotate",
		"GET /projects/{id}/alerts", "POST /projects/{id}/alerts/channels", "POST /projects/{id}/alerts/channels/{id}/delete",
		"POST /projects/{id}/alerts/channels/{id}/test", "POST /projects/{id}/alerts/rules", "POST /projects/{id}/alerts/rules/{id}/delete",
		"GET /projects/{id}/alerts/rules/{id}", "POST /projects/{id}/alerts/rules/{id}", "POST /projects/{id}/alerts/rules/{id}/enabled",
		"POST /projects/{id}/alerts/settings", "POST /issues/{id}/mute", "POST /account/alerts",
	} {
		if !covered[want] {
			t.Errorf("the matrix has no row for %s", want)
		}
	}
}

// normalizeRoute turns placeholders into {id}, and monitor slugs into
// {slug}.
func normalizeRoute(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		switch {
		case strings.HasPrefix(s, "{"):
			parts[i] = "{id}"
		case i > 0 && parts[i-1] == "monitors":
			parts[i] = "{slug}"
		}
	}
	return strings.Join(parts, "/")
}

// TestProjectAdminsManageTheirProject follows lead, web's admin but no
// admin user: the Settings tab and the alert forms are offered to lead and
// not to web's member; lead adds members by email, never sees the user
// list or the deletion form, and loses the settings on stepping down.
func TestProjectAdminsManageTheirProject(t *testing.T) {
	f := newFixture(t)
	web := strconv.FormatInt(f.web.ID, 10)
	settings := `href="/admin/projects/` + web + `"`
	for _, path := range []string{"/projects/" + web + "/issues", "/projects/" + web + "/setup", "/projects/" + web + "/alerts"} {
		if r := f.get(roleLead, path); !strings.Contains(r.Body, settings) {
			t.Errorf("%s: web's admin is offered no Settings tab", path)
		}
		if r := f.get(roleMember, path); strings.Contains(r.Body, settings) {
			t.Errorf("%s: web's member is offered the Settings tab", path)
		}
	}
	if r := f.get(roleLead, "/projects/"+web+"/alerts"); !strings.Contains(r.Body, `action="/projects/`+web+`/alerts/channels"`) {
		t.Error("web's admin is offered no form for a new alert channel")
	}
	if r := f.get(roleLead, fmt.Sprintf("/issues/%d", f.issue)); !strings.Contains(r.Body, "Mute alerts") {
		t.Error("web's admin cannot mute an issue's alerts")
	}

	page := f.get(roleLead, "/admin/projects/"+web)
	wantStatus(t, page, http.StatusOK)
	for _, want := range []string{`name="email"`, `action="/admin/projects/` + web + `/keys/rotate"`, `action="/admin/projects/` + web + `/privacy"`} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("settings page for web's admin lacks %s", want)
		}
	}
	for _, refused := range []string{`name="user_id"`, "outsider@example.com", `/delete"`, `href="/admin/users"`} {
		if strings.Contains(page.Body, refused) {
			t.Errorf("settings page for web's admin shows %s", refused)
		}
	}
	if admin := f.get(roleAdmin, "/admin/projects/"+web); !strings.Contains(admin.Body, `action="/admin/projects/`+web+`/delete"`) {
		t.Error("an admin user is offered no deletion")
	}

	newcomer := f.createUser("newcomer@example.com", "member")
	r := f.post(roleLead, "/admin/projects/"+web+"/members", url.Values{"email": {" Newcomer@Example.com "}, "role": {"member"}})
	wantRedirect(t, r, "/admin/projects/"+web)
	members, err := f.db.ListMembers(f.ctx, store.System, f.web.ID)
	f.must(err)
	if !slices.ContainsFunc(members, func(m store.Member) bool { return m.UserID == newcomer.ID && m.Role == store.RoleMember }) {
		t.Errorf("newcomer was not added: %+v", members)
	}
	// The form's first role keeps an existing member's: re-adding an
	// admin of the project as the form first shows must not demote them.
	if want := `<option value="" selected>Keep current role (Member if new)</option>`; !strings.Contains(page.Body, want) {
		t.Errorf("the add-member form's first role is not %s", want)
	}
	for _, add := range []struct{ role, want, flash string }{
		{"admin", store.RoleAdmin, "ok: newcomer@example.com is an admin of this project."},
		{"", store.RoleAdmin, "ok: newcomer@example.com is an admin of this project."},
		{"member", store.RoleMember, "ok: newcomer@example.com is a member of this project."},
		{"", store.RoleMember, "ok: newcomer@example.com is a member of this project."},
	} {
		r := f.post(roleLead, "/admin/projects/"+web+"/members", url.Values{"email": {"newcomer@example.com"}, "role": {add.role}})
		wantRedirect(t, r, "/admin/projects/"+web)
		if got := flashOf(t, r); got != add.flash {
			t.Errorf("role %q: flash %q, want %q", add.role, got, add.flash)
		}
		members, err := f.db.ListMembers(f.ctx, store.System, f.web.ID)
		f.must(err)
		if i := slices.IndexFunc(members, func(m store.Member) bool { return m.UserID == newcomer.ID }); i < 0 || members[i].Role != add.want {
			t.Errorf("role %q: newcomer is not %s: %+v", add.role, add.want, members)
		}
	}
	r = f.post(roleLead, "/admin/projects/"+web+"/members", url.Values{"email": {"nobody@example.com"}, "role": {"member"}})
	wantRedirect(t, r, "/admin/projects/"+web)
	if got := flashOf(t, r); !strings.Contains(got, "No user has that email") {
		t.Errorf("unknown email: flash %q", got)
	}

	// Stepping down: lead is a member now, and the settings are gone.
	r = f.post(roleLead, "/admin/projects/"+web+"/members", url.Values{"email": {"lead@example.com"}, "role": {"member"}})
	wantRedirect(t, r, "/projects/"+web+"/issues")
	wantStatus(t, f.get(roleLead, "/admin/projects/"+web), http.StatusNotFound)
}
