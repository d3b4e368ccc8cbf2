package awsx_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/awsx/awsxtest"
)

// TestGetQueueDepth counts visible and in-flight messages through the SQS
// protocol fake.
func TestGetQueueDepth(t *testing.T) {
	ctx := context.Background()
	fake := awsxtest.NewSQS(t)
	c := awsxtest.SQSClient(fake.URL())
	q := fake.CreateQueue("flytrap-prod-events")
	d, err := awsx.GetQueueDepth(ctx, c, q)
	if err != nil || d != (awsx.QueueDepth{}) {
		t.Fatalf("empty queue: %+v, %v", d, err)
	}
	for range 3 {
		fake.Send(q, `{"event_id":"x"}`)
	}
	if _, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q), MaxNumberOfMessages: 1}); err != nil {
		t.Fatal(err)
	}
	d, err = awsx.GetQueueDepth(ctx, c, q)
	if err != nil || d.Visible != 2 || d.InFlight != 1 || d.Total() != 3 {
		t.Errorf("depth = %+v, %v", d, err)
	}
	if fake.Calls("GetQueueAttributes") != 2 {
		t.Errorf("%d GetQueueAttributes calls", fake.Calls("GetQueueAttributes"))
	}
	if _, err := awsx.GetQueueDepth(ctx, c, fake.URL()+"/"+awsxtest.Account+"/nope"); err == nil {
		t.Error("an unknown queue has a depth")
	}
}

func TestParseTerraformState(t *testing.T) {
	st, err := awsx.ParseTerraformState([]byte(`{"version":4,"outputs":{"dashboard_url":{"value":"http://1.2.3.4","type":"string"},"items":{"value":["a"],"type":["list","string"]}},
		"resources":[{"mode":"managed","instances":[{},{}]},{"mode":"data","instances":[{}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if st.Resources != 2 || st.Outputs["dashboard_url"].String() != "http://1.2.3.4" || st.Outputs["items"].String() != `["a"]` {
		t.Errorf("state = %+v", st)
	}
	for _, bad := range []string{`{"version":3}`, `not json`} {
		if _, err := awsx.ParseTerraformState([]byte(bad)); err == nil {
			t.Errorf("%s parsed", bad)
		}
	}
}

func TestCheckHealth(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
		}
	}))
	defer ok.Close()
	if h := awsx.CheckHealth(context.Background(), ok.Client(), ok.URL+"/"); !h.OK || h.Status != 200 || h.URL != ok.URL+"/healthz" {
		t.Errorf("healthy = %+v", h)
	}
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "db down", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	if h := awsx.CheckHealth(context.Background(), down.Client(), down.URL); h.OK || !strings.Contains(h.Error, "503") {
		t.Errorf("unhealthy = %+v", h)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if h := awsx.CheckHealth(ctx, http.DefaultClient, ok.URL); h.OK || !errors.Is(ctx.Err(), context.Canceled) || h.Error == "" {
		t.Errorf("canceled = %+v", h)
	}
}
