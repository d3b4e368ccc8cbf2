package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/getflytrap/flytrap/internal/awsx/awsxtest"
	"github.com/getflytrap/flytrap/internal/lambdax/lambdaxtest"
)

// TestBootstrap builds this function for the host as `bootstrap` and runs
// it against a fake Lambda Runtime API, with its SQS and S3 clients pointed
// at the fakes through the SDK's standard endpoint variables: the whole
// cold start and one invocation, as Lambda would drive them.
func TestBootstrap(t *testing.T) {
	f := newFakes(t)
	f.publish(t)
	bin := lambdaxtest.Build(t, ".", runtime.GOOS, runtime.GOARCH)
	api := lambdaxtest.NewRuntimeAPI(t)
	lambdaxtest.Start(t, bin, api, append(awsxtest.Env(),
		"AWS_ENDPOINT_URL_SQS="+f.sqs.URL(),
		"AWS_ENDPOINT_URL_S3="+f.s3URL,
		"QUEUE_URL="+f.queueURL,
		"KEYSET_BUCKET="+testBucket,
		"KEYSET_KEY="+testKey,
		"LOG_LEVEL=debug",
	)...)

	payload, err := os.ReadFile(filepath.Join(fixtures, "sentry-envelope-gzip.json"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := api.Invoke(ctx, payload)
	if err != nil {
		t.Fatal(err)
	}
	if res.Error {
		t.Fatalf("function error %s: %s", res.ErrorType, res.Body)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(res.Body, &resp); err != nil {
		t.Fatalf("response %s: %v", res.Body, err)
	}
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, "9ec79c33ec9942ab8353589fcb2e04dc") || resp.IsBase64Encoded {
		t.Fatalf("response %+v, want 200 with the event ID", resp)
	}
	msgs := f.sqs.Messages(f.queueURL)
	if len(msgs) != 1 || !strings.Contains(msgs[0].Body, `"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"`) || !strings.Contains(msgs[0].Body, ipHash(clientIP)) {
		t.Fatalf("queue holds %+v, want the event with its hashed IP", msgs)
	}
}
