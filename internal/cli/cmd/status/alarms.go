package status

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/deploy"
	"github.com/getflytrap/flytrap/terraform"
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

// ListAlarms returns the metric alarms Flytrap made for deployment name,
// in CloudWatch's order (by name): those named by terraform.AlarmSuffixes,
// not all that share the prefix (deployment <name>-eu's, hand-made ones).
func ListAlarms(ctx context.Context, c deploy.AlarmsAPI, name string) ([]Alarm, error) {
	var out []Alarm
	prefix := "flytrap-" + name + "-"
	p := cloudwatch.NewDescribeAlarmsPaginator(c, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list the CloudWatch alarms %s*: %w", prefix, awsx.ClassifyCredentialError(err))
		}
		for _, a := range page.MetricAlarms {
			if !slices.Contains(terraform.AlarmSuffixes, strings.TrimPrefix(aws.ToString(a.AlarmName), prefix)) {
				continue
			}
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
