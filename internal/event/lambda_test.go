package event

import (
	"encoding/json"
	"testing"
)

// nodeLambdaContexts is contexts as the Node and Go integrations send them.
const nodeLambdaContexts = `{
	"aws.lambda": {"function_name": "checkout-api", "function_version": "$LATEST", "memory_limit_in_mb": 512,
		"aws_request_id": "8476a536-e9f4-11e8-9739-2dfe598c3fcd", "remaining_time_in_millis": 5310,
		"invoked_function_arn": "arn:aws:lambda:eu-west-1:123456789012:function:checkout-api"},
	"aws.cloudwatch.logs": {"log_group": "/aws/lambda/checkout-api", "log_stream": "2026/12/03/[$LATEST]abc",
		"url": "https://console.aws.amazon.com/cloudwatch/home?region=eu-west-1"}}`

// pythonLambdaExtra is extra as sentry-python's integration sends it.
const pythonLambdaExtra = `{
	"lambda": {"function_name": "report-builder", "function_version": "7", "aws_request_id": "r-1",
		"invoked_function_arn": "arn:aws:lambda:us-gov-west-1:123456789012:function:report-builder:live"},
	"cloudwatch logs": {"log_group": "/aws/lambda/report-builder", "log_stream": "s", "url": "https://console.amazonaws-us-gov.com/x"}}`

func TestLambda(t *testing.T) {
	tests := []struct {
		name            string
		contexts, extra string
		want            *Lambda
	}{
		{"node contexts", nodeLambdaContexts, "", &Lambda{
			FunctionName: "checkout-api", FunctionVersion: "$LATEST", MemoryLimitMB: "512", Region: "eu-west-1",
			ARN: "arn:aws:lambda:eu-west-1:123456789012:function:checkout-api", RequestID: "8476a536-e9f4-11e8-9739-2dfe598c3fcd",
			RemainingMillis: "5310", LogGroup: "/aws/lambda/checkout-api", LogStream: "2026/12/03/[$LATEST]abc",
			LogsURL: "https://console.aws.amazon.com/cloudwatch/home?region=eu-west-1"}},
		{"python extra", "", pythonLambdaExtra, &Lambda{
			FunctionName: "report-builder", FunctionVersion: "7", Region: "us-gov-west-1", RequestID: "r-1",
			ARN: "arn:aws:lambda:us-gov-west-1:123456789012:function:report-builder:live", LogGroup: "/aws/lambda/report-builder",
			LogStream: "s", LogsURL: "https://console.amazonaws-us-gov.com/x"}},
		{"memory as a string", `{"aws.lambda": {"function_name": "f", "memory_limit_in_mb": "1024"}}`, "",
			&Lambda{FunctionName: "f", MemoryLimitMB: "1024"}},
		{"ARN that is not one", `{"aws.lambda": {"function_name": "f", "invoked_function_arn": "arn:aws:lambda:<b>:1:function:f"}}`, "",
			&Lambda{FunctionName: "f", ARN: "arn:aws:lambda:<b>:1:function:f"}},
		{"booleans and numbers as text", `{"aws.lambda": {"function_name": "f", "function_version": true, "memory_limit_in_mb": 1.024e3}}`, "",
			&Lambda{FunctionName: "f", FunctionVersion: "true", MemoryLimitMB: "1024"}},
		{"objects are not names", `{"aws.lambda": {"function_name": {"x": 1}, "function_version": "2"}}`, "",
			&Lambda{FunctionVersion: "2"}},
		{"no lambda context", `{"os": {"name": "Linux"}}`, `{"x": 1}`, nil},
		{"key spelled with escapes", `{"aws\u002elambda": {"function_name": "f"}, "os": {"name": "\u004cinux"}}`, "",
			&Lambda{FunctionName: "f"}},
		{"logs only, in extra", "", `{"cloudwatch logs": {"log_group": "/aws/lambda/f"}}`, &Lambda{LogGroup: "/aws/lambda/f"}},
		{"key inside a value", `{"os": {"name": "\"aws.lambda\""}, "trace": {"aws.lambda": {"function_name": "f"}}}`, "", nil},
		{"context not an object", `{"aws.lambda": "checkout-api"}`, "", nil},
		{"empty context", `{"aws.lambda": {}}`, "", nil},
		{"nothing", "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := Event{}
			if tt.contexts != "" {
				ev.Contexts = json.RawMessage(tt.contexts)
			}
			if tt.extra != "" {
				ev.Extra = json.RawMessage(tt.extra)
			}
			got := ev.Lambda()
			switch {
			case got == nil && tt.want == nil:
			case got == nil || tt.want == nil || *got != *tt.want:
				t.Errorf("Lambda() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLambdaTimeout(t *testing.T) {
	ctx := json.RawMessage(nodeLambdaContexts)
	pyWarning := Exception{Type: "ServerlessTimeoutWarning",
		Value: "WARNING : Function is expected to get timed out. Configured timeout duration = 6 seconds."}
	tests := []struct {
		name     string
		ev       Event
		wantFunc string
		wantOK   bool
		title    string
	}{
		{"python warning", Event{Contexts: ctx, Exceptions: []Exception{pyWarning}}, "checkout-api", true, "Lambda timeout: checkout-api"},
		{"python warning, extra shape", Event{Extra: json.RawMessage(pythonLambdaExtra), Exceptions: []Exception{pyWarning}},
			"report-builder", true, "Lambda timeout: report-builder"},
		{"node warning message", Event{Message: "Possible function timeout: checkout-api", Level: "warning"}, "checkout-api", true,
			"Lambda timeout: checkout-api"},
		{"runtime log line", Event{Contexts: ctx, Message: "2026-12-03T09:20:05.987Z 8476a536 Task timed out after 6.01 seconds"},
			"checkout-api", true, "Lambda timeout: checkout-api"},
		{"runtime log line as exception value", Event{Contexts: ctx, Exceptions: []Exception{{Type: "Error", Value: "Task timed out after 30 seconds"}}},
			"checkout-api", true, "Lambda timeout: checkout-api"},
		{"context names the function over the message", Event{Contexts: ctx, Message: "Possible function timeout: other"},
			"checkout-api", true, "Lambda timeout: checkout-api"},
		{"timeout without a function name", Event{Exceptions: []Exception{pyWarning}}, "", false,
			"ServerlessTimeoutWarning: WARNING : Function is expected to get timed out. Configured timeout duration = 6 seconds."},
		{"not a number of seconds", Event{Contexts: ctx, Message: "Task timed out after many seconds"}, "", false,
			"Task timed out after many seconds"},
		{"other error in a lambda", Event{Contexts: ctx, Exceptions: []Exception{{Type: "TypeError", Value: "x"}}}, "", false, "TypeError: x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn, ok := tt.ev.LambdaTimeout()
			if fn != tt.wantFunc || ok != tt.wantOK {
				t.Errorf("LambdaTimeout() = %q, %v, want %q, %v", fn, ok, tt.wantFunc, tt.wantOK)
			}
			if got := tt.ev.Title(); got != tt.title {
				t.Errorf("Title() = %q, want %q", got, tt.title)
			}
		})
	}
}

// BenchmarkLambda reads the Lambda data of an event from no Lambda (a
// browser's contexts and extra), which the processor does for every
// event, and of one from the Node integration.
func BenchmarkLambda(b *testing.B) {
	for _, c := range []struct {
		name            string
		contexts, extra string
	}{
		{"browser", `{"browser":{"name":"Chrome","version":"130.0.0"},"os":{"name":"Windows","version":"10"},` +
			`"trace":{"trace_id":"0123456789abcdef0123456789abcdef","span_id":"0123456789abcdef"}}`, `{"cart_items":3,"ab_test":"b"}`},
		{"node lambda", nodeLambdaContexts, ""},
	} {
		ev := Event{Contexts: json.RawMessage(c.contexts)}
		if c.extra != "" {
			ev.Extra = json.RawMessage(c.extra)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ev.Lambda()
			}
		})
	}
}
