package lambdax

import (
	"context"
	"log/slog"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// SQSBatchHandler returns a Lambda handler for an SQS event source mapping
// with ReportBatchItemFailures: it hands the whole batch to process, which
// returns one error per record, in order, and reports the records whose
// error is not nil, so SQS deletes the rest and redelivers only those
// (after the visibility timeout; the queue's redrive policy moves a record
// to the dead-letter queue after maxReceiveCount failed receives). It
// never fails the invocation as a whole: that would redeliver records that
// succeeded.
//
// When ctx is already done (the function's deadline) every record is
// reported without being tried. On a FIFO queue (an event source ARN ending
// in .fifo) a failure also reports every later record, as SQS requires to
// keep a message group's order; those that were stored are stored once
// again as duplicates.
func SQSBatchHandler(process func(context.Context, []events.SQSMessage) []error, log *slog.Logger) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		// Non-nil, so the reply is [] rather than null: both mean
		// "all succeeded", but [] says it plainly.
		resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
		if len(ev.Records) == 0 {
			return resp, nil
		}
		fail := func(rec events.SQSMessage) {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
		if ctx.Err() != nil {
			for _, rec := range ev.Records {
				log.Warn("sqs record not processed", "message_id", rec.MessageId, "reason", "the invocation's deadline passed")
				fail(rec)
			}
			return resp, nil
		}
		errs := process(ctx, ev.Records)
		if len(errs) != len(ev.Records) {
			// A bug in process: which records were stored is unknown, and
			// redelivering them all is safe.
			log.Error("sqs batch: wrong number of results; every record will be redelivered", "records", len(ev.Records), "results", len(errs))
			for _, rec := range ev.Records {
				fail(rec)
			}
			return resp, nil
		}
		stop := false
		for i, rec := range ev.Records {
			switch {
			case stop:
				log.Warn("sqs record reported failed", "message_id", rec.MessageId, "reason", "an earlier record of this FIFO batch failed")
				fail(rec)
			case errs[i] != nil:
				log.Error("sqs record failed; it will be redelivered, and moved to the dead-letter queue after the last attempt",
					"message_id", rec.MessageId, "receive_count", rec.Attributes["ApproximateReceiveCount"], "err", errs[i])
				fail(rec)
				stop = strings.HasSuffix(rec.EventSourceARN, ".fifo")
			}
		}
		return resp, nil
	}
}
