// Package apitypes holds the request and response bodies of the REST API
// v1 (/api/v1), shared by the server (internal/api) and the Go client
// (internal/client), so both sides encode one definition. It depends on
// nothing of Flytrap's: the wire format is a contract, not a view of the
// store's rows.
package apitypes

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Error codes of ErrorBody.Code the client acts on.
const (
	CodeBadRequest   = "bad_request"
	CodeUnauthorized = "unauthorized"
	CodeForbidden    = "forbidden"
	CodeCSRF         = "csrf"
	CodeNotFound     = "not_found"
	CodeConflict     = "conflict"
	CodeTooLarge     = "too_large"
	CodeTooMany      = "too_many_requests"
	CodeBusy         = "busy"
	CodeInternal     = "internal"
	// CodeReadOnly refuses a change made with a read-only token.
	CodeReadOnly = "read_only_token"
	// CodePassword refuses a request that needs the caller's password,
	// not sent or wrong: creating a named token with a token minted by
	// signing in (flytrap login).
	CodePassword = "password_required"
	// CodeIssueMerged refuses a change to an issue that was merged into
	// another, named by ErrorBody.MergedInto.
	CodeIssueMerged = "issue_merged"
	// CodeUnknownRelease refuses to resolve issues in a release their
	// project does not have, named by ErrorBody.Field and Project.
	CodeUnknownRelease = "unknown_release"
)

// Roles of users and members.
const (
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// Issue statuses.
const (
	StatusUnresolved = "unresolved"
	StatusResolved   = "resolved"
	StatusIgnored    = "ignored"
)

// Token scopes: a read-only token may only read (GET); a full token may
// do whatever its owner may.
const (
	ScopeFull     = "full"
	ScopeReadOnly = "read"
)

// Error is every error response: {"error": {"code", "message"}}.
type Error struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody is the code a program acts on and the message a person reads.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// URLs are the API paths to use instead, where the request could mean
	// more than one thing: for ambiguous_event_id, the event's path in each
	// project the caller may see that holds its ID.
	URLs []string `json:"urls,omitempty"`
	// MergedInto is, for issue_merged, the issue the one asked for was
	// merged into.
	MergedInto int64 `json:"merged_into,omitempty"`
	// Merged is, for issue_merged from a bulk change, the issue each
	// merged ID it named was merged into, by that ID.
	Merged map[int64]int64 `json:"merged,omitempty"`
	// Field is, for unknown_release, the request's field that named the
	// release: resolved_in_release or statusDetails.inRelease.
	Field string `json:"field,omitempty"`
	// Project is, for unknown_release, the name of the project that has
	// no such release.
	Project string `json:"project,omitempty"`
}

// List is the envelope of every list response; an empty NextCursor is the
// last page.
type List[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor"`
	// PrevCursor is the cursor of the page before, in the lists that page
	// backwards (the issue list); empty on the first page.
	PrevCursor string `json:"prev_cursor,omitempty"`
}

// User is a person who signs in or holds API tokens. Password hashes never
// appear on the wire.
type User struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	// Invited says the user has no password yet: invited, and has not
	// chosen one through the link.
	Invited bool `json:"invited,omitempty"`
}

// NewUser is POST /api/v1/users. With Invite the user is created without
// a usable password (Password must be empty) and the answer carries an
// invitation link through which they choose one.
type NewUser struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Role     string `json:"role"`
	Invite   bool   `json:"invite,omitempty"`
}

// CreatedUser is the answer to POST /api/v1/users: the user, and with
// NewUser.Invite the invitation link.
type CreatedUser struct {
	User
	Link *PasswordLink `json:"link,omitempty"`
}

// Purposes of a PasswordLink.
const (
	LinkInvite = "invite"
	LinkReset  = "reset"
)

// PasswordLink is a one-time link that sets a user's password: an
// invitation (POST /api/v1/users with invite) or a reset (POST
// /api/v1/users/{id}/password-reset). URL holds the secret and is in this
// answer only.
type PasswordLink struct {
	Email     string    `json:"email"`
	Purpose   string    `json:"purpose"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
	// Emailed says the server emailed the link to Email; MailError says
	// why sending failed, when it tried.
	Emailed   bool   `json:"emailed"`
	MailError string `json:"mail_error,omitempty"`
}

// SignedOut is the answer to POST /api/v1/users/{id}/sign-out: the user,
// whose sessions ended, and how many of their API tokens minted by signing
// in were revoked. The password and the tokens created by name are kept.
type SignedOut struct {
	User
	TokensRevoked int64 `json:"tokens_revoked"`
}

// RoleChange is PATCH /api/v1/users/{id} and PUT .../members/{id}.
type RoleChange struct {
	Role string `json:"role"`
}

// NewMember is POST /api/v1/projects/{id}/members: a user, by email, and
// their role in the project.
type NewMember struct {
	Email string `json:"email"`
	// Role is admin or member; without it a member keeps their role and
	// anyone else joins as a member.
	Role string `json:"role,omitempty"`
}

// Project groups the issues of one application.
type Project struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// ProjectName is POST /api/v1/projects.
type ProjectName struct {
	Name string `json:"name"`
}

// Privacy is a project's data scrubbing settings.
type Privacy struct {
	Scrubbing       bool     `json:"scrubbing"`
	SensitiveFields []string `json:"sensitive_fields"`
	SafeFields      []string `json:"safe_fields"`
	DropIPAddresses bool     `json:"drop_ip_addresses"`
}

// ProjectDetail is GET /api/v1/projects/{id}: the project with its
// privacy settings and rate limit.
type ProjectDetail struct {
	Project
	Privacy
	// RateLimit is the project's ingest rate limit in events per minute,
	// RateLimitNone for none, or nil for the server's (--rate-limit).
	RateLimit *int `json:"rate_limit"`
}

// InboundFilters is GET and PATCH /api/v1/projects/{id}/filters: the
// project's inbound data filters and what they dropped.
type InboundFilters struct {
	// BrowserExtensions drops errors raised by browser extensions.
	BrowserExtensions bool `json:"browser_extensions"`
	// Localhost drops events from 127.0.0.1, ::1, localhost and file://.
	Localhost bool `json:"localhost"`
	// LegacyBrowsers are the old browsers whose events are dropped: any
	// of chrome, edge, firefox, safari, opera, opera_mini, android, ie
	// and default (Relay's first set); none when the filter is off.
	LegacyBrowsers []string `json:"legacy_browsers"`
	// WebCrawlers drops events whose User-Agent is a known crawler.
	WebCrawlers bool `json:"web_crawlers"`
	// ErrorMessages are glob patterns of messages and "Type: value"s.
	ErrorMessages []string `json:"error_messages"`
	// Releases are glob patterns of releases.
	Releases []string `json:"releases"`
	// FilteredLast24h counts the events each filter dropped in the last
	// 24 hours (whole hours), by reason: browser-extensions, localhost,
	// legacy-browsers, web-crawlers, error-message, release-version. Read
	// only.
	FilteredLast24h map[string]int64 `json:"filtered_last_24h"`
}

// InboundFiltersPatch is PATCH /api/v1/projects/{id}/filters; nil fields
// are left as they are, and a list sent replaces the project's.
type InboundFiltersPatch struct {
	BrowserExtensions *bool     `json:"browser_extensions,omitempty"`
	Localhost         *bool     `json:"localhost,omitempty"`
	LegacyBrowsers    *[]string `json:"legacy_browsers,omitempty"`
	WebCrawlers       *bool     `json:"web_crawlers,omitempty"`
	ErrorMessages     *[]string `json:"error_messages,omitempty"`
	Releases          *[]string `json:"releases,omitempty"`
}

// Values of a project's rate_limit besides null.
const (
	// RateLimitNone is a project's rate_limit when it has none.
	RateLimitNone = -1
	// MaxRateLimit is the largest rate_limit in events per minute: a
	// million a minute is more than a server accepts, so a larger
	// number is a typo, not a limit.
	MaxRateLimit = 1_000_000
)

// ProjectPatch is PATCH /api/v1/projects/{id}; nil fields, and a
// RateLimit not Set, are left as they are.
type ProjectPatch struct {
	Name            *string        `json:"name,omitempty"`
	Scrubbing       *bool          `json:"scrubbing,omitempty"`
	SensitiveFields *[]string      `json:"sensitive_fields,omitempty"`
	SafeFields      *[]string      `json:"safe_fields,omitempty"`
	DropIPAddresses *bool          `json:"drop_ip_addresses,omitempty"`
	RateLimit       RateLimitPatch `json:"rate_limit,omitzero"`
}

// RateLimitPatch is rate_limit in a ProjectPatch. Unlike the other fields
// it tells null, which puts the project back on the server's limit, from
// a field not sent.
type RateLimitPatch struct {
	// Set is whether the field is sent.
	Set bool
	// Value is the limit in events per minute, RateLimitNone for none,
	// or nil for the server's.
	Value *int
}

// IsZero reports whether the field is left out.
func (p RateLimitPatch) IsZero() bool { return !p.Set }

// MarshalJSON writes Value: a number or null.
func (p RateLimitPatch) MarshalJSON() ([]byte, error) { return json.Marshal(p.Value) }

// UnmarshalJSON reads a number or null.
func (p *RateLimitPatch) UnmarshalJSON(b []byte) error {
	p.Set, p.Value = true, nil
	if string(b) == "null" {
		return nil
	}
	var n int
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("rate_limit must be a whole number of events per minute, %d for no limit, or null for the server's limit", RateLimitNone)
	}
	p.Value = &n
	return nil
}

// CreatedProject is a new project with the ingest key its SDKs need.
type CreatedProject struct {
	Project
	Key ProjectKey `json:"key"`
}

// ProjectKey is an ingest key (the DSN's public key).
type ProjectKey struct {
	ID        int64     `json:"id"`
	ProjectID int64     `json:"project_id"`
	PublicKey string    `json:"public_key"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
	// DSN is what Sentry SDKs are configured with for this key.
	DSN string `json:"dsn"`
}

// DSN is the Sentry DSN of key for project projectID at the ingest URL
// base: scheme://KEY@host[/path]/PROJECT_ID. It is "" for a base that is
// not a URL.
func DSN(base, key string, projectID int64) string {
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	u.User = url.User(key)
	u.Path = strings.TrimRight(u.Path, "/") + "/" + strconv.FormatInt(projectID, 10)
	return u.String()
}

// Member is a user's membership of a project.
type Member struct {
	ProjectID int64     `json:"project_id"`
	UserID    int64     `json:"user_id"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// APIToken is a bearer token's metadata; the secret is only in
// CreatedToken.
type APIToken struct {
	ID     int64  `json:"id"`
	UserID int64  `json:"user_id"`
	Name   string `json:"name"`
	// Scope is ScopeFull or ScopeReadOnly.
	Scope string `json:"scope"`
	// ExpiresAt is nil for a token that does not expire.
	ExpiresAt *time.Time `json:"expires_at"`
	// LastUsedAt is nil for a token never used; it is updated at most
	// once a minute.
	LastUsedAt *time.Time `json:"last_used_at"`
	CreatedAt  time.Time  `json:"created_at"`
	// Origin is "created" for a token created by name, "password" for one
	// minted by POST /api/v1/auth/token (flytrap login), which changing
	// the password revokes.
	Origin string `json:"origin"`
}

// NewToken is POST /api/v1/tokens. Scope defaults to ScopeFull; a nil
// ExpiresAt never expires.
type NewToken struct {
	Name      string     `json:"name"`
	Scope     string     `json:"scope,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// Password is the caller's password. POST /api/v1/tokens requires it
	// of a caller signed in with a token of flytrap login (CodePassword):
	// a named token outlives a password change, and whoever stole a
	// login token must not be able to make one. When sent, it is checked
	// whatever the caller signed in with.
	Password string `json:"password,omitempty"`
}

// TokenLogin is POST /api/v1/auth/token: a password (NewToken.Password)
// exchanged for a new token of the user's.
type TokenLogin struct {
	Email string `json:"email"`
	NewToken
}

// CreatedToken is a new token with its secret, shown this once.
type CreatedToken struct {
	APIToken
	Token string `json:"token"`
}

// Issue is a group of events with the same fingerprint.
type Issue struct {
	ID                int64  `json:"id"`
	ProjectID         int64  `json:"project_id"`
	Fingerprint       string `json:"fingerprint"`
	GroupingVersion   string `json:"grouping_version"`
	Title             string `json:"title"`
	Culprit           string `json:"culprit"`
	Level             string `json:"level"`
	Status            string `json:"status"`
	ResolvedInRelease string `json:"resolved_in_release,omitempty"`
	// ResolvedAfterRelease is, for an issue resolved in the next release,
	// the project's latest release then: an event of a release first
	// seen after it reopens the issue.
	ResolvedAfterRelease string `json:"resolved_after_release,omitempty"`
	Count                int64  `json:"count"`
	UserCount            int64  `json:"user_count"`
	// FirstSeen and LastSeen are absent when the issue has no events in
	// the environment asked for.
	FirstSeen     time.Time `json:"first_seen,omitzero"`
	LastSeen      time.Time `json:"last_seen,omitzero"`
	FirstRelease  string    `json:"first_release,omitempty"`
	LastRelease   string    `json:"last_release,omitempty"`
	LatestEventID string    `json:"latest_event_id"`
	// AssignedTo is the user the issue is assigned to, null for nobody.
	AssignedTo *Assignee `json:"assignedTo"`
	// StatusDetails is Sentry's statusDetails: the release the issue is
	// resolved in, or in the next release of, and empty otherwise.
	StatusDetails StatusDetails `json:"statusDetails"`
}

// Assignee is the user an issue is assigned to, as Sentry shows one.
type Assignee struct {
	// Type is always "user": Flytrap has no teams.
	Type  string `json:"type"`
	ID    int64  `json:"id"`
	Email string `json:"email"`
	// Name is the user's email: Flytrap's users have no other name.
	Name string `json:"name"`
}

// IssueDetail is GET /api/v1/issues/{id}.
type IssueDetail struct {
	Issue
	LatestEvent  *EventDetail `json:"latest_event"`
	HourlyCounts []Bucket     `json:"hourly_counts"`
	Tags         []TagCount   `json:"tags"`
	// FeedbackCount is how much user feedback names one of the issue's
	// stored events.
	FeedbackCount int64 `json:"feedback_count"`
}

// StatusChange is PATCH /api/v1/issues/{id}: a new status, a new
// assignee, or both.
type StatusChange struct {
	Status            string `json:"status,omitempty"`
	ResolvedInRelease string `json:"resolved_in_release,omitempty"`
	// StatusDetails resolves in a release as Sentry's API does.
	StatusDetails *StatusDetails `json:"statusDetails,omitempty"`
	// AssignedTo, when sent, assigns the issue.
	AssignedTo AssigneeRef `json:"assignedTo,omitzero"`
}

// StatusDetails is Sentry's statusDetails of a resolve: InRelease names
// the release ("latest" for the project's latest, in a change),
// InNextRelease resolves in the release after the latest. An issue's is
// {} unless it is resolved in a release, as Sentry's is.
type StatusDetails struct {
	InRelease     string `json:"inRelease,omitempty"`
	InNextRelease bool   `json:"inNextRelease,omitempty"`
}

// StatusResolvedInNextRelease is Sentry's status for a resolve in the
// next release, the same as StatusResolved with InNextRelease.
const StatusResolvedInNextRelease = "resolvedInNextRelease"

// BulkChange is POST /api/v1/projects/{id}/issues/bulk: a new status, a
// new assignee, or both, for each issue of IDs.
type BulkChange struct {
	IDs               []int64 `json:"ids"`
	Status            string  `json:"status,omitempty"`
	ResolvedInRelease string  `json:"resolved_in_release,omitempty"`
	// StatusDetails resolves in a release as StatusChange's does.
	StatusDetails *StatusDetails `json:"statusDetails,omitempty"`
	AssignedTo    AssigneeRef    `json:"assignedTo,omitzero"`
}

// AssigneeRef is whom a change assigns issues to: a user's ID (a number,
// or a string as Sentry's "user:ID"), email, or "me"; null or "" is
// nobody. The zero AssigneeRef was not sent and leaves the assignee as it
// is.
type AssigneeRef struct {
	// Set says the change assigns.
	Set bool
	// Who is as sent, a number as its digits; "" is nobody.
	Who string
}

// Assign is the AssigneeRef that assigns to who ("" for nobody).
func Assign(who string) AssigneeRef { return AssigneeRef{Set: true, Who: who} }

// IsZero reports whether a is the zero AssigneeRef, for omitzero.
func (a AssigneeRef) IsZero() bool { return !a.Set }

// MarshalJSON writes nobody as null, others as a string.
func (a AssigneeRef) MarshalJSON() ([]byte, error) {
	if a.Who == "" {
		return []byte("null"), nil
	}
	return json.Marshal(a.Who)
}

// UnmarshalJSON reads null, a string or a whole number.
func (a *AssigneeRef) UnmarshalJSON(b []byte) error {
	*a = AssigneeRef{Set: true}
	if string(b) == "null" {
		return nil
	}
	if err := json.Unmarshal(b, &a.Who); err == nil {
		return nil
	}
	var id int64
	if err := json.Unmarshal(b, &id); err != nil {
		return errors.New(`assignedTo must be a user's ID, email or "me", or null for nobody`)
	}
	a.Who = strconv.FormatInt(id, 10)
	return nil
}

// Merge is POST /api/v1/projects/{id}/issues/merge: the issues IDs are
// merged into one, Into when set (it need not be among IDs), else the one
// with the most events. The answer is the Issue merged into.
type Merge struct {
	IDs  []int64 `json:"ids"`
	Into int64   `json:"into,omitempty"`
}

// BulkResult answers BulkChange.
type BulkResult struct {
	// Updated is how many issues changed status, or, for a change of the
	// assignee alone, how many changed assignee.
	Updated int64 `json:"updated"`
	// Assigned is how many issues changed assignee, for a change that
	// assigns; absent otherwise.
	Assigned *int64 `json:"assigned,omitempty"`
}

// Event is a stored event's summary.
type Event struct {
	EventID     string    `json:"event_id"`
	ProjectID   int64     `json:"project_id"`
	IssueID     int64     `json:"issue_id"`
	Timestamp   time.Time `json:"timestamp"`
	Received    time.Time `json:"received"`
	Title       string    `json:"title"`
	Level       string    `json:"level"`
	Release     string    `json:"release,omitempty"`
	Environment string    `json:"environment,omitempty"`
}

// Feedback is what a user wrote about a problem (Sentry's captureFeedback,
// the feedback widget, or a legacy user report). Every string but the IDs
// is the user's text, untrusted.
type Feedback struct {
	ID        int64  `json:"id"`
	ProjectID int64  `json:"project_id"`
	EventID   string `json:"event_id"`
	// AssociatedEventID is the event the feedback is about, if any.
	AssociatedEventID string `json:"associated_event_id,omitempty"`
	// IssueID is that event's issue while the event is stored.
	IssueID  int64     `json:"issue_id,omitempty"`
	Name     string    `json:"name,omitempty"`
	Email    string    `json:"email,omitempty"`
	Message  string    `json:"message"`
	URL      string    `json:"url,omitempty"`
	Source   string    `json:"source,omitempty"`
	Created  time.Time `json:"created"`
	Received time.Time `json:"received"`
}

// Release is a release of a project with its release health over the
// requested time range.
type Release struct {
	ProjectID int64     `json:"project_id"`
	Version   string    `json:"version"`
	FirstSeen time.Time `json:"first_seen"`
	// DateReleased is when sentry-cli finalized it; absent while it is
	// not.
	DateReleased *time.Time `json:"date_released,omitempty"`
	// NewIssues counts the issues first seen in the release.
	NewIssues   int64 `json:"new_issues"`
	CommitCount int64 `json:"commit_count"`
	DeployCount int64 `json:"deploy_count"`
	// Health is what its sessions add up to; null without sessions in
	// the range.
	Health *ReleaseHealth `json:"health"`
	// Environments splits Health by environment, on a single release's
	// answer only.
	Environments []ReleaseHealth `json:"environments,omitempty"`
}

// ReleaseHealth is what a release's sessions add up to (see docs/api.md,
// "Release health").
type ReleaseHealth struct {
	// Environment is set in a figure of one environment.
	Environment  string `json:"environment,omitempty"`
	Sessions     int64  `json:"sessions"`
	Healthy      int64  `json:"healthy"`
	Errored      int64  `json:"errored"`
	Crashed      int64  `json:"crashed"`
	Abnormal     int64  `json:"abnormal"`
	Users        int64  `json:"users"`
	CrashedUsers int64  `json:"crashed_users"`
	// CrashFreeSessions and CrashFreeUsers are percentages; null
	// without sessions, or without users.
	CrashFreeSessions *float64 `json:"crash_free_sessions"`
	CrashFreeUsers    *float64 `json:"crash_free_users"`
}

// NewRelease is the body of POST /api/v1/projects/{id}/releases: a
// release recorded before its first event, as a CI job does before it
// deploys. A release that exists already is answered as it is (200, not
// 201), so a job may run again.
type NewRelease struct {
	Version string `json:"version"`
	// DateReleased, when set, finalizes the release at that time, new
	// or existing.
	DateReleased *time.Time `json:"date_released,omitempty"`
}

// ReleasePatch is PATCH /api/v1/projects/{id}/releases/{version}.
type ReleasePatch struct {
	// DateReleased finalizes the release at that time; required.
	DateReleased *time.Time `json:"date_released"`
}

// Deploy is a deploy of a release to an environment.
type Deploy struct {
	ID          int64  `json:"id"`
	ProjectID   int64  `json:"project_id"`
	Version     string `json:"version"`
	Environment string `json:"environment"`
	Name        string `json:"name,omitempty"`
	URL         string `json:"url,omitempty"`
	// DateStarted is absent when not given.
	DateStarted  *time.Time `json:"date_started,omitempty"`
	DateFinished time.Time  `json:"date_finished"`
}

// NewDeploy is the body of POST
// /api/v1/projects/{id}/releases/{version}/deploys. Without DateFinished
// the deploy finished when the server received it.
type NewDeploy struct {
	Environment  string     `json:"environment"`
	Name         string     `json:"name,omitempty"`
	URL          string     `json:"url,omitempty"`
	DateStarted  *time.Time `json:"date_started,omitempty"`
	DateFinished *time.Time `json:"date_finished,omitempty"`
}

// EventDetail is an event with its full normalized payload.
type EventDetail struct {
	Event
	Payload json.RawMessage `json:"event,omitempty"`
}

// FeedEvent is one entry of GET /api/v1/events: an event with what a
// one-line summary needs of its issue, in the order events arrived.
type FeedEvent struct {
	Event
	// Culprit is the event's own, as the live stream's.
	Culprit string `json:"culprit"`
	// IssueTitle, Count and Status are the issue's now, not when the
	// event arrived; the event's own title is Title.
	IssueTitle string `json:"issue_title"`
	Count      int64  `json:"count"`
	Status     string `json:"status"`
}

// Bucket is the number of events in one hour.
type Bucket struct {
	Hour  time.Time `json:"hour"`
	Count int64     `json:"count"`
}

// TagCount is how often one tag value was seen on an issue.
type TagCount struct {
	Key   string `json:"key"`
	Value string `json:"value"`
	Count int64  `json:"count"`
	// Capped says the key has reached the most values an issue keeps of
	// one key (1,000): values it did not have by then are not counted.
	Capped bool `json:"capped,omitempty"`
}

// Alert channel kinds.
const (
	ChannelEmail   = "email"
	ChannelSlack   = "slack"
	ChannelWebhook = "webhook"
)

// Alert rule types.
const (
	RuleNewIssue   = "new_issue"
	RuleRegression = "regression"
	RuleFrequency  = "frequency"
)

// AlertChannel is where a project's alerts go. URL is shortened in lists
// (docs/api.md, "Alerts"): nobody sees a whole URL after creating it.
type AlertChannel struct {
	ID        int64     `json:"id"`
	ProjectID int64     `json:"project_id"`
	Kind      string    `json:"kind"`
	Name      string    `json:"name"`
	URL       string    `json:"url,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Reasons a member is not mailed (NotMailed.Reason).
const (
	// NotMailedEmailOff: the member turned alert email off on their
	// account, which stops every email channel.
	NotMailedEmailOff = "alert_email_off"
	// NotMailedUnsubscribed: the member unsubscribed from one email
	// channel, ChannelID, by an alert email's link.
	NotMailedUnsubscribed = "unsubscribed"
	// NotMailedNoPassword: the member was invited and has not set a
	// password yet; no email channel mails them until they do.
	NotMailedNoPassword = "no_password"
)

// NotMailed is a member of a project whom some of its email alerts do not
// reach, and why: GET /api/v1/projects/{id}/alert-not-mailed, for the
// project's admins.
type NotMailed struct {
	Email  string `json:"email"`
	Reason string `json:"reason"`
	// ChannelID is the channel the member unsubscribed from; absent for
	// the other reasons, which stop every email channel.
	ChannelID int64 `json:"channel_id,omitempty"`
	// Since is when the member turned email off or unsubscribed, or, for
	// no_password, was added to the project.
	Since time.Time `json:"since"`
}

// NewAlertChannel is POST /api/v1/projects/{id}/alert-channels. Email
// needs no URL.
type NewAlertChannel struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	URL  string `json:"url"`
}

// CreatedAlertChannel is a new channel; Secret, a webhook's signing
// secret, is shown this once.
type CreatedAlertChannel struct {
	AlertChannel
	Secret string `json:"secret,omitempty"`
	// Warning says the channel's host did not resolve when it was added,
	// so its address could not be checked then (delivery checks it on
	// every send), or, for an email channel, that the server has no SMTP
	// server and only logs alert email.
	Warning string `json:"warning,omitempty"`
}

// SavedAlertRule is a rule as created or replaced; Warning says, for a
// rule of an email channel, that the server has no SMTP server and only
// logs alert email.
type SavedAlertRule struct {
	AlertRule
	Warning string `json:"warning,omitempty"`
}

// AlertRule says which events of a project alert which channel.
type AlertRule struct {
	ID            int64  `json:"id"`
	ProjectID     int64  `json:"project_id"`
	ChannelID     int64  `json:"channel_id"`
	Type          string `json:"type"`
	Threshold     int64  `json:"threshold"`
	WindowMinutes int64  `json:"window_minutes"`
	// MinLevel keeps events at least this severe ("" any).
	MinLevel string `json:"min_level"`
	// Environment keeps events of this environment only ("" any).
	Environment string    `json:"environment"`
	Enabled     bool      `json:"enabled"`
	CreatedAt   time.Time `json:"created_at"`
}

// NewAlertRule is POST /api/v1/projects/{id}/alert-rules and PUT
// /api/v1/alert-rules/{id}, which replaces the rule; a nil Enabled is
// true.
type NewAlertRule struct {
	ChannelID     int64  `json:"channel_id"`
	Type          string `json:"type"`
	Threshold     int64  `json:"threshold"`
	WindowMinutes int64  `json:"window_minutes"`
	MinLevel      string `json:"min_level"`
	Environment   string `json:"environment"`
	Enabled       *bool  `json:"enabled"`
}

// AlertPayload is what a notification says, fixed when it is written.
type AlertPayload struct {
	ProjectID     int64     `json:"project_id"`
	IssueID       int64     `json:"issue_id"`
	Title         string    `json:"title"`
	IssueTitle    string    `json:"issue_title,omitempty"`
	Culprit       string    `json:"culprit"`
	Level         string    `json:"level"`
	Status        string    `json:"status"`
	Count         int64     `json:"count"`
	UserCount     int64     `json:"user_count"`
	Environment   string    `json:"environment,omitempty"`
	Release       string    `json:"release,omitempty"`
	EventID       string    `json:"event_id,omitempty"`
	Events        int64     `json:"events,omitempty"`
	Held          int64     `json:"held,omitempty"`
	WindowEvents  int64     `json:"window_events,omitempty"`
	WindowMinutes int64     `json:"window_minutes,omitempty"`
	At            time.Time `json:"at"`
	// Monitor is set on a cron monitor's alert (monitor_failing,
	// monitor_recovered), which is about no issue.
	Monitor *AlertMonitor `json:"monitor,omitempty"`
}

// AlertMonitor is what a cron monitor's alert says about it.
type AlertMonitor struct {
	Slug string `json:"slug"`
	// Environment is the monitor environment whose status changed.
	Environment string `json:"environment"`
	// Status is the environment's.
	Status string `json:"status"`
	// Schedule is its schedule as pages show it: "every 1 hour",
	// "0 2 * * * (Europe/Vienna)".
	Schedule string `json:"schedule"`
	// CheckIn is the run that made the change: the failed one, or the
	// ok one that recovered it.
	CheckIn AlertCheckIn `json:"check_in"`
	// OKStreak is, on recovery, how many ok runs in a row it took.
	OKStreak int64 `json:"ok_streak,omitempty"`
}

// AlertCheckIn is the check-in a monitor's alert quotes; Time is when
// it arrived, or for a missed run when the run was due.
type AlertCheckIn struct {
	Status      string    `json:"status"`
	Time        time.Time `json:"time"`
	Environment string    `json:"environment,omitempty"`
	Release     string    `json:"release,omitempty"`
}

// Notification is one message to one channel, as GET
// /api/v1/projects/{id}/notifications lists it: Status is "pending",
// "sending", "sent", "dead" or "logged" (an email the server wrote to its
// log, not sent, having no SMTP server; LastError says so). NextAttemptAt
// is when a pending notification is due, or when the one being sent was;
// a sent, dead or logged one has none.
type Notification struct {
	ID             int64        `json:"id"`
	ProjectID      int64        `json:"project_id"`
	IssueID        int64        `json:"issue_id"`
	RuleID         int64        `json:"rule_id"`
	ChannelID      int64        `json:"channel_id"`
	ChannelName    string       `json:"channel_name"`
	Reason         string       `json:"reason"`
	IdempotencyKey string       `json:"idempotency_key"`
	Status         string       `json:"status"`
	Attempts       int          `json:"attempts"`
	LastError      string       `json:"last_error"`
	NextAttemptAt  *time.Time   `json:"next_attempt_at,omitempty"`
	CreatedAt      time.Time    `json:"created_at"`
	SentAt         *time.Time   `json:"sent_at,omitempty"`
	Payload        AlertPayload `json:"payload"`
	IssueDeleted   bool         `json:"issue_deleted,omitempty"`
}

// ErrTrailingData refuses a request body with more after its JSON value:
// its client meant something other than the value alone, which would
// otherwise be applied as if it were the whole request.
var ErrTrailingData = errors.New("unexpected data after the JSON value; send one JSON object")

// DecodeOne decodes into v the one JSON value dec reads: anything after
// it but white space is ErrTrailingData. Errors reading the input (a body
// over its limit) are returned as they are.
func DecodeOne(dec *json.Decoder, v any) error {
	if err := dec.Decode(v); err != nil {
		return err
	}
	_, err := dec.Token()
	var syntax *json.SyntaxError
	switch {
	case err == io.EOF:
		return nil
	case err != nil && !errors.As(err, &syntax):
		return err
	}
	return ErrTrailingData
}

// ActivityUser is who did something to an issue, or whom it was assigned
// to. Email is "" for a user who was deleted since.
type ActivityUser struct {
	ID    int64  `json:"id"`
	Email string `json:"email"`
}

// Activity is an entry of GET /api/v1/issues/{id}/activity, an issue's
// timeline. Kind is comment, resolved, unresolved, ignored, regression,
// assigned, unassigned, merge or first_seen; Text is a comment's, as its
// author wrote it (untrusted, plain text).
type Activity struct {
	ID      int64  `json:"id"`
	IssueID int64  `json:"issue_id"`
	Kind    string `json:"kind"`
	// Actor is who did it; null for Flytrap itself.
	Actor   *ActivityUser `json:"actor"`
	Text    string        `json:"text,omitempty"`
	Release string        `json:"release,omitempty"`
	// AfterRelease is, for an issue resolved in the next release, the
	// release it was resolved after.
	AfterRelease string        `json:"after_release,omitempty"`
	Assignee     *ActivityUser `json:"assignee,omitempty"`
	Merged       []int64       `json:"merged,omitempty"`
	Created      time.Time     `json:"created_at"`
	Edited       *time.Time    `json:"edited_at,omitempty"`
}

// Comment is POST /api/v1/issues/{id}/comments and PATCH of a comment:
// its plain text.
type Comment struct {
	Text string `json:"text"`
}

// Monitor is a cron monitor: a scheduled job that checks in through a
// Sentry SDK (docs/monitors.md).
type Monitor struct {
	ID        int64  `json:"id"`
	ProjectID int64  `json:"project_id"`
	Slug      string `json:"slug"`
	// Status is new (no run judged yet), ok or failing: the worst of
	// its environments'.
	Status string `json:"status"`
	// ScheduleType is crontab or interval; Schedule is the crontab, or
	// the interval as "<n> <unit>".
	ScheduleType string `json:"schedule_type"`
	Schedule     string `json:"schedule"`
	// Timezone is the IANA zone a crontab is read in; "" is UTC.
	Timezone          string `json:"timezone"`
	MarginMinutes     int64  `json:"checkin_margin"`
	MaxRuntimeMinutes int64  `json:"max_runtime"`
	FailureThreshold  int64  `json:"failure_issue_threshold"`
	RecoveryThreshold int64  `json:"recovery_threshold"`
	// LastCheckIn and LastStatus are the latest check-in's time and
	// status; absent before the first. NextExpected is when the next is
	// due.
	LastCheckIn  *time.Time `json:"last_checkin"`
	LastStatus   string     `json:"last_status"`
	NextExpected *time.Time `json:"next_expected"`
	CreatedAt    time.Time  `json:"created_at"`
	// Environments are its monitor environments, by name, each judged
	// apart.
	Environments []MonitorEnvironment `json:"environments"`
	// CheckIns are the newest check-ins, newest first, on the answer
	// for one monitor only.
	CheckIns []CheckIn `json:"checkins,omitempty"`
}

// MonitorEnvironment is a monitor's status in one environment, in Sentry's
// shape: Status is new, ok or failing; LastCheckIn is absent before the
// first check-in, NextCheckIn when no run is expected.
type MonitorEnvironment struct {
	Name        string     `json:"name"`
	Status      string     `json:"status"`
	LastCheckIn *time.Time `json:"lastCheckIn"`
	NextCheckIn *time.Time `json:"nextCheckIn"`
}

// CheckIn is one run of a monitor.
type CheckIn struct {
	ID string `json:"id"`
	// Status is in_progress, ok, error, missed or timeout.
	Status string `json:"status"`
	// Duration is the run's length in seconds as the SDK reported it;
	// null when unknown.
	Duration    *float64 `json:"duration"`
	Environment string   `json:"environment"`
	Release     string   `json:"release"`
	// Received is when the check-in arrived, or for a missed run when
	// it was due; Updated when its status last changed.
	Received time.Time `json:"received"`
	Updated  time.Time `json:"updated"`
}
