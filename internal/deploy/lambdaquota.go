package deploy

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// IngestHeadroom is the Lambda concurrency the quota check wants left for
// the ingest function beyond the processor's maximum. Ingest scales with
// traffic; an SDK's burst after an outage or a deploy of an app with many
// clients starts dozens of environments at once, and below this the
// throttling is API Gateway errors that SDKs count as failed sends.
const IngestHeadroom = 50

// LambdaConcurrencyQuotaCode is the Service Quotas code of Lambda's
// "Concurrent executions" quota, per region.
const LambdaConcurrencyQuotaCode = "L-B99A9384"

// LambdaQuota is what CheckLambdaQuota found: a warning when the quota
// leaves ingest too little, or a note (the quota's figures, or why the
// check was skipped). It never fails a deploy: the quota is raised by AWS,
// not by Flytrap, and ingest works below it, just throttled.
type LambdaQuota struct {
	Warning, Note string
	// Skipped: the quota could not be read, and Note says why. init
	// reports that as a check that could not be made, beside the others.
	Skipped bool
}

// CheckLambdaQuota reads the account's Lambda concurrency quota in region
// and compares it with what Flytrap's functions need: the processor's
// maximum concurrency plus IngestHeadroom. Both functions reserve
// nothing, so they share the unreserved part of the quota (what other
// functions' reservations leave). profile only goes into the suggested
// command.
func CheckLambdaQuota(ctx context.Context, c LambdaSettingsAPI, region, profile string, processorMax int) LambdaQuota {
	out, err := c.GetAccountSettings(ctx, &lambda.GetAccountSettingsInput{})
	switch {
	case accessDenied(err):
		return LambdaQuota{Skipped: true, Note: "Lambda concurrency quota not checked: the credentials lack lambda:GetAccountSettings (the deploy does not need it; grant it to have the quota checked)"}
	case err != nil:
		return LambdaQuota{Skipped: true, Note: "Lambda concurrency quota not checked: " + briefError(ctx, err)}
	case out.AccountLimit == nil:
		return LambdaQuota{Skipped: true, Note: "Lambda concurrency quota not checked: GetAccountSettings returned no AccountLimit"}
	}
	limit := out.AccountLimit.ConcurrentExecutions
	unreserved := limit
	// Lambda always reports it; a zero stands for "not reported", since
	// AWS keeps at least 100 unreserved once anything is reserved.
	if u := aws.ToInt32(out.AccountLimit.UnreservedConcurrentExecutions); u > 0 && u < limit {
		unreserved = u
	}
	need := processorMax + IngestHeadroom
	figures := fmt.Sprintf("%d concurrent executions", limit)
	if unreserved < limit {
		figures += fmt.Sprintf(", %d of them unreserved (other functions reserve the rest)", unreserved)
	}
	if int(unreserved) >= need {
		return LambdaQuota{Note: fmt.Sprintf("Lambda concurrency quota in %s: %s; the processor takes at most %d", region, figures, processorMax)}
	}
	return LambdaQuota{Warning: fmt.Sprintf("the account's Lambda concurrency quota in %s is %s: the processor takes up to %d of them and ingest needs room for bursts beyond that (at least %d in all), so until the quota is raised ingest may be throttled (API Gateway answers an error and SDKs drop the events). "+
		"AWS starts new accounts low and raises the quota with use; request \"Concurrent executions\" in Service Quotas: aws service-quotas request-service-quota-increase --service-code lambda --quota-code %s --desired-value 1000 --region %s%s",
		region, figures, processorMax, need, LambdaConcurrencyQuotaCode, region, profileArg(profile))}
}
