package store

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// figures are the numbers of an issue that an environment scopes.
type figures struct {
	count, users int64
	first, last  time.Time
}

func figuresOf(i Issue) figures { return figures{i.Count, i.UserCount, i.FirstSeen, i.LastSeen} }

func (f figures) String() string {
	return fmt.Sprintf("%d events, %d users, %s to %s", f.count, f.users, f.first.Format("15:04"), f.last.Format("15:04"))
}

// saveTwoEnvironments saves issue x, with events in staging and production,
// and y, with events in production only.
func (e *env) saveTwoEnvironments() (x, y int64) {
	m := time.Minute
	x = e.save("x", withEnv("staging"), withUser("u1"), withAt(t0)).IssueID
	e.save("x", withEnv("staging"), withUser("u2"), withAt(t0.Add(60*m)))
	e.save("x", withEnv("staging"), withUser("u1"), withAt(t0.Add(180*m)))
	e.save("x", withEnv("production"), withUser("u3"), withAt(t0.Add(90*m)))
	y = e.save("y", withEnv("production"), withUser("u1"), withAt(t0.Add(10*m))).IssueID
	e.save("y", withEnv("production"), withUser("u2"), withAt(t0.Add(20*m)))
	return x, y
}

// testIssueEnvironmentFigures: filtered by an environment, every figure
// of an issue is of its events there (events, users, first and last seen,
// hourly counts), ListIssues sorts, filters by time and pages by them,
// and unfiltered they stay the issue's own.
func testIssueEnvironmentFigures(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	x, y := e.saveTwoEnvironments()
	m := time.Minute
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	all := map[int64]figures{x: {4, 3, t0, at(180 * m)}, y: {2, 2, at(10 * m), at(20 * m)}}
	production := map[int64]figures{x: {1, 1, at(90 * m), at(90 * m)}, y: all[y]}
	staging := map[int64]figures{x: {3, 2, t0, at(180 * m)}}
	p := e.project.ID
	for _, tt := range []struct {
		name string
		f    IssueFilter
		ids  []int64
		want map[int64]figures
	}{
		{"every environment", IssueFilter{ProjectID: p}, []int64{x, y}, all},
		{"every environment since 2h", IssueFilter{ProjectID: p, Since: at(120 * m)}, []int64{x}, all},
		{"production by last seen", IssueFilter{ProjectID: p, Environment: "production"}, []int64{x, y}, production},
		{"production by first seen", IssueFilter{ProjectID: p, Environment: "production", Sort: SortFirstSeen}, []int64{x, y}, production},
		{"production by count", IssueFilter{ProjectID: p, Environment: "production", Sort: SortCount}, []int64{y, x}, production},
		{"every environment by users", IssueFilter{ProjectID: p, Sort: SortUserCount}, []int64{x, y}, all},
		{"production by users", IssueFilter{ProjectID: p, Environment: "production", Sort: SortUserCount}, []int64{y, x}, production},
		{"production since 1h", IssueFilter{ProjectID: p, Environment: "production", Since: at(60 * m)}, []int64{x}, production},
		{"production since 2h", IssueFilter{ProjectID: p, Environment: "production", Since: at(120 * m)}, nil, production},
		{"production, unresolved, by last seen", IssueFilter{ProjectID: p, Environment: "production", Status: StatusUnresolved},
			[]int64{x, y}, production},
		{"staging by first seen", IssueFilter{ProjectID: p, Environment: "staging", Sort: SortFirstSeen}, []int64{x}, staging},
		{"every project, staging", IssueFilter{Environment: "staging"}, []int64{x}, staging},
		{"development", IssueFilter{ProjectID: p, Environment: "development"}, nil, nil},
	} {
		issues, _, err := db.ListIssues(ctx, System, tt.f)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var ids []int64
		for _, i := range issues {
			ids = append(ids, i.ID)
			if got := figuresOf(i); got != tt.want[i.ID] {
				t.Errorf("%s: issue %d has %v, want %v", tt.name, i.ID, got, tt.want[i.ID])
			}
		}
		if !slices.Equal(ids, tt.ids) {
			t.Errorf("%s: issues %v, want %v", tt.name, ids, tt.ids)
		}
		// Pages of one go by the same figures, none repeated or skipped.
		paged := tt.f
		paged.Limit = 1
		if got := e.listAll(System, paged); !slices.Equal(got, tt.ids) {
			t.Errorf("%s: pages of one list %v, want %v", tt.name, got, tt.ids)
		}
	}

	for _, tt := range []struct {
		env  string
		want figures
	}{
		{"", all[x]},
		{"production", production[x]},
		{"staging", staging[x]},
		{"development", figures{}},
	} {
		i, err := db.GetIssueIn(ctx, System, x, tt.env)
		if err != nil || figuresOf(i) != tt.want || i.Title != "Error x" {
			t.Errorf("GetIssueIn(%q) = %v (%+v), %v; want %v", tt.env, figuresOf(i), i, err, tt.want)
		}
	}
	stranger := Viewer{UserID: e.createUser("stranger@example.com", RoleMember).ID}
	if _, err := db.GetIssueIn(ctx, stranger, x, "production"); err == nil {
		t.Error("GetIssueIn let a stranger see the issue")
	}

	hour := func(h int, n int64) Bucket { return Bucket{Hour: at(time.Duration(h) * time.Hour), Count: n} }
	for _, tt := range []struct {
		env  string
		want []Bucket
	}{
		{"", []Bucket{hour(0, 1), hour(1, 2), hour(3, 1)}},
		{"staging", []Bucket{hour(0, 1), hour(1, 1), hour(3, 1)}},
		{"production", []Bucket{hour(1, 1)}},
		{"development", []Bucket{}},
	} {
		got, err := db.IssueHourlyCounts(ctx, System, x, t0, tt.env)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("IssueHourlyCounts(%q) = %v, %v; want %v", tt.env, got, err, tt.want)
		}
	}
}

// testEnvironmentBatch: a batch adds each issue's events to its
// environments' figures once, as saving them one by one would, a user
// counted once however many of its events the batch holds.
func testEnvironmentBatch(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	m := time.Minute
	p := e.project.ID
	first, err := db.SaveBatch(ctx, []SaveRequest{
		request(p, "z", withEnv("production"), withUser("u1"), withAt(t0)),
		request(p, "z", withEnv("production"), withUser("u1"), withAt(t0.Add(5*m))),
		request(p, "z", withEnv("staging"), withUser("u1"), withAt(t0.Add(70*m))),
		request(p, "z", withEnv("production"), withUser("u2"), withAt(t0.Add(-5*m))),
		request(p, "z", withAt(t0.Add(200*m))),
	})
	if err != nil {
		t.Fatal(err)
	}
	z := first[0].IssueID
	// A second batch: a user production has, one it has not, and an
	// event earlier than any.
	if _, err := db.SaveBatch(ctx, []SaveRequest{
		request(p, "z", withEnv("production"), withUser("u2"), withAt(t0.Add(10*m))),
		request(p, "z", withEnv("production"), withUser("u3"), withAt(t0.Add(-65*m))),
	}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		env  string
		want figures
	}{
		{"", figures{7, 3, t0.Add(-65 * m), t0.Add(200 * m)}},
		{"production", figures{5, 3, t0.Add(-65 * m), t0.Add(10 * m)}},
		{"staging", figures{1, 1, t0.Add(70 * m), t0.Add(70 * m)}},
	} {
		if i, err := db.GetIssueIn(ctx, System, z, tt.env); err != nil || figuresOf(i) != tt.want {
			t.Errorf("GetIssueIn(%q) = %v, %v; want %v", tt.env, figuresOf(i), err, tt.want)
		}
	}
	got, err := db.IssueHourlyCounts(ctx, System, z, t0.Add(-2*time.Hour), "production")
	want := []Bucket{{t0.Add(-2 * time.Hour), 1}, {t0.Add(-time.Hour), 1}, {t0, 3}}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("production's hourly counts = %v, %v; want %v", got, err, want)
	}
}

// testEnvironmentBackfill: migration 0013 gives the issues stored before
// it the figures saving gives them since, but for the users of an issue
// with events in more than one environment or none, which were never
// recorded by environment.
func testEnvironmentBackfill(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	x, y := e.saveTwoEnvironments()
	// An event without an environment has no environment's figures, and
	// leaves y's users in production unknown.
	e.save("y", withUser("u9"), withAt(t0.Add(time.Hour)))
	// All of z's events are in production: its figures there are its own.
	z := e.save("z", withEnv("production"), withUser("u1"), withAt(t0)).IssueID
	e.save("z", withEnv("production"), withUser("u2"), withAt(t0.Add(2*time.Hour)))
	snapshot := func() [][]string {
		var rows [][]string
		for _, q := range []string{
			`SELECT issue_id, environment, project_id, count, user_count, first_seen, last_seen FROM issue_environments`,
			`SELECT issue_id, environment, user_key FROM issue_environment_users`,
			`SELECT issue_id, environment, hour, count FROM issue_environment_counts`,
		} {
			r, err := db.SQL().QueryContext(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			cols, _ := r.Columns()
			for r.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := r.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				row := make([]string, len(vals))
				for i, v := range vals {
					if b, ok := v.([]byte); ok {
						v = string(b)
					}
					row[i] = fmt.Sprint(v)
				}
				rows = append(rows, row)
			}
			r.Close()
		}
		slices.SortFunc(rows, slices.Compare)
		return rows
	}
	saved := snapshot()
	ms, err := migrations(db.Dialect())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ms, func(m migration) bool { return m.version == 13 })
	_, backfill, ok := strings.Cut(ms[i].sql, "-- Backfill.")
	if !ok {
		t.Fatal("migration 0013 has no backfill")
	}
	for _, table := range []string{"issue_environments", "issue_environment_users", "issue_environment_counts"} {
		if _, err := db.SQL().ExecContext(ctx, `DELETE FROM `+table); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.SQL().ExecContext(ctx, "-- Backfill."+backfill); err != nil {
		t.Fatal(err)
	}
	unknownUsers := []string{fmt.Sprint(x), fmt.Sprint(y)}
	var want [][]string
	for _, r := range saved {
		if slices.Contains(unknownUsers, r[0]) {
			if len(r) == 3 {
				continue
			}
			if len(r) == 7 {
				r = slices.Clone(r)
				r[4] = "0"
			}
		}
		want = append(want, r)
	}
	if got := snapshot(); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("backfilled:\n%v\nwant:\n%v", got, want)
	}
	if i, err := db.GetIssueIn(ctx, System, z, "production"); err != nil || i.UserCount != 2 {
		t.Errorf("z in production after the backfill = %+v, %v; want its 2 users", i, err)
	}
}

// testEnvironmentEvents: with an environment, LatestEvent, ListEvents and
// AdjacentEvents keep to the issue's events in it, as the issue page and
// its events API show them; without one they are the issue's.
func testEnvironmentEvents(e *env) {
	t, db, ctx := e.t, e.db, e.ctx
	m := time.Minute
	for _, ev := range []struct {
		id, env string
		at      time.Duration
	}{{"s0", "staging", 0}, {"p0", "production", 10 * m}, {"n0", "", 15 * m}, {"s1", "staging", 20 * m},
		{"p1", "production", 30 * m}, {"p2", "production", 30 * m}, {"s2", "staging", 40 * m}} {
		e.save("x", withID(ev.id), withEnv(ev.env), withAt(t0.Add(ev.at)))
	}
	x := e.save("x", withID("s3"), withEnv("staging"), withAt(t0.Add(50*m))).IssueID
	e.save("y", withID("y0"), withEnv("production"), withAt(t0.Add(60*m)))

	for _, tt := range []struct {
		env, want string
		err       error
	}{
		{"", "s3", nil},
		{"staging", "s3", nil},
		{"production", "p2", nil},
		{"development", "", ErrNotFound},
	} {
		got, err := db.LatestEvent(ctx, System, x, tt.env)
		if got.EventID != tt.want || !errors.Is(err, tt.err) || (err == nil && (got.Environment != cmp.Or(tt.env, "staging") || len(got.Payload) == 0)) {
			t.Errorf("LatestEvent(%q) = %q in %q, %v; want %q, %v", tt.env, got.EventID, got.Environment, err, tt.want, tt.err)
		}
	}

	list := func(env string, limit int) []string {
		var ids []string
		cursor := ""
		for {
			events, next, err := db.ListEvents(ctx, System, x, cursor, limit, env)
			if err != nil {
				t.Fatalf("ListEvents(%q): %v", env, err)
			}
			for _, ev := range events {
				if env != "" && ev.Environment != env {
					t.Errorf("ListEvents(%q) lists %s of %q", env, ev.EventID, ev.Environment)
				}
				ids = append(ids, ev.EventID)
			}
			if next == "" {
				return ids
			}
			cursor = next
		}
	}
	for _, tt := range []struct {
		env  string
		want []string
	}{
		{"", []string{"s3", "s2", "p2", "p1", "s1", "n0", "p0", "s0"}},
		{"production", []string{"p2", "p1", "p0"}},
		{"staging", []string{"s3", "s2", "s1", "s0"}},
		{"development", nil},
	} {
		for _, limit := range []int{0, 1, 2} {
			if got := list(tt.env, limit); !slices.Equal(got, tt.want) {
				t.Errorf("ListEvents(%q) by %d = %v, want %v", tt.env, limit, got, tt.want)
			}
		}
	}
	if events, next, err := db.ListEvents(ctx, System, x, "", 0, "development"); err != nil || events == nil || next != "" {
		t.Errorf("ListEvents(development) = %v, %q, %v; want an empty list", events, next, err)
	}

	for _, tt := range []struct {
		event, env string
		want       AdjacentEvents
	}{
		{"p0", "production", AdjacentEvents{Newer: "p1"}},
		{"p1", "production", AdjacentEvents{Oldest: "p0", Older: "p0", Newer: "p2"}},
		{"p2", "production", AdjacentEvents{Oldest: "p0", Older: "p1"}},
		{"s0", "staging", AdjacentEvents{Newer: "s1"}},
		{"s2", "staging", AdjacentEvents{Oldest: "s0", Older: "s1", Newer: "s3"}},
		// An event of another environment, named by its ID: the
		// neighbours are still those of the environment.
		{"s1", "production", AdjacentEvents{Oldest: "p0", Older: "p0", Newer: "p1"}},
		{"n0", "staging", AdjacentEvents{Oldest: "s0", Older: "s0", Newer: "s1"}},
		{"s1", "", AdjacentEvents{Oldest: "s0", Older: "n0", Newer: "p1"}},
		{"s1", "development", AdjacentEvents{}},
	} {
		got, err := db.AdjacentEvents(ctx, System, x, tt.event, tt.env)
		if got != tt.want || err != nil {
			t.Errorf("AdjacentEvents(%s, %q) = %+v, %v; want %+v", tt.event, tt.env, got, err, tt.want)
		}
	}
	_, err := db.AdjacentEvents(ctx, System, x, "y0", "production")
	wantErr(t, "AdjacentEvents of another issue's event in its environment", err, ErrNotFound)

	// An environment name longer than an event keeps is cut as saving
	// cut it, as the issue's figures find it.
	long := strings.Repeat("e", MaxTagLength+5)
	z := e.save("z", withID("z0"), withEnv(long)).IssueID
	if got, err := db.LatestEvent(ctx, System, z, long); err != nil || got.EventID != "z0" {
		t.Errorf("LatestEvent(long environment) = %q, %v; want z0", got.EventID, err)
	}
}
