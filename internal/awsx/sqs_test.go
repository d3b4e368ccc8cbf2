package awsx_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/awsx/awsxtest"
)

func TestSQSQueueEnqueue(t *testing.T) {
	fake := awsxtest.NewSQS(t)
	url := fake.CreateQueue("flytrap-test-events")
	q := awsx.NewSQSQueue(awsxtest.SQSClient(fake.URL()), url, awsx.SQSQueueOptions{})

	tests := []struct {
		name string
		body string
		// want is the string value of "message" after decoding what
		// landed in the queue.
		want string
	}{
		{"ascii", `{"message":"boom"}`, "boom"},
		{"unicode", `{"message":"échec – 失败 🐛"}`, "échec – 失败 🐛"},
		// SQS refuses U+FFFE/U+FFFF and invalid UTF-8 in a body; the
		// producer escapes them inside the JSON string instead.
		{"noncharacter", "{\"message\":\"a\uffffb\"}", "a\uffffb"},
		{"invalid utf-8", "{\"message\":\"a\xffb\"}", "a\ufffdb"},
		{"escaped already", `{"message":"tab\there"}`, "tab\there"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := q.Enqueue(context.Background(), []byte(tt.body)); err != nil {
				t.Fatalf("Enqueue: %v", err)
			}
			msgs := fake.Messages(url)
			if len(msgs) != i+1 {
				t.Fatalf("queue holds %d messages, want %d", len(msgs), i+1)
			}
			var got struct{ Message string }
			if err := json.Unmarshal([]byte(msgs[i].Body), &got); err != nil {
				t.Fatalf("queued body %q is not JSON: %v", msgs[i].Body, err)
			}
			if got.Message != tt.want {
				t.Errorf("message = %q, want %q", got.Message, tt.want)
			}
		})
	}
}

func TestSQSQueueTooLarge(t *testing.T) {
	fake := awsxtest.NewSQS(t)
	url := fake.CreateQueue("small")
	fake.SetQueueAttributes(url, map[string]string{"MaximumMessageSize": "1024"})
	client := awsxtest.SQSClient(fake.URL())
	body := []byte(`{"message":"` + strings.Repeat("x", 1100) + `"}`)

	t.Run("checked locally", func(t *testing.T) {
		q := awsx.NewSQSQueue(client, url, awsx.SQSQueueOptions{MaxMessageBytes: 1024})
		err := q.Enqueue(context.Background(), body)
		if !errors.Is(err, awsx.ErrMessageTooLarge) {
			t.Fatalf("err = %v, want ErrMessageTooLarge", err)
		}
		if n := fake.Calls("SendMessage"); n != 0 {
			t.Errorf("%d SendMessage calls for an oversized body, want none", n)
		}
	})
	t.Run("refused by the queue", func(t *testing.T) {
		// A queue configured smaller than the producer believes still
		// refuses; the error is not silently swallowed.
		q := awsx.NewSQSQueue(client, url, awsx.SQSQueueOptions{})
		err := q.Enqueue(context.Background(), body)
		if err == nil || !strings.Contains(err.Error(), "InvalidParameterValue") {
			t.Fatalf("err = %v, want the queue's InvalidParameterValue", err)
		}
	})
	t.Run("default limit is 1 MiB", func(t *testing.T) {
		big := awsx.NewSQSQueue(client, fake.CreateQueue("big"), awsx.SQSQueueOptions{})
		err := big.Enqueue(context.Background(), []byte(`"`+strings.Repeat("x", awsx.MaxSQSMessageBytes)+`"`))
		if !errors.Is(err, awsx.ErrMessageTooLarge) {
			t.Fatalf("err = %v, want ErrMessageTooLarge", err)
		}
	})
}

func TestSQSQueueUnknownQueue(t *testing.T) {
	fake := awsxtest.NewSQS(t)
	q := awsx.NewSQSQueue(awsxtest.SQSClient(fake.URL()), fake.URL()+"/000000000000/missing", awsx.SQSQueueOptions{})
	err := q.Enqueue(context.Background(), []byte(`{}`))
	var missing *types.QueueDoesNotExist
	if !errors.As(err, &missing) {
		t.Fatalf("err = %v, want *types.QueueDoesNotExist", err)
	}
}
