package store

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
)

// ErrNotFound is returned when a row does not exist or the viewer may not see
// it; callers cannot tell the two apart, so a non-member learns nothing.
var ErrNotFound = errors.New("not found")

// ErrSchemaNewer is wrapped by the error of opening or migrating a
// database whose schema a newer flytrap migrated: this binary does not
// know its tables, and migrations only go forward.
var ErrSchemaNewer = errors.New("upgrade flytrap")

// ErrSchemaForeign is wrapped by the error of opening or migrating a
// database that records one of this binary's migration versions under
// another migration's name: another build (a development one) migrated
// it, and this binary's migration of that version never ran.
var ErrSchemaForeign = errors.New("use the flytrap that migrated it")

// ErrConflict is returned when a unique value (email, project name) is taken.
var ErrConflict = errors.New("already exists")

// ErrAmbiguous is returned when an identifier that is unique only within a
// project (an event ID) names rows in more than one project the viewer may
// see; the caller must say which project it means.
var ErrAmbiguous = errors.New("ambiguous: name the project")

// MaxAmbiguousProjects is the most projects an AmbiguousEventError lists.
// Anyone holding a project's ingest key can reuse an event ID, so the list
// is bounded as any answer is.
const MaxAmbiguousProjects = 20

// AmbiguousEventError is GetEvent's ErrAmbiguous. It names the projects
// the viewer may see that hold the event ID, in ID order, so that the
// caller can be told where to look: at most MaxAmbiguousProjects of them.
type AmbiguousEventError struct {
	EventID    string
	ProjectIDs []int64
}

func (e *AmbiguousEventError) Error() string {
	return fmt.Sprintf("store: event %s is in more than one project (%d): %v", e.EventID, len(e.ProjectIDs), ErrAmbiguous)
}

// Unwrap makes the error match ErrAmbiguous.
func (e *AmbiguousEventError) Unwrap() error { return ErrAmbiguous }

// ErrInvalid is returned for arguments the store refuses (unknown status,
// role or sort, resolved_in_release without resolving); API handlers map it
// to 400.
var ErrInvalid = errors.New("invalid argument")

// Reason is what a refusal (an error wrapping ErrInvalid) says to whoever
// sent the request: the text after the sentinel, without the chain of
// operations that led to it ("store: create release: invalid argument:
// the version is reserved" is "the version is reserved"), or the message
// without its "store: " prefix when nothing follows the sentinel.
func Reason(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ErrInvalid.Error()+": "); i >= 0 && errors.Is(err, ErrInvalid) {
		return msg[i+len(ErrInvalid.Error())+2:]
	}
	return strings.TrimPrefix(msg, "store: ")
}

// ErrBadCursor is returned for a page cursor that this store did not issue
// for the same sort order. Errors wrapping it also wrap ErrInvalid.
var ErrBadCursor = errors.New("bad cursor")

// Roles of users and project members.
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

// Viewer is who a read or write is done for. Admins see every project;
// members only the projects they belong to. Every query that reaches project
// data filters by it, so authorization does not depend on handlers alone.
type Viewer struct {
	UserID int64
	Admin  bool
}

// System is the viewer used by internal jobs (processor, retention).
var System = Viewer{Admin: true}

// User is a person who signs in to the dashboard or uses an API token.
type User struct {
	ID           int64     `json:"id"`
	Email        string    `json:"email"`
	Role         string    `json:"role"`
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
}

// Project groups the issues of one application.
type Project struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// ProjectKey is an ingest key (the DSN's public key, the Flytrap x-api-key).
type ProjectKey struct {
	ID        int64     `json:"id"`
	ProjectID int64     `json:"project_id"`
	PublicKey string    `json:"public_key"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
}

// APIToken is a bearer token for /api/v1; only its hash is stored.
type APIToken struct {
	ID     int64  `json:"id"`
	UserID int64  `json:"user_id"`
	Name   string `json:"name"`
	// Scope is ScopeFull or ScopeReadOnly.
	Scope string `json:"scope"`
	// ExpiresAt is nil for a token that never expires.
	ExpiresAt *time.Time `json:"expires_at"`
	// LastUsedAt is nil until the token is first used; it is updated at
	// most once per TokenUseResolution.
	LastUsedAt *time.Time `json:"last_used_at"`
	CreatedAt  time.Time  `json:"created_at"`
	// Origin is TokenCreated or TokenSignIn.
	Origin string `json:"origin"`
}

// Where API tokens come from.
const (
	// TokenCreated is a token its user created under a name (dashboard,
	// POST /api/v1/tokens, flytrap tokens create), and every token made
	// before origins were recorded. A password change keeps it.
	TokenCreated = "created"
	// TokenSignIn is a token minted by signing in with the password
	// (POST /api/v1/auth/token, flytrap login): a session in all but
	// name, which a password change revokes.
	TokenSignIn = "password"
)

// API token scopes.
const (
	// ScopeFull may do whatever the token's owner may.
	ScopeFull = "full"
	// ScopeReadOnly may only read.
	ScopeReadOnly = "read"
)

// NewAPIToken is what CreateAPIToken stores besides the secret.
type NewAPIToken struct {
	Name  string
	Scope string // ScopeFull or ScopeReadOnly
	// ExpiresAt is nil for a token that never expires.
	ExpiresAt *time.Time
	// Origin is TokenCreated (the default) or TokenSignIn.
	Origin string
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
	// the project's latest release when it was resolved: an event of a
	// release first seen after that one reopens it.
	ResolvedAfterRelease string    `json:"resolved_after_release,omitempty"`
	Count                int64     `json:"count"`
	UserCount            int64     `json:"user_count"`
	FirstSeen            time.Time `json:"first_seen"`
	LastSeen             time.Time `json:"last_seen"`
	FirstRelease         string    `json:"first_release,omitempty"`
	LastRelease          string    `json:"last_release,omitempty"`
	LatestEventID        string    `json:"latest_event_id"`
	// AssignedTo is the user the issue is assigned to, nil for nobody.
	AssignedTo *Assignee `json:"assignedTo"`
}

// Assignee is the user an issue is assigned to: a member of its project
// or an admin user.
type Assignee struct {
	ID    int64  `json:"id"`
	Email string `json:"email"`
}

// EventRow is a stored event. Payload is the normalized event as JSON
// (decompressed); list queries leave it empty.
type EventRow struct {
	EventID     string    `json:"event_id"`
	ProjectID   int64     `json:"project_id"`
	IssueID     int64     `json:"issue_id"`
	Timestamp   time.Time `json:"timestamp"`
	Received    time.Time `json:"received"`
	Title       string    `json:"title"`
	Level       string    `json:"level"`
	Release     string    `json:"release,omitempty"`
	Environment string    `json:"environment,omitempty"`
	Payload     []byte    `json:"-"`
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
	// one key (store.MaxIssueTagValues): values it did not have by then
	// are not counted.
	Capped bool `json:"capped,omitempty"`
}

// Sort orders for ListIssues.
const (
	SortLastSeen  = "last_seen"
	SortFirstSeen = "first_seen"
	SortCount     = "count"
	SortUserCount = "user_count"
)

// IssueFilter selects and orders issues of one project. Zero values mean
// "any"; Query matches title and culprit case-insensitively; every Tag must
// match (key:value search terms).
type IssueFilter struct {
	ProjectID   int64
	Status      string
	Environment string
	Release     string
	Level       string
	Query       string
	Tags        []event.Tag
	// NotTags are tags no event of the issue had (Sentry's !key:value).
	NotTags []event.Tag
	// Has are tag keys some event of the issue had (has:key); Missing,
	// keys none had (!has:key).
	Has, Missing []string
	// Levels, AnyTags and FirstReleases are sets of which each must
	// match: the issue's level is one of a set's levels, some event of
	// the issue had one of a set's tags, the issue's first release is one
	// of a set's versions (or LatestRelease). Search
	// terms: level:[warning,info], browser:[Firefox,Safari].
	Levels        [][]string
	AnyTags       [][]event.Tag
	FirstReleases [][]string
	// TimesSeen bounds the issue's count (its count in Environment when
	// that is set); FirstSeen and LastSeen bound its times. Each must hold.
	TimesSeen           []CountBound
	FirstSeen, LastSeen []TimeBound
	// Titles must each be part of the title, and Messages each of the
	// title or culprit as Query is, case-insensitively; with a Wildcard,
	// the whole title (or title or culprit) must match the pattern.
	// NotTitles and NotMessages must each not match so (Sentry's
	// !title:, !message:).
	Titles, Messages       []string
	NotTitles, NotMessages []string
	// Assigned are sets of which each must match: the issue's assignee
	// is one of a set's, each AssigneeMe, AssigneeNone, AssigneeAny or a
	// user's email (any case). NotAssigned are such assignees the issue
	// must not have (Sentry's !assigned:).
	Assigned    [][]string
	NotAssigned []string
	Since       time.Time // last_seen at or after, zero for any
	Sort        string    // SortLastSeen (default), SortFirstSeen, SortCount
	Cursor      string    // opaque, from a previous page
	Limit       int       // default 25, at most 100
}

// LatestRelease in IssueFilter.FirstReleases, and as the value of a
// "release" tag in Tags, NotTags or AnyTags (Sentry's release:latest),
// stands for the project's newest release, as Sentry's "latest" does: the
// one first seen last (events, uploads and resolved-in choices all record
// releases).
const LatestRelease = "latest"

// Wildcard in a value of an IssueFilter's Tags, NotTags, AnyTags,
// FirstReleases, Titles, Messages, NotTitles or NotMessages makes it a
// pattern, Sentry's * (the search's browser:Headless*): it stands for any
// text, and the pattern matches a value whole, so that "Headless" +
// Wildcard is a prefix. In Query it stands for any text too, and Query
// still matches anywhere in the title or culprit. A pattern longer than
// a value can be (MaxTagLength runes for tags and releases, MaxTitleLength
// for titles) is cut to that length, what was cut off read as a Wildcard. A
// tag value or release is matched case-sensitively as it is without
// wildcards, and a title or message case-insensitively. Stored text never
// holds it (NUL is dropped on the way in), so no value is mistaken for a
// pattern, and a value without it is matched as before.
const Wildcard = "\x00"

// Assignees of IssueFilter.Assigned and NotAssigned besides emails, which
// hold an @ and so are none of these.
const (
	// AssigneeMe is the viewer the issues are listed for.
	AssigneeMe = "me"
	// AssigneeNone is nobody: the issue is unassigned.
	AssigneeNone = "none"
	// AssigneeAny is anybody: the issue is assigned.
	AssigneeAny = "any"
)

// CountBound compares a count with N; Op is <, <=, >, >=, = or !=.
type CountBound struct {
	Op string
	N  int64
}

// TimeBound compares a time with T; Op is as CountBound's.
type TimeBound struct {
	Op string
	T  time.Time
}

// SaveRequest is one processed event ready to store.
type SaveRequest struct {
	Event           *event.Event
	Fingerprint     string // grouping hash
	GroupingVersion string
	Title           string
	Culprit         string
	// UserKey identifies the affected user (id, email, username or IP hash);
	// empty when unknown.
	UserKey string
	// Previous, when set, returns the hashes the event had under earlier
	// grouping versions (grouping.Previous). It is called only when no
	// issue of the project has Fingerprint: an issue with a previous hash
	// then moves to Fingerprint and takes the event, so that upgrading
	// Flytrap neither splits it nor reports it as new.
	Previous func() []string
	// FromOlderIngest says the release before an upgrade queued the event
	// (event.Event.Shape), so it may lack fields that today's grouping
	// reads and Fingerprint may not be the hash today's ingest gives its
	// error. Its issue, found by a previous hash or made, gets grouping
	// version GroupingVersion+"+older-ingest": the events of today's
	// ingest take it over as they take an issue of an earlier version, or
	// confirm it (GroupingVersion) when they have its hash. Stamped with
	// today's version, it would be out of their reach and they would open
	// a second issue.
	FromOlderIngest bool
}

// SaveResult says what saving one event did and, unless it was a
// duplicate, the state its issue was left in by the save's transaction.
type SaveResult struct {
	IssueID    int64
	Duplicate  bool // the event_id was stored before; nothing changed
	NewIssue   bool
	Regression bool // a resolved issue was reopened
	// NewInEnvironment is true for the issue's first event in its
	// environment (the environment tag's value), which a new-issue rule
	// of that environment alerts on.
	NewInEnvironment bool
	// The issue's event count, affected users, status, title and level
	// after the save; zero for a duplicate, which changed nothing.
	Count     int64
	UserCount int64
	Status    string
	Title     string
	Level     string
	Culprit   string
	// What alert rules filter and messages show of the event itself:
	// its project, ID, title, culprit, level, environment and release.
	// The issue's title and level are those of its newest event by the
	// SDK's timestamp, which may be another one.
	ProjectID    int64
	EventID      string
	EventTitle   string
	EventCulprit string
	EventLevel   string
	Environment  string
	Release      string
}

// ErrForbidden is returned when a viewer who can see a resource may not
// change it (a member calling an admin-only operation).
var ErrForbidden = errors.New("forbidden")

// ErrAdminsOnly is ErrForbidden for what only admin users may do, a
// project's own admins included in the refusal, so that a refusal can name
// the role it takes.
var ErrAdminsOnly = fmt.Errorf("%w: admin users only", ErrForbidden)

// Member is a user's membership of a project.
type Member struct {
	ProjectID int64     `json:"project_id"`
	UserID    int64     `json:"user_id"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// ProjectStat is a project's card on the projects page.
type ProjectStat struct {
	Project
	Unresolved int64 `json:"unresolved"`
	// Hourly holds the event counts per hour from the hour containing
	// ProjectStats' since on (the cards show 14 days), oldest first, hours
	// without events omitted.
	Hourly []Bucket `json:"hourly"`
}

// Session is a signed-in browser session; only its token's hash is stored.
type Session struct {
	ID        int64     `json:"id"`
	UserID    int64     `json:"user_id"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}
