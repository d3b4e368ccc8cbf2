package awsxtest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/getflytrap/flytrap/internal/awsx/awsxtest"
)

func attrs(t *testing.T, c *sqs.Client, url string, names ...types.QueueAttributeName) map[string]string {
	t.Helper()
	out, err := c.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: names})
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	return out.Attributes
}

func depth(t *testing.T, c *sqs.Client, url string) (visible, inFlight string) {
	t.Helper()
	a := attrs(t, c, url, types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)
	return a["ApproximateNumberOfMessages"], a["ApproximateNumberOfMessagesNotVisible"]
}

// TestSQSLifecycle drives the fake with the real SDK client, which checks
// the MD5 digests of sent and received bodies.
func TestSQSLifecycle(t *testing.T) {
	ctx := context.Background()
	f := awsxtest.NewSQS(t)
	url := f.CreateQueue("events")
	c := awsxtest.SQSClient(f.URL())

	got, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("events")})
	if err != nil || aws.ToString(got.QueueUrl) != url {
		t.Fatalf("GetQueueUrl = %v, %v; want %s", got, err, url)
	}
	sent, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(`{"n":1}`)})
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	batch, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("a"), MessageBody: aws.String(`{"n":2}`)},
		{Id: aws.String("b"), MessageBody: aws.String(`{"n":3}`)},
		{Id: aws.String("bad"), MessageBody: aws.String("\uffff")},
	}})
	if err != nil {
		t.Fatalf("SendMessageBatch: %v", err)
	}
	if len(batch.Successful) != 2 || len(batch.Failed) != 1 || aws.ToString(batch.Failed[0].Code) != "InvalidMessageContents" {
		t.Fatalf("batch: %d successful, failed %+v; want 2 and one InvalidMessageContents", len(batch.Successful), batch.Failed)
	}
	if v, nv := depth(t, c, url); v != "3" || nv != "0" {
		t.Fatalf("depth = %s visible, %s in flight; want 3, 0", v, nv)
	}

	recv, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 2,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount}})
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	if len(recv.Messages) != 2 || aws.ToString(recv.Messages[0].MessageId) != aws.ToString(sent.MessageId) {
		t.Fatalf("received %d messages, first %v; want 2 in send order", len(recv.Messages), recv.Messages)
	}
	if rc := recv.Messages[0].Attributes["ApproximateReceiveCount"]; rc != "1" {
		t.Errorf("ApproximateReceiveCount = %q, want 1", rc)
	}
	if v, nv := depth(t, c, url); v != "1" || nv != "2" {
		t.Fatalf("after receive: %s visible, %s in flight; want 1, 2", v, nv)
	}

	// The first is deleted; the second's visibility timeout runs out and
	// it is delivered again.
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: recv.Messages[0].ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage: %v", err)
	}
	f.Advance(awsxtest.DefaultVisibilityTimeout)
	if v, nv := depth(t, c, url); v != "2" || nv != "0" {
		t.Fatalf("after the timeout: %s visible, %s in flight; want 2, 0", v, nv)
	}
	again, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, VisibilityTimeout: 5,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll}})
	if err != nil || len(again.Messages) != 2 {
		t.Fatalf("ReceiveMessage again = %v, %v; want 2 messages", again, err)
	}
	if rc := again.Messages[0].Attributes["ApproximateReceiveCount"]; rc != "2" {
		t.Errorf("redelivered ApproximateReceiveCount = %q, want 2", rc)
	}
	if msgs := f.Messages(url); len(msgs) != 2 || msgs[0].Visible || msgs[0].ReceiveCount != 2 {
		t.Errorf("Messages = %+v; want 2 in flight, the first received twice", msgs)
	}

	del, err := c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: []types.DeleteMessageBatchRequestEntry{
		{Id: aws.String("x"), ReceiptHandle: again.Messages[0].ReceiptHandle},
		{Id: aws.String("y"), ReceiptHandle: again.Messages[1].ReceiptHandle},
		{Id: aws.String("z"), ReceiptHandle: aws.String("forged")},
	}})
	if err != nil {
		t.Fatalf("DeleteMessageBatch: %v", err)
	}
	if len(del.Successful) != 2 || len(del.Failed) != 1 || aws.ToString(del.Failed[0].Code) != "ReceiptHandleIsInvalid" {
		t.Fatalf("delete batch: %+v", del)
	}
	if msgs := f.Messages(url); len(msgs) != 0 {
		t.Errorf("queue still holds %+v", msgs)
	}
}

func TestSQSLongPoll(t *testing.T) {
	ctx := context.Background()
	f := awsxtest.NewSQS(t)
	url := f.CreateQueue("events")
	c := awsxtest.SQSClient(f.URL())
	go func() {
		time.Sleep(100 * time.Millisecond)
		f.Send(url, "late")
	}()
	start := time.Now()
	out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 5})
	if err != nil || len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != "late" {
		t.Fatalf("ReceiveMessage = %v, %v; want the late message", out, err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("long poll returned after %v, want soon after the send", d)
	}
}

// as returns a check that an error is (wraps) a T.
func as[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}

func TestSQSErrors(t *testing.T) {
	ctx := context.Background()
	f := awsxtest.NewSQS(t)
	url := f.CreateQueue("events")
	c := awsxtest.SQSClient(f.URL())
	missing := f.URL() + "/" + awsxtest.Account + "/nope"
	tooMany := make([]types.SendMessageBatchRequestEntry, 11)
	for i := range tooMany {
		tooMany[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strings.Repeat("i", i+1)), MessageBody: aws.String("x")}
	}

	tests := []struct {
		name string
		call func() error
		// is reports whether the error is the expected one.
		is func(error) bool
	}{
		{"send to a missing queue", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(missing), MessageBody: aws.String("x")})
			return err
		}, as[*types.QueueDoesNotExist]},
		{"url of a missing queue", func() error {
			_, err := c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("nope")})
			return err
		}, as[*types.QueueDoesNotExist]},
		{"forged receipt", func() error {
			_, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: aws.String("forged")})
			return err
		}, as[*types.ReceiptHandleIsInvalid]},
		{"invalid characters", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("a\x00b")})
			return err
		}, as[*types.InvalidMessageContents]},
		{"too many batch entries", func() error {
			_, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: tooMany})
			return err
		}, as[*types.TooManyEntriesInBatchRequest]},
		{"unknown attribute", func() error {
			_, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{"Bogus"}})
			return err
		}, as[*types.InvalidAttributeName]},
		{"too large", func() error {
			_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(strings.Repeat("x", awsxtest.DefaultMaxMessageBytes+1))})
			return err
		}, func(err error) bool { return strings.Contains(err.Error(), "InvalidParameterValue") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil {
				t.Fatal("no error")
			}
			if !tt.is(err) {
				t.Errorf("unexpected error: %v", err)
			}
		})
	}
}

func TestSQSAllAttributes(t *testing.T) {
	f := awsxtest.NewSQS(t)
	url := f.CreateQueue("events")
	f.SetQueueAttributes(url, map[string]string{"VisibilityTimeout": "395"})
	a := attrs(t, awsxtest.SQSClient(f.URL()), url, types.QueueAttributeNameAll)
	for k, want := range map[string]string{
		"VisibilityTimeout":  "395",
		"MaximumMessageSize": "1048576",
		"QueueArn":           "arn:aws:sqs:us-east-1:000000000000:events",
	} {
		if a[k] != want {
			t.Errorf("%s = %q, want %q", k, a[k], want)
		}
	}
}
