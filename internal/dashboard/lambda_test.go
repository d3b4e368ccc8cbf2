package dashboard

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
)

func TestIssuePageLambda(t *testing.T) {
	f := newFixture(t)
	ctx := `{"aws.lambda": {"function_name": "checkout-api", "function_version": "14", "memory_limit_in_mb": 512,
		"aws_request_id": "0a7b3c55", "invoked_function_arn": "arn:aws:lambda:eu-west-1:123456789012:function:checkout-api"},
		"aws.cloudwatch.logs": {"log_group": "/aws/lambda/checkout-api", "log_stream": "2026/12/03/[14]abc",
		"url": "https://console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/%2Faws%2Flambda%2Fcheckout-api"}}`
	ev := &event.Event{EventID: "66666666666666666666666666666666", ProjectID: f.web.ID, Platform: "node", Level: "error",
		Timestamp: now.Add(-time.Minute), Received: now.Add(-time.Minute), Contexts: json.RawMessage(ctx),
		Exceptions: []event.Exception{{Type: "TypeError", Value: "x is undefined"}}}
	r := f.get(roleMember, issuePath(f.save(ev).IssueID))
	wantStatus(t, r, 200)
	wantBody(t, r, `<h2 class="small-h">AWS Lambda</h2>`, `<dt>Function</dt><dd><code>checkout-api</code></dd>`,
		`<dt>Memory</dt><dd>512 MB</dd>`, `<dt>Region</dt><dd>eu-west-1</dd>`,
		`<a href="https://console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups/log-group/%2Faws%2Flambda%2Fcheckout-api" rel="noopener noreferrer nofollow" target="_blank">CloudWatch logs</a>`)
}

func TestCloudWatchURL(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"https://console.aws.amazon.com/cloudwatch/home?region=eu-west-1#logsV2:log-groups", true},
		{"https://eu-west-1.console.aws.amazon.com/cloudwatch/home", true},
		{"https://console.amazonaws.cn/cloudwatch/home", true},
		{"https://console.amazonaws-us-gov.com/cloudwatch/home", true},
		{"javascript:alert(1)//console.aws.amazon.com", false},
		{"JaVaScRiPt:alert(1)", false},
		{"http://console.aws.amazon.com/cloudwatch/home", false},
		{"https://console.aws.amazon.com.evil.example/cloudwatch", false},
		{"https://evil.example/console.aws.amazon.com", false},
		{"https://notconsole.aws.amazon.com/", false},
		{"https://user:pw@console.aws.amazon.com/", false},
		{"https://console.aws.amazon.com:8443/", false},
		{"//console.aws.amazon.com/cloudwatch", false},
		{"", false},
	}
	for _, tc := range tests {
		if got := cloudWatchURL(tc.in); (got != "") != tc.want || got != "" && got != tc.in {
			t.Errorf("cloudWatchURL(%q) = %q, want linked %v", tc.in, got, tc.want)
		}
	}
}

// TestIssuePageLambdaHostileLogsURL checks that a logs URL outside the AWS
// console is shown as nothing clickable.
func TestIssuePageLambdaHostileLogsURL(t *testing.T) {
	f := newFixture(t)
	ctx := `{"aws.lambda": {"function_name": "<b>f</b>"}, "aws.cloudwatch.logs": {"url": "javascript:alert(1)//console.aws.amazon.com"}}`
	ev := &event.Event{EventID: "77777777777777777777777777777777", ProjectID: f.web.ID, Level: "error",
		Timestamp: now.Add(-time.Minute), Received: now.Add(-time.Minute), Contexts: json.RawMessage(ctx), Message: "m"}
	r := f.get(roleMember, issuePath(f.save(ev).IssueID))
	wantStatus(t, r, 200)
	wantBody(t, r, `<code>&lt;b&gt;f&lt;/b&gt;</code>`)
	noBody(t, r, `CloudWatch logs</a>`, `href="javascript:`, `<b>f</b>`)
}
