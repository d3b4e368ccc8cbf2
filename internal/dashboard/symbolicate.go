package dashboard

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"strconv"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/scrub"
	"github.com/getflytrap/flytrap/internal/stacktrace"
)

// Symbolicator symbolicates a stored event again from its frames as sent
// (*symbolicate.Symbolicator), asking for maps afresh rather than trusting
// what it remembered of them.
type Symbolicator interface {
	Resymbolicate(ctx context.Context, ev *event.Event) error
}

// symbolicationLinks sets the issue page's links between original and
// minified frames, which keep the page's environment (keep), and, with a
// Symbolicator, its re-symbolicate action.
func (d *Dashboard) symbolicationLinks(data *issueData, eventID string, keep url.Values) {
	base := "/issues/" + strconv.FormatInt(data.Issue.ID, 10) + "?"
	original := url.Values{"event": {eventID}}
	maps.Copy(original, keep)
	minified := url.Values{"frames": {"minified"}}
	maps.Copy(minified, original)
	data.OriginalURL = base + original.Encode()
	data.MinifiedURL = base + minified.Encode()
	if d.resym != nil && data.Event.JavaScript && !data.Event.Unreadable {
		data.ResymbolicateURL = "/issues/" + strconv.FormatInt(data.Issue.ID, 10) + "/events/" + url.PathEscape(eventID) + "/symbolicate"
	}
}

// resymbolicate runs symbolication again on a stored event, from the
// frames the SDK sent, and stores the result: for an event whose source
// maps were uploaded after it was processed. The event stays in its issue:
// regrouping it would move it away from the page the user acted on, and
// the issue's grouping must not change unseen.
func (d *Dashboard) resymbolicate(w http.ResponseWriter, r *http.Request, s *session) {
	if d.resym == nil {
		d.notFound(w, r)
		return
	}
	is, _, ok := d.issueAndProject(w, r, s)
	if !ok {
		return
	}
	row, err := d.issueEvent(r, s, is, r.PathValue("event"))
	if err != nil {
		d.fail(w, r, err)
		return
	}
	back := issueReturn(is.ID, url.Values{"event": {row.EventID}})
	var ev event.Event
	if err := event.Unmarshal(row.Payload, &ev); err != nil {
		d.redirectError(w, r, back, "This event's stored data could not be read, so it cannot be symbolicated again.")
		return
	}
	if err := d.resym.Resymbolicate(r.Context(), &ev); err != nil {
		d.log.Warn("dashboard: re-symbolicate", "event_id", row.EventID, "err", err)
		d.redirectError(w, r, back, "The source maps could not be read just now; the event is unchanged. Try again in a minute.")
		return
	}
	// Frames restored from those the SDK sent have lost their in-app
	// marks, which the processor set after symbolicating.
	mapped, unmapped := false, 0
	for i := range ev.Exceptions {
		ex := &ev.Exceptions[i]
		stacktrace.MarkInApp(ex.Frames, ev.Platform)
		mapped = mapped || len(ex.RawFrames) > 0
		for _, f := range ex.Frames {
			if f.Unmapped != "" {
				unmapped++
			}
		}
	}
	// The culprit is recomputed as the processor computes it, from the
	// mapped frames, and scrubbed with the project's settings: the issue
	// takes it if this is its latest event, the one its culprit follows.
	// Its fingerprint stays (see above).
	privacy, err := d.store.ProjectPrivacy(r.Context(), s.viewer(), is.ProjectID)
	if err != nil {
		d.fail(w, r, err)
		return
	}
	if err := d.store.ReplaceEventPayload(r.Context(), s.viewer(), is.ID, &ev, scrub.IssueCulprit(ev, privacy.ScrubConfig())); err != nil {
		d.fail(w, r, err)
		return
	}
	switch {
	case !mapped:
		d.redirectError(w, r, back, "No frame of this event could be mapped; each frame says why.")
	case unmapped > 0:
		d.redirect(w, r, back, "Event symbolicated again; "+plural(int64(unmapped), "frame", "frames")+" could not be mapped, and say why.")
	default:
		d.redirect(w, r, back, "Event symbolicated again: every frame is mapped.")
	}
}
