package store

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/getflytrap/flytrap/internal/event"
)

// saveAll saves reqs as one batch.
func (e *env) saveAll(reqs ...SaveRequest) {
	e.t.Helper()
	if _, err := e.db.SaveBatch(e.ctx, reqs); err != nil {
		e.t.Fatal(err)
	}
}

// tagRows returns the issue's tag pairs of keys as "key=value:count", and
// its issue_tag_keys rows as "key:values", sorted.
func (e *env) tagRows(issueID int64, keys ...string) (pairs, kept string) {
	e.t.Helper()
	in := "'" + strings.Join(keys, "', '") + "'"
	var p, k []string
	for _, r := range e.rows(`SELECT key, value, count FROM issue_tags WHERE issue_id = $1 AND key IN (`+in+`) ORDER BY key, value`, issueID) {
		p = append(p, r[0]+"="+r[1]+":"+r[2])
	}
	for _, r := range e.rows(`SELECT key, value_count FROM issue_tag_keys WHERE issue_id = $1 AND key IN (`+in+`) ORDER BY key`, issueID) {
		k = append(k, r[0]+":"+r[1])
	}
	return strings.Join(p, " "), strings.Join(k, " ")
}

func testIssueTagBounds(e *env) {
	t, db := e.t, e.db
	db.tagLimits.values, db.tagLimits.keys = 3, 2
	p := e.project.ID
	check := func(what string, issueID int64, wantPairs, wantKept string, keys ...string) {
		t.Helper()
		if pairs, kept := e.tagRows(issueID, keys...); pairs != wantPairs || kept != wantKept {
			t.Errorf("%s:\n issue_tags     %s\n want           %s\n issue_tag_keys %s\n want           %s", what, pairs, wantPairs, kept, wantKept)
		}
	}

	// The cap reached within one batch: the first values in sorted order
	// are kept, whatever the order of the events.
	var reqs []SaveRequest
	for _, v := range []string{"e", "d", "c", "b", "a", "a"} {
		reqs = append(reqs, request(p, "one", withTags("k", v)))
	}
	e.saveAll(reqs...)
	one := e.save("one", withTags("k", "a")).IssueID
	check("one batch of five values", one, "k=a:3 k=b:1 k=c:1", "k:3", "k")
	// Across batches: kept values go on counting, new ones are refused.
	e.saveAll(request(p, "one", withTags("k", "c")), request(p, "one", withTags("k", "z")))
	check("a full key", one, "k=a:3 k=b:1 k=c:2", "k:3", "k")

	// A key with room for one more value gets one of a batch's three.
	two := e.save("two", withTags("k", "m", "x", "1")).IssueID
	e.save("two", withTags("k", "n"))
	e.saveAll(request(p, "two", withTags("k", "q")), request(p, "two", withTags("k", "p")),
		request(p, "two", withTags("k", "o")), request(p, "two", withTags("k", "m")))
	check("a key with room for one", two, "k=m:2 k=n:1 k=o:1", "k:3", "k")

	// A new pair is told from a kept one by its count after the batch:
	// here the kept k=a ends at 2, the count the new k=b is added with,
	// and k=c, new, with the largest count of the batch, 3.
	three := e.save("three", withTags("k", "a")).IssueID
	e.saveAll(request(p, "three", withTags("k", "a")), request(p, "three", withTags("k", "b")),
		request(p, "three", withTags("k", "b")), request(p, "three", withTags("k", "c")),
		request(p, "three", withTags("k", "c")), request(p, "three", withTags("k", "c")))
	check("a kept pair counted like a new one", three, "k=a:2 k=b:2 k=c:3", "k:3", "k")

	// Keys: two per issue, and a third key is not kept, while the keys the
	// issue list filters by always are, with every value.
	e.save("two", withTags("y", "1", "k", "m"))
	var releases []SaveRequest
	for i := range 5 {
		releases = append(releases, request(p, "two", withTags("z", "1"), withRelease(fmt.Sprint("r", i)),
			withEnv(fmt.Sprint("env", i)), withLevel([]string{"debug", "info", "warning", "error", "fatal"}[i])))
	}
	e.saveAll(releases...)
	check("a third key", two, "k=m:3 k=n:1 k=o:1 x=1:1", "k:3 x:1", "k", "x", "y", "z")
	for _, key := range []string{"release", "environment", "level"} {
		if n := e.count(`SELECT COUNT(*) FROM issue_tags WHERE issue_id = $1 AND key = $2`, two, key); n != 5 {
			t.Errorf("%s has %d values beyond the bounds, want all 5", key, n)
		}
	}
	found := e.listAll(System, IssueFilter{ProjectID: p, Release: "r4", Environment: "env4", Level: "fatal"})
	if len(found) != 1 || found[0] != two {
		t.Errorf("issues of release r4 in env4: %v, want issue %d", found, two)
	}

	// The issue's tags mark a full key's values.
	tags, err := db.IssueTags(e.ctx, System, one)
	if err != nil {
		t.Fatal(err)
	}
	capped := make(map[string]bool)
	for _, tc := range tags {
		capped[tc.Key] = tc.Capped
	}
	if want := map[string]bool{"k": true, "level": false}; !reflect.DeepEqual(capped, want) {
		t.Errorf("IssueTags marks full keys %v, want %v", capped, want)
	}
}

// testTagFlood replays a security tester's finding at a small scale: a
// public DSN sends events of one fingerprint whose many tags all have new
// values. The issue keeps at most the bounded values of the bounded keys.
func testTagFlood(e *env) {
	t, db := e.t, e.db
	const values, keys = 5, 10
	db.tagLimits.values, db.tagLimits.keys = values, keys
	var issue int64
	for b := range 4 {
		var reqs []SaveRequest
		for i := range 25 {
			var kv []string
			for j := range 20 {
				kv = append(kv, fmt.Sprint("k", j), fmt.Sprintf("v%d_%d_%d", b, i, j))
			}
			reqs = append(reqs, request(e.project.ID, "tagflood", withTags(kv...)))
		}
		res, err := db.SaveBatch(e.ctx, reqs)
		if err != nil {
			t.Fatal(err)
		}
		issue = res[0].IssueID
	}
	// The level comes on top of the keys; the events have no environment
	// or release.
	if n, most := e.count(`SELECT COUNT(*) FROM issue_tags WHERE issue_id = $1`, issue), int64(keys*values+1); n > most {
		t.Errorf("the flood left %d tag rows, want at most %d", n, most)
	}
	if n := e.count(`SELECT COUNT(*) FROM issue_tag_keys WHERE issue_id = $1`, issue); n != keys+1 {
		t.Errorf("issue_tag_keys has %d keys, want %d", n, keys+1)
	}
	if n := e.count(`SELECT COALESCE(SUM(count), 0) FROM issue_tags WHERE issue_id = $1 AND key = 'level'`, issue); n != 100 {
		t.Errorf("level counted %d events, want all 100", n)
	}
}

// testTagKeysBackfill applies the migration that adds issue_tag_keys to a
// store with tags saved before it: the table starts with every key's
// value count.
func testTagKeysBackfill(e *env) {
	t, db := e.t, e.db
	a := e.save("a", withTags("k", "1", "x", "1")).IssueID
	e.save("a", withTags("k", "2"))
	b := e.save("b", withTags("k", "1")).IssueID
	// The migration runs on its own: undoing its row in schema_migrations
	// would not make migrate run it again once later ones are applied.
	ms, err := migrations(db.Dialect())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ms, func(m migration) bool { return m.name == "0015_issue_tag_keys.sql" })
	if i < 0 {
		t.Fatal("no migration 0015_issue_tag_keys.sql")
	}
	for _, stmt := range []string{`DROP TABLE issue_tag_keys`, ms[i].sql} {
		if _, err := db.SQL().ExecContext(e.ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	if _, kept := e.tagRows(a, "k", "x", "level"); kept != "k:2 level:1 x:1" {
		t.Errorf("issue a's keys after the migration: %s", kept)
	}
	if _, kept := e.tagRows(b, "k", "x", "level"); kept != "k:1 level:1" {
		t.Errorf("issue b's keys after the migration: %s", kept)
	}
}

// testBuiltinTags checks the tags Sentry derives from an event's fields:
// they replace the SDK's tags of their keys, pass the rules of SDK tags,
// and find the issue.
func testBuiltinTags(e *env) {
	t, db := e.t, e.db
	no, yes := false, true
	res := e.save("builtin", withRelease("1.0"), withTags("transaction", "sdk-sent", "url", "sdk-sent", "browser", "Firefox"),
		func(s *SaveRequest) {
			ev := s.Event
			ev.Transaction, ev.Logger, ev.ServerName, ev.Site, ev.Dist = "/index.html", "app.db", " qa-host ", "eu", "42"
			ev.Request = &event.Request{URL: "https://shop.example/cart/7?token=[Filtered]#top"}
			ev.Exceptions = []event.Exception{
				{Type: "Cause", Mechanism: &event.Mechanism{Type: "chained", Handled: &yes}},
				{Type: "Error", Mechanism: &event.Mechanism{Type: "onunhandledrejection", Handled: &no}},
			}
		})
	tags, err := db.IssueTags(e.ctx, System, res.IssueID)
	if err != nil {
		t.Fatal(err)
	}
	got := make(map[string]string)
	for _, tc := range tags {
		got[tc.Key] = tc.Value
	}
	want := map[string]string{
		"browser": "Firefox", "release": "1.0", "level": "error", "dist": "42",
		"transaction": "/index.html", "logger": "app.db", "server_name": "qa-host", "site": "eu",
		"url": "https://shop.example/cart/7", "mechanism": "onunhandledrejection", "handled": "no",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tags of the saved event\n %v\nwant %v", got, want)
	}
	for k, v := range want {
		if found := e.listAll(System, IssueFilter{ProjectID: e.project.ID, Tags: tagList(k, v)}); len(found) != 1 {
			t.Errorf("%s:%s finds %v", k, v, found)
		}
	}

	// Without the fields the SDK's tags stand; a dist without a release,
	// and values against the tag rules, are no tags; an SDK tag of the
	// key still gives way to them.
	res = e.save("plain", withTags("transaction", "sdk-sent", "dist", "sdk-sent", "url", "sdk-sent"), func(s *SaveRequest) {
		s.Event.Dist = "7"
		s.Event.Request = &event.Request{URL: "https://shop.example/" + strings.Repeat("a", 200)}
		s.Event.Exceptions = []event.Exception{{Type: "Error", Mechanism: &event.Mechanism{Type: "generic"}}}
	})
	pairs, _ := e.tagRows(res.IssueID, "transaction", "dist", "url", "mechanism", "handled", "server_name")
	if want := "dist=sdk-sent:1 mechanism=generic:1 transaction=sdk-sent:1"; pairs != want {
		t.Errorf("tags without the fields: %s, want %s", pairs, want)
	}
}
