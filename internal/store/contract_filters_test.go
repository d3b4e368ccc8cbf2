package store

import (
	"maps"
	"reflect"
	"strings"
	"time"

	"github.com/getflytrap/flytrap/internal/inbound"
)

func testInboundFilters(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	got, err := db.ProjectFilters(ctx, System, e.project.ID)
	if err != nil || !reflect.DeepEqual(got, inbound.Defaults) {
		t.Fatalf("ProjectFilters of a new project = %+v, %v; want %+v", got, err, inbound.Defaults)
	}
	set := inbound.Settings{Localhost: true, LegacyBrowsers: []string{inbound.LegacyIE, inbound.LegacyDefault, inbound.LegacyIE},
		ErrorMessages: []string{" *ResizeObserver loop* ", "", "*ResizeObserver loop*"}, Releases: []string{"1.2.*"}}
	want := inbound.Settings{Localhost: true, LegacyBrowsers: []string{inbound.LegacyIE, inbound.LegacyDefault},
		ErrorMessages: []string{"*ResizeObserver loop*"}, Releases: []string{"1.2.*"}}
	if stored, err := db.SetProjectFilters(ctx, System, e.project.ID, set); err != nil || !reflect.DeepEqual(stored, want) {
		t.Fatalf("SetProjectFilters = %+v, %v; want %+v", stored, err, want)
	}
	if got, err := db.ProjectFilters(ctx, System, e.project.ID); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ProjectFilters after set = %+v, %v; want %+v", got, err, want)
	}
	other := e.createProject("other")
	if got, _ := db.ProjectFilters(ctx, System, other.ID); !reflect.DeepEqual(got, inbound.Defaults) {
		t.Errorf("another project's filters = %+v, want the defaults", got)
	}
	for name, s := range map[string]inbound.Settings{
		"not a glob":    {ErrorMessages: []string{"[abc"}},
		"too long":      {Releases: []string{strings.Repeat("x", inbound.MaxPatternLen+1)}},
		"invalid UTF-8": {Releases: []string{"1.\xff"}},
		"a NUL byte":    {ErrorMessages: []string{"a\x00"}},
		"a browser":     {LegacyBrowsers: []string{"netscape"}},
	} {
		_, err := db.SetProjectFilters(ctx, System, e.project.ID, s)
		wantErr(t, "SetProjectFilters with "+name, err, ErrInvalid)
	}
	if got, _ := db.ProjectFilters(ctx, System, e.project.ID); !reflect.DeepEqual(got, want) {
		t.Errorf("refused filters changed the stored ones to %+v", got)
	}
	member := e.createUser("member@example.com", RoleMember)
	e.addMember(e.project, member)
	_, err = db.SetProjectFilters(ctx, Viewer{UserID: member.ID}, e.project.ID, inbound.Defaults)
	wantErr(t, "SetProjectFilters by a member", err, ErrForbidden)
	_, err = db.SetProjectFilters(ctx, System, 1<<40, inbound.Defaults)
	wantErr(t, "SetProjectFilters of a missing project", err, ErrNotFound)

	// Counting: per project, reason and hour, each event once; a
	// deleted project's are dropped; members read their project's,
	// strangers none.
	err = db.CountFiltered(ctx, []Filtered{
		{e.project.ID, "e1", inbound.ReasonWebCrawlers, t0},
		{e.project.ID, "e2", inbound.ReasonWebCrawlers, t0.Add(time.Minute)},
		{e.project.ID, "e3", inbound.ReasonLocalhost, t0.Add(-2 * time.Hour)},
		{e.project.ID, "e4", inbound.ReasonReleaseVersion, t0.Add(-30 * time.Hour)},
		{e.project.ID, "e2", inbound.ReasonWebCrawlers, t0.Add(time.Minute)},
		{other.ID, "e1", inbound.ReasonWebCrawlers, t0},
		{1 << 40, "e1", inbound.ReasonWebCrawlers, t0},
	})
	if err != nil {
		t.Fatal(err)
	}
	// A queue message redelivered after its count adds nothing; another
	// event does.
	if err := db.CountFiltered(ctx, []Filtered{{e.project.ID, "e1", inbound.ReasonWebCrawlers, t0}}); err != nil {
		t.Fatal(err)
	}
	if err := db.CountFiltered(ctx, []Filtered{{e.project.ID, "e5", inbound.ReasonWebCrawlers, t0}}); err != nil {
		t.Fatal(err)
	}
	wantCounts := map[inbound.Reason]int64{inbound.ReasonWebCrawlers: 3, inbound.ReasonLocalhost: 1}
	if got, err := db.FilteredSince(ctx, Viewer{UserID: member.ID}, e.project.ID, t0.Add(-24*time.Hour)); err != nil || !maps.Equal(got, wantCounts) {
		t.Errorf("FilteredSince = %v, %v; want %v", got, err, wantCounts)
	}
	_, err = db.FilteredSince(ctx, Viewer{UserID: member.ID}, other.ID, t0.Add(-24*time.Hour))
	wantErr(t, "FilteredSince of another project", err, ErrNotFound)
	if got, err := db.FilteredSince(ctx, System, other.ID, t0.Add(time.Hour)); err != nil || len(got) != 0 {
		t.Errorf("FilteredSince after the counts = %v, %v; want none", got, err)
	}
	if _, err := db.PruneHistory(ctx, t0, 10*time.Hour); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT COUNT(*) FROM filtered_counts WHERE project_id = $1`, e.project.ID); n != 2 {
		t.Errorf("after pruning 10 hours back: %d rows, want 2", n)
	}
	if n := e.count(`SELECT COUNT(*) FROM filtered_events WHERE project_id = $1`, e.project.ID); n != 4 {
		t.Errorf("after pruning 10 hours back: %d filtered events, want 4", n)
	}
	// The records of counted events go after a day, whatever the
	// history's age: a queue redelivers within minutes.
	if _, err := db.PruneHistory(ctx, t0.Add(FilteredEventsKept+2*time.Minute), 30*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT COUNT(*) FROM filtered_events WHERE project_id = $1`, e.project.ID); n != 0 {
		t.Errorf("a day after the counts: %d filtered events, want none", n)
	}
	if n := e.count(`SELECT COUNT(*) FROM filtered_counts WHERE project_id = $1`, e.project.ID); n != 2 {
		t.Errorf("a day after the counts: %d hourly counts, want the 2 the history keeps", n)
	}
	// A deleted project's records go with it.
	if err := db.DeleteProject(ctx, System, other.ID); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT COUNT(*) FROM filtered_events WHERE project_id = $1`, other.ID); n != 0 {
		t.Errorf("a deleted project's filtered events: %d rows, want none", n)
	}
}
