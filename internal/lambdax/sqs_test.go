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
	tests := []struct {
		name       string
		fifo       bool
		failBodies []string // bodies whose processing fails
		cancelAt   string   // body at which the deadline passes
		wantTried  []string // bodies processed, in order
		wantFailed []string // message ID suffixes reported
	}{
		{name: "all succeed", wantTried: []string{`{"n":1}`, `{"n":2}`, `{"n":3}`, `{"n":4}`}},
		{name: "some fail", failBodies: []string{`{"n":2}`, `{"n":4}`},
			wantTried: []string{`{"n":1}`, `{"n":2}`, `{"n":3}`, `{"n":4}`}, wantFailed: []string{"2", "4"}},
		{name: "fifo stops at the first failure", fifo: true, failBodies: []string{`{"n":2}`},
			wantTried: []string{`{"n":1}`, `{"n":2}`}, wantFailed: []string{"2", "3", "4"}},
		{name: "deadline reports the rest untried", cancelAt: `{"n":2}`,
			wantTried: []string{`{"n":1}`, `{"n":2}`}, wantFailed: []string{"3", "4"}},
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
			var tried []string
			h := lambdax.SQSBatchHandler(func(ctx context.Context, m events.SQSMessage) error {
				tried = append(tried, m.Body)
				if m.Body == tt.cancelAt {
					cancel()
				}
				if slices.Contains(tt.failBodies, m.Body) {
					return errors.New("boom")
				}
				return nil
			}, nil)
			resp, err := h(ctx, ev)
			if err != nil {
				t.Fatalf("handler error %v; a batch must never fail as a whole", err)
			}
			if !slices.Equal(tried, tt.wantTried) && !(len(tried) == 0 && len(tt.wantTried) == 0) {
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
