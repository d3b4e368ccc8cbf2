package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/getflytrap/flytrap/internal/inbound"
	"github.com/getflytrap/flytrap/internal/service"
	"github.com/getflytrap/flytrap/internal/store"
)

// Every handler here runs behind adminOnly; the services decide again what
// the signed-in user may change, and their refusals' messages are shown on
// the page (refusal).

// roles are the choices for users and project members.
var roles = []option{{store.RoleMember, "Member"}, {store.RoleAdmin, "Admin"}}

// usersData is the user administration page's model.
type usersData struct {
	Users []store.User
	Roles []option
	Self  int64
	// Form holds a refused create form's values, to show them again.
	Form struct {
		Email, Role string
		Invite      bool
	}
	Error string
	// Link is the set-password link just issued, shown this once: its
	// secret is not kept.
	Link *service.PasswordLink
	// CanMail says links are emailed.
	CanMail bool
}

func (d *Dashboard) usersPage(w http.ResponseWriter, r *http.Request, s *session) {
	var data usersData
	var l service.PasswordLink
	if d.takeReveal(w, r, s, &l) {
		data.Link = &l
	}
	d.showUsers(w, r, s, http.StatusOK, data)
}

func (d *Dashboard) showUsers(w http.ResponseWriter, r *http.Request, s *session, status int, data usersData) {
	users, err := d.store.ListUsers(r.Context(), s.viewer())
	if err != nil {
		d.fail(w, r, err)
		return
	}
	data.Users, data.Roles, data.Self, data.CanMail = users, roles, s.user.ID, d.canMail()
	if data.Form.Role == "" {
		data.Form.Role = store.RoleMember
	}
	d.render(w, r, status, "admin-users", &view{Title: "Users", Nav: "admin-users", Data: data})
}

// createUser creates a user with the password the admin typed, or, with
// "invite" checked, without one and redirects to the users page, which
// shows the invitation link once (redirectReveal): a reload issues no
// second link, which would replace the first.
func (d *Dashboard) createUser(w http.ResponseWriter, r *http.Request, s *session) {
	var data usersData
	email, role := strings.TrimSpace(r.PostForm.Get("email")), r.PostForm.Get("role")
	data.Form.Email, data.Form.Role, data.Form.Invite = email, role, r.PostForm.Get("invite") == "on"
	in := service.NewUser{Email: email, Password: r.PostForm.Get("password"), Role: role}
	if data.Form.Invite {
		_, l, err := d.svc.Users.Invite(r.Context(), s.actor(), in, d.publicURL)
		if msg, ok := refusal(err); ok {
			data.Error = msg
			d.showUsers(w, r, s, http.StatusBadRequest, data)
			return
		}
		if err != nil {
			d.fail(w, r, err)
			return
		}
		d.redirectLink(w, r, s, l)
		return
	}
	u, err := d.svc.Users.Create(r.Context(), s.actor(), in)
	if msg, ok := refusal(err); ok {
		data.Error = msg
		d.showUsers(w, r, s, http.StatusBadRequest, data)
		return
	}
	if err != nil {
		d.fail(w, r, err)
		return
	}
	d.redirect(w, r, "/admin/users", "User "+u.Email+" created. Add them to projects on each project's admin page.")
}

func (d *Dashboard) setRole(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := pathID(r, "id")
	if !ok {
		d.notFound(w, r)
		return
	}
	role := r.PostForm.Get("role")
	u, err := d.svc.Users.SetRole(r.Context(), s.actor(), id, role)
	if msg, ok := refusal(err); ok {
		d.redirectError(w, r, "/admin/users", msg)
		return
	}
	if err != nil {
		d.fail(w, r, err)
		return
	}
	d.redirect(w, r, "/admin/users", u.Email+" is now "+strings.ToLower(roleTitle(role))+".")
}

// resetPassword issues the user a password reset link and redirects to
// the users page, which shows it once (redirectReveal).
func (d *Dashboard) resetPassword(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := pathID(r, "id")
	if !ok {
		d.notFound(w, r)
		return
	}
	_, l, err := d.svc.Users.IssueReset(r.Context(), s.actor(), id, d.publicURL)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	d.redirectLink(w, r, s, l)
}

// signOutUser ends the user's dashboard sessions and revokes their API
// tokens made by signing in, as using a reset link does; the password is
// kept, which the message says.
func (d *Dashboard) signOutUser(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := pathID(r, "id")
	if !ok {
		d.notFound(w, r)
		return
	}
	u, revoked, err := d.svc.Users.SignOut(r.Context(), s.actor(), id)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	tokens := "API tokens"
	if revoked == 1 {
		tokens = "API token"
	}
	d.redirect(w, r, "/admin/users", fmt.Sprintf("%s is signed out everywhere: their sessions ended and %d %s made by signing in stopped working. "+
		"Their password and the tokens they created by name still work: if the password may be known, also reset it.", u.Email, revoked, tokens))
}

// maxMailError bounds the mail error a link's panel shows: the link
// travels to the page in a cookie (redirectReveal), and an SMTP server's
// answer can be long.
const maxMailError = 500

// redirectLink goes to the users page, which shows the link l once.
func (d *Dashboard) redirectLink(w http.ResponseWriter, r *http.Request, s *session, l service.PasswordLink) {
	l.MailError, _ = clipText(l.MailError, maxMailError)
	d.redirectReveal(w, r, s, "/admin/users", "", l)
}

func roleTitle(role string) string {
	for _, o := range roles {
		if o.Value == role {
			return o.Label
		}
	}
	return role
}

func (d *Dashboard) deleteUser(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := pathID(r, "id")
	if !ok {
		d.notFound(w, r)
		return
	}
	err := d.svc.Users.Delete(r.Context(), s.actor(), id)
	if msg, ok := refusal(err); ok {
		d.redirectError(w, r, "/admin/users", msg)
		return
	}
	if err != nil {
		d.fail(w, r, err)
		return
	}
	d.redirect(w, r, "/admin/users", "User removed; their sessions and API tokens no longer work.")
}

// adminProjectsData is the project administration list's model.
type adminProjectsData struct {
	Projects []store.Project
	Name     string
	Error    string
}

func (d *Dashboard) adminProjectsPage(w http.ResponseWriter, r *http.Request, s *session) {
	d.showAdminProjects(w, r, s, http.StatusOK, adminProjectsData{})
}

func (d *Dashboard) showAdminProjects(w http.ResponseWriter, r *http.Request, s *session, status int, data adminProjectsData) {
	ps, err := d.store.ListProjects(r.Context(), s.viewer())
	if err != nil {
		d.fail(w, r, err)
		return
	}
	data.Projects = ps
	d.render(w, r, status, "admin-projects", &view{Title: "Projects administration", Nav: "admin-projects", Data: data})
}

func (d *Dashboard) createProject(w http.ResponseWriter, r *http.Request, s *session) {
	name := strings.TrimSpace(r.PostForm.Get("name"))
	p, _, err := d.svc.Projects.Create(r.Context(), s.actor(), name)
	if msg, ok := refusal(err); ok {
		d.showAdminProjects(w, r, s, http.StatusBadRequest, adminProjectsData{Name: name, Error: msg})
		return
	}
	if err != nil {
		d.fail(w, r, err)
		return
	}
	d.redirect(w, r, projectAdminURL(p.ID), "Project "+p.Name+" created with an ingest key; you are its admin. Add its members below.")
}

func projectAdminURL(id int64) string { return "/admin/projects/" + strconv.FormatInt(id, 10) }

// adminProjectData is a project's administration page model.
type adminProjectData struct {
	Project   store.Project
	Members   []store.Member
	Addable   []store.User // users who are not members yet
	Keys      []store.ProjectKey
	Roles     []option
	Name      string // a refused rename
	Error     string
	DeleteErr string
	// Privacy holds the project's settings, or refused ones with
	// PrivacyErr.
	Privacy    store.PrivacySettings
	PrivacyErr string
	// Filters holds the project's inbound filters, or refused ones with
	// FiltersErr; Filtered counts what each dropped in the last 24 hours.
	Filters    inbound.Settings
	FiltersErr string
	Filtered   []filteredCount
	// RateLimit is the project's rate limit form: its choice and number,
	// the project's or refused ones with RateLimitErr.
	RateLimit    rateLimitForm
	RateLimitErr string
	// ServerRateLimit is Config.ServerRateLimit, the limit of projects
	// without one of their own.
	ServerRateLimit int64
}

// filteredCount is one reason's line of the filters' last day.
type filteredCount struct {
	Reason string
	Count  int64
}

// filterReasons are the reasons as the settings page names them.
var filterReasons = map[inbound.Reason]string{
	inbound.ReasonBrowserExtensions: "browser extensions",
	inbound.ReasonLocalhost:         "localhost",
	inbound.ReasonLegacyBrowsers:    "legacy browsers",
	inbound.ReasonWebCrawlers:       "web crawlers",
	inbound.ReasonErrorMessage:      "error messages",
	inbound.ReasonReleaseVersion:    "releases",
}

// legacyBrowserLabels describe the legacy browsers filter's choices as
// Sentry's settings page does.
var legacyBrowserLabels = map[string]string{
	inbound.LegacyChrome:    "Chrome 110 and lower",
	inbound.LegacyEdge:      "Edge 110 and lower",
	inbound.LegacyFirefox:   "Firefox 110 and lower",
	inbound.LegacySafari:    "Safari 15 and lower",
	inbound.LegacyOpera:     "Opera 99 and lower",
	inbound.LegacyOperaMini: "Opera Mini 34 and lower",
	inbound.LegacyAndroid:   "Android browser 3 and lower",
	inbound.LegacyIE:        "Internet Explorer, all versions (11 and lower)",
	inbound.LegacyDefault:   "Relay's first set: IE 9, Safari 5, Opera 14, Opera Mini 7, Android 3 and lower",
}

// legacyChoice is one checkbox of the legacy browsers filter.
type legacyChoice struct {
	Value, Label string
	Checked      bool
}

// LegacyChoices are the legacy browsers filter's checkboxes, in the order
// inbound.LegacyBrowsers lists them, checked as Filters has them.
func (d adminProjectData) LegacyChoices() []legacyChoice {
	out := make([]legacyChoice, len(inbound.LegacyBrowsers))
	for i, c := range inbound.LegacyBrowsers {
		out[i] = legacyChoice{c, legacyBrowserLabels[c], slices.Contains(d.Filters.LegacyBrowsers, c)}
	}
	return out
}

// rateLimitForm is the rate limit form's fields.
type rateLimitForm struct {
	// Mode is "default", "none" or "custom".
	Mode string
	// PerMinute is the custom limit as entered, or the project's.
	PerMinute string
}

// rateLimitFormOf is the form showing a stored limit.
func rateLimitFormOf(limit int) rateLimitForm {
	switch limit {
	case store.RateLimitDefault:
		return rateLimitForm{Mode: "default"}
	case store.RateLimitNone:
		return rateLimitForm{Mode: "none"}
	}
	return rateLimitForm{Mode: "custom", PerMinute: strconv.Itoa(limit)}
}

// limit is the stored form of the form's choice, or false when the number
// entered is not a limit.
func (f rateLimitForm) limit() (int, bool) {
	switch f.Mode {
	case "default":
		return store.RateLimitDefault, true
	case "none":
		return store.RateLimitNone, true
	case "custom":
		n, err := strconv.Atoi(strings.TrimSpace(f.PerMinute))
		return n, err == nil && n >= 1 && n <= store.MaxRateLimit
	}
	return 0, false
}

func (d *Dashboard) adminProjectPage(w http.ResponseWriter, r *http.Request, s *session) {
	d.showAdminProject(w, r, s, http.StatusOK, adminProjectData{})
}

func (d *Dashboard) showAdminProject(w http.ResponseWriter, r *http.Request, s *session, status int, data adminProjectData) {
	p, ok := d.pathProject(w, r, s)
	if !ok {
		return
	}
	ctx, v, id := r.Context(), s.viewer(), p.ID
	members, err := d.store.ListMembers(ctx, v, id)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	// Only admin users may list the users; a project's admins add
	// members by email instead.
	var users []store.User
	if s.admin() {
		if users, err = d.store.ListUsers(ctx, v); err != nil {
			d.fail(w, r, err)
			return
		}
	}
	keys, err := d.store.ProjectKeys(ctx, v, id)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	in := make(map[int64]bool, len(members))
	for _, m := range members {
		in[m.UserID] = true
	}
	for _, u := range users {
		if !in[u.ID] {
			data.Addable = append(data.Addable, u)
		}
	}
	if data.PrivacyErr == "" {
		if data.Privacy, err = d.store.ProjectPrivacy(ctx, v, id); err != nil {
			d.fail(w, r, err)
			return
		}
	}
	if data.FiltersErr == "" {
		if data.Filters, err = d.store.ProjectFilters(ctx, v, id); err != nil {
			d.fail(w, r, err)
			return
		}
	}
	counts, err := d.store.FilteredSince(ctx, v, id, d.now().Add(-24*time.Hour))
	if err != nil {
		d.fail(w, r, err)
		return
	}
	for _, reason := range inbound.Reasons {
		if n := counts[reason]; n > 0 {
			data.Filtered = append(data.Filtered, filteredCount{filterReasons[reason], n})
		}
	}
	if data.RateLimitErr == "" {
		limit, err := d.store.ProjectRateLimit(ctx, v, id)
		if err != nil {
			d.fail(w, r, err)
			return
		}
		data.RateLimit = rateLimitFormOf(limit)
	}
	data.Project, data.Members, data.Keys, data.Roles = p, members, keys, roles
	data.ServerRateLimit = int64(d.serverRateLimit)
	if data.Name == "" {
		data.Name = p.Name
	}
	// A project tab, under the breadcrumb Projects, like the project's
	// other tabs; "Manage projects" is the list of every project.
	// The project's keys (see compressed).
	sendUncompressed(w)
	d.render(w, r, status, "admin-project", &view{Title: p.Name + " administration", Nav: "projects", Tab: "admin", Data: data, Manages: true})
}

func (d *Dashboard) renameProject(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := pathID(r, "id")
	if !ok {
		d.notFound(w, r)
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	p, err := d.svc.Projects.Rename(r.Context(), s.actor(), id, name)
	if msg, ok := refusal(err); ok {
		d.showAdminProject(w, r, s, http.StatusBadRequest, adminProjectData{Name: name, Error: msg})
		return
	}
	if err != nil {
		d.fail(w, r, err)
		return
	}
	d.redirect(w, r, projectAdminURL(id), "Project renamed to "+p.Name+".")
}

func (d *Dashboard) deleteProject(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := d.pathProject(w, r, s)
	if !ok {
		return
	}
	// Typing the name is the confirmation: deleting a project removes
	// every issue and event in it, with no undo.
	if r.PostForm.Get("confirm") != p.Name {
		d.showAdminProject(w, r, s, http.StatusBadRequest, adminProjectData{DeleteErr: "Type the project's name exactly to delete it."})
		return
	}
	if err := d.svc.Projects.Delete(r.Context(), s.actor(), p.ID); err != nil {
		d.fail(w, r, err)
		return
	}
	d.redirect(w, r, "/admin/projects", "Project "+p.Name+" deleted with all its issues and events.")
}

func (d *Dashboard) addMember(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := pathID(r, "id")
	if !ok {
		d.notFound(w, r)
		return
	}
	back := projectAdminURL(id)
	role := r.PostForm.Get("role")
	msg := "Member added."
	var err error
	if email, ok := r.PostForm["email"]; ok {
		// The form of a project's admin, who may not list the users. Its
		// first role, "", keeps an existing member's role, so the flash
		// says which role they have rather than that they were added.
		var m store.Member
		m, err = d.svc.Members.PutByEmail(r.Context(), s.actor(), id, email[0], role)
		msg = fmt.Sprintf("%s is %s of this project.", m.Email, memberWithArticle(m.Role))
	} else if !s.admin() {
		// The list of users is the admins' form; a project's admin
		// adds by email (the service refuses them IDs of non-members).
		d.notFound(w, r)
		return
	} else {
		// A user_id that is no number is no user: the service refuses 0.
		userID, _ := strconv.ParseInt(r.PostForm.Get("user_id"), 10, 64)
		_, err = d.svc.Members.Put(r.Context(), s.actor(), id, userID, role)
	}
	if msg, ok := refusal(err); ok {
		d.redirectError(w, r, back, msg)
		return
	}
	if err != nil {
		d.fail(w, r, err)
		return
	}
	if !d.managesProject(r, s, id) {
		// A project's admin who made themselves a member.
		d.redirect(w, r, "/projects/"+strconv.FormatInt(id, 10)+"/issues", "You are now a member of the project, no longer its admin.")
		return
	}
	d.redirect(w, r, back, msg)
}

// memberWithArticle names a project role as a sentence does: "an admin", "a
// member".
func memberWithArticle(role string) string {
	if role == store.RoleAdmin {
		return "an admin"
	}
	return "a member"
}

// removeMemberData is the model of the page that asks before a member is
// removed.
type removeMemberData struct {
	Project store.Project
	Member  store.Member
}

// confirmRemoveMember asks before removing a member, as deleting an issue
// does: the Remove link of the settings page leads here, and only this
// page's form removes.
func (d *Dashboard) confirmRemoveMember(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := d.pathProject(w, r, s)
	if !ok {
		return
	}
	userID, ok := pathID(r, "user")
	if !ok {
		d.notFound(w, r)
		return
	}
	members, err := d.store.ListMembers(r.Context(), s.viewer(), p.ID)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	for _, m := range members {
		if m.UserID == userID {
			d.render(w, r, http.StatusOK, "confirm-remove-member", &view{Title: "Remove member", Nav: "projects",
				Data: removeMemberData{Project: p, Member: m}})
			return
		}
	}
	d.notFound(w, r)
}

func (d *Dashboard) removeMember(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok1 := pathID(r, "id")
	userID, ok2 := pathID(r, "user")
	if !ok1 || !ok2 {
		d.notFound(w, r)
		return
	}
	if err := d.svc.Members.Remove(r.Context(), s.actor(), id, userID); err != nil {
		d.fail(w, r, err)
		return
	}
	if !d.managesProject(r, s, id) {
		// A project's admin who took themselves out can no longer see its
		// settings.
		d.redirect(w, r, "/projects", "You are no longer a member of the project.")
		return
	}
	d.redirect(w, r, projectAdminURL(id), "Member removed.")
}

func (d *Dashboard) rotateKey(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := pathID(r, "id")
	if !ok {
		d.notFound(w, r)
		return
	}
	if _, err := d.svc.Keys.Rotate(r.Context(), s.actor(), id); err != nil {
		d.fail(w, r, err)
		return
	}
	d.redirect(w, r, projectAdminURL(id), "New ingest key created; the old key stops working within a minute. Update your SDKs' DSN and x-api-key.")
}

// setPrivacy saves a project's data privacy settings from the form.
func (d *Dashboard) setPrivacy(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := pathID(r, "id")
	if !ok {
		d.notFound(w, r)
		return
	}
	settings := store.PrivacySettings{
		Scrubbing:       r.PostForm.Get("scrubbing") == "on",
		SensitiveFields: fieldList(r.PostForm.Get("sensitive_fields")),
		SafeFields:      fieldList(r.PostForm.Get("safe_fields")),
		DropIPAddresses: r.PostForm.Get("drop_ip_addresses") == "on",
	}
	_, err := d.store.SetProjectPrivacy(r.Context(), s.viewer(), id, settings)
	if errors.Is(err, store.ErrInvalid) {
		msg := fmt.Sprintf("Enter at most %d field names per list, each at most %d characters long.", store.MaxPrivacyFields, store.MaxPrivacyFieldLen)
		d.showAdminProject(w, r, s, http.StatusBadRequest, adminProjectData{Privacy: settings, PrivacyErr: msg})
		return
	}
	if err != nil {
		d.fail(w, r, err)
		return
	}
	d.redirect(w, r, projectAdminURL(id), "Data privacy settings saved; the processor applies them within a minute.")
}

// setFilters saves a project's inbound filters from the form. Patterns
// are one per line: a glob may hold commas ({a,b}).
func (d *Dashboard) setFilters(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := pathID(r, "id")
	if !ok {
		d.notFound(w, r)
		return
	}
	lines := func(name string) []string {
		return strings.FieldsFunc(r.PostForm.Get(name), func(r rune) bool { return r == '\n' || r == '\r' })
	}
	settings := inbound.Settings{
		BrowserExtensions: r.PostForm.Get("browser_extensions") == "on",
		Localhost:         r.PostForm.Get("localhost") == "on",
		LegacyBrowsers:    r.PostForm["legacy_browsers"],
		WebCrawlers:       r.PostForm.Get("web_crawlers") == "on",
		ErrorMessages:     lines("error_messages"),
		Releases:          lines("releases"),
	}
	_, err := d.store.SetProjectFilters(r.Context(), s.viewer(), id, settings)
	if errors.Is(err, store.ErrInvalid) {
		d.showAdminProject(w, r, s, http.StatusBadRequest, adminProjectData{Filters: settings, FiltersErr: store.Reason(err) + "."})
		return
	}
	if err != nil {
		d.fail(w, r, err)
		return
	}
	d.redirect(w, r, projectAdminURL(id), "Inbound filters saved; the processor applies them within a minute.")
}

// setRateLimit saves a project's ingest rate limit from the form.
func (d *Dashboard) setRateLimit(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := pathID(r, "id")
	if !ok {
		d.notFound(w, r)
		return
	}
	form := rateLimitForm{Mode: r.PostForm.Get("mode"), PerMinute: r.PostForm.Get("per_minute")}
	limit, ok := form.limit()
	if !ok {
		msg := fmt.Sprintf("Enter a whole number of events per minute from 1 to %d, or choose the server's limit or no limit.", store.MaxRateLimit)
		d.showAdminProject(w, r, s, http.StatusBadRequest, adminProjectData{RateLimit: form, RateLimitErr: msg})
		return
	}
	if err := d.store.SetProjectRateLimit(r.Context(), s.viewer(), id, limit); err != nil {
		d.fail(w, r, err)
		return
	}
	d.redirect(w, r, projectAdminURL(id), "Rate limit saved; ingest applies it within a minute.")
}

// fieldList splits a textarea of field names, one per line or separated by
// commas.
func fieldList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' })
}
