package stacktrace

import (
	"reflect"
	"testing"

	"github.com/getflytrap/flytrap/internal/event"
)

func TestDisplayNames(t *testing.T) {
	tests := []struct {
		name   string
		frames []event.Frame
		want   []string
	}{
		{"browser URLs lose their origin", []event.Frame{
			{Filename: "http://localhost:5173/src/app.js"},
			{Filename: "https://shop.example.com/static/js/main.3f9a1c2b.js?v=4#x"},
			{AbsPath: "app:///src/cart.js"},
		}, []string{"/src/app.js", "/static/js/main.3f9a1c2b.js", "/src/cart.js"}},
		{"node: root from an app frame's module", []event.Frame{
			{Filename: "/home/app/srv/node_modules/express/lib/router/layer.js", Module: "express.lib.router:layer"},
			{Filename: "/home/app/srv/routes/users.js", Module: "routes:users"},
			{Filename: "/home/app/srv/server.js", Module: "server"},
			{Filename: "node:internal/process/task_queues"},
		}, []string{"node_modules/express/lib/router/layer.js", "routes/users.js", "server.js", "node:internal/process/task_queues"}},
		{"node: module in the root directory", []event.Frame{
			{Filename: "/var/task/index.mjs", Module: "index"},
			{Filename: "/var/task/lib/db.mjs", Module: "lib:db"},
		}, []string{"index.mjs", "lib/db.mjs"}},
		{"node: nested module directory", []event.Frame{
			{Filename: "/srv/app/src/handlers/v2/orders.cjs", Module: "src.handlers.v2:orders"},
		}, []string{"src/handlers/v2/orders.cjs"}},
		{"node: a module that does not match the path reveals nothing", []event.Frame{
			{Filename: "/srv/app/routes/users.js", Module: "other:users"},
		}, []string{"/srv/app/routes/users.js"}},
		{"node file URL", []event.Frame{
			{Filename: "file:///srv/app/routes/users.mjs", Module: "routes:users"},
		}, []string{"/srv/app/routes/users.mjs"}},
		{"shortened paths stay", []event.Frame{
			{Filename: "app.js", AbsPath: "/srv/app/app.js"},
			{Filename: "routes/users.js"},
			{Filename: "django/core/handlers/base.py", AbsPath: "/usr/lib/python3/site-packages/django/core/handlers/base.py"},
		}, []string{"app.js", "routes/users.js", "django/core/handlers/base.py"}},
		{"no location", []event.Frame{{Module: "shop.views", Function: "get"}}, []string{""}},
		{"engine locations", []event.Frame{{Filename: "<anonymous>"}, {Filename: "[native code]"}}, []string{"<anonymous>", "[native code]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := append([]event.Frame(nil), tc.frames...)
			if got := DisplayNames(tc.frames); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("DisplayNames = %q, want %q", got, tc.want)
			}
			if !reflect.DeepEqual(before, tc.frames) {
				t.Error("DisplayNames changed the frames")
			}
		})
	}
}
