// Command bigproject fills a project with a big project's issues and
// events through the store's save path (SaveBatch, what the processor
// calls, in batches of 500), for measuring the dashboard and the API at
// scale (docs/benchmarks.md). By default: 20,000 issues, 414,500 events
// over the last 30 days, the issues' sizes falling as 1/rank, 123
// releases, four environments, 50,000 users, five tags per event (one
// unique per event), and 40 events of about 1 MB. Run `flytrap dev` once
// on the database first, so that it has its admin user and project 1:
//
//	go run ./scripts/bigproject -dsn .flytrap/flytrap.db
//	go run ./scripts/bigproject -dsn 'postgres://...'
//
// It is deterministic: two databases filled alike hold the same issues
// with the same IDs.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/testutil/bigevent"
)

func main() {
	dsn := flag.String("dsn", "", "database: a SQLite file or a postgres:// URL")
	project := flag.Int64("project", 1, "ID of the project to fill")
	nIssues := flag.Int("issues", 20000, "issues")
	nEvents := flag.Int("events", 414500, "events, at least one per issue")
	big := flag.Int("big", 40, "events of about 1 MB among them")
	flag.Parse()
	if *dsn == "" || *nIssues < 1 || *nEvents < *nIssues {
		log.Fatal("bigproject: give -dsn, at least one issue, and at least as many -events as -issues")
	}
	ctx := context.Background()
	db, err := store.Open(ctx, *dsn)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	r := rand.New(rand.NewPCG(1, 2))
	// Issue r (from 0) gets events in proportion to 1/(r+1).
	cum := make([]float64, *nIssues)
	total := 0.0
	for i := range cum {
		total += 1 / float64(i+1)
		cum[i] = total
	}
	pick := func() int {
		x := r.Float64() * total
		return sort.SearchFloat64s(cum, x)
	}
	// Each issue's first event comes in the first nIssues, in random order.
	order := r.Perm(*nIssues)
	end := time.Now().UTC()
	start := end.Add(-30 * 24 * time.Hour)
	span := end.Sub(start)
	browsers := []string{"Chrome 130", "Chrome 131", "Firefox 133", "Safari 18", "Safari 17", "Edge 131", "Opera 114", "Samsung Internet 26"}
	oses := []string{"Windows 11", "Windows 10", "macOS 15", "Linux", "iOS 18", "Android 15"}
	tiers := []string{"free", "free", "free", "pro", "pro", "enterprise"}
	envs := []string{"production", "production", "production", "production", "staging", "staging", "canary", "development"}
	types := []string{"TypeError", "ReferenceError", "RangeError", "SyntaxError", "Error", "NetworkError", "ValueError"}
	words := []string{"cart", "checkout", "order", "invoice", "profile", "search", "session", "payment"}
	bigEvery := *nEvents / (*big + 1)
	batch := make([]store.SaveRequest, 0, 500)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if _, err := db.SaveBatch(ctx, batch); err != nil {
			log.Fatal(err)
		}
		batch = batch[:0]
	}
	t0 := time.Now()
	for n := 0; n < *nEvents; n++ {
		var issue int
		if n < *nIssues {
			issue = order[n]
		} else {
			issue = pick()
		}
		at := start.Add(time.Duration(float64(span) * float64(n) / float64(*nEvents)))
		rel := 123 * n / *nEvents
		release := fmt.Sprintf("web@1.%d.%d", rel/10, rel%10)
		user := r.IntN(50000)
		ev := &event.Event{
			EventID: fmt.Sprintf("%032x", n+1), ProjectID: *project, Timestamp: at, Received: at,
			Platform: "javascript", Level: []string{"error", "error", "error", "warning", "fatal", "info"}[issue%6],
			Release: release, Environment: envs[r.IntN(len(envs))],
			Tags: []event.Tag{
				{Key: "browser", Value: browsers[r.IntN(len(browsers))]},
				{Key: "os", Value: oses[r.IntN(len(oses))]},
				{Key: "customer.tier", Value: tiers[r.IntN(len(tiers))]},
				{Key: "customer.id", Value: fmt.Sprintf("c-%d", r.IntN(20000))},
				{Key: "request_id", Value: fmt.Sprintf("req-%d", n)},
			},
			User: &event.User{ID: fmt.Sprintf("u%d", user)},
		}
		typ := types[issue%len(types)]
		value := fmt.Sprintf("widget %d failed in %s", issue, words[issue%len(words)])
		ex := event.Exception{Type: typ, Value: value}
		for f := range 8 {
			ex.Frames = append(ex.Frames, event.Frame{Filename: fmt.Sprintf("/static/js/%s-%d.js", words[(issue+f)%len(words)], f),
				Function: fmt.Sprintf("handle%d", f), Lineno: 10 + f, Colno: 3, ContextLine: "  return order.summary.total;"})
		}
		if bigEvery > 0 && n%bigEvery == bigEvery-1 && n/bigEvery < *big {
			bigevent.Fill(ev, &ex, at)
		}
		ev.Exceptions = []event.Exception{ex}
		batch = append(batch, store.SaveRequest{Event: ev, Fingerprint: fmt.Sprintf("fp-%d", issue), GroupingVersion: "seed",
			Title: typ + ": " + value, Culprit: fmt.Sprintf("%s.js in handle0", words[issue%len(words)]), UserKey: fmt.Sprintf("id:u%d", user)})
		if len(batch) == cap(batch) {
			flush()
		}
		if n%20000 == 0 {
			log.Printf("%d events, %s", n, time.Since(t0))
		}
	}
	flush()
	log.Printf("done, %s", time.Since(t0))
}
