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

// maxLogsURL bounds the CloudWatch link: a console URL is a few hundred
// bytes, and a link cannot be cut short like text.
const maxLogsURL = 4096

func newLambdaView(l *event.Lambda, b *budget) *lambdaView {
	if l == nil {
		return nil
	}
	v := &lambdaView{
		Function: b.text(l.FunctionName), Version: b.text(l.FunctionVersion), Memory: b.text(l.MemoryLimitMB),
		Region: b.text(l.Region), RequestID: b.text(l.RequestID), LogGroup: b.text(l.LogGroup), LogStream: b.text(l.LogStream),
	}
	// A link is shown whole or not at all: a cut one leads nowhere.
	if u := cloudWatchURL(l.LogsURL); u != "" && len(u) <= maxLogsURL && b.left >= 2*len(u) {
		b.charge(2 * len(u)) // in href and as text
		v.LogsURL = u
	}
	return v
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
