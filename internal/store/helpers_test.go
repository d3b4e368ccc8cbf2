package store

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/scrub"
)

// t0 is the base time of test events, in the past so retention tests can
// place events relative to it.
var t0 = time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)

var eventSeq atomic.Int64

// newEventID returns a unique 32-hex-character event ID.
func newEventID() string { return fmt.Sprintf("%032x", eventSeq.Add(1)) }

// eventOpt adjusts a test event or its save request.
type eventOpt func(*SaveRequest)

func withRelease(r string) eventOpt { return func(s *SaveRequest) { s.Event.Release = r } }
func withEnv(e string) eventOpt     { return func(s *SaveRequest) { s.Event.Environment = e } }
func withLevel(l string) eventOpt   { return func(s *SaveRequest) { s.Event.Level = l } }
func withUser(k string) eventOpt    { return func(s *SaveRequest) { s.UserKey = k } }
func withTitle(x string) eventOpt   { return func(s *SaveRequest) { s.Title = x } }
func withCulprit(c string) eventOpt { return func(s *SaveRequest) { s.Culprit = c } }

// withSDKCulprit and withTransaction set the event's fields and the
// request's culprit from them as the processor does.
func withSDKCulprit(c string) eventOpt {
	return func(s *SaveRequest) { s.Event.SDKCulprit, s.Culprit = c, c }
}
func withTransaction(tx string) eventOpt {
	return func(s *SaveRequest) {
		s.Event.Transaction = tx
		s.Culprit = scrub.IssueCulprit(*s.Event, DefaultPrivacy.ScrubConfig())
	}
}
func withID(id string) eventOpt      { return func(s *SaveRequest) { s.Event.EventID = id } }
func withAt(at time.Time) eventOpt   { return func(s *SaveRequest) { s.Event.Timestamp = at } }
func withRcv(at time.Time) eventOpt  { return func(s *SaveRequest) { s.Event.Received = at } }
func withTags(kv ...string) eventOpt { return func(s *SaveRequest) { s.Event.Tags = tagList(kv...) } }

// withSDKUser sets the user the SDK sent, whose fields become tags.
func withSDKUser(u event.User) eventOpt { return func(s *SaveRequest) { s.Event.User = &u } }

func tagList(kv ...string) []event.Tag {
	var tags []event.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		tags = append(tags, event.Tag{Key: kv[i], Value: kv[i+1]})
	}
	return tags
}

// request builds a save request for an event of fingerprint fp, by default
// at t0 and received at t0.
func request(projectID int64, fp string, opts ...eventOpt) SaveRequest {
	r := SaveRequest{
		Event: &event.Event{
			EventID:   newEventID(),
			ProjectID: projectID,
			Source:    event.SourceSentry,
			Timestamp: t0,
			Received:  t0,
			Level:     "error",
		},
		Fingerprint:     fp,
		GroupingVersion: "test-1",
		Title:           "Error " + fp,
	}
	for _, o := range opts {
		o(&r)
	}
	return r
}

// env is a store with one admin, one project and helpers bound to a test.
type env struct {
	t       *testing.T
	db      *DB
	ctx     context.Context
	project Project
}

func newEnv(t *testing.T, db *DB) *env {
	e := &env{t: t, db: db, ctx: context.Background()}
	e.project = e.createProject("main")
	return e
}

func (e *env) createProject(name string) Project {
	e.t.Helper()
	p, err := e.db.CreateProject(e.ctx, name)
	if err != nil {
		e.t.Fatalf("CreateProject(%q): %v", name, err)
	}
	return p
}

func (e *env) createUser(email, role string) User {
	e.t.Helper()
	u, err := e.db.CreateUser(e.ctx, email, "hash-"+email, role)
	if err != nil {
		e.t.Fatalf("CreateUser(%q): %v", email, err)
	}
	return u
}

func (e *env) addMember(p Project, u User) {
	e.t.Helper()
	if err := e.db.AddMember(e.ctx, p.ID, u.ID, RoleMember); err != nil {
		e.t.Fatalf("AddMember: %v", err)
	}
}

// save stores an event of fingerprint fp in the env's project.
func (e *env) save(fp string, opts ...eventOpt) SaveResult {
	e.t.Helper()
	return e.saveIn(e.project.ID, fp, opts...)
}

func (e *env) saveIn(projectID int64, fp string, opts ...eventOpt) SaveResult {
	e.t.Helper()
	res, err := e.db.SaveEvent(e.ctx, request(projectID, fp, opts...))
	if err != nil {
		e.t.Fatalf("SaveEvent(%s): %v", fp, err)
	}
	return res
}

func (e *env) issue(id int64) Issue {
	e.t.Helper()
	i, err := e.db.GetIssue(e.ctx, System, id)
	if err != nil {
		e.t.Fatalf("GetIssue(%d): %v", id, err)
	}
	return i
}

func (e *env) setStatus(id int64, status, release string) Issue {
	e.t.Helper()
	i, err := e.db.UpdateIssueStatus(e.ctx, System, id, status, release)
	if err != nil {
		e.t.Fatalf("UpdateIssueStatus(%d, %s, %q): %v", id, status, release, err)
	}
	return i
}

// createRelease creates a release of e's project, first seen now, as
// `flytrap releases new` does: one to resolve issues in before an event
// names it.
func (e *env) createRelease(version string) {
	e.t.Helper()
	if _, err := e.db.CreateRelease(e.ctx, System, e.project.ID, version, time.Now()); err != nil {
		e.t.Fatalf("CreateRelease(%s): %v", version, err)
	}
}

// count runs a COUNT query.
func (e *env) count(q string, args ...any) int64 {
	e.t.Helper()
	var n int64
	if err := e.db.SQL().QueryRowContext(e.ctx, q, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// wantErr fails unless err is target.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: err = %v, want %v", what, err, target)
	}
}

// listAll pages through ListIssues and returns the IDs in order.
func (e *env) listAll(v Viewer, f IssueFilter) []int64 {
	e.t.Helper()
	var ids []int64
	for page := 0; ; page++ {
		issues, next, err := e.db.ListIssues(e.ctx, v, f)
		if err != nil {
			e.t.Fatalf("ListIssues page %d: %v", page, err)
		}
		for _, i := range issues {
			ids = append(ids, i.ID)
		}
		if next == "" {
			return ids
		}
		if page > 1000 {
			e.t.Fatal("ListIssues never ends")
		}
		f.Cursor = next
	}
}
