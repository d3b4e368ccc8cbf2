package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/getflytrap/flytrap/internal/apitypes"
)

// Page fetches the page at cursor ("" for the first).
type Page[T any] func(ctx context.Context, cursor string) (apitypes.List[T], error)

// All follows next_cursor from the first page until the last, or until it
// holds max items (max <= 0: no bound), and returns them in order.
func All[T any](ctx context.Context, page Page[T], max int) ([]T, error) {
	var all []T
	cursor := ""
	for {
		p, err := page(ctx, cursor)
		if err != nil {
			return nil, err
		}
		all = append(all, p.Data...)
		if max > 0 && len(all) >= max {
			return all[:max], nil
		}
		if p.NextCursor == "" || p.NextCursor == cursor {
			return all, nil
		}
		cursor = p.NextCursor
	}
}

func id(n int64) string { return strconv.FormatInt(n, 10) }

// Me is the token's owner.
func (c *Client) Me(ctx context.Context) (apitypes.User, error) {
	var u apitypes.User
	return u, c.do(ctx, "GET", "/api/v1/me", nil, nil, &u)
}

// TokenLogin exchanges an email address and password for a new token
// (the client needs no token for it).
func (c *Client) TokenLogin(ctx context.Context, req apitypes.TokenLogin) (apitypes.CreatedToken, error) {
	var t apitypes.CreatedToken
	return t, c.do(ctx, "POST", "/api/v1/auth/token", nil, req, &t)
}

// Projects lists the projects the caller may see.
func (c *Client) Projects(ctx context.Context) ([]apitypes.Project, error) {
	var l apitypes.List[apitypes.Project]
	return l.Data, c.do(ctx, "GET", "/api/v1/projects", nil, nil, &l)
}

// Project returns a project with its privacy settings.
func (c *Client) Project(ctx context.Context, projectID int64) (apitypes.ProjectDetail, error) {
	var p apitypes.ProjectDetail
	return p, c.do(ctx, "GET", "/api/v1/projects/"+id(projectID), nil, nil, &p)
}

// CreateProject creates a project with its first ingest key.
func (c *Client) CreateProject(ctx context.Context, name string) (apitypes.CreatedProject, error) {
	var p apitypes.CreatedProject
	return p, c.do(ctx, "POST", "/api/v1/projects", nil, apitypes.ProjectName{Name: name}, &p)
}

// UpdateProject changes a project's name or settings.
func (c *Client) UpdateProject(ctx context.Context, projectID int64, patch apitypes.ProjectPatch) (apitypes.ProjectDetail, error) {
	var p apitypes.ProjectDetail
	return p, c.do(ctx, "PATCH", "/api/v1/projects/"+id(projectID), nil, patch, &p)
}

// ProjectFilters returns a project's inbound filters and their last day's
// counts.
func (c *Client) ProjectFilters(ctx context.Context, projectID int64) (apitypes.InboundFilters, error) {
	var f apitypes.InboundFilters
	return f, c.do(ctx, "GET", "/api/v1/projects/"+id(projectID)+"/filters", nil, nil, &f)
}

// UpdateProjectFilters changes a project's inbound filters.
func (c *Client) UpdateProjectFilters(ctx context.Context, projectID int64, patch apitypes.InboundFiltersPatch) (apitypes.InboundFilters, error) {
	var f apitypes.InboundFilters
	return f, c.do(ctx, "PATCH", "/api/v1/projects/"+id(projectID)+"/filters", nil, patch, &f)
}

// DeleteProject deletes a project with everything in it.
func (c *Client) DeleteProject(ctx context.Context, projectID int64) error {
	return c.do(ctx, "DELETE", "/api/v1/projects/"+id(projectID), nil, nil, nil)
}

// ProjectKeys lists a project's ingest keys, oldest first.
func (c *Client) ProjectKeys(ctx context.Context, projectID int64) ([]apitypes.ProjectKey, error) {
	var l apitypes.List[apitypes.ProjectKey]
	return l.Data, c.do(ctx, "GET", "/api/v1/projects/"+id(projectID)+"/keys", nil, nil, &l)
}

// RotateKey deactivates a project's keys and returns a new one.
func (c *Client) RotateKey(ctx context.Context, projectID int64) (apitypes.ProjectKey, error) {
	var k apitypes.ProjectKey
	return k, c.do(ctx, "POST", "/api/v1/projects/"+id(projectID)+"/keys/rotate", nil, nil, &k)
}

// Members lists a project's members.
func (c *Client) Members(ctx context.Context, projectID int64) ([]apitypes.Member, error) {
	var l apitypes.List[apitypes.Member]
	return l.Data, c.do(ctx, "GET", "/api/v1/projects/"+id(projectID)+"/members", nil, nil, &l)
}

// Releases lists a project's releases with their release health; query
// holds environment, since and until.
func (c *Client) Releases(ctx context.Context, projectID int64, query url.Values) ([]apitypes.Release, error) {
	var l apitypes.List[apitypes.Release]
	return l.Data, c.do(ctx, "GET", "/api/v1/projects/"+id(projectID)+"/releases", query, nil, &l)
}

// CreateRelease records release r of a project; created is false when it
// existed already, which is no error.
func (c *Client) CreateRelease(ctx context.Context, projectID int64, r apitypes.NewRelease) (rel apitypes.Release, created bool, err error) {
	status, err := c.doStatus(ctx, "POST", "/api/v1/projects/"+id(projectID)+"/releases", nil, r, &rel)
	return rel, status == http.StatusCreated, err
}

// Release reads one release of a project with its release health.
func (c *Client) Release(ctx context.Context, projectID int64, version string) (apitypes.Release, error) {
	var r apitypes.Release
	return r, c.do(ctx, "GET", releasePath(projectID, version), nil, nil, &r)
}

// FinalizeRelease sets when a release was released.
func (c *Client) FinalizeRelease(ctx context.Context, projectID int64, version string, at time.Time) (apitypes.Release, error) {
	var r apitypes.Release
	return r, c.do(ctx, "PATCH", releasePath(projectID, version), nil, apitypes.ReleasePatch{DateReleased: &at}, &r)
}

// CreateDeploy records a deploy of an existing release.
func (c *Client) CreateDeploy(ctx context.Context, projectID int64, version string, d apitypes.NewDeploy) (apitypes.Deploy, error) {
	var out apitypes.Deploy
	return out, c.do(ctx, "POST", releasePath(projectID, version)+"/deploys", nil, d, &out)
}

// Deploys lists a release's deploys, the last finished first.
func (c *Client) Deploys(ctx context.Context, projectID int64, version string) ([]apitypes.Deploy, error) {
	var l apitypes.List[apitypes.Deploy]
	return l.Data, c.do(ctx, "GET", releasePath(projectID, version)+"/deploys", nil, nil, &l)
}

// releasePath is a release's path; the version is one segment, a / in it
// escaped.
func releasePath(projectID int64, version string) string {
	return "/api/v1/projects/" + id(projectID) + "/releases/" + url.PathEscape(version)
}

// Monitors lists a project's cron monitors.
func (c *Client) Monitors(ctx context.Context, projectID int64) ([]apitypes.Monitor, error) {
	var l apitypes.List[apitypes.Monitor]
	return l.Data, c.do(ctx, "GET", "/api/v1/projects/"+id(projectID)+"/monitors", nil, nil, &l)
}

// AddMember adds the user with email to a project, or changes their role
// there; a project's admins may, who cannot look users up.
func (c *Client) AddMember(ctx context.Context, projectID int64, email, role string) (apitypes.Member, error) {
	var m apitypes.Member
	return m, c.do(ctx, "POST", fmt.Sprintf("/api/v1/projects/%d/members", projectID), nil, apitypes.NewMember{Email: email, Role: role}, &m)
}

// RemoveMember takes a user out of a project.
func (c *Client) RemoveMember(ctx context.Context, projectID, userID int64) error {
	return c.do(ctx, "DELETE", fmt.Sprintf("/api/v1/projects/%d/members/%d", projectID, userID), nil, nil, nil)
}

// Users lists every user (admins only).
func (c *Client) Users(ctx context.Context) ([]apitypes.User, error) {
	var l apitypes.List[apitypes.User]
	return l.Data, c.do(ctx, "GET", "/api/v1/users", nil, nil, &l)
}

// CreateUser creates a user (admins only); with u.Invite the answer
// carries the invitation link.
func (c *Client) CreateUser(ctx context.Context, u apitypes.NewUser) (apitypes.CreatedUser, error) {
	var out apitypes.CreatedUser
	return out, c.do(ctx, "POST", "/api/v1/users", nil, u, &out)
}

// ResetPassword issues a user a one-time password reset link (admins
// only).
func (c *Client) ResetPassword(ctx context.Context, userID int64) (apitypes.PasswordLink, error) {
	var out apitypes.PasswordLink
	return out, c.do(ctx, "POST", "/api/v1/users/"+id(userID)+"/password-reset", nil, nil, &out)
}

// SignOutUser ends a user's sessions and revokes their API tokens minted
// by signing in (admins only).
func (c *Client) SignOutUser(ctx context.Context, userID int64) (apitypes.SignedOut, error) {
	var out apitypes.SignedOut
	return out, c.do(ctx, "POST", "/api/v1/users/"+id(userID)+"/sign-out", nil, nil, &out)
}

// SetUserRole changes a user's role (admins only).
func (c *Client) SetUserRole(ctx context.Context, userID int64, role string) (apitypes.User, error) {
	var out apitypes.User
	return out, c.do(ctx, "PATCH", "/api/v1/users/"+id(userID), nil, apitypes.RoleChange{Role: role}, &out)
}

// DeleteUser removes a user (admins only).
func (c *Client) DeleteUser(ctx context.Context, userID int64) error {
	return c.do(ctx, "DELETE", "/api/v1/users/"+id(userID), nil, nil, nil)
}

// IssueQuery selects issues as GET /api/v1/projects/{id}/issues does;
// zero fields are left out.
type IssueQuery struct {
	Status, Environment, Release, Level, Query, Since, Sort string
	Limit                                                   int
}

func (q IssueQuery) values(cursor string) url.Values {
	v := url.Values{}
	for k, s := range map[string]string{
		"status": q.Status, "environment": q.Environment, "release": q.Release, "level": q.Level,
		"query": q.Query, "since": q.Since, "sort": q.Sort, "cursor": cursor,
	} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(min(q.Limit, 100)))
	}
	return v
}

// Issues returns one page of a project's issues.
func (c *Client) Issues(ctx context.Context, projectID int64, q IssueQuery, cursor string) (apitypes.List[apitypes.Issue], error) {
	var l apitypes.List[apitypes.Issue]
	return l, c.do(ctx, "GET", "/api/v1/projects/"+id(projectID)+"/issues", q.values(cursor), nil, &l)
}

// IssuePages pages through a project's issues, for All.
func (c *Client) IssuePages(projectID int64, q IssueQuery) Page[apitypes.Issue] {
	return func(ctx context.Context, cursor string) (apitypes.List[apitypes.Issue], error) {
		return c.Issues(ctx, projectID, q, cursor)
	}
}

// Issue returns an issue with its latest event, counts and tags.
func (c *Client) Issue(ctx context.Context, issueID int64) (apitypes.IssueDetail, error) {
	return c.IssueIn(ctx, issueID, "")
}

// IssueIn returns an issue with its figures (events, users, first and
// last seen, hourly counts) in environment; "" is every environment.
func (c *Client) IssueIn(ctx context.Context, issueID int64, environment string) (apitypes.IssueDetail, error) {
	var (
		d apitypes.IssueDetail
		q url.Values
	)
	if environment != "" {
		q = url.Values{"environment": {environment}}
	}
	return d, c.do(ctx, "GET", "/api/v1/issues/"+id(issueID), q, nil, &d)
}

// IssueFeedback returns one page of the user feedback about an issue's
// events, newest first.
func (c *Client) IssueFeedback(ctx context.Context, issueID int64, limit int, cursor string) (apitypes.List[apitypes.Feedback], error) {
	return c.feedback(ctx, "/api/v1/issues/"+id(issueID)+"/feedback", limit, cursor)
}

// ProjectFeedback returns one page of a project's user feedback, newest
// first.
func (c *Client) ProjectFeedback(ctx context.Context, projectID int64, limit int, cursor string) (apitypes.List[apitypes.Feedback], error) {
	return c.feedback(ctx, "/api/v1/projects/"+id(projectID)+"/feedback", limit, cursor)
}

func (c *Client) feedback(ctx context.Context, path string, limit int, cursor string) (apitypes.List[apitypes.Feedback], error) {
	var l apitypes.List[apitypes.Feedback]
	return l, c.do(ctx, "GET", path, page(limit, cursor), nil, &l)
}

// page is the query of one page of a list: its cursor, and limit up to
// the API's 100 (0: the server's default).
func page(limit int, cursor string) url.Values {
	v := url.Values{}
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	if limit > 0 {
		v.Set("limit", strconv.Itoa(min(limit, 100)))
	}
	return v
}

// IssueActivity returns one page of an issue's activity, newest first.
func (c *Client) IssueActivity(ctx context.Context, issueID int64, limit int, cursor string) (apitypes.List[apitypes.Activity], error) {
	var l apitypes.List[apitypes.Activity]
	return l, c.do(ctx, "GET", "/api/v1/issues/"+id(issueID)+"/activity", page(limit, cursor), nil, &l)
}

// AddComment adds the caller's comment to an issue and returns it.
func (c *Client) AddComment(ctx context.Context, issueID int64, text string) (apitypes.Activity, error) {
	var a apitypes.Activity
	return a, c.do(ctx, "POST", "/api/v1/issues/"+id(issueID)+"/comments", nil, apitypes.Comment{Text: text}, &a)
}

// SetIssueStatus resolves, ignores, reopens or assigns an issue, as ch
// says.
func (c *Client) SetIssueStatus(ctx context.Context, issueID int64, ch apitypes.StatusChange) (apitypes.Issue, error) {
	var is apitypes.Issue
	return is, c.do(ctx, "PATCH", "/api/v1/issues/"+id(issueID), nil, ch, &is)
}

// BulkChangeIssues changes the status or assignee of issues of a project
// together, in one transaction.
func (c *Client) BulkChangeIssues(ctx context.Context, projectID int64, b apitypes.BulkChange) (apitypes.BulkResult, error) {
	var r apitypes.BulkResult
	return r, c.do(ctx, "POST", "/api/v1/projects/"+id(projectID)+"/issues/bulk", nil, b, &r)
}

// MergeIssues merges issues of a project into one (m.Into, else the one
// with the most events) and returns it.
func (c *Client) MergeIssues(ctx context.Context, projectID int64, m apitypes.Merge) (apitypes.Issue, error) {
	var is apitypes.Issue
	return is, c.do(ctx, "POST", "/api/v1/projects/"+id(projectID)+"/issues/merge", nil, m, &is)
}

// DeleteIssue deletes an issue with its events.
func (c *Client) DeleteIssue(ctx context.Context, issueID int64) error {
	return c.do(ctx, "DELETE", "/api/v1/issues/"+id(issueID), nil, nil, nil)
}

// FeedQuery selects the events of GET /api/v1/events.
type FeedQuery struct {
	// Since is the earliest receive time.
	Since      time.Time
	ProjectIDs []int64
	Level      string
	Env        string
	Limit      int
}

// Feed returns one page of the events received since q.Since, oldest
// first; cursor continues a previous page.
func (c *Client) Feed(ctx context.Context, q FeedQuery, cursor string) (apitypes.List[apitypes.FeedEvent], error) {
	v := url.Values{}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339Nano))
	}
	for _, p := range q.ProjectIDs {
		v.Add("project", id(p))
	}
	if q.Level != "" {
		v.Set("level", q.Level)
	}
	if q.Env != "" {
		v.Set("environment", q.Env)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	var l apitypes.List[apitypes.FeedEvent]
	return l, c.do(ctx, "GET", "/api/v1/events", v, nil, &l)
}

// Tokens lists the caller's API tokens.
func (c *Client) Tokens(ctx context.Context) ([]apitypes.APIToken, error) {
	var l apitypes.List[apitypes.APIToken]
	return l.Data, c.do(ctx, "GET", "/api/v1/tokens", nil, nil, &l)
}

// CreateToken issues a token for the caller.
func (c *Client) CreateToken(ctx context.Context, nt apitypes.NewToken) (apitypes.CreatedToken, error) {
	var t apitypes.CreatedToken
	return t, c.do(ctx, "POST", "/api/v1/tokens", nil, nt, &t)
}

// DeleteToken revokes one of the caller's tokens.
func (c *Client) DeleteToken(ctx context.Context, tokenID int64) error {
	return c.do(ctx, "DELETE", "/api/v1/tokens/"+id(tokenID), nil, nil, nil)
}

// AlertChannels lists a project's alert channels, their URLs shortened.
func (c *Client) AlertChannels(ctx context.Context, projectID int64) ([]apitypes.AlertChannel, error) {
	var l apitypes.List[apitypes.AlertChannel]
	return l.Data, c.do(ctx, "GET", "/api/v1/projects/"+id(projectID)+"/alert-channels", nil, nil, &l)
}

// CreateAlertChannel adds a channel to a project; a webhook's answer
// carries its signing secret, this once.
func (c *Client) CreateAlertChannel(ctx context.Context, projectID int64, ch apitypes.NewAlertChannel) (apitypes.CreatedAlertChannel, error) {
	var out apitypes.CreatedAlertChannel
	return out, c.do(ctx, "POST", "/api/v1/projects/"+id(projectID)+"/alert-channels", nil, ch, &out)
}

// DeleteAlertChannel removes a channel and its rules.
func (c *Client) DeleteAlertChannel(ctx context.Context, channelID int64) error {
	return c.do(ctx, "DELETE", "/api/v1/alert-channels/"+id(channelID), nil, nil, nil)
}

// TestAlertChannel queues a test message for a channel.
func (c *Client) TestAlertChannel(ctx context.Context, channelID int64) (apitypes.Notification, error) {
	var n apitypes.Notification
	return n, c.do(ctx, "POST", "/api/v1/alert-channels/"+id(channelID)+"/test", nil, nil, &n)
}

// AlertRules lists a project's alert rules.
func (c *Client) AlertRules(ctx context.Context, projectID int64) ([]apitypes.AlertRule, error) {
	var l apitypes.List[apitypes.AlertRule]
	return l.Data, c.do(ctx, "GET", "/api/v1/projects/"+id(projectID)+"/alert-rules", nil, nil, &l)
}

// CreateAlertRule adds a rule to a project; the answer's Warning says
// when the server will only log the rule's email.
func (c *Client) CreateAlertRule(ctx context.Context, projectID int64, r apitypes.NewAlertRule) (apitypes.SavedAlertRule, error) {
	var out apitypes.SavedAlertRule
	return out, c.do(ctx, "POST", "/api/v1/projects/"+id(projectID)+"/alert-rules", nil, r, &out)
}

// PutAlertRule replaces a rule.
func (c *Client) PutAlertRule(ctx context.Context, ruleID int64, r apitypes.NewAlertRule) (apitypes.AlertRule, error) {
	var out apitypes.AlertRule
	return out, c.do(ctx, "PUT", "/api/v1/alert-rules/"+id(ruleID), nil, r, &out)
}

// DeleteAlertRule removes a rule.
func (c *Client) DeleteAlertRule(ctx context.Context, ruleID int64) error {
	return c.do(ctx, "DELETE", "/api/v1/alert-rules/"+id(ruleID), nil, nil, nil)
}

// Notifications lists a project's newest alert notifications, at most
// limit (1 to 200; 0 is the server's default, 50).
func (c *Client) Notifications(ctx context.Context, projectID int64, limit int) ([]apitypes.Notification, error) {
	var v url.Values
	if limit > 0 {
		v = url.Values{"limit": {strconv.Itoa(limit)}}
	}
	var l apitypes.List[apitypes.Notification]
	return l.Data, c.do(ctx, "GET", "/api/v1/projects/"+id(projectID)+"/notifications", v, nil, &l)
}
