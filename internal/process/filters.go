package process

import (
	"context"
	"fmt"

	"github.com/getflytrap/flytrap/internal/inbound"
	"github.com/getflytrap/flytrap/internal/store"
)

// FilterStore reads a project's inbound filters and counts the events
// they drop; *store.DB satisfies it.
type FilterStore interface {
	ProjectFilters(ctx context.Context, v store.Viewer, projectID int64) (inbound.Settings, error)
	CountFiltered(ctx context.Context, events []store.Filtered) error
}

// filter is the filter stage: it marks an event one of its project's
// inbound filters drops, which the later stages skip and the save stage
// counts instead of storing. It runs after stacks are parsed (the
// browser extension filter reads the Flytrap SDKs' frames) and before
// symbolication, the costliest stage, as Relay filters before
// symbolicating. Only reading the settings can fail, and then the event
// is retried rather than stored unfiltered.
func (p *Processor) filter(ctx context.Context, it *item) error {
	if p.filters == nil {
		return nil
	}
	f, err := p.filters.get(ctx, it.ev.ProjectID)
	if err != nil {
		return fmt.Errorf("read the inbound filters of project %d to filter event %s: %w", it.ev.ProjectID, it.ev.EventID, err)
	}
	it.filtered = f.Match(&it.ev)
	return nil
}

// countFiltered counts the batch's filtered events in one transaction of
// their own. A failure is recorded on each of them, which is retried; the
// store counts an event once, so a message redelivered after its count
// (a crash, or a failure of the batch's other events, before the ack)
// adds nothing.
func (p *Processor) countFiltered(ctx context.Context, items []*item) {
	if len(items) == 0 {
		return
	}
	events := make([]store.Filtered, len(items))
	for i, it := range items {
		at := it.ev.Received
		if at.IsZero() {
			at = p.cfg.Now()
		}
		events[i] = store.Filtered{ProjectID: it.ev.ProjectID, EventID: it.ev.EventID, Reason: it.filtered, At: at}
	}
	if err := p.cfg.Filters.CountFiltered(ctx, events); err != nil {
		for _, it := range items {
			it.err = fmt.Errorf("count filtered event %s: %w", it.ev.EventID, err)
		}
	}
}
