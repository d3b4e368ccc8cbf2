package ingest

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/getflytrap/flytrap/internal/event"
)

// Envelope item types of user feedback.
const (
	// itemFeedback is an event of type "feedback" whose contexts.feedback
	// holds what the user wrote: Sentry.captureFeedback and the feedback
	// widget of the JavaScript SDKs (v8 and later), and the other SDKs'
	// captureFeedback.
	itemFeedback = "feedback"
	// itemUserReport is the legacy {event_id, name, email, comments} of
	// captureUserFeedback and the crash-report dialog; its event_id is the
	// event the report is about.
	itemUserReport = "user_report"
)

// maxFeedbackEmail bounds a contact address: an address has at most 254
// characters (RFC 5321's path limit).
const maxFeedbackEmail = 254

// decodeFeedback reads a feedback item into an event that carries only the
// feedback. The message is required, as in Sentry, which drops feedback
// without one; everything else is optional and, like any event field, cut
// to its limit rather than refused. An associated_event_id that is not a
// UUID is dropped: the feedback is kept, about nothing in particular.
// Without contexts.feedback.url, the URL is the event's request.url.
func (d *decoder) decodeFeedback(payload []byte, projectID int64, hdr envelopeHeader) (*event.Event, error) {
	obj, err := parseJSONObject(payload)
	if err != nil {
		return nil, err
	}
	ctxs, _ := obj["contexts"].(map[string]any)
	fb, ok := ctxs["feedback"].(map[string]any)
	if !ok {
		return nil, errors.New("without contexts.feedback, the object holding what the user wrote")
	}
	msg, err := feedbackMessage(fb["message"], "contexts.feedback.message")
	if err != nil {
		return nil, err
	}
	ev := d.feedbackEvent(obj, projectID, hdr)
	ev.Feedback = &event.Feedback{
		Message: msg,
		Name:    d.str(at("contexts.feedback.name"), fb["name"], maxName),
		Email:   d.str(at("contexts.feedback.contact_email"), fb["contact_email"], maxFeedbackEmail),
		URL:     d.str(at("contexts.feedback.url"), fb["url"], maxPath),
		Source:  d.str(at("contexts.feedback.source"), fb["source"], maxName),
	}
	if ev.Feedback.URL == "" {
		// captureFeedback called from a page's own form sends no url, but
		// the browser SDK puts the page in request.url, which Sentry
		// shows as the feedback's URL in its place.
		req, _ := obj["request"].(map[string]any)
		ev.Feedback.URL = d.str(at("request.url"), req["url"], maxPath)
	}
	if assoc := d.str(at("contexts.feedback.associated_event_id"), fb["associated_event_id"], 64); assoc != "" {
		ev.Feedback.AssociatedEventID, _ = normalizeEventID(assoc)
	}
	return ev, nil
}

// decodeUserReport reads a legacy user_report item. Its event_id names the
// event the report is about and is required; the report takes the same ID
// as its own, so an SDK's retry stores it once.
func (d *decoder) decodeUserReport(payload []byte, projectID int64) (*event.Event, error) {
	obj, err := parseJSONObject(payload)
	if err != nil {
		return nil, err
	}
	id, ok := normalizeEventID(d.str(at("event_id"), obj["event_id"], 64))
	if !ok {
		return nil, errors.New("without a valid event_id, the UUID of the event the report is about")
	}
	msg, err := feedbackMessage(obj["comments"], "comments")
	if err != nil {
		return nil, err
	}
	ev := d.feedbackEvent(nil, projectID, envelopeHeader{})
	ev.EventID = id
	ev.Feedback = &event.Feedback{
		Message:           msg,
		Name:              d.str(at("name"), obj["name"], maxName),
		Email:             d.str(at("email"), obj["email"], maxFeedbackEmail),
		AssociatedEventID: id,
		Source:            itemUserReport,
	}
	return ev, nil
}

// feedbackEvent is the event that carries a feedback through the queue:
// its ID, times, and where it came from, nothing of an error.
func (d *decoder) feedbackEvent(obj map[string]any, projectID int64, hdr envelopeHeader) *event.Event {
	return &event.Event{
		EventID:     d.eventID(obj["event_id"], hdr.eventID),
		ProjectID:   projectID,
		Source:      event.SourceSentry,
		Timestamp:   d.timestamp(obj["timestamp"], d.clockDrift(hdr.sentAt)),
		Received:    d.received,
		Platform:    d.str(at("platform"), obj["platform"], maxName),
		Level:       "info",
		Release:     d.name(at("release"), obj["release"], event.ReleaseProblem),
		Environment: d.name(at("environment"), obj["environment"], event.EnvironmentProblem),
	}
}

// feedbackMessage is the text a user wrote, required and cut to
// event.MaxFeedbackMessage characters.
func feedbackMessage(v any, name string) (string, error) {
	s, ok := v.(string)
	if !ok && v != nil {
		return "", errors.New("with " + name + " " + jsonKind(v) + ", not a string")
	}
	s = strings.TrimSpace(strings.ReplaceAll(s, "\x00", ""))
	if s == "" {
		return "", errors.New("without " + name + ", what the user wrote")
	}
	if utf8.RuneCountInString(s) > event.MaxFeedbackMessage {
		r := []rune(s)[:event.MaxFeedbackMessage-1]
		s = string(r) + "…"
	}
	return s, nil
}
