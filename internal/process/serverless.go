package process

import "github.com/getflytrap/flytrap/internal/event"

// promoteLambdaTags turns the Lambda invocation data of an event into tags,
// so that a project with many functions can search and break issues down
// by function and by memory setting without every app tagging them by
// hand. A tag the app set itself is kept.
func promoteLambdaTags(ev *event.Event) {
	l := ev.Lambda()
	if l == nil {
		return
	}
	for _, t := range []event.Tag{
		{Key: "function_name", Value: l.FunctionName},
		{Key: "function_version", Value: l.FunctionVersion},
		{Key: "memory_limit_in_mb", Value: l.MemoryLimitMB},
		{Key: "region", Value: l.Region},
	} {
		// The invocation data is the SDK's: a value ingest would not take
		// as a tag is not made one here either.
		if _, set := ev.Tag(t.Key); t.Value != "" && event.TagValueProblem(t.Value) == "" && !set {
			ev.Tags = append(ev.Tags, t)
		}
	}
}
