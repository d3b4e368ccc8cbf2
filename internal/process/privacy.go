package process

import (
	"context"
	"fmt"

	"github.com/getflytrap/flytrap/internal/scrub"
	"github.com/getflytrap/flytrap/internal/store"
)

// PrivacyReader reads a project's privacy settings; *store.DB satisfies it.
type PrivacyReader interface {
	ProjectPrivacy(ctx context.Context, v store.Viewer, projectID int64) (store.PrivacySettings, error)
}

// scrub is the scrub stage: it removes secrets and, if the project says
// so, the user's IP address, and notes what it filtered on the event. It
// runs before grouping and saving: what is stored never held the secret,
// and which issue an event joins never depends on one. Only reading the
// settings can fail, and then the event is retried rather than stored
// unscrubbed.
func (p *Processor) scrub(ctx context.Context, it *item) error {
	ev := &it.ev
	settings := store.DefaultPrivacy
	if p.privacy != nil {
		var err error
		if settings, err = p.privacy.get(ctx, ev.ProjectID); err != nil {
			return fmt.Errorf("read the privacy settings of project %d to scrub event %s: %w", ev.ProjectID, ev.EventID, err)
		}
	}
	it.scrub = settings.ScrubConfig()
	if note := scrub.Scrub(ev, it.scrub).Note(); note != "" {
		ev.Notes = append(ev.Notes, note)
	}
	return nil
}
