package api

import (
	"encoding/json"
	"net/http"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/store"
)

// The store's rows become wire types here, in one place. Types whose
// fields match exactly are converted directly, so a field added to one
// side only fails the build instead of vanishing from the answers.

func wireUser(u store.User) apitypes.User {
	return apitypes.User{ID: u.ID, Email: u.Email, Role: u.Role, CreatedAt: u.CreatedAt, Invited: u.PasswordHash == ""}
}

func wireProject(p store.Project) apitypes.Project { return apitypes.Project(p) }

// wireKey is a key with its DSN at the request's ingest URL.
func (a *API) wireKey(r *http.Request) func(store.ProjectKey) apitypes.ProjectKey {
	base := a.ingestBase(r)
	return func(k store.ProjectKey) apitypes.ProjectKey {
		return apitypes.ProjectKey{
			ID: k.ID, ProjectID: k.ProjectID, PublicKey: k.PublicKey, Active: k.Active, CreatedAt: k.CreatedAt,
			DSN: apitypes.DSN(base, k.PublicKey, k.ProjectID),
		}
	}
}

func wireMember(m store.Member) apitypes.Member { return apitypes.Member(m) }

func wireIssue(is store.Issue) apitypes.Issue {
	return apitypes.Issue{
		ID: is.ID, ProjectID: is.ProjectID, Fingerprint: is.Fingerprint, GroupingVersion: is.GroupingVersion,
		Title: is.Title, Culprit: is.Culprit, Level: is.Level, Status: is.Status, ResolvedInRelease: is.ResolvedInRelease,
		Count: is.Count, UserCount: is.UserCount, FirstSeen: is.FirstSeen, LastSeen: is.LastSeen,
		FirstRelease: is.FirstRelease, LastRelease: is.LastRelease, LatestEventID: is.LatestEventID,
		AssignedTo: wireAssignee(is.AssignedTo), ResolvedAfterRelease: is.ResolvedAfterRelease,
		// Only a resolved issue keeps a release (any other status clears
		// it), so these say how it is resolved, as Sentry's do.
		StatusDetails: apitypes.StatusDetails{InRelease: is.ResolvedInRelease, InNextRelease: is.ResolvedAfterRelease != ""},
	}
}

func wireToken(t store.APIToken) apitypes.APIToken { return apitypes.APIToken(t) }

func wirePrivacy(s store.PrivacySettings) apitypes.Privacy { return apitypes.Privacy(s) }

func wireBucket(b store.Bucket) apitypes.Bucket { return apitypes.Bucket(b) }

func wireTag(t store.TagCount) apitypes.TagCount { return apitypes.TagCount(t) }

func wireFeedback(f store.Feedback) apitypes.Feedback { return apitypes.Feedback(f) }

// wireChannel is a channel without its secret, which only the answer that
// creates it carries.
func wireChannel(c store.AlertChannel) apitypes.AlertChannel {
	return apitypes.AlertChannel{ID: c.ID, ProjectID: c.ProjectID, Kind: c.Kind, Name: c.Name, URL: c.URL, CreatedAt: c.CreatedAt}
}

func wireNotMailed(o store.OptOut) apitypes.NotMailed {
	out := apitypes.NotMailed{Email: o.Email, Reason: apitypes.NotMailedEmailOff, Since: o.Since}
	switch {
	case o.NoPassword:
		out.Reason = apitypes.NotMailedNoPassword
	case o.ChannelID != 0:
		out.Reason, out.ChannelID = apitypes.NotMailedUnsubscribed, o.ChannelID
	}
	return out
}

func wireRule(r store.AlertRule) apitypes.AlertRule { return apitypes.AlertRule(r) }

func wireNotification(n store.Notification) apitypes.Notification {
	out := apitypes.Notification{
		ID: n.ID, ProjectID: n.ProjectID, IssueID: n.IssueID, RuleID: n.RuleID, ChannelID: n.ChannelID,
		ChannelName: n.ChannelName, Reason: n.Reason, IdempotencyKey: n.IdempotencyKey, Status: n.Status,
		Attempts: n.Attempts, LastError: n.LastError, CreatedAt: n.CreatedAt,
		SentAt: n.SentAt, Payload: apitypes.AlertPayload(n.Payload), IssueDeleted: n.IssueDeleted,
	}
	// The store keeps 0 (1970) as the next attempt of a notification
	// that will have none; shown, it would read as a real time.
	if n.Status == store.NotificationPending || n.Status == store.NotificationSending {
		next := n.NextAttemptAt
		out.NextAttemptAt = &next
	}
	return out
}

func wireEvent(ev store.EventRow) apitypes.Event {
	return apitypes.Event{
		EventID: ev.EventID, ProjectID: ev.ProjectID, IssueID: ev.IssueID,
		Timestamp: ev.Timestamp, Received: ev.Received, Title: ev.Title,
		Level: ev.Level, Release: ev.Release, Environment: ev.Environment,
	}
}

func wireEventDetail(ev store.EventRow) *apitypes.EventDetail {
	d := &apitypes.EventDetail{Event: wireEvent(ev)}
	if len(ev.Payload) > 0 {
		d.Payload = json.RawMessage(ev.Payload)
	}
	return d
}

// wireAll converts a list, never returning nil, so empty lists encode as
// [] rather than null.
func wireAll[S, D any](s []S, f func(S) D) []D {
	d := make([]D, len(s))
	for i, v := range s {
		d[i] = f(v)
	}
	return d
}

// page is a list answer of the wire type.
func page[S, D any](s []S, f func(S) D, next string) apitypes.List[D] {
	return apitypes.List[D]{Data: wireAll(s, f), NextCursor: next}
}

// nonNil is s, or an empty list, so it encodes as [] rather than null:
// for answers whose store rows are already the wire type (alert settings).
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func wireActivityUser(u *store.ActivityUser) *apitypes.ActivityUser {
	if u == nil {
		return nil
	}
	return &apitypes.ActivityUser{ID: u.ID, Email: u.Email}
}

func wireActivity(a store.Activity) apitypes.Activity {
	return apitypes.Activity{ID: a.ID, IssueID: a.IssueID, Kind: a.Kind, Actor: wireActivityUser(a.Actor), Text: a.Text,
		Release: a.Release, AfterRelease: a.AfterRelease, Assignee: wireActivityUser(a.Assignee), Merged: a.Merged, Created: a.Created, Edited: a.Edited}
}
