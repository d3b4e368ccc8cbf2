package dashboard

import (
	"net/url"
	"strings"

	"github.com/getflytrap/flytrap/internal/event"
)

// lambdaView is the AWS Lambda invocation an event happened in.
type lambdaView struct {
	Function, Version, Memory, Region, RequestID string
	LogGroup, LogStream                          string
	// LogsURL is the CloudWatch console link, set only when
	// cloudWatchURL accepts the URL the SDK sent.
	LogsURL string
}

func newLambdaView(l *event.Lambda) *lambdaView {
	if l == nil {
		return nil
	}
	return &lambdaView{
		Function: l.FunctionName, Version: l.FunctionVersion, Memory: l.MemoryLimitMB, Region: l.Region,
		RequestID: l.RequestID, LogGroup: l.LogGroup, LogStream: l.LogStream, LogsURL: cloudWatchURL(l.LogsURL),
	}
}

// awsConsoleHosts are the AWS console's hosts in the commercial, China and
// GovCloud partitions; regional consoles are subdomains of them.
var awsConsoleHosts = []string{"console.aws.amazon.com", "console.amazonaws.cn", "console.amazonaws-us-gov.com"}

// cloudWatchURL returns u if it is an https link into the AWS console, else
// "". The URL comes from the SDK, so anything else (javascript:, another
// host, credentials in the URL) is shown as text, never linked.
func cloudWatchURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "https" || p.User != nil || p.Port() != "" {
		return ""
	}
	host := strings.ToLower(p.Hostname())
	for _, h := range awsConsoleHosts {
		if host == h || strings.HasSuffix(host, "."+h) {
			return u
		}
	}
	return ""
}
