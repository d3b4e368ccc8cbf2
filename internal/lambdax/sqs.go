package lambdax

import (
	"context"
	"log/slog"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// SQSBatchHandler returns a Lambda handler for an SQS event source mapping
// with ReportBatchItemFailures: it calls process for each record in order
// and reports the records whose call failed, so SQS deletes the rest and
// redelivers only those (after the visibility timeout; the queue's redrive
// policy moves a record to the dead-letter queue after maxReceiveCount
// failed receives). It never fails the invocation as a whole: that would
// redeliver records that succeeded.
//
// Once ctx is done (the function's deadline) the remaining records are
// reported without being tried. On a FIFO queue (an event source ARN ending
// in .fifo) a failure also reports every later record untried, as SQS
// requires to keep a message group's order.
func SQSBatchHandler(process func(context.Context, events.SQSMessage) error, log *slog.Logger) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		// Non-nil, so the reply is [] rather than null: both mean
		// "all succeeded", but [] says it plainly.
		resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
		stop := ""
		for _, rec := range ev.Records {
			if stop == "" && ctx.Err() != nil {
				stop = "the invocation's deadline passed"
			}
			if stop != "" {
				log.Warn("sqs record not processed", "message_id", rec.MessageId, "reason", stop)
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
				continue
			}
			err := process(ctx, rec)
			if err == nil {
				continue
			}
			log.Error("sqs record failed; it will be redelivered, and moved to the dead-letter queue after the last attempt",
				"message_id", rec.MessageId, "receive_count", rec.Attributes["ApproximateReceiveCount"], "err", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
			if strings.HasSuffix(rec.EventSourceARN, ".fifo") {
				stop = "an earlier record of this FIFO batch failed"
			}
		}
		return resp, nil
	}
}
