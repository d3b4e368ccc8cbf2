package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/getflytrap/flytrap/internal/auth"
	"github.com/getflytrap/flytrap/internal/store"
)

// Every handler here runs behind adminOnly, and the store checks the
// viewer again: its admin methods answer ErrForbidden to members.

// roles are the choices for users and project members.
var roles = []option{{store.RoleMember, "Member"}, {store.RoleAdmin, "Admin"}}

// maxProjectName bounds project names, which appear in every page title.
const maxProjectName = 100

// usersData is the user administration page's model.
type usersData struct {
	Users []store.User
	Roles []option
	Self  int64
	// Form holds a refused create form's values, to show them again.
	Form  struct{ Email, Role string }
	Error string
}

func (d *Dashboard) usersPage(w http.ResponseWriter, r *http.Request, s *session) {
	d.showUsers(w, r, s, http.StatusOK, usersData{})
}

func (d *Dashboard) showUsers(w http.ResponseWriter, r *http.Request, s *session, status int, data usersData) {
	users, err := d.store.ListUsers(r.Context(), s.viewer())
	if err != nil {
		d.fail(w, r, err)
		return
	}
	data.Users, data.Roles, data.Self = users, roles, s.user.ID
	if data.Form.Role == "" {
		data.Form.Role = store.RoleMember
	}
	d.render(w, r, status, "admin-users", &view{Title: "Users", Nav: "admin-users", Data: data})
}

func validRole(role string) bool { return role == store.RoleAdmin || role == store.RoleMember }

func (d *Dashboard) createUser(w http.ResponseWriter, r *http.Request, s *session) {
	var data usersData
	email, password, role := strings.TrimSpace(r.PostForm.Get("email")), r.PostForm.Get("password"), r.PostForm.Get("role")
	data.Form.Email, data.Form.Role = email, role
	refuse := func(msg string) { data.Error = msg; d.showUsers(w, r, s, http.StatusBadRequest, data) }
	if addr, err := mail.ParseAddress(email); err != nil || addr.Address != email || len(email) > 320 {
		refuse("Enter an email address such as dev@example.com.")
		return
	}
	if utf8.RuneCountInString(password) < minPasswordLen || len(password) > maxPasswordLen {
		refuse("The password must be 8 to 1024 characters long.")
		return
	}
	if !validRole(role) {
		refuse("Choose the role Member or Admin.")
		return
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		d.passwordError(w, r, err)
		return
	}
	u, err := d.store.CreateUser(r.Context(), email, hash, role)
	if errors.Is(err, store.ErrConflict) {
		refuse("A user with that email address already exists.")
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
	if !validRole(role) {
		d.redirectError(w, r, "/admin/users", "Choose the role Member or Admin.")
		return
	}
	u, err := d.store.SetUserRole(r.Context(), s.viewer(), id, role)
	if errors.Is(err, store.ErrInvalid) {
		d.redirectError(w, r, "/admin/users", "The last admin cannot be made a member: make someone else an admin first.")
		return
	}
	if err != nil {
		d.fail(w, r, err)
		return
	}
	d.redirect(w, r, "/admin/users", u.Email+" is now "+strings.ToLower(roleTitle(role))+".")
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
	if id == s.user.ID {
		// Removing yourself signs you out mid-action; another admin can.
		d.redirectError(w, r, "/admin/users", "You cannot remove your own account.")
		return
	}
	err := d.store.DeleteUser(r.Context(), s.viewer(), id)
	if errors.Is(err, store.ErrInvalid) {
		d.redirectError(w, r, "/admin/users", "The last admin cannot be removed.")
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

// checkProjectName returns a message when name is not acceptable.
func checkProjectName(name string) string {
	switch {
	case name == "":
		return "Enter a project name."
	case utf8.RuneCountInString(name) > maxProjectName:
		return "Project names are at most 100 characters long."
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "Project names cannot contain control characters."
	}
	return ""
}

func (d *Dashboard) createProject(w http.ResponseWriter, r *http.Request, s *session) {
	name := strings.TrimSpace(r.PostForm.Get("name"))
	if msg := checkProjectName(name); msg != "" {
		d.showAdminProjects(w, r, s, http.StatusBadRequest, adminProjectsData{Name: name, Error: msg})
		return
	}
	ctx := r.Context()
	p, err := d.store.CreateProject(ctx, name)
	if errors.Is(err, store.ErrConflict) {
		d.showAdminProjects(w, r, s, http.StatusBadRequest, adminProjectsData{Name: name, Error: "A project with that name already exists."})
		return
	}
	if err != nil {
		d.fail(w, r, err)
		return
	}
	if _, err := d.store.CreateProjectKey(ctx, p.ID); err != nil {
		d.serverError(w, r, err)
		return
	}
	d.redirect(w, r, projectAdminURL(p.ID), "Project "+p.Name+" created with an ingest key. Add its members below.")
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
	users, err := d.store.ListUsers(ctx, v)
	if err != nil {
		d.fail(w, r, err)
		return
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
	data.Project, data.Members, data.Keys, data.Roles = p, members, keys, roles
	if data.Name == "" {
		data.Name = p.Name
	}
	d.render(w, r, status, "admin-project", &view{Title: p.Name + " administration", Nav: "admin-projects", Tab: "admin", Data: data})
}

func (d *Dashboard) renameProject(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := pathID(r, "id")
	if !ok {
		d.notFound(w, r)
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	if msg := checkProjectName(name); msg != "" {
		d.showAdminProject(w, r, s, http.StatusBadRequest, adminProjectData{Name: name, Error: msg})
		return
	}
	p, err := d.store.RenameProject(r.Context(), s.viewer(), id, name)
	if errors.Is(err, store.ErrConflict) {
		d.showAdminProject(w, r, s, http.StatusBadRequest, adminProjectData{Name: name, Error: "A project with that name already exists."})
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
	ctx, v, id := r.Context(), s.viewer(), p.ID
	// Typing the name is the confirmation: deleting a project removes
	// every issue and event in it, with no undo.
	if r.PostForm.Get("confirm") != p.Name {
		d.showAdminProject(w, r, s, http.StatusBadRequest, adminProjectData{DeleteErr: "Type the project's name exactly to delete it."})
		return
	}
	if err := d.store.DeleteProject(ctx, v, id); err != nil {
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
	userID, err := strconv.ParseInt(r.PostForm.Get("user_id"), 10, 64)
	role := r.PostForm.Get("role")
	if err != nil || userID <= 0 || !validRole(role) {
		// Check the project first: a non-visible project stays a 404.
		if _, err := d.store.GetProject(r.Context(), s.viewer(), id); err != nil {
			d.fail(w, r, err)
			return
		}
		d.redirectError(w, r, back, "Choose a user and a role.")
		return
	}
	err = d.store.AddProjectMember(r.Context(), s.viewer(), id, userID, role)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	d.redirect(w, r, back, "Member added.")
}

func (d *Dashboard) removeMember(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok1 := pathID(r, "id")
	userID, ok2 := pathID(r, "user")
	if !ok1 || !ok2 {
		d.notFound(w, r)
		return
	}
	if err := d.store.RemoveMember(r.Context(), s.viewer(), id, userID); err != nil {
		d.fail(w, r, err)
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
	if _, err := d.store.RotateProjectKey(r.Context(), s.viewer(), id); err != nil {
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

// fieldList splits a textarea of field names, one per line or separated by
// commas.
func fieldList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' })
}
