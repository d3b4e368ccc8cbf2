package awsx

import (
	"context"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// MaxSQSMessageBytes is SQS's largest message: 1 MiB since August 2025
// (262144 bytes before). The Terraform queue module sets every queue's
// MaximumMessageSize to it.
const MaxSQSMessageBytes = 1 << 20

// ErrMessageTooLarge is wrapped by Enqueue's error when a body exceeds the
// queue's limit, so ingest can answer 413 instead of a retryable 503: the
// same event will never fit.
var ErrMessageTooLarge error = tooLargeError{}

// tooLargeError tells ingest, through its TooLarge method, to answer 413
// rather than 503: a retry would fail the same way.
type tooLargeError struct{}

func (tooLargeError) Error() string  { return "message is larger than the queue accepts" }
func (tooLargeError) TooLarge() bool { return true }

// SQSSender is the part of SQS the producer uses; *sqs.Client implements
// it.
type SQSSender interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// maxSQSBatchEntries is the most messages one SendMessageBatch carries.
const maxSQSBatchEntries = 10

// SQSQueueOptions tunes an SQSQueue.
type SQSQueueOptions struct {
	// MaxMessageBytes must equal the queue's MaximumMessageSize attribute;
	// 0 means MaxSQSMessageBytes. Checking it here turns an oversized
	// event into ErrMessageTooLarge without a round trip.
	MaxMessageBytes int
}

// SQSQueue implements ingest.Queue over one SQS queue. SendMessage returns
// after SQS stored the message redundantly, which is the durability
// ingest.Queue promises.
type SQSQueue struct {
	client SQSSender
	url    string
	max    int
}

// NewSQSQueue returns a producer for the queue at queueURL.
func NewSQSQueue(c SQSSender, queueURL string, opts SQSQueueOptions) *SQSQueue {
	if opts.MaxMessageBytes <= 0 {
		opts.MaxMessageBytes = MaxSQSMessageBytes
	}
	return &SQSQueue{client: c, url: queueURL, max: opts.MaxMessageBytes}
}

// Enqueue sends body (the JSON of one event) as one message. Characters
// SQS refuses in a message body are rewritten as JSON \u escapes, which
// decode to the same string, so the consumer sees the event unchanged.
func (q *SQSQueue) Enqueue(ctx context.Context, body []byte) error {
	msg := sqsSafeJSON(body)
	if len(msg) > q.max {
		return fmt.Errorf("sqs: event of %d bytes: %w (limit %d bytes)", len(msg), ErrMessageTooLarge, q.max)
	}
	_, err := q.client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:    aws.String(q.url),
		MessageBody: aws.String(string(msg)),
	})
	if err != nil {
		return fmt.Errorf("sqs: send message: %w", err)
	}
	return nil
}

// EnqueueBatch sends bodies (the events of one envelope) in
// SendMessageBatch calls of at most 10 messages and MaxMessageBytes
// together, SQS's limits for one batch. It succeeds only if every message
// was stored: a message SQS refused, in a failed call or as a failed
// entry of a successful one, makes it fail, so the SDK retries the
// envelope; the messages already stored are stored again then, and
// processing deduplicates them by event ID.
func (q *SQSQueue) EnqueueBatch(ctx context.Context, bodies [][]byte) error {
	msgs := make([]string, len(bodies))
	for i, b := range bodies {
		msg := sqsSafeJSON(b)
		if len(msg) > q.max {
			return fmt.Errorf("sqs: event %d of %d, %d bytes: %w (limit %d bytes)", i+1, len(bodies), len(msg), ErrMessageTooLarge, q.max)
		}
		msgs[i] = string(msg)
	}
	for start := 0; start < len(msgs); {
		end, size := start, 0
		for end < len(msgs) && end-start < maxSQSBatchEntries && size+len(msgs[end]) <= q.max {
			size += len(msgs[end])
			end++
		}
		if err := q.sendBatch(ctx, msgs[start:end], start); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// sendBatch sends msgs, the envelope's events from first on, in one
// SendMessageBatch; entry IDs count the events from 1.
func (q *SQSQueue) sendBatch(ctx context.Context, msgs []string, first int) error {
	entries := make([]types.SendMessageBatchRequestEntry, len(msgs))
	for i, m := range msgs {
		entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(first + i + 1)), MessageBody: aws.String(m)}
	}
	out, err := q.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.url), Entries: entries})
	if err != nil {
		return fmt.Errorf("sqs: send message batch of events %d to %d: %w", first+1, first+len(msgs), err)
	}
	if len(out.Failed) > 0 {
		f := out.Failed[0]
		return fmt.Errorf("sqs: send message batch: %d of %d events refused; event %s: %s: %s (sender fault: %t)",
			len(out.Failed), len(msgs), aws.ToString(f.Id), aws.ToString(f.Code), aws.ToString(f.Message), f.SenderFault)
	}
	if len(out.Successful) != len(msgs) {
		return fmt.Errorf("sqs: send message batch: SQS confirmed %d of %d events", len(out.Successful), len(msgs))
	}
	return nil
}

// sqsAllowed reports whether SQS accepts r in a message body: #x9, #xA,
// #xD, #x20 to #xD7FF, #xE000 to #xFFFD and #x10000 to #x10FFFF.
func sqsAllowed(r rune) bool {
	switch {
	case r == 0x9 || r == 0xA || r == 0xD:
		return true
	case r >= 0x20 && r <= 0xD7FF:
		return true
	case r >= 0xE000 && r <= 0xFFFD:
		return true
	}
	return r >= 0x10000 && r <= 0x10FFFF
}

// sqsSafeJSON returns body with every character SQS would refuse replaced
// by its JSON escape: U+FFFE and U+FFFF, control characters, and invalid
// UTF-8 (as \ufffd, which is what a JSON decoder makes of it anyway). Such
// characters can only occur inside JSON strings of a valid document, where
// the escape means the same. The common case allocates nothing.
func sqsSafeJSON(body []byte) []byte {
	i := 0
	for i < len(body) {
		if c := body[i]; c >= 0x20 && c < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(body[i:])
		if (r == utf8.RuneError && size == 1) || !sqsAllowed(r) {
			break
		}
		i += size
	}
	if i == len(body) {
		return body
	}
	out := make([]byte, 0, len(body)+16)
	out = append(out, body[:i]...)
	for i < len(body) {
		r, size := utf8.DecodeRune(body[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			out = append(out, `\ufffd`...)
		case !sqsAllowed(r):
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			out = append(out, body[i:i+size]...)
		}
		i += size
	}
	return out
}
