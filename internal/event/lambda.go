package event

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Lambda is what an AWS Lambda integration said about the invocation an
// event happened in. The Node and Go SDKs send it as contexts["aws.lambda"]
// and contexts["aws.cloudwatch.logs"]; the Python SDK as extra["lambda"]
// and extra["cloudwatch logs"]. Every field is as sent, and untrusted.
type Lambda struct {
	FunctionName    string
	FunctionVersion string
	MemoryLimitMB   string
	// Region comes from the invoked function's ARN
	// (arn:aws:lambda:REGION:ACCOUNT:function:NAME).
	Region          string
	ARN             string
	RequestID       string
	RemainingMillis string
	LogGroup        string
	LogStream       string
	// LogsURL is the CloudWatch console link; check it before linking it.
	LogsURL string
}

// Lambda returns the event's Lambda invocation data, or nil when no Lambda
// integration sent any.
func (e *Event) Lambda() *Lambda {
	ctx, logs := rawSections(e.Contexts, "aws.lambda", "aws.cloudwatch.logs")
	if ctx == nil && logs == nil {
		ctx, logs = rawSections(e.Extra, "lambda", "cloudwatch logs")
	}
	if ctx == nil && logs == nil {
		return nil
	}
	l := &Lambda{
		FunctionName:    Scalar(ctx["function_name"]),
		FunctionVersion: Scalar(ctx["function_version"]),
		MemoryLimitMB:   Scalar(ctx["memory_limit_in_mb"]),
		ARN:             Scalar(ctx["invoked_function_arn"]),
		RequestID:       Scalar(ctx["aws_request_id"]),
		RemainingMillis: Scalar(ctx["remaining_time_in_millis"]),
		LogGroup:        Scalar(logs["log_group"]),
		LogStream:       Scalar(logs["log_stream"]),
		LogsURL:         Scalar(logs["url"]),
	}
	l.Region = arnRegion(l.ARN)
	if *l == (Lambda{}) {
		return nil
	}
	return l
}

// rawSections decodes two object-valued keys of a raw JSON object; nil for
// each that is missing or not an object. The processor asks this of every
// event, and most come from no Lambda: raw that spells neither key, not
// even with an escape, is not decoded at all.
func rawSections(raw json.RawMessage, a, b string) (map[string]any, map[string]any) {
	if len(raw) == 0 || !mayHoldKeys(raw, a, b) {
		return nil, nil
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(raw, &top) != nil {
		return nil, nil
	}
	return rawObject(top[a]), rawObject(top[b])
}

// mayHoldKeys reports whether raw may have a member named a or b: it has
// an escape that could spell either, or spells one in quotes.
func mayHoldKeys(raw json.RawMessage, a, b string) bool {
	return bytes.IndexByte(raw, '\\') >= 0 ||
		bytes.Contains(raw, []byte(`"`+a+`"`)) || bytes.Contains(raw, []byte(`"`+b+`"`))
}

func rawObject(raw json.RawMessage) map[string]any {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return m
}

// arnRegion returns the region of an ARN if it looks like one
// ("eu-west-1", "us-gov-west-1"), else "".
func arnRegion(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) < 6 || parts[0] != "arn" {
		return ""
	}
	r := parts[3]
	for i := 0; i < len(r); i++ {
		c := r[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return ""
		}
	}
	return r
}

// pythonTimeoutType is the exception sentry-python's AWS Lambda integration
// raises shortly before the configured timeout.
const pythonTimeoutType = "ServerlessTimeoutWarning"

// nodeTimeoutPrefix starts the message the Node SDK's Lambda integration
// captures shortly before the configured timeout.
const nodeTimeoutPrefix = "Possible function timeout: "

// LambdaTimeout reports whether the event says a Lambda function ran into
// its timeout, and names the function. Recognized are the SDKs' timeout
// warnings (Python's ServerlessTimeoutWarning exception, Node's "Possible
// function timeout: NAME" message) and the runtime's own log line ("Task
// timed out after 6.01 seconds") as a message or exception value. The
// function name comes from the Lambda context, else from Node's message;
// without one the event is not recognized, since grouping all timeouts of a
// project together would hide which function is failing.
func (e *Event) LambdaTimeout() (function string, ok bool) {
	timeout, fromMessage := false, ""
	texts := []string{e.Message}
	for _, ex := range e.Exceptions {
		timeout = timeout || ex.Type == pythonTimeoutType
		texts = append(texts, ex.Value)
	}
	for _, s := range texts {
		if name, found := strings.CutPrefix(s, nodeTimeoutPrefix); found {
			timeout, fromMessage = true, strings.TrimSpace(name)
		}
		timeout = timeout || isRuntimeTimeout(s)
	}
	if !timeout {
		return "", false
	}
	if l := e.Lambda(); l != nil && l.FunctionName != "" {
		return l.FunctionName, true
	}
	return fromMessage, fromMessage != ""
}

// isRuntimeTimeout reports whether s holds the Lambda runtime's timeout log
// line, "Task timed out after N seconds" (N may have decimals), which log
// forwarders prefix with a time stamp and request ID.
func isRuntimeTimeout(s string) bool {
	const head, tail = "Task timed out after ", " seconds"
	i := strings.Index(s, head)
	if i < 0 {
		return false
	}
	rest := s[i+len(head):]
	n := 0
	for n < len(rest) && ('0' <= rest[n] && rest[n] <= '9' || rest[n] == '.') {
		n++
	}
	return n > 0 && strings.HasPrefix(rest[n:], tail)
}
