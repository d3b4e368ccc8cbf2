package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/getflytrap/flytrap/internal/apitypes"

	"github.com/getflytrap/flytrap/internal/store"
)

func (a *API) createProject(w http.ResponseWriter, r *http.Request) {
	var req apitypes.ProjectName
	if !decodeBody(w, r, &req) {
		return
	}
	p, k, err := a.svc.Projects.Create(r.Context(), actor(r), req.Name)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, apitypes.CreatedProject{Project: wireProject(p), Key: a.wireKey(r)(k)})
}

// changesPrivacy reports whether p changes any privacy setting.
func changesPrivacy(p apitypes.ProjectPatch) bool {
	return p.Scrubbing != nil || p.SensitiveFields != nil || p.SafeFields != nil || p.DropIPAddresses != nil
}

func (a *API) getProject(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "project_id")
	if !ok {
		return
	}
	a.writeProject(w, r, id)
}

// writeProject answers with the project, its privacy settings and its
// rate limit.
func (a *API) writeProject(w http.ResponseWriter, r *http.Request, id int64) {
	ctx, v := r.Context(), viewer(r)
	p, err := a.store.GetProject(ctx, v, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	s, err := a.store.ProjectPrivacy(ctx, v, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	limit, err := a.store.ProjectRateLimit(ctx, v, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	d := apitypes.ProjectDetail{Project: wireProject(p), Privacy: wirePrivacy(s)}
	if limit != store.RateLimitDefault {
		d.RateLimit = &limit
	}
	writeJSON(w, http.StatusOK, d)
}

// rateLimitHint says what PATCH takes as rate_limit.
var rateLimitHint = fmt.Sprintf("send rate_limit as a number of events per minute from 1 to %d, %d for no limit, or null for the server's --rate-limit",
	store.MaxRateLimit, apitypes.RateLimitNone)

// storedRateLimit is the store's form of a rate_limit sent, or a message
// saying what is wrong with it.
func storedRateLimit(p apitypes.RateLimitPatch) (int, string) {
	switch {
	case p.Value == nil:
		return store.RateLimitDefault, ""
	case *p.Value == 0:
		return 0, "rate_limit 0 would refuse every event; " + rateLimitHint
	case *p.Value < apitypes.RateLimitNone || *p.Value > store.MaxRateLimit:
		return 0, fmt.Sprintf("rate_limit %d is out of range; %s", *p.Value, rateLimitHint)
	}
	return *p.Value, ""
}

// patchProject renames a project and changes its privacy settings and
// rate limit; admins only.
func (a *API) patchProject(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "project_id")
	if !ok {
		return
	}
	var req apitypes.ProjectPatch
	if !decodeBody(w, r, &req) {
		return
	}
	if req.Name == nil && !changesPrivacy(req) && !req.RateLimit.Set {
		writeError(w, http.StatusBadRequest, "bad_request",
			"nothing to change: send name, scrubbing, sensitive_fields, safe_fields, drop_ip_addresses or rate_limit")
		return
	}
	var limit int
	if req.RateLimit.Set {
		var msg string
		if limit, msg = storedRateLimit(req.RateLimit); msg != "" {
			writeError(w, http.StatusBadRequest, "bad_request", msg)
			return
		}
	}
	ctx, v := r.Context(), viewer(r)
	// The limit first: it takes an admin user where the rest takes the
	// project's admin, and a refusal must leave the rest unchanged.
	if req.RateLimit.Set {
		if err := a.store.SetProjectRateLimit(ctx, v, id, limit); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if req.Name != nil {
		if _, err := a.svc.Projects.Rename(ctx, actor(r), id, *req.Name); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	if changesPrivacy(req) {
		s, err := a.store.ProjectPrivacy(ctx, v, id)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if req.Scrubbing != nil {
			s.Scrubbing = *req.Scrubbing
		}
		if req.SensitiveFields != nil {
			s.SensitiveFields = *req.SensitiveFields
		}
		if req.SafeFields != nil {
			s.SafeFields = *req.SafeFields
		}
		if req.DropIPAddresses != nil {
			s.DropIPAddresses = *req.DropIPAddresses
		}
		if _, err := a.store.SetProjectPrivacy(ctx, v, id, s); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	a.writeProject(w, r, id)
}

func (a *API) deleteProject(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "project_id")
	if !ok {
		return
	}
	if err := a.svc.Projects.Delete(r.Context(), actor(r), id); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) listMembers(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "project_id")
	if !ok {
		return
	}
	members, err := a.store.ListMembers(r.Context(), viewer(r), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page(members, wireMember, ""))
}

// putMember adds a user to a project or changes their role there, and
// returns the membership.
func (a *API) putMember(w http.ResponseWriter, r *http.Request) {
	pid, ok := pathID(w, r, "project_id")
	if !ok {
		return
	}
	uid, ok := pathID(w, r, "user_id")
	if !ok {
		return
	}
	var req apitypes.RoleChange
	if !decodeBody(w, r, &req) {
		return
	}
	m, err := a.svc.Members.Put(r.Context(), actor(r), pid, uid, req.Role)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wireMember(m))
}

// addMember adds the user with an email to a project, or changes their
// role there: a project's admins, who may not list users, add members this
// way.
func (a *API) addMember(w http.ResponseWriter, r *http.Request) {
	pid, ok := pathID(w, r, "project_id")
	if !ok {
		return
	}
	var req apitypes.NewMember
	if !decodeBody(w, r, &req) {
		return
	}
	m, err := a.svc.Members.PutByEmail(r.Context(), actor(r), pid, req.Email, req.Role)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wireMember(m))
}

func (a *API) removeMember(w http.ResponseWriter, r *http.Request) {
	pid, ok := pathID(w, r, "project_id")
	if !ok {
		return
	}
	uid, ok := pathID(w, r, "user_id")
	if !ok {
		return
	}
	if err := a.svc.Members.Remove(r.Context(), actor(r), pid, uid); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) listKeys(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "project_id")
	if !ok {
		return
	}
	keys, err := a.store.ProjectKeys(r.Context(), viewer(r), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page(keys, a.wireKey(r), ""))
}

func (a *API) rotateKey(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "project_id")
	if !ok {
		return
	}
	k, err := a.svc.Keys.Rotate(r.Context(), actor(r), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, a.wireKey(r)(k))
}

func (a *API) bulkUpdate(w http.ResponseWriter, r *http.Request) {
	pid, ok := pathID(w, r, "project_id")
	if !ok {
		return
	}
	var req apitypes.BulkChange
	if !decodeBody(w, r, &req) {
		return
	}
	if len(req.IDs) == 0 || len(req.IDs) > store.MaxBulkIDs {
		writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("ids must list 1 to %d issue IDs", store.MaxBulkIDs))
		return
	}
	newStatus, release, next, ok := readStatus(w, req.Status, req.ResolvedInRelease, req.StatusDetails, req.AssignedTo.Set)
	if !ok {
		return
	}
	// The statuses and the assignees change together or not at all.
	c := store.BulkChange{Status: newStatus, ResolvedInRelease: release, InNextRelease: next, Assign: req.AssignedTo.Set}
	if c.Assign {
		if c.AssigneeID, ok = a.assigneeID(w, r, req.AssignedTo); !ok {
			return
		}
	}
	status, assigned, err := a.store.BulkUpdate(r.Context(), viewer(r), pid, req.IDs, c)
	var merged *store.MergedError
	if errors.As(err, &merged) {
		writeJSON(w, http.StatusNotFound, mergedRefusal(merged))
		return
	}
	if err != nil {
		a.assignFail(w, r, req.AssignedTo.Who, releaseField(req.ResolvedInRelease), err)
		return
	}
	res := apitypes.BulkResult{Updated: status}
	if c.Assign {
		res.Assigned = &assigned
		if c.Status == "" {
			res.Updated = assigned
		}
	}
	writeJSON(w, http.StatusOK, res)
}

// mergedRefusal is the issue_merged refusal of a bulk change or a merge
// naming issues that were merged: as a change to one such issue, it names
// the issues to name instead, and MergedInto when they are one.
func mergedRefusal(e *store.MergedError) apitypes.Error {
	body := apitypes.ErrorBody{Code: apitypes.CodeIssueMerged, Merged: e.Into,
		Message: e.Error() + "; nothing was changed: send the IDs of the issues they were merged into instead"}
	var kept []int64
	for _, id := range e.Into {
		if !slices.Contains(kept, id) {
			kept = append(kept, id)
		}
	}
	slices.Sort(kept)
	for _, id := range kept {
		body.URLs = append(body.URLs, "/api/v1/issues/"+strconv.FormatInt(id, 10))
	}
	if len(kept) == 1 {
		body.MergedInto = kept[0]
	}
	return apitypes.Error{Error: body}
}

// mergeIssues merges issues of the project into one and answers it.
func (a *API) mergeIssues(w http.ResponseWriter, r *http.Request) {
	pid, ok := pathID(w, r, "project_id")
	if !ok {
		return
	}
	var req apitypes.Merge
	if !decodeBody(w, r, &req) {
		return
	}
	if len(req.IDs) == 0 || len(req.IDs) > store.MaxBulkIDs {
		writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("ids must list 1 to %d issue IDs", store.MaxBulkIDs))
		return
	}
	is, err := a.store.MergeIssues(r.Context(), viewer(r), pid, req.IDs, req.Into)
	var merged *store.MergedError
	if errors.As(err, &merged) {
		writeJSON(w, http.StatusNotFound, mergedRefusal(merged))
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, wireIssue(is))
}
