package awsx_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
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

func TestSQSQueueEnqueueBatch(t *testing.T) {
	body := func(i, size int) []byte {
		return []byte(fmt.Sprintf(`{"n":%d,"pad":%q}`, i, strings.Repeat("x", size)))
	}
	tests := []struct {
		name      string
		maxBytes  int // the queue's MaximumMessageSize; 0 keeps 1 MiB
		n, size   int
		wantCalls int
	}{
		{"one call for up to 10", 0, 10, 10, 1},
		{"10 messages a call", 0, 25, 10, 3},
		{"split by bytes", 1024, 6, 400, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := awsxtest.NewSQS(t)
			url := fake.CreateQueue("flytrap-test-events")
			if tt.maxBytes > 0 {
				fake.SetQueueAttributes(url, map[string]string{"MaximumMessageSize": strconv.Itoa(tt.maxBytes)})
			}
			q := awsx.NewSQSQueue(awsxtest.SQSClient(fake.URL()), url, awsx.SQSQueueOptions{MaxMessageBytes: tt.maxBytes})
			var bodies [][]byte
			for i := range tt.n {
				bodies = append(bodies, body(i, tt.size))
			}
			if err := q.EnqueueBatch(context.Background(), bodies); err != nil {
				t.Fatalf("EnqueueBatch: %v", err)
			}
			if got := fake.Calls("SendMessageBatch"); got != tt.wantCalls {
				t.Errorf("%d SendMessageBatch calls, want %d", got, tt.wantCalls)
			}
			msgs := fake.Messages(url)
			if len(msgs) != tt.n {
				t.Fatalf("queue holds %d messages, want %d", len(msgs), tt.n)
			}
			for i, m := range msgs {
				if m.Body != string(bodies[i]) {
					t.Errorf("message %d = %.40q, want %.40q", i, m.Body, bodies[i])
				}
			}
		})
	}
}

func TestSQSQueueEnqueueBatchFailures(t *testing.T) {
	fake := awsxtest.NewSQS(t)
	url := fake.CreateQueue("flytrap-test-events")
	client := awsxtest.SQSClient(fake.URL())
	q := awsx.NewSQSQueue(client, url, awsx.SQSQueueOptions{})

	t.Run("a refused entry fails the batch", func(t *testing.T) {
		// SQS refuses an empty body per entry and stores the others: the
		// call succeeds with one entry in Failed.
		err := q.EnqueueBatch(context.Background(), [][]byte{[]byte(`{"n":1}`), []byte(``), []byte(`{"n":3}`)})
		if err == nil || !strings.Contains(err.Error(), "1 of 3 events refused; event 2: MissingParameter") {
			t.Fatalf("err = %v, want the refused entry named", err)
		}
	})
	t.Run("too large is checked before sending", func(t *testing.T) {
		small := awsx.NewSQSQueue(client, url, awsx.SQSQueueOptions{MaxMessageBytes: 64})
		calls := fake.Calls("SendMessageBatch")
		err := small.EnqueueBatch(context.Background(), [][]byte{[]byte(`{}`), []byte(`"` + strings.Repeat("x", 100) + `"`)})
		if !errors.Is(err, awsx.ErrMessageTooLarge) {
			t.Fatalf("err = %v, want ErrMessageTooLarge", err)
		}
		if got := fake.Calls("SendMessageBatch"); got != calls {
			t.Errorf("%d SendMessageBatch calls for a batch with an oversized event, want none", got-calls)
		}
	})
	t.Run("a failed call fails the batch", func(t *testing.T) {
		missing := awsx.NewSQSQueue(client, fake.URL()+"/000000000000/missing", awsx.SQSQueueOptions{})
		err := missing.EnqueueBatch(context.Background(), [][]byte{[]byte(`{}`), []byte(`{}`)})
		var qerr *types.QueueDoesNotExist
		if !errors.As(err, &qerr) {
			t.Fatalf("err = %v, want *types.QueueDoesNotExist", err)
		}
	})
}
