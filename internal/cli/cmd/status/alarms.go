package status

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/deploy"
)

// The CloudWatch client lives in the CLI only (deploy.Clients): the
// runtime binaries, which link awsx, do not carry it.

// Alarm is one CloudWatch metric alarm and its state.
type Alarm struct {
	Name string `json:"name"`
	// State is OK, ALARM or INSUFFICIENT_DATA.
	State string `json:"state"`
	// Reason is CloudWatch's explanation of the state.
	Reason string `json:"reason,omitempty"`
	// Metric is "namespace metric", e.g. "AWS/Lambda Errors".
	Metric string `json:"metric"`
}

// AlarmState is the state of an alarm that is firing.
const AlarmState = "ALARM"

// ListAlarms returns the metric alarms whose names start with prefix (a
// deployment's "flytrap-<name>-"), in CloudWatch's order (by name).
func ListAlarms(ctx context.Context, c deploy.AlarmsAPI, prefix string) ([]Alarm, error) {
	var out []Alarm
	p := cloudwatch.NewDescribeAlarmsPaginator(c, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list the CloudWatch alarms %s*: %w", prefix, awsx.ClassifyCredentialError(err))
		}
		for _, a := range page.MetricAlarms {
			out = append(out, Alarm{
				Name:   aws.ToString(a.AlarmName),
				State:  string(a.StateValue),
				Reason: aws.ToString(a.StateReason),
				Metric: aws.ToString(a.Namespace) + " " + aws.ToString(a.MetricName),
			})
		}
	}
	return out, nil
}
