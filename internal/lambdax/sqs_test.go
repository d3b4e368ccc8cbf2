package lambdax_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/getflytrap/flytrap/internal/lambdax"
)

func loadSQSEvent(t *testing.T) events.SQSEvent {
	t.Helper()
	b, err := os.ReadFile("testdata/sqs-batch.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

const idPrefix = "4d1c2e8a-5b8f-4c8e-9a4e-0f6a2b7c1d0"

func TestSQSBatchHandler(t *testing.T) {
	all := []string{`{"n":1}`, `{"n":2}`, `{"n":3}`, `{"n":4}`}
	tests := []struct {
		name       string
		fifo       bool
		failBodies []string // bodies whose processing fails
		cancelled  bool     // the deadline passed before the batch
		results    int      // how many errors process returns (default one per record)
		wantTried  []string // bodies processed, in order
		wantFailed []string // message ID suffixes reported
	}{
		{name: "all succeed", wantTried: all},
		{name: "some fail", failBodies: []string{`{"n":2}`, `{"n":4}`}, wantTried: all, wantFailed: []string{"2", "4"}},
		{name: "fifo reports everything after the first failure", fifo: true, failBodies: []string{`{"n":2}`},
			wantTried: all, wantFailed: []string{"2", "3", "4"}},
		{name: "deadline reports all untried", cancelled: true, wantFailed: []string{"1", "2", "3", "4"}},
		{name: "a wrong number of results reports all", results: 3, wantTried: all, wantFailed: []string{"1", "2", "3", "4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := loadSQSEvent(t)
			if tt.fifo {
				for i := range ev.Records {
					ev.Records[i].EventSourceARN += ".fifo"
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancelled {
				cancel()
			}
			var tried []string
			h := lambdax.SQSBatchHandler(func(ctx context.Context, msgs []events.SQSMessage) []error {
				errs := make([]error, len(msgs))
				for i, m := range msgs {
					tried = append(tried, m.Body)
					if slices.Contains(tt.failBodies, m.Body) {
						errs[i] = errors.New("boom")
					}
				}
				if tt.results != 0 {
					errs = errs[:tt.results]
				}
				return errs
			}, nil)
			resp, err := h(ctx, ev)
			if err != nil {
				t.Fatalf("handler error %v; a batch must never fail as a whole", err)
			}
			if !slices.Equal(tried, tt.wantTried) {
				t.Errorf("processed %v, want %v", tried, tt.wantTried)
			}
			var failed []string
			for _, f := range resp.BatchItemFailures {
				failed = append(failed, strings.TrimPrefix(f.ItemIdentifier, idPrefix))
			}
			if !slices.Equal(failed, tt.wantFailed) {
				t.Errorf("reported %v, want %v", failed, tt.wantFailed)
			}
			// The reply Lambda sends back: an empty list, never null.
			b, _ := json.Marshal(resp)
			if len(tt.wantFailed) == 0 && string(b) != `{"batchItemFailures":[]}` {
				t.Errorf("reply %s", b)
			}
		})
	}
}
