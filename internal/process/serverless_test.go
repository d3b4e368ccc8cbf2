package process

import (
	"context"
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/grouping"
	"github.com/getflytrap/flytrap/internal/issuefilter"
	"github.com/getflytrap/flytrap/internal/store"
)

// lambdaContexts is contexts["aws.lambda"] as the Lambda integrations send it.
const lambdaContexts = `{"aws.lambda": {"function_name": "checkout-api", "function_version": "14", "memory_limit_in_mb": 512,
	"aws_request_id": "0a7b3c55", "remaining_time_in_millis": 1498,
	"invoked_function_arn": "arn:aws:lambda:eu-west-1:123456789012:function:checkout-api:live"},
	"aws.cloudwatch.logs": {"log_group": "/aws/lambda/checkout-api", "log_stream": "s", "url": "https://console.aws.amazon.com/cloudwatch/home"}}`

func TestPromoteLambdaTags(t *testing.T) {
	tests := []struct {
		name     string
		tags     []event.Tag
		contexts string
		want     []event.Tag
	}{
		{"promoted", nil, lambdaContexts, []event.Tag{
			{Key: "function_name", Value: "checkout-api"}, {Key: "function_version", Value: "14"},
			{Key: "memory_limit_in_mb", Value: "512"}, {Key: "region", Value: "eu-west-1"}}},
		{"app-set tags win", []event.Tag{{Key: "region", Value: "eu-central"}, {Key: "function_name", Value: "checkout"}}, lambdaContexts,
			[]event.Tag{{Key: "region", Value: "eu-central"}, {Key: "function_name", Value: "checkout"},
				{Key: "function_version", Value: "14"}, {Key: "memory_limit_in_mb", Value: "512"}}},
		{"missing values are not tags", nil, `{"aws.lambda": {"function_name": "f"}}`, []event.Tag{{Key: "function_name", Value: "f"}}},
		{"no lambda", []event.Tag{{Key: "a", Value: "b"}}, `{"os": {"name": "Linux"}}`, []event.Tag{{Key: "a", Value: "b"}}},
		{"values ingest would not take as tags are not tags", nil, `{"aws.lambda": {"function_name": "f\nx", "region": "` + strings.Repeat("r", 201) + `", "function_version": "2"}}`,
			[]event.Tag{{Key: "function_version", Value: "2"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := event.Event{Tags: tc.tags, Contexts: json.RawMessage(tc.contexts)}
			promoteLambdaTags(&ev)
			if !reflect.DeepEqual(ev.Tags, tc.want) {
				t.Errorf("tags = %v, want %v", ev.Tags, tc.want)
			}
		})
	}
}

// TestProcessLambdaTimeout checks what the store gets for a Python timeout
// warning: the promoted tags, the timeout title and grouping by function.
func TestProcessLambdaTimeout(t *testing.T) {
	s := &fakeSaver{}
	p := New(Config{Saver: s})
	for i, secs := range []string{"6", "15"} {
		ev := event.Event{
			EventID: "c7d2e8f94a1b4c6d8e0f2a3b4c5d6e7" + string(rune('0'+i)), ProjectID: 7, Source: event.SourceSentry, Platform: "python",
			Contexts: json.RawMessage(lambdaContexts),
			Exceptions: []event.Exception{{Type: "ServerlessTimeoutWarning",
				Value:     "WARNING : Function is expected to get timed out. Configured timeout duration = " + secs + " seconds.",
				Mechanism: &event.Mechanism{Type: "threading", Handled: new(false)},
				Frames: []event.Frame{{Filename: "sentry_sdk/utils.py", AbsPath: "/var/task/sentry_sdk/utils.py", Module: "sentry_sdk.utils",
					Function: "run", Lineno: 1523, InApp: new(true)}}}},
		}
		if _, err := processOne(context.Background(), p, body(t, ev)); err != nil {
			t.Fatal(err)
		}
	}
	a, b := s.reqs[0], s.reqs[1]
	if a.Title != "Lambda timeout: checkout-api" || b.Title != a.Title {
		t.Errorf("titles %q, %q", a.Title, b.Title)
	}
	if a.Fingerprint != b.Fingerprint || a.GroupingVersion != grouping.Version {
		t.Errorf("fingerprints %s, %s (version %s): the timeouts of one function must group together", a.Fingerprint, b.Fingerprint, a.GroupingVersion)
	}
	if v, _ := a.Event.Tag("function_name"); v != "checkout-api" {
		t.Errorf("function_name tag %q", v)
	}
	if f := a.Event.Exceptions[0].Frames[0]; *f.InApp {
		t.Error("the SDK's own timer frame is in-app")
	}
}

// TestLambdaTagsSearchable checks that a promoted tag is what the issue
// search finds, through the query parser the dashboard and REST API share.
func TestLambdaTagsSearchable(t *testing.T) {
	ctx := context.Background()
	db, proj := openProject(t, sqliteFile(t), "lambdas")
	ev := event.Event{EventID: "a3f1c9d27e5b4f8a9c0d1e2f3a4b5c6d", ProjectID: proj.ID, Source: event.SourceSentry, Platform: "node",
		Timestamp: time.Now(), Received: time.Now(), Contexts: json.RawMessage(lambdaContexts),
		Exceptions: []event.Exception{{Type: "TypeError", Value: "x is undefined"}}}
	if _, err := processOne(ctx, New(Config{Saver: db}), body(t, ev)); err != nil {
		t.Fatal(err)
	}
	for query, want := range map[string]int{
		"function_name:checkout-api":              1,
		"memory_limit_in_mb:512 region:eu-west-1": 1,
		"function_version:14":                     1,
		"function_name:report-builder":            0,
	} {
		f, err := issuefilter.Parse(url.Values{"query": {query}}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		f.ProjectID = proj.ID
		issues, _, err := db.ListIssues(ctx, store.System, f)
		if err != nil {
			t.Fatal(err)
		}
		if len(issues) != want {
			t.Errorf("%q finds %d issues, want %d", query, len(issues), want)
		}
	}
}
