// Command ingest is the ingest Lambda function (provided.al2023, arm64,
// built as "bootstrap" with -tags 'lambda.norpc nosqlite'): API Gateway
// HTTP API events (payload 2.0) served by internal/ingest, accepted events
// sent to SQS. It has no database connection; project keys and the IP
// salt come from the key set the dashboard publishes to S3.
//
// Environment (set by terraform/modules/ingest):
//
//	QUEUE_URL      the events queue
//	KEYSET_BUCKET  bucket of the key set object
//	KEYSET_KEY     its key (keyset/ingest-keys.json)
//	RATE_LIMIT     events per minute of each project without a limit of
//	               its own (the variable ingest_rate_limit, which the
//	               dashboard is given too); -1 none, unset the default
//	LOG_LEVEL      debug, info (default), warn or error
//
// AWS_LAMBDA_FUNCTION_MEMORY_SIZE sets Go's memory limit
// (lambdax.MemoryLimitMB).
//
// AWS_REGION and the role's credentials come from Lambda.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/getflytrap/flytrap/internal/awsbase"
	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/lambdax"
	"github.com/getflytrap/flytrap/internal/ops"
)

func main() {
	log := lambdax.NewLogger(os.Stdout, os.Getenv("LOG_LEVEL"))
	// Cold start: configuration, clients and the first key set load
	// happen once per execution environment, not per request.
	ctx := context.Background()
	env, err := readEnv(os.Getenv)
	if err != nil {
		log.Error("ingest: bad environment", "err", err)
		os.Exit(1)
	}
	ops.SetMemoryLimit(lambdax.MemoryLimitMB(lambdax.FunctionMemoryMB(os.Getenv)), os.Getenv)
	cfg, err := awsbase.AWSConfig("", os.Getenv)
	if err != nil {
		log.Error("ingest: AWS configuration", "err", err)
		os.Exit(1)
	}
	h := newApp(ctx, appDeps{
		Loader: awsx.NewKeySetLoader(awsbase.NewS3Client(cfg), env.bucket, env.key),
		Queue:  awsx.NewSQSQueue(awsx.NewSQSClient(cfg), env.queueURL, awsx.SQSQueueOptions{}),
		Log:    log,

		RatePerMinute: env.ratePerMinute,
	})
	lambda.Start(lambdax.HTTPHandler(h))
}

// env is the function's configuration.
type env struct {
	queueURL, bucket, key string
	// ratePerMinute is ingest.Config's RatePerMinute.
	ratePerMinute int
}

func readEnv(getenv func(string) string) (env, error) {
	e := env{queueURL: getenv("QUEUE_URL"), bucket: getenv("KEYSET_BUCKET"), key: getenv("KEYSET_KEY")}
	var errs []error
	for name, v := range map[string]string{"QUEUE_URL": e.queueURL, "KEYSET_BUCKET": e.bucket, "KEYSET_KEY": e.key} {
		if v == "" {
			errs = append(errs, errors.New(name+" is not set"))
		}
	}
	if s := getenv("RATE_LIMIT"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n == 0 || n < -1 {
			errs = append(errs, fmt.Errorf("RATE_LIMIT %q is not a number of events per minute, or -1 for no limit", s))
		}
		e.ratePerMinute = n
	}
	return e, errors.Join(errs...)
}
