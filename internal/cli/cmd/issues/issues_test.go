package issues

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/apitypes"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	"github.com/getflytrap/flytrap/internal/store"
	"github.com/getflytrap/flytrap/internal/testutil/golden"
)

var now = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

// viewEvents are latest events as SDKs shape them, by the issue ID the fake
// API serves each under.
var viewEvents = map[string]string{
	// sentry-go's captureException: frames carry abs_path (no filename)
	// and colno 0; one library frame has no line either.
	"1": `{"level":"error","platform":"go","exceptions":[{"type":"*errors.errorString","value":"payment declined","frames":[
		{"abs_path":"/usr/local/go/src/runtime/proc.go","function":"main","module":"runtime","in_app":false},
		{"abs_path":"/app/main.go","function":"main","module":"main","lineno":40,"in_app":true},
		{"abs_path":"/app/pay.go","function":"charge","module":"main","lineno":12,"colno":0,"in_app":true}]}]}`,
	// @sentry/node's captureMessage with attachStacktrace: a synthetic
	// exception with a value and no type; file names as the SDK sends
	// them, a URL shown by its path.
	"2": `{"level":"warning","platform":"node","message":"Payment provider slow","exceptions":[{"value":"Payment provider slow","frames":[
		{"filename":"node:internal/process/task_queues","function":"process.processTicksAndRejections","lineno":95,"colno":5},
		{"filename":"http://localhost:5173/src/pay.js","function":"checkout","lineno":7,"colno":13,"in_app":true}]}],
		"notes":["2 attachments (31 B) sent with this event not stored","symbolication: no source map of \u001b[2Japp.min.js\u202e for release web@3.0.0"]}`,
	// sentry-go's CaptureMessage with AttachStacktrace: the synthetic
	// exception ingest makes of its thread, and a frame with no location.
	"3": `{"level":"info","platform":"go","message":"cache warmed","exceptions":[{"mechanism":{"synthetic":true},"frames":[
		{"function":"warm"},
		{"abs_path":"/app/cache.go","function":"warm","module":"main","lineno":88,"in_app":true}]}]}`,
	// sentry-python's logging integration: a template and params, which
	// ingest filled in.
	"4": `{"level":"error","platform":"python","message":"Order %s not found for user %s","message_formatted":"Order A-17 not found for user bob","message_params":["A-17","bob"]}`,
	// sentry-native's crash: frames known by their address, placed in
	// their image by ingest, one with a function name.
	"5": `{"level":"fatal","platform":"native","exceptions":[{"type":"SIGSEGV","value":"Segfault","frames":[
		{"function":"main","package":"/usr/bin/crashy","instruction_addr":"0x55d0c0a01300","image_addr":"0x55d0c0a00000","in_app":true},
		{"instruction_addr":"0x55d0c0a011f0","package":"/usr/bin/crashy","image_addr":"0x55d0c0a00000","in_app":true},
		{"instruction_addr":"0x7f0a1c2d3e4f"}]}]}`,
	// @sentry/node's linked errors: the cause first, the error caught last
	// (the protocol's order), which view prints outermost first, as the
	// dashboard does.
	"8": `{"level":"error","platform":"node","exceptions":[
		{"type":"Error","value":"connect ECONNREFUSED 10.0.0.5:5432","frames":[{"filename":"lib/db.js","function":"connect","lineno":12,"in_app":true}]},
		{"type":"Error","value":"could not load invoice 42","frames":[{"filename":"lib/billing.js","function":"loadInvoice","lineno":30,"in_app":true}]}]}`,
	// @sentry/node 11.12.0's nested AggregateError (compat/js/aggregate-errors.js),
	// outermost last, with a source an attacker wrote: view prints the
	// tree, each error under its group after where the group holds it.
	"9": `{"level":"error","platform":"node","exceptions":[
		{"type":"TypeError","value":"c","mechanism":{"type":"chained","source":"errors[1]\u001b[2J","exception_id":4,"parent_id":2},"frames":[{"filename":"jobs.js","function":"nested","lineno":24,"in_app":true}]},
		{"type":"RangeError","value":"b","mechanism":{"type":"chained","source":"errors[0]","exception_id":3,"parent_id":2},"frames":[{"filename":"jobs.js","function":"nested","lineno":24,"in_app":true}]},
		{"type":"AggregateError","value":"inner","mechanism":{"type":"chained","is_exception_group":true,"source":"errors[1]","exception_id":2,"parent_id":0},"frames":[{"filename":"jobs.js","function":"nested","lineno":24,"in_app":true}]},
		{"type":"TypeError","value":"a","mechanism":{"type":"chained","source":"errors[0]","exception_id":1,"parent_id":0},"frames":[{"filename":"jobs.js","function":"nested","lineno":25,"in_app":true}]},
		{"type":"AggregateError","value":"outer","mechanism":{"type":"generic","is_exception_group":true,"exception_id":0},"frames":[{"filename":"jobs.js","function":"nested","lineno":25,"in_app":true}]}]}`,
}

// fakeAPI serves the issues of viewEvents and the project list, and
// records the query of each issue list request.
func fakeAPI(t *testing.T) (*httptest.Server, func() []string) {
	var (
		mu      sync.Mutex
		queries []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case p == "/api/v1/projects":
			json.NewEncoder(w).Encode(apitypes.List[apitypes.Project]{Data: []apitypes.Project{{ID: 2, Name: "web"}}})
		case p == "/api/v1/projects/2/issues":
			mu.Lock()
			queries = append(queries, r.URL.RawQuery)
			mu.Unlock()
			json.NewEncoder(w).Encode(apitypes.List[apitypes.Issue]{Data: []apitypes.Issue{}})
		case strings.HasPrefix(p, "/api/v1/issues/") && viewEvents[strings.TrimPrefix(p, "/api/v1/issues/")] != "":
			id := strings.TrimPrefix(p, "/api/v1/issues/")
			ev := &apitypes.EventDetail{Event: apitypes.Event{EventID: "0123456789abcdef0123456789abcdef", Received: now.Add(-time.Minute)},
				Payload: json.RawMessage(viewEvents[id])}
			json.NewEncoder(w).Encode(apitypes.IssueDetail{Issue: apitypes.Issue{ID: 7, Title: "an issue", Level: "error", Status: "unresolved",
				Count: 2, UserCount: 1, FirstSeen: now.Add(-time.Hour), LastSeen: now.Add(-time.Minute)}, LatestEvent: ev})
		case p == "/api/v1/issues/19":
			// Figures of the environment asked for: none in development.
			is := apitypes.Issue{ID: 19, Title: "an issue in two environments", Level: "error", Status: "unresolved",
				Count: 5, UserCount: 3, FirstSeen: now.Add(-2 * time.Hour), LastSeen: now.Add(-time.Minute)}
			switch r.URL.Query().Get("environment") {
			case "staging":
				is.Count, is.UserCount, is.FirstSeen = 1, 1, now.Add(-time.Hour)
			case "":
			default:
				is.Count, is.UserCount, is.FirstSeen, is.LastSeen = 0, 0, time.Time{}, time.Time{}
			}
			json.NewEncoder(w).Encode(apitypes.IssueDetail{Issue: is})
		case p == "/api/v1/issues/20" || p == "/api/v1/issues/21":
			// Resolved in a release an SDK named, or in the one after it.
			is := apitypes.Issue{ID: 20, Title: "a resolved issue", Level: "error", Status: "resolved", Count: 1, UserCount: 1}
			if p == "/api/v1/issues/20" {
				is.ResolvedInRelease = "shop@1.3\x1b[2J"
			} else {
				is.ID, is.ResolvedAfterRelease = 21, "shop@1.4\u202e"
			}
			json.NewEncoder(w).Encode(apitypes.IssueDetail{Issue: is})
		case p == "/api/v1/issues/6":
			json.NewEncoder(w).Encode(apitypes.IssueDetail{Issue: apitypes.Issue{ID: 6, Title: "an issue with feedback", Level: "error", Status: "unresolved",
				Count: 1, UserCount: 1, FirstSeen: now.Add(-time.Hour), LastSeen: now.Add(-time.Hour)}, FeedbackCount: 5})
		case p == "/api/v1/issues/6/feedback" && r.URL.Query().Get("limit") == "3":
			json.NewEncoder(w).Encode(apitypes.List[apitypes.Feedback]{Data: []apitypes.Feedback{
				{Name: "Ada Lovelace", Email: "ada@example.com", Message: "Pay failed\nafter the second click", Created: now.Add(-time.Minute)},
				// An SDK's text may hold terminal escapes and bidi controls.
				{Name: "\x1b[2J\x1b[31mMallory", Message: "evil \u202etxt.exe\x07", Created: now.Add(-2 * time.Minute)},
				{Message: strings.Repeat("long ", 60), Created: now.Add(-3 * time.Minute)},
			}, NextCursor: "next"})
		case p == "/api/v1/issues/6/activity" && r.URL.Query().Get("limit") == "10":
			edited := now.Add(-30 * time.Second)
			json.NewEncoder(w).Encode(apitypes.List[apitypes.Activity]{Data: []apitypes.Activity{
				// A user's comment may hold terminal escapes too.
				{ID: 9, Kind: "comment", Actor: &apitypes.ActivityUser{ID: 2, Email: "ann@example.com"},
					Text: "on it\n\x1b[2Jsee \u202e#481\n3\n4\n5\n6\n7", Created: now.Add(-time.Minute), Edited: &edited},
				{ID: 8, Kind: "regression", Release: "shop@1.4", Created: now.Add(-2 * time.Minute)},
				{ID: 7, Kind: "assigned", Actor: &apitypes.ActivityUser{ID: 2, Email: "ann@example.com"},
					Assignee: &apitypes.ActivityUser{ID: 3}, Created: now.Add(-3 * time.Minute)},
				{ID: 6, Kind: "merge", Actor: &apitypes.ActivityUser{ID: 4}, Merged: []int64{12, 15}, Created: now.Add(-4 * time.Minute)},
				{ID: 5, Kind: "resolved", Actor: &apitypes.ActivityUser{ID: 3, Email: "bob@example.com"}, Release: "shop@1.3",
					Created: now.Add(-5 * time.Minute)},
			}, NextCursor: "next"})
		default:
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(apitypes.Error{Error: apitypes.ErrorBody{Code: "not_found", Message: "no " + p}})
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), queries...)
	}
}

func newFactory(t *testing.T, url string, out *bytes.Buffer) *cmdutil.Factory {
	env := map[string]string{"FLYTRAP_URL": url, "FLYTRAP_TOKEN": "flyt_test", "NO_COLOR": "1", "FLYTRAP_CONFIG_DIR": t.TempDir()}
	return &cmdutil.Factory{
		IO:     &cmdutil.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: out},
		Getenv: func(k string) string { return env[k] },
		Now:    func() time.Time { return now },
	}
}

// TestViewStack: view prints each exception's heading and frames as the
// dashboard does, whatever the SDK left out; golden files in testdata
// (-update rewrites them).
func TestViewStack(t *testing.T) {
	srv, _ := fakeAPI(t)
	for id, name := range map[string]string{"1": "view-sentry-go-exception", "2": "view-node-message", "3": "view-sentry-go-message", "4": "view-python-log-message", "5": "view-native-crash", "8": "view-node-cause-chain",
		"9": "view-node-aggregate-error"} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			if err := View(context.Background(), &Options{F: newFactory(t, srv.URL, &out)}, id); err != nil {
				t.Fatal(err)
			}
			got := strings.ReplaceAll(out.String(), srv.URL, "http://flytrap.test")
			golden.Check(t, name+".golden", []byte(got))
			// What went wrong before: an empty file, a zero column or
			// line, and an empty type or value in the heading.
			for _, bad := range []string{"(:", ":0)", ":0:", "  : ", ": \n"} {
				if strings.Contains(got, bad) {
					t.Errorf("output contains %q:\n%s", bad, got)
				}
			}
			if strings.ContainsAny(got, "\x1b\u202e") {
				t.Errorf("control characters reached the terminal: %q", got)
			}
		})
	}
}

// TestViewFeedback: view prints the newest user feedback about the issue,
// each message on one line, and its activity, each comment's first lines
// under it, with the SDK's and the users' control characters made
// harmless, and says how much more there is of each.
func TestViewFeedback(t *testing.T) {
	srv, _ := fakeAPI(t)
	var out bytes.Buffer
	if err := View(context.Background(), &Options{F: newFactory(t, srv.URL, &out)}, "6"); err != nil {
		t.Fatal(err)
	}
	got := strings.ReplaceAll(out.String(), srv.URL, "http://flytrap.test")
	golden.Check(t, "view-feedback.golden", []byte(got))
	if strings.ContainsAny(got, "\x1b\x07\u202e") {
		t.Errorf("control characters reached the terminal: %q", got)
	}
}

// TestViewJSONActivity: view --json has the issue's activity the text
// output prints, the newest page as the API's activity list gives it,
// and an empty list for an issue nobody did anything to.
func TestViewJSONActivity(t *testing.T) {
	srv, _ := fakeAPI(t)
	for _, tt := range []struct {
		id         string
		ids        []int64
		nextCursor string
	}{
		{"6", []int64{9, 8, 7, 6, 5}, "next"},
		{"19", []int64{}, ""},
	} {
		var out bytes.Buffer
		if err := View(context.Background(), &Options{F: newFactory(t, srv.URL, &out), Out: cmdutil.JSONFlags{JSON: true}}, tt.id); err != nil {
			t.Fatal(err)
		}
		var got struct {
			ID       int64                             `json:"id"`
			Activity *apitypes.List[apitypes.Activity] `json:"activity"`
		}
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatalf("view %s --json: %v\n%s", tt.id, err, out.String())
		}
		if got.Activity == nil || got.Activity.Data == nil {
			t.Fatalf("view %s --json has no activity list:\n%s", tt.id, out.String())
		}
		ids := []int64{}
		for _, a := range got.Activity.Data {
			ids = append(ids, a.ID)
		}
		if got.ID == 0 || !slices.Equal(ids, tt.ids) || got.Activity.NextCursor != tt.nextCursor {
			t.Errorf("view %s --json: issue %d, activity %v next %q; want activity %v next %q", tt.id, got.ID, ids, got.Activity.NextCursor, tt.ids, tt.nextCursor)
		}
	}
}

func TestHeading(t *testing.T) {
	for _, c := range []struct{ typ, value, want string }{
		{"TypeError", "x is undefined", "TypeError: x is undefined"},
		{"StopIteration", "", "StopIteration"},
		{"", "Payment provider slow", "Payment provider slow"},
		{"", "", "Exception"},
	} {
		if got := heading(c.typ, c.value); got != c.want {
			t.Errorf("heading(%q, %q) = %q, want %q", c.typ, c.value, got, c.want)
		}
	}
}

// TestListLevel: --level is checked before any request, with the usage
// exit code, and sent in lower case, the form the API compares.
func TestListLevel(t *testing.T) {
	srv, queries := fakeAPI(t)
	var out bytes.Buffer
	err := List(context.Background(), &Options{F: newFactory(t, srv.URL, &out), Status: "unresolved", Level: "err", Limit: 30}, nil)
	if code, _ := cmdutil.ExitCode(err); code != cmdutil.ExitUsage || !strings.Contains(err.Error(), "--level must be one of error, fatal, warning, info, debug") {
		t.Errorf("--level err: exit %d, %v", code, err)
	}
	if q := queries(); len(q) != 0 {
		t.Errorf("--level err still listed issues: %q", q)
	}
	if err := List(context.Background(), &Options{F: newFactory(t, srv.URL, &out), Status: "unresolved", Level: "ERROR", Limit: 30}, nil); err != nil {
		t.Fatalf("--level ERROR: %v", err)
	}
	if q := queries(); len(q) != 1 || !strings.Contains(q[0], "level=error") {
		t.Errorf("--level ERROR sent %q, want level=error", q)
	}
}

// TestListFlagValues: --status, --sort and --since are checked with the
// server's rules before any request, as usage errors.
func TestListFlagValues(t *testing.T) {
	for _, tt := range []struct {
		opts Options
		want string
	}{
		{Options{Status: "closed", Sort: "last_seen"}, "--status must be unresolved, resolved, ignored or all"},
		{Options{Status: "unresolved", Sort: "foo"}, "--sort must be one of last_seen, first_seen, count, user_count, date, new, freq, user"},
		{Options{Status: "unresolved", Sort: "count", Since: "bogus"}, "--since must be a duration"},
	} {
		srv, queries := fakeAPI(t)
		var out bytes.Buffer
		opts := tt.opts
		opts.F, opts.Limit = newFactory(t, srv.URL, &out), 30
		err := List(context.Background(), &opts, nil)
		if code, _ := cmdutil.ExitCode(err); code != cmdutil.ExitUsage || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: exit %d, %v; want exit %d, %q", tt.opts, code, err, cmdutil.ExitUsage, tt.want)
		}
		if q := queries(); len(q) != 0 {
			t.Errorf("%+v: still listed issues: %q", tt.opts, q)
		}
	}
	srv, queries := fakeAPI(t)
	var out bytes.Buffer
	if err := List(context.Background(), &Options{F: newFactory(t, srv.URL, &out), Status: "all", Sort: "first_seen", Since: "14d", Limit: 30}, nil); err != nil {
		t.Fatal(err)
	}
	if q := queries(); len(q) != 1 {
		t.Errorf("valid flags: %d requests", len(q))
	}
}

// TestListEmpty: on a terminal an empty list says whether filters left
// nothing or there is nothing.
func TestListEmpty(t *testing.T) {
	for _, tt := range []struct {
		search []string
		env    string
		want   string
	}{
		{nil, "", "No unresolved issues in web.\n"},
		{[]string{"browser:Firefox"}, "", "No unresolved issues in web match.\n"},
		{nil, "staging", "No unresolved issues in web match.\n"},
	} {
		srv, _ := fakeAPI(t)
		var out bytes.Buffer
		f := newFactory(t, srv.URL, &out)
		f.IO.TTY = true
		if err := List(context.Background(), &Options{F: f, Status: "unresolved", Sort: "last_seen", Env: tt.env, Limit: 30}, tt.search); err != nil {
			t.Fatal(err)
		}
		if out.String() != tt.want {
			t.Errorf("search %q, env %q: %q, want %q", tt.search, tt.env, out.String(), tt.want)
		}
	}
}

// TestViewEnvironment: view --env asks for the issue's figures in the
// environment and says whose they are.
func TestViewEnvironment(t *testing.T) {
	srv, _ := fakeAPI(t)
	for _, tt := range []struct{ env, want string }{
		{"", "error · unresolved · 5 events · 3 users · first seen 2026-12-03T10:00:00Z · last seen 2026-12-03T11:59:00Z\n"},
		{"staging", "error · unresolved · in staging: 1 event · 1 user · first seen 2026-12-03T11:00:00Z · last seen 2026-12-03T11:59:00Z\n"},
		{"development", "error · unresolved · in development: 0 events · 0 users\n"},
		// The name is the user's, but shown as any other text.
		{"\x1b[2Jdev", "error · unresolved · in "},
	} {
		var out bytes.Buffer
		if err := View(context.Background(), &Options{F: newFactory(t, srv.URL, &out), Env: tt.env}, "19"); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), tt.want) || strings.Contains(out.String(), "\x1b") {
			t.Errorf("view --env %q:\n%s\nwant a line with %q", tt.env, out.String(), tt.want)
		}
	}
}

// TestViewResolvedRelease: view names the release an issue was resolved
// in or after, as the dashboard does, with the SDK's release name made
// harmless.
func TestViewResolvedRelease(t *testing.T) {
	srv, _ := fakeAPI(t)
	for _, tt := range []struct{ id, want string }{
		{"20", "error · resolved in release shop@1.3 [2J · 1 event · 1 user\n"},
		{"21", "error · resolved in the next release, after shop@1.4<U+202E> · 1 event · 1 user\n"},
	} {
		var out bytes.Buffer
		if err := View(context.Background(), &Options{F: newFactory(t, srv.URL, &out)}, tt.id); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), tt.want) || strings.ContainsAny(out.String(), "\x1b\u202e") {
			t.Errorf("view %s:\n%s\nwant a line with %q", tt.id, out.String(), tt.want)
		}
	}
}

// TestMergeMergedMeanwhile: an issue merged between the reads and the
// merge is refused by the server; merge says where it went, with the
// merge of the issues named now, as when the reads found it merged.
func TestMergeMergedMeanwhile(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case r.Method == http.MethodGet && (p == "/api/v1/issues/11" || p == "/api/v1/issues/15"):
			id := map[string]int64{"/api/v1/issues/11": 11, "/api/v1/issues/15": 15}[p]
			json.NewEncoder(w).Encode(apitypes.IssueDetail{Issue: apitypes.Issue{ID: id, ProjectID: 2, Title: "an issue", Count: id}})
		case r.Method == http.MethodPost && p == "/api/v1/projects/2/issues/merge":
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(apitypes.Error{Error: apitypes.ErrorBody{Code: apitypes.CodeIssueMerged, MergedInto: 10,
				Merged: map[int64]int64{15: 10}, Message: "issue 15 was merged into issue 10; nothing was changed"}})
		default:
			t.Errorf("unexpected %s %s", r.Method, p)
			w.WriteHeader(http.StatusTeapot)
		}
	}))
	t.Cleanup(srv.Close)
	var out bytes.Buffer
	opts := &Options{F: newFactory(t, srv.URL, &out), Yes: true,
		Rerun: func(args ...string) string { return "flytrap issues merge " + strings.Join(args, " ") + " --yes" }}
	err := Merge(context.Background(), opts, []string{"11", "15"})
	var ce *cmdutil.Error
	if !errors.As(err, &ce) || ce.Msg != "issue 15 was merged into issue 10; nothing was merged" || ce.Code != cmdutil.ExitNotFound ||
		ce.Hint != "merge the issues they are now: run `flytrap issues merge 11 10 --yes`" {
		t.Errorf("merge of an issue merged meanwhile: %#v", err)
	}
}

// TestSetStatusBulk: several issues change in one bulk request, with the
// release to resolve in, and are printed as they then are; an issue merged
// between the read and the change is named, with the command to run
// instead, and nothing is printed as changed; issues of two projects change
// in a request each.
func TestSetStatusBulk(t *testing.T) {
	var mu sync.Mutex
	var bulks []apitypes.BulkChange
	mergedMeanwhile := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch p := r.URL.Path; {
		case r.Method == http.MethodGet && (p == "/api/v1/issues/11" || p == "/api/v1/issues/15"):
			id := map[string]int64{"/api/v1/issues/11": 11, "/api/v1/issues/15": 15}[p]
			is := apitypes.Issue{ID: id, ProjectID: 2, Title: "an issue", Status: apitypes.StatusUnresolved}
			if len(bulks) > 0 {
				is.Status, is.ResolvedAfterRelease = apitypes.StatusResolved, "shop@1.2.0"
			}
			json.NewEncoder(w).Encode(apitypes.IssueDetail{Issue: is})
		case r.Method == http.MethodGet && p == "/api/v1/issues/20":
			json.NewEncoder(w).Encode(apitypes.IssueDetail{Issue: apitypes.Issue{ID: 20, ProjectID: 3, Title: "another project's"}})
		case r.Method == http.MethodPost && p == "/api/v1/projects/3/issues/bulk":
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(apitypes.Error{Error: apitypes.ErrorBody{Code: "forbidden", Message: "not allowed"}})
		case r.Method == http.MethodPost && p == "/api/v1/projects/2/issues/bulk":
			var b apitypes.BulkChange
			if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
				t.Error(err)
			}
			if mergedMeanwhile {
				w.WriteHeader(http.StatusNotFound)
				json.NewEncoder(w).Encode(apitypes.Error{Error: apitypes.ErrorBody{Code: apitypes.CodeIssueMerged, MergedInto: 10,
					Merged: map[int64]int64{15: 10}, Message: "issue 15 was merged into issue 10; nothing was changed"}})
				return
			}
			bulks = append(bulks, b)
			json.NewEncoder(w).Encode(apitypes.BulkResult{Updated: int64(len(b.IDs))})
		default:
			t.Errorf("unexpected %s %s", r.Method, p)
			w.WriteHeader(http.StatusTeapot)
		}
	}))
	t.Cleanup(srv.Close)
	ch := apitypes.StatusChange{Status: apitypes.StatusResolved, StatusDetails: &apitypes.StatusDetails{InNextRelease: true}}

	var out bytes.Buffer
	opts := &Options{F: newFactory(t, srv.URL, &out)}
	if err := SetStatus(context.Background(), opts, []string{"11", "15", "11"}, ch); err != nil {
		t.Fatal(err)
	}
	if len(bulks) != 1 || !slices.Equal(bulks[0].IDs, []int64{11, 15}) || bulks[0].Status != apitypes.StatusResolved ||
		bulks[0].StatusDetails == nil || !bulks[0].StatusDetails.InNextRelease {
		t.Errorf("bulk requests = %+v, want one of 11 and 15 in the next release", bulks)
	}
	want := "Issue 11 is resolved in the next release (after shop@1.2.0): an issue\nIssue 15 is resolved in the next release (after shop@1.2.0): an issue\n"
	if out.String() != want {
		t.Errorf("output = %q, want %q", out.String(), want)
	}

	// Another project's issues change in a request of their own: when that
	// fails, what changed before is printed, and each issue named by what
	// became of it.
	out.Reset()
	err := SetStatus(context.Background(), opts, []string{"11", "20"}, ch)
	if err == nil || !strings.HasSuffix(err.Error(), "\nmade: 11\nnot made, the server refused them: 20") ||
		out.String() != "Issue 11 is resolved in the next release (after shop@1.2.0): an issue\n" {
		t.Errorf("resolve across projects, the second refused: %v, output %q", err, out.String())
	}

	mu.Lock()
	bulks, mergedMeanwhile = nil, true
	mu.Unlock()
	out.Reset()
	opts = &Options{F: newFactory(t, srv.URL, &out),
		Rerun: func(args ...string) string { return "flytrap issues resolve " + strings.Join(args, " ") }}
	err = SetStatus(context.Background(), opts, []string{"11", "15"}, ch)
	var ce *cmdutil.Error
	if !errors.As(err, &ce) || ce.Msg != "issue 15 was merged into issue 10" || ce.Code != cmdutil.ExitNotFound ||
		ce.Hint != "run `flytrap issues resolve 11 10`" || out.Len() != 0 {
		t.Errorf("resolve of an issue merged meanwhile: %#v, output %q", err, out.String())
	}
}

// TestSetStatusManyIDs: more issues than the bulk endpoint takes at once
// (store.MaxBulkIDs) change in batches of at most that many, and are all
// printed; a batch refused names the issues made before it, its own and
// those of the batches after it.
func TestSetStatusManyIDs(t *testing.T) {
	var mu sync.Mutex
	var sizes []int
	refuse := 0 // the batch, counted from 1, to refuse
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch p := r.URL.Path; {
		case r.Method == http.MethodGet && strings.HasPrefix(p, "/api/v1/issues/"):
			id, _ := strconv.ParseInt(strings.TrimPrefix(p, "/api/v1/issues/"), 10, 64)
			json.NewEncoder(w).Encode(apitypes.IssueDetail{Issue: apitypes.Issue{ID: id, ProjectID: 2, Title: "bulk", Status: apitypes.StatusIgnored}})
		case r.Method == http.MethodPost && p == "/api/v1/projects/2/issues/bulk":
			var b apitypes.BulkChange
			if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
				t.Error(err)
			}
			sizes = append(sizes, len(b.IDs))
			if len(b.IDs) > store.MaxBulkIDs || len(sizes) == refuse {
				w.WriteHeader(http.StatusBadRequest)
				json.NewEncoder(w).Encode(apitypes.Error{Error: apitypes.ErrorBody{Code: "bad_request", Message: "ids must list 1 to 1000 issue IDs"}})
				return
			}
			json.NewEncoder(w).Encode(apitypes.BulkResult{Updated: int64(len(b.IDs))})
		default:
			t.Errorf("unexpected %s %s", r.Method, p)
			w.WriteHeader(http.StatusTeapot)
		}
	}))
	t.Cleanup(srv.Close)
	args := make([]string, 2*store.MaxBulkIDs+500)
	for i := range args {
		args[i] = strconv.Itoa(i + 1)
	}
	ch := apitypes.StatusChange{Status: apitypes.StatusIgnored}

	var out bytes.Buffer
	opts := &Options{F: newFactory(t, srv.URL, &out)}
	if err := SetStatus(context.Background(), opts, args, ch); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sizes, []int{store.MaxBulkIDs, store.MaxBulkIDs, 500}) {
		t.Errorf("bulk request sizes = %v, want %d, %d, 500", sizes, store.MaxBulkIDs, store.MaxBulkIDs)
	}
	if n := strings.Count(out.String(), " is ignored: bulk\n"); n != len(args) {
		t.Errorf("printed %d issues, want %d", n, len(args))
	}

	// The second batch refused: the first is printed and named as made,
	// the second as refused, the third as not sent.
	mu.Lock()
	sizes, refuse = nil, 2
	mu.Unlock()
	out.Reset()
	err := SetStatus(context.Background(), opts, args, ch)
	want := "\nmade: " + strings.Join(args[:store.MaxBulkIDs], ", ") +
		"\nnot made, the server refused them: " + strings.Join(args[store.MaxBulkIDs:2*store.MaxBulkIDs], ", ") +
		"\nnot sent: " + strings.Join(args[2*store.MaxBulkIDs:], ", ")
	if err == nil || !strings.HasSuffix(err.Error(), want) || strings.Count(out.String(), "\n") != store.MaxBulkIDs {
		t.Errorf("second batch refused: printed %d lines, err %.200v", strings.Count(out.String(), "\n"), err)
	}
}

// TestResolveInUnknownRelease: a release the issues' project does not
// have, for one issue (PATCH) or several (the bulk change), exits 1
// naming the release and the project, with the commands that list the
// project's releases and create it, quoted for a shell, as the hint.
func TestResolveInUnknownRelease(t *testing.T) {
	refuse := func(w http.ResponseWriter, project string) {
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(apitypes.Error{Error: apitypes.ErrorBody{Code: apitypes.CodeUnknownRelease,
			Field: "resolved_in_release", Project: project, Message: `resolved_in_release: no release ...`}})
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p := r.URL.Path; {
		case r.Method == http.MethodPatch && p == "/api/v1/issues/11":
			refuse(w, "web")
		case r.Method == http.MethodGet && (p == "/api/v1/issues/12" || p == "/api/v1/issues/13"):
			id, _ := strconv.ParseInt(strings.TrimPrefix(p, "/api/v1/issues/"), 10, 64)
			json.NewEncoder(w).Encode(apitypes.IssueDetail{Issue: apitypes.Issue{ID: id, ProjectID: 2, Title: "an issue"}})
		case r.Method == http.MethodPost && p == "/api/v1/projects/2/issues/bulk":
			refuse(w, "my shop")
		default:
			t.Errorf("unexpected %s %s", r.Method, p)
			w.WriteHeader(http.StatusTeapot)
		}
	}))
	t.Cleanup(srv.Close)
	for _, tt := range []struct {
		name, release  string
		args           []string
		wantMsg, wantH string
	}{
		{"one issue", "shop@1.3.0", []string{"11"}, `no release shop@1.3.0 in project web`,
			"check the name (`flytrap releases list -p web`), or create it first with `flytrap releases new -p web shop@1.3.0`"},
		{"several issues", "shop 1.3", []string{"12", "13"}, `no release shop 1.3 in project my shop`,
			"check the name (`flytrap releases list -p 'my shop'`), or create it first with `flytrap releases new -p 'my shop' 'shop 1.3'`"},
	} {
		var out bytes.Buffer
		opts := &Options{F: newFactory(t, srv.URL, &out)}
		err := SetStatus(context.Background(), opts, tt.args, apitypes.StatusChange{Status: apitypes.StatusResolved, ResolvedInRelease: tt.release})
		var ce *cmdutil.Error
		if !errors.As(err, &ce) || ce.Msg != tt.wantMsg || ce.Hint != tt.wantH || out.Len() != 0 {
			t.Errorf("%s: %#v, output %q; want %q, hint %q", tt.name, err, out.String(), tt.wantMsg, tt.wantH)
		}
		if code, hint := cmdutil.ExitCode(err); code != cmdutil.ExitError || hint != tt.wantH {
			t.Errorf("%s: exit code %d, hint %q; want %d", tt.name, code, hint, cmdutil.ExitError)
		}
	}
}
