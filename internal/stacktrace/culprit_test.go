package stacktrace

import (
	"testing"

	"github.com/getflytrap/flytrap/internal/event"
)

func TestDisplayCulprit(t *testing.T) {
	tests := []struct {
		name string
		ev   event.Event
		want string
	}{
		{"browser URL", event.Event{Platform: "javascript", Exceptions: []event.Exception{{Type: "TypeError", Frames: []event.Frame{
			{Filename: "http://localhost:5173/src/app.js", Function: "handleClick", InApp: new(true)}}}}},
			"/src/app.js in handleClick"},
		{"node absolute path below the app root", event.Event{Platform: "node", Exceptions: []event.Exception{{Type: "Error", Frames: []event.Frame{
			{Filename: "/home/app/srv/server.js", Module: "server", Function: "main", InApp: new(false)},
			{AbsPath: "/home/app/srv/routes/users.js", Function: "getUser", InApp: new(true)}}}}},
			"routes/users.js in getUser"},
		// @sentry/node names the module after the path, which the page
		// shows instead: the culprit reads as the frame does.
		{"node module derived from the path", event.Event{Platform: "node", Exceptions: []event.Exception{{Type: "Error", Frames: []event.Frame{
			{Filename: "/home/app/srv/lib/billing.js", Module: "lib:billing", Function: "loadInvoice", InApp: new(true)}}}}},
			"lib/billing.js in loadInvoice"},
		// What @sentry/node 11.12.0 sent with rewriteFramesIntegration({root}):
		// the file renamed below app:///, the module still the old path's.
		{"node module of a file rewriteFrames renamed", event.Event{Platform: "node", Exceptions: []event.Exception{{Type: "TypeError", Frames: []event.Frame{
			{Filename: "app:///main.cjs", Module: "main", Function: "Object.?", InApp: new(true)},
			{Filename: "app:///lib/billing.cjs", Module: "lib:billing", Function: "charge", InApp: new(true)}}}}},
			"/lib/billing.cjs in charge"},
		{"module still wins", event.Event{Platform: "python", Exceptions: []event.Exception{{Type: "E", Frames: []event.Frame{
			{Module: "shop.views", Filename: "shop/views.py", AbsPath: "/srv/shop/views.py", Function: "get", InApp: new(true)}}}}},
			"shop.views in get"},
		{"transaction", event.Event{Transaction: "GET /users", Exceptions: []event.Exception{{Type: "E", Frames: []event.Frame{
			{Filename: "http://h/a.js", Function: "f"}}}}}, "GET /users"},
		{"no exception", event.Event{Message: "m"}, ""},
		{"the SDK's culprit wins over the transaction and the frames", event.Event{SDKCulprit: "views.js in updateMember", Transaction: "GET /members",
			Exceptions: []event.Exception{{Type: "TypeError", Frames: []event.Frame{{Filename: "../../sentry/scripts/views.js", Function: "poll", InApp: new(true)}}}}},
			"views.js in updateMember"},
		{"the SDK's culprit without an exception", event.Event{SDKCulprit: "app.jobs in nightly", Message: "m"}, "app.jobs in nightly"},
		// What @sentry/browser 11.12.0 sent for Promise.reject("string
		// rejection"): no frames, no transaction, the page in request.url.
		{"the request's URL without frames", event.Event{Platform: "javascript", Request: &event.Request{URL: "http://shop.example/checkout/step-2?coupon=X#pay"},
			Exceptions: []event.Exception{{Type: "UnhandledRejection", Value: "Non-Error promise rejection captured with value: string rejection"}}},
			"http://shop.example/checkout/step-2"},
		{"a message without a stack in a request", event.Event{Message: "m", Request: &event.Request{URL: "https://api.example/orders"}}, "https://api.example/orders"},
		{"the frames win over the request", event.Event{Platform: "javascript", Request: &event.Request{URL: "http://shop.example/"},
			Exceptions: []event.Exception{{Type: "TypeError", Frames: []event.Frame{{Filename: "http://shop.example/app.js", Function: "f", InApp: new(true)}}}}},
			"/app.js in f"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := tc.ev.Culprit()
			if got := DisplayCulprit(tc.ev); got != tc.want {
				t.Errorf("DisplayCulprit = %q, want %q", got, tc.want)
			}
			if tc.ev.Culprit() != raw {
				t.Error("DisplayCulprit changed the event")
			}
		})
	}
}
