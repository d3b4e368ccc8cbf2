package store

import (
	"slices"
	"strings"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
)

// testListIssuesSearch: the search's sets, bounds and text terms, each
// ANDed with the rest of the filter.
func testListIssuesSearch(e *env) {
	t := e.t
	at := func(m int) eventOpt {
		return func(s *SaveRequest) {
			s.Event.Timestamp, s.Event.Received = t0.Add(time.Duration(m)*time.Minute), t0.Add(time.Duration(m)*time.Minute)
		}
	}
	pay := e.save("pay", at(1), withTitle("PaymentError: card declined"), withCulprit("checkout in pay"),
		withEnv("production"), withRelease("app@1")).IssueID
	for _, m := range []int{5, 10} {
		e.save("pay", at(m), withTitle("PaymentError: card declined"), withCulprit("checkout in pay"), withEnv("production"), withRelease("app@2"))
	}
	queue := e.save("queue", at(2), withTitle("QueueError: queue full"), withCulprit("worker in run"),
		withEnv("staging"), withRelease("app@2"), withLevel("warning")).IssueID
	poll := e.save("poll", at(3), withTitle("Timeout"), withCulprit("queue.go in poll"),
		withEnv("staging"), withRelease("app@2"), withLevel("info")).IssueID
	e.save("poll", at(4), withTitle("Timeout"), withCulprit("queue.go in poll"), withEnv("production"), withRelease("app@2"), withLevel("info"))

	p := e.project.ID
	env := func(v string) event.Tag { return event.Tag{Key: "environment", Value: v} }
	for _, tt := range []struct {
		name string
		f    IssueFilter
		want []int64
	}{
		{"times seen >", IssueFilter{TimesSeen: []CountBound{{">", 1}}}, []int64{pay, poll}},
		{"times seen =", IssueFilter{TimesSeen: []CountBound{{"=", 1}}}, []int64{queue}},
		{"times seen between", IssueFilter{TimesSeen: []CountBound{{">=", 2}, {"<=", 2}}}, []int64{poll}},
		{"times seen !=", IssueFilter{TimesSeen: []CountBound{{"!=", 3}}}, []int64{poll, queue}},
		{"times seen <", IssueFilter{TimesSeen: []CountBound{{"<", 3}}}, []int64{poll, queue}},
		// In an environment, the count there, as listed.
		{"times seen in an environment", IssueFilter{Environment: "production", TimesSeen: []CountBound{{">", 1}}}, []int64{pay}},
		{"last seen since", IssueFilter{LastSeen: []TimeBound{{">=", t0.Add(4 * time.Minute)}}}, []int64{pay, poll}},
		{"last seen before", IssueFilter{LastSeen: []TimeBound{{"<", t0.Add(4 * time.Minute)}}}, []int64{queue}},
		{"first seen since", IssueFilter{FirstSeen: []TimeBound{{">", t0.Add(time.Minute)}}}, []int64{poll, queue}},
		{"first seen at", IssueFilter{FirstSeen: []TimeBound{{"=", t0.Add(2 * time.Minute)}}}, []int64{queue}},
		{"first and last seen", IssueFilter{FirstSeen: []TimeBound{{"<=", t0.Add(2 * time.Minute)}}, LastSeen: []TimeBound{{">", t0.Add(3 * time.Minute)}}}, []int64{pay}},
		{"first release", IssueFilter{FirstReleases: [][]string{{"app@1"}}}, []int64{pay}},
		{"first release latest", IssueFilter{FirstReleases: [][]string{{LatestRelease}}}, []int64{poll, queue}},
		{"first release either", IssueFilter{FirstReleases: [][]string{{"app@1", LatestRelease}}}, []int64{pay, poll, queue}},
		{"first release twice", IssueFilter{FirstReleases: [][]string{{"app@1"}, {"app@2"}}}, nil},
		{"title", IssueFilter{Titles: []string{"paymentERROR"}}, []int64{pay}},
		{"title, not culprit", IssueFilter{Titles: []string{"queue"}}, []int64{queue}},
		{"titles all hold", IssueFilter{Titles: []string{"queue", "card"}}, nil},
		{"title with a literal %", IssueFilter{Titles: []string{"%"}}, nil},
		{"message, title or culprit", IssueFilter{Messages: []string{"QUEUE"}}, []int64{poll, queue}},
		{"message and title", IssueFilter{Messages: []string{"queue"}, Titles: []string{"time"}}, []int64{poll}},
		{"level list", IssueFilter{Levels: [][]string{{"warning", "info"}}}, []int64{poll, queue}},
		{"levels repeated", IssueFilter{Levels: [][]string{{"warning"}, {"info"}}}, nil},
		{"level and the level parameter", IssueFilter{Level: "error", Levels: [][]string{{"warning"}}}, nil},
		{"level list and the level parameter", IssueFilter{Level: "info", Levels: [][]string{{"warning", "info"}}}, []int64{poll}},
		{"tag list", IssueFilter{AnyTags: [][]event.Tag{{env("staging"), env("nowhere")}}}, []int64{poll, queue}},
		{"tag lists all hold", IssueFilter{AnyTags: [][]event.Tag{{env("staging")}, {env("production")}}}, []int64{poll}},
		{"tag list of two keys", IssueFilter{AnyTags: [][]event.Tag{{env("nowhere"), {Key: "level", Value: "warning"}}}}, []int64{queue}},
		{"environment repeated", IssueFilter{Environment: "staging", Tags: []event.Tag{env("production")}}, []int64{poll}},
		{"release list and release", IssueFilter{Release: "app@1", AnyTags: [][]event.Tag{{{Key: "release", Value: "app@2"}, {Key: "release", Value: "x"}}}}, []int64{pay}},
	} {
		tt.f.ProjectID = p
		if got := e.listAll(System, tt.f); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	// Across projects, each issue's own project's latest release.
	other := e.createProject("other").ID
	elsewhere := e.saveIn(other, "x", at(20), withRelease("other@1")).IssueID
	if got := e.listAll(System, IssueFilter{FirstReleases: [][]string{{LatestRelease}}}); !slices.Equal(got, []int64{elsewhere, poll, queue}) {
		t.Errorf("latest first release of every project: got %v, want %v", got, []int64{elsewhere, poll, queue})
	}
	// Sorted by count in an environment, with a bound on that count.
	f := IssueFilter{ProjectID: p, Environment: "production", Sort: SortCount, TimesSeen: []CountBound{{">=", 1}}, Limit: 1}
	if got := e.listAll(System, f); !slices.Equal(got, []int64{pay, poll}) {
		t.Errorf("by count in production, pages of one: got %v, want %v", got, []int64{pay, poll})
	}
	_, _, err := e.db.ListIssues(e.ctx, System, IssueFilter{ProjectID: p, TimesSeen: []CountBound{{"; DROP", 1}}})
	wantErr(t, "times seen operator", err, ErrInvalid)
	_, _, err = e.db.ListIssues(e.ctx, System, IssueFilter{ProjectID: p, LastSeen: []TimeBound{{"LIKE", t0}}})
	wantErr(t, "time operator", err, ErrInvalid)
}

// testListIssuesWildcards: Sentry's * in tag values, releases, titles and
// messages (IssueFilter values holding Wildcard), matched whole, with
// LIKE's and GLOB's own wildcards literal; and release:latest.
func testListIssuesWildcards(e *env) {
	t := e.t
	at := func(m int) eventOpt {
		return func(s *SaveRequest) {
			s.Event.Timestamp, s.Event.Received = t0.Add(time.Duration(m)*time.Minute), t0.Add(time.Duration(m)*time.Minute)
		}
	}
	user := func(email string) eventOpt { return withSDKUser(event.User{Email: email}) }
	headless := e.save("headless", at(1), withTitle("Error: wrapError failed"), withCulprit("main.run"), withEnv("staging"),
		withRelease("shop@1.2.3"), withTags("browser", "HeadlessChrome 120", "k", "a%b"), user("Ada@Example.com")).IssueID
	chrome := e.save("chrome", at(2), withTitle("TypeError: x is undefined"), withCulprit("wrapError in app.js"), withEnv("production"),
		withRelease("shop@1.2.10"), withTags("browser", "Chrome 120", "k", "axb"), user("bob@example.org")).IssueID
	lower := e.save("lower", at(3), withTitle("WRAPERROR"), withEnv("production"),
		withRelease("shop@1.3.0"), withTags("browser", "headlesschrome 1", "k", `a\b`)).IssueID
	odd := e.save("odd", at(4), withTitle("Odd [x] 100% *done*"), withEnv("dev"),
		withRelease("shop@1.3.0"), withTags("browser", "a[b]?c*", "k", "a_b")).IssueID
	// The latest release is the one first seen last: shop@2.0.0.
	latest := e.save("latest", at(5), withTitle("Latest"), withEnv("production"), withRelease("shop@2.0.0")).IssueID
	e.save("lower", at(6), withTitle("WRAPERROR"), withEnv("production"), withRelease("shop@2.0.0"))

	p := e.project.ID
	W := Wildcard
	tag := func(k, v string) event.Tag { return event.Tag{Key: k, Value: v} }
	for _, tt := range []struct {
		name string
		f    IssueFilter
		want []int64
	}{
		// QA's searches.
		{"browser:Headless*", IssueFilter{Tags: []event.Tag{tag("browser", "Headless"+W)}}, []int64{headless}},
		{"release:shop@1.2.*", IssueFilter{Tags: []event.Tag{tag("release", "shop@1.2."+W)}}, []int64{headless, chrome}},
		{"title:*wrapError*, any case", IssueFilter{Titles: []string{W + "wrapError" + W}}, []int64{headless, lower}},
		{"release:latest", IssueFilter{Tags: []event.Tag{tag("release", LatestRelease)}}, []int64{latest, lower}},
		// Tag values match whole and in their case, as equality does.
		{"suffix", IssueFilter{Tags: []event.Tag{tag("browser", W+"120")}}, []int64{headless, chrome}},
		{"infix", IssueFilter{Tags: []event.Tag{tag("browser", W+"Chrome"+W)}}, []int64{headless, chrome}},
		{"whole value", IssueFilter{Tags: []event.Tag{tag("browser", "Chrome"+W+"1")}}, nil},
		{"any value", IssueFilter{Tags: []event.Tag{tag("browser", W)}}, []int64{headless, chrome, lower, odd}},
		{"case", IssueFilter{Tags: []event.Tag{tag("browser", "headless"+W)}}, []int64{lower}},
		{"environment", IssueFilter{Tags: []event.Tag{tag("environment", "prod"+W)}}, []int64{chrome, lower, latest}},
		{"user.email", IssueFilter{Tags: []event.Tag{tag("user.email", W+"@example.com")}}, []int64{headless}},
		// LIKE's % and _, its escape \, and GLOB's [, ? and * are text.
		{"literal %", IssueFilter{Tags: []event.Tag{tag("k", "a%"+W)}}, []int64{headless}},
		{"literal _", IssueFilter{Tags: []event.Tag{tag("k", "a_"+W)}}, []int64{odd}},
		{"literal \\", IssueFilter{Tags: []event.Tag{tag("k", `a\`+W)}}, []int64{lower}},
		{"literal [ ? *", IssueFilter{Tags: []event.Tag{tag("browser", "a[b]?c*"+W)}}, []int64{odd}},
		{"no ? wildcard", IssueFilter{Tags: []event.Tag{tag("browser", "a[b]"+W+"?")}}, nil},
		{"literal star only", IssueFilter{Tags: []event.Tag{tag("browser", W+"c*")}}, []int64{odd}},
		// Negated, and in lists with exact values and latest.
		{"!browser:*Chrome*", IssueFilter{NotTags: []event.Tag{tag("browser", W+"Chrome"+W)}}, []int64{lower, odd, latest}},
		{"!release:latest", IssueFilter{NotTags: []event.Tag{tag("release", LatestRelease)}}, []int64{headless, chrome, odd}},
		{"list", IssueFilter{AnyTags: [][]event.Tag{{tag("browser", "Headless"+W), tag("k", "a_b")}}}, []int64{headless, odd}},
		{"list with latest", IssueFilter{AnyTags: [][]event.Tag{{tag("release", LatestRelease), tag("release", "shop@1.2.3")}}}, []int64{headless, lower, latest}},
		{"first release", IssueFilter{FirstReleases: [][]string{{"shop@1.3" + W, "shop@1.2.3"}}}, []int64{headless, lower, odd}},
		{"first release and latest", IssueFilter{FirstReleases: [][]string{{W + ".10", LatestRelease}}}, []int64{chrome, latest}},
		// Titles and messages: whole, any case; without * a part, as before.
		{"title prefix", IssueFilter{Titles: []string{"wrap" + W}}, []int64{lower}},
		{"title part", IssueFilter{Titles: []string{"wrap"}}, []int64{headless, lower}},
		{"title with literal % and [", IssueFilter{Titles: []string{W + "[x] 100%" + W}}, []int64{odd}},
		{"title % not a wildcard", IssueFilter{Titles: []string{"odd%" + W}}, nil},
		{"message, title or culprit", IssueFilter{Messages: []string{"wraperror" + W}}, []int64{chrome, lower}},
		// Negated, !title:Odd* and !message:*wraperror*, with the
		// patterns' literal parts literal.
		{"!title prefix", IssueFilter{NotTitles: []string{"odd" + W}}, []int64{headless, chrome, lower, latest}},
		{"!title part", IssueFilter{NotTitles: []string{"wrap"}}, []int64{chrome, odd, latest}},
		{"!message, title or culprit", IssueFilter{NotMessages: []string{W + "WRAPERROR" + W}}, []int64{odd, latest}},
		{"!title with literal % and [", IssueFilter{NotTitles: []string{W + "[x] 100%" + W}}, []int64{headless, chrome, lower, latest}},
		{"!title _ and ? not wildcards", IssueFilter{NotTitles: []string{W + "100_" + W, W + "[x]?" + W}}, []int64{headless, chrome, lower, odd, latest}},
		{"!message and title", IssueFilter{NotMessages: []string{W + "in app.js"}, Titles: []string{W + "error" + W}}, []int64{headless, lower}},
		// Free text: a * is any text, and the text matches anywhere.
		{"free text Type*undefined", IssueFilter{Query: "Type" + W + "UNDEFINED"}, []int64{chrome}},
		{"free text in the culprit", IssueFilter{Query: "Error" + W + "app"}, []int64{chrome}},
		{"free text wildcard and literal %", IssueFilter{Query: "[x]" + W + "%"}, []int64{odd}},
		{"free text _ and \\ literal", IssueFilter{Query: "100" + W + "_"}, nil},
		{"free text ** is *", IssueFilter{Query: "x" + W + W + "undefined"}, []int64{chrome}},
	} {
		tt.f.ProjectID = p
		got := e.listAll(System, tt.f)
		slices.Sort(got)
		slices.Sort(tt.want)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	// A pattern is cut to the longest value kept, what was cut off read
	// as a *: 250 a's and a * finds the 200 a's kept of a longer value,
	// and a pattern far beyond SQLite's limit on patterns (50,000 bytes)
	// is no error.
	long := e.save("long", at(7), withTitle(strings.Repeat("T", 2000)), withTags("k", strings.Repeat("a", 250)+"z")).IssueID
	for _, tt := range []struct {
		name string
		f    IssueFilter
		want []int64
	}{
		{"long tag pattern", IssueFilter{Tags: []event.Tag{tag("k", strings.Repeat("a", 250)+W)}}, []int64{long}},
		{"long tag pattern, negated", IssueFilter{NotTags: []event.Tag{tag("k", W+strings.Repeat("a", 300))}}, []int64{headless, chrome, lower, odd, latest}},
		{"huge tag pattern", IssueFilter{Tags: []event.Tag{tag("k", strings.Repeat("a"+W, 40000))}}, []int64{long}},
		{"huge title pattern", IssueFilter{Titles: []string{strings.Repeat("t"+W, 40000)}}, []int64{long}},
		{"huge free text", IssueFilter{Query: strings.Repeat("t"+W, 40000)}, []int64{long}},
	} {
		tt.f.ProjectID = p
		got := e.listAll(System, tt.f)
		slices.Sort(got)
		slices.Sort(tt.want)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	// Across projects, each issue's own project's latest release.
	other := e.createProject("other").ID
	elsewhere := e.saveIn(other, "x", at(1), withRelease("other@1")).IssueID
	got := e.listAll(System, IssueFilter{Tags: []event.Tag{tag("release", LatestRelease)}})
	slices.Sort(got)
	if want := []int64{lower, latest, elsewhere}; !slices.Equal(got, want) {
		t.Errorf("release:latest of every project: got %v, want %v", got, want)
	}
}

// testLatestReleaseTie: of releases first seen at the same time (one batch
// of events), release:latest and firstRelease:latest are one whichever
// came first, as Sentry picks one: the highest version when they parse as
// versions (shop@1.10.0 over shop@1.9.0, which byte order would pick),
// else the highest in byte order; and ListReleases lists it first. A
// release first seen later is newer, whatever its version.
func testLatestReleaseTie(e *env) {
	t := e.t
	at := func(m int) eventOpt {
		return func(s *SaveRequest) {
			s.Event.Timestamp, s.Event.Received = t0.Add(time.Duration(m)*time.Minute), t0.Add(time.Duration(m)*time.Minute)
		}
	}
	p := e.project.ID
	old := e.save("old", at(1), withRelease("shop@2.0.0")).IssueID
	high := e.save("high", at(2), withRelease("shop@1.10.0")).IssueID
	low := e.save("low", at(2), withRelease("shop@1.9.0")).IssueID
	// Another project, its tie saved the other way round, of versions
	// without a package and with a build.
	other := e.createProject("other").ID
	otherLow := e.saveIn(other, "low", at(2), withRelease("9.0.0")).IssueID
	otherHigh := e.saveIn(other, "high", at(2), withRelease("10.0.0+build.5")).IssueID
	// Releases that are not versions go by their bytes.
	third := e.createProject("third").ID
	thirdHigh := e.saveIn(third, "high", at(2), withRelease("nightly-b")).IssueID
	thirdLow := e.saveIn(third, "low", at(2), withRelease("nightly-a")).IssueID

	tag := func(v string) event.Tag { return event.Tag{Key: "release", Value: v} }
	for _, tt := range []struct {
		name string
		f    IssueFilter
		want []int64
	}{
		{"release:latest", IssueFilter{ProjectID: p, Tags: []event.Tag{tag(LatestRelease)}}, []int64{high}},
		{"firstRelease:latest", IssueFilter{ProjectID: p, FirstReleases: [][]string{{LatestRelease}}}, []int64{high}},
		{"!release:latest", IssueFilter{ProjectID: p, NotTags: []event.Tag{tag(LatestRelease)}}, []int64{old, low}},
		{"release:[latest,shop@2.0.0]", IssueFilter{ProjectID: p, AnyTags: [][]event.Tag{{tag(LatestRelease), tag("shop@2.0.0")}}}, []int64{old, high}},
		{"release:latest of another project", IssueFilter{ProjectID: other, Tags: []event.Tag{tag(LatestRelease)}}, []int64{otherHigh}},
		{"release:latest of releases that are not versions", IssueFilter{ProjectID: third, Release: LatestRelease}, []int64{thirdHigh}},
		{"release:latest of every project", IssueFilter{Tags: []event.Tag{tag(LatestRelease)}}, []int64{high, otherHigh, thirdHigh}},
		{"firstRelease:latest of every project", IssueFilter{FirstReleases: [][]string{{LatestRelease}}}, []int64{high, otherHigh, thirdHigh}},
		{"!release:latest of every project", IssueFilter{NotTags: []event.Tag{tag(LatestRelease)}}, []int64{old, low, otherLow, thirdLow}},
	} {
		got := e.listAll(System, tt.f)
		slices.Sort(got)
		slices.Sort(tt.want)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
	for project, want := range map[int64][]string{p: {"shop@1.10.0", "shop@1.9.0", "shop@2.0.0"}, other: {"10.0.0+build.5", "9.0.0"},
		third: {"nightly-b", "nightly-a"}} {
		rs, err := e.db.ListReleases(e.ctx, System, project)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rs {
			got = append(got, r.Version)
		}
		if !slices.Equal(got, want) {
			t.Errorf("ListReleases(%d) = %v, want %v", project, got, want)
		}
	}
}
