package grouping

import (
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/event"
)

var (
	yes = true
	no  = false
)

// app and lib build in-app and library frames.
func app(file, fn string, line int) event.Frame {
	return event.Frame{Filename: file, AbsPath: "/srv/app/" + file, Function: fn, Lineno: line, Colno: 7, InApp: &yes}
}

func lib(file, fn string, line int) event.Frame {
	return event.Frame{Filename: file, AbsPath: "/srv/app/" + file, Function: fn, Lineno: line, InApp: &no}
}

// exc builds an event with one exception.
func exc(typ, value string, frames ...event.Frame) *event.Event {
	return &event.Event{Level: "error", Exceptions: []event.Exception{{Type: typ, Value: value, Frames: frames}}}
}

// withFingerprint sets a custom fingerprint on an event.
func withFingerprint(ev *event.Event, fp ...string) *event.Event {
	ev.Fingerprint = fp
	return ev
}

// sdkEvent builds an event as the QA report's envelopes send it: a
// transaction, tags, and one exception without frames.
func sdkEvent(transaction, typ string, tags ...string) *event.Event {
	ev := &event.Event{Level: "error", Transaction: transaction,
		Exceptions: []event.Exception{{Type: typ, Value: "x"}}}
	for i := 0; i+1 < len(tags); i += 2 {
		ev.Tags = append(ev.Tags, event.Tag{Key: tags[i], Value: tags[i+1]})
	}
	return ev
}

// onPlatform builds an event of an SDK's platform with one exception.
func onPlatform(platform, typ string, frames ...event.Frame) *event.Event {
	return &event.Event{Platform: platform, Level: "error",
		Exceptions: []event.Exception{{Type: typ, Value: "x", Frames: frames}}}
}

// phpFrame is an in-app frame as sentry-php sends it: absolute filename and
// abs_path, no module.
func phpFrame(path, fn string, line int) event.Frame {
	return event.Frame{Filename: path, AbsPath: path, Function: fn, Lineno: line, InApp: &yes}
}

// javaFrame is a frame as sentry-java sends it: module (the class),
// function (the method) and the class's source file.
func javaFrame(module, fn, file string) event.Frame {
	return event.Frame{Module: module, Function: fn, Filename: file, AbsPath: file, Lineno: 42, InApp: &yes}
}

// synthetic builds a message event carrying a synthetic exception, as
// captureMessage with attachStacktrace sends it.
func synthetic(msg, typ string, frames ...event.Frame) *event.Event {
	return &event.Event{Level: "info", Message: msg, Exceptions: []event.Exception{{Type: typ, Value: msg,
		Mechanism: &event.Mechanism{Type: "generic", Synthetic: true}, Frames: frames}}}
}

// lambdaTimeout builds a Python timeout warning of one function.
func lambdaTimeout(function string, seconds string) *event.Event {
	return &event.Event{Level: "error",
		Contexts: []byte(`{"aws.lambda": {"function_name": "` + function + `"}}`),
		Exceptions: []event.Exception{{Type: "ServerlessTimeoutWarning",
			Value:  "WARNING : Function is expected to get timed out. Configured timeout duration = " + seconds + " seconds.",
			Frames: []event.Frame{lib("sentry_sdk/utils.py", "run", 1523)}}}}
}

// symbolicated builds an exception whose frames symbolication made of
// raw: mapped[i] is frame i as rewritten, with the name the map gave (or
// raw's, where it gave none).
func symbolicated(raw []event.Frame, mapped ...event.Frame) *event.Event {
	return &event.Event{Level: "error", Exceptions: []event.Exception{{Type: "TypeError", Value: "x",
		Frames: mapped, RawFrames: raw}}}
}

// native builds a native crash as sentry-native sends it: a synthetic
// exception named by the signal.
func native(signal string, frames ...event.Frame) *event.Event {
	return &event.Event{Level: "fatal", Platform: "native", Exceptions: []event.Exception{{Type: signal, Value: "Segfault",
		Mechanism: &event.Mechanism{Type: "signalhandler", Synthetic: true}, Frames: frames}}}
}

// nf builds an unsymbolicated native frame: an address in an image.
func nf(addr, pkg, image string) event.Frame {
	return event.Frame{InstructionAddr: addr, Package: pkg, ImageAddr: image}
}

// original marks f's function as symbolication found it: the source's.
func original(f event.Frame) event.Frame {
	f.OriginalFunction = true
	return f
}

// minified builds a frame of a bundle served from url.
func minified(url, fn string, line, col int) event.Frame {
	return event.Frame{AbsPath: url, Filename: url, Function: fn, Lineno: line, Colno: col, InApp: &yes}
}

// withVars gives every frame of ev the local variables vars: which issue
// an event joins never depends on them, or every request would open one.
func withVars(ev *event.Event, vars string) *event.Event {
	for i := range ev.Exceptions {
		for j := range ev.Exceptions[i].Frames {
			ev.Exceptions[i].Frames[j].Vars = json.RawMessage(vars)
		}
	}
	return ev
}

func TestGroupSameOrDifferent(t *testing.T) {
	base := func() *event.Event {
		return exc("TypeError", "x is undefined",
			lib("node_modules/express/lib/router/layer.js", "Layer.handle", 95),
			app("src/routes.js", "getUser", 42),
			app("src/db.js", "findUser", 10))
	}
	tests := []struct {
		name string
		a, b *event.Event
		same bool
	}{
		{"identical", base(), base(), true},
		{"line and column numbers differ", base(),
			exc("TypeError", "x is undefined",
				lib("node_modules/express/lib/router/layer.js", "Layer.handle", 96),
				app("src/routes.js", "getUser", 57),
				event.Frame{Filename: "src/db.js", Function: "findUser", Lineno: 11, Colno: 99, InApp: &yes}),
			true},
		{"exception value differs", base(),
			exc("TypeError", "y is undefined",
				lib("node_modules/express/lib/router/layer.js", "Layer.handle", 95),
				app("src/routes.js", "getUser", 42),
				app("src/db.js", "findUser", 10)),
			true},
		{"local variables differ", base(), withVars(base(), `{"user_id":7,"password":"[Filtered]"}`), true},
		{"library frames differ", base(),
			exc("TypeError", "x is undefined",
				lib("node_modules/koa/lib/application.js", "handleRequest", 1),
				app("src/routes.js", "getUser", 42),
				app("src/db.js", "findUser", 10)),
			true},
		{"different function", base(),
			exc("TypeError", "x is undefined",
				lib("node_modules/express/lib/router/layer.js", "Layer.handle", 95),
				app("src/routes.js", "getUser", 42),
				app("src/db.js", "findOrder", 10)),
			false},
		{"different file", base(),
			exc("TypeError", "x is undefined",
				lib("node_modules/express/lib/router/layer.js", "Layer.handle", 95),
				app("src/routes.js", "getUser", 42),
				app("src/cache.js", "findUser", 10)),
			false},
		{"different exception type", base(),
			exc("RangeError", "x is undefined",
				lib("node_modules/express/lib/router/layer.js", "Layer.handle", 95),
				app("src/routes.js", "getUser", 42),
				app("src/db.js", "findUser", 10)),
			false},
		{"no in-app frame: all frames count",
			exc("Error", "boom", lib("node_modules/pg/lib/client.js", "connect", 1), lib("node:net", "afterConnect", 2)),
			exc("Error", "boom", lib("node_modules/pg/lib/client.js", "connect", 1), lib("node:net", "onError", 2)),
			false},
		{"unmarked frames count as not in-app",
			exc("Error", "boom", event.Frame{Filename: "a.js", Function: "f"}, app("b.js", "g", 1)),
			exc("Error", "boom", event.Frame{Filename: "a.js", Function: "other"}, app("b.js", "g", 1)),
			true},
		{"minified bundle hash, host and query string differ",
			exc("TypeError", "e is null",
				minified("https://shop.example.com/static/js/main.3f9a1c2b.js?v=41", "ProductList", 2, 104521)),
			exc("TypeError", "e is null",
				minified("https://cdn.example.net/static/js/main.8e7d6c5b.js?v=42", "ProductList", 2, 104987)),
			true},
		{"vite bundle hash differs",
			exc("TypeError", "e is null", minified("https://x.example/assets/index-D8b4DHJx.js", "render", 1, 5)),
			exc("TypeError", "e is null", minified("https://x.example/assets/index-B_x-Yz12.js", "render", 1, 9)),
			true},
		{"different bundle",
			exc("TypeError", "e is null", minified("https://x.example/static/js/main.3f9a1c2b.js", "render", 1, 5)),
			exc("TypeError", "e is null", minified("https://x.example/static/js/admin.3f9a1c2b.js", "render", 1, 5)),
			false},
		{"recursion depth differs",
			exc("RangeError", "Maximum call stack size exceeded",
				app("tree.js", "main", 1), app("tree.js", "walk", 5), app("tree.js", "walk", 5), app("tree.js", "walk", 5)),
			exc("RangeError", "Maximum call stack size exceeded",
				app("tree.js", "main", 1), app("tree.js", "walk", 5)),
			true},
		{"python module wins over a deploy-specific path",
			exc("ValueError", "bad",
				event.Frame{Module: "shop.views", AbsPath: "/srv/releases/41/shop/views.py", Function: "get", InApp: &yes}),
			exc("ValueError", "bad",
				event.Frame{Module: "shop.views", AbsPath: "/srv/releases/42/shop/views.py", Function: "get", InApp: &yes}),
			true},
		{"chained cause type differs",
			&event.Event{Exceptions: []event.Exception{
				{Type: "KeyError", Frames: []event.Frame{app("cache.py", "get", 8)}},
				{Type: "LookupError", Frames: []event.Frame{app("views.py", "show", 3)}}}},
			&event.Event{Exceptions: []event.Exception{
				{Type: "IndexError", Frames: []event.Frame{app("cache.py", "get", 8)}},
				{Type: "LookupError", Frames: []event.Frame{app("views.py", "show", 3)}}}},
			false},
		{"no frames: masked values equal", exc("TimeoutError", "timed out after 30s"), exc("TimeoutError", "timed out after 45s"), true},
		{"no frames: values differ", exc("TimeoutError", "read timed out"), exc("TimeoutError", "write timed out"), false},
		{"no frames: types differ", exc("TimeoutError", "timed out"), exc("ConnectionError", "timed out"), false},
		{"message masked", &event.Event{Message: "user 123 not found"}, &event.Event{Message: "user 456 not found"}, true},
		{"message differs", &event.Event{Message: "user not found"}, &event.Event{Message: "order not found"}, false},
		{"message or untyped exception value", &event.Event{Message: "db down"}, exc("", "db down"), true},
		{"custom fingerprint wins over exceptions",
			withFingerprint(base(), "database-unavailable"),
			withFingerprint(exc("RangeError", "other"), "database-unavailable"),
			true},
		{"different custom fingerprints",
			withFingerprint(base(), "tenant-a"), withFingerprint(base(), "tenant-b"), false},
		{"default placeholder spellings",
			withFingerprint(base(), "{{ default }}", "tenant-a"), withFingerprint(base(), "{{default}}", "tenant-a"), true},
		{"default placeholder with another exception",
			withFingerprint(base(), "{{ default }}", "tenant-a"),
			withFingerprint(exc("RangeError", "x"), "{{ default }}", "tenant-a"),
			false},
		{"default placeholder with another entry",
			withFingerprint(base(), "{{ default }}", "tenant-a"), withFingerprint(base(), "{{ default }}", "tenant-b"), false},
		{"default placeholder alone is default grouping", withFingerprint(base(), "{{ default }}"), base(), true},
		{"default placeholder and custom entry split from default", withFingerprint(base(), "{{ default }}", "x"), base(), false},
		// Finding 2 of the QA report: variables other than default were
		// literal text, so every event with one fingerprint was one issue.
		{"transaction variable, transactions differ",
			withFingerprint(sdkEvent("/checkout", "E_checkout"), "{{ transaction }}"),
			withFingerprint(sdkEvent("/admin/users", "E_admin_users"), "{{ transaction }}"),
			false},
		{"transaction variable, one transaction, other errors",
			withFingerprint(sdkEvent("/checkout", "E_checkout"), "{{ transaction }}"),
			withFingerprint(sdkEvent("/checkout", "RangeError"), "{{ transaction }}"),
			true},
		{"type variable beside a literal",
			withFingerprint(sdkEvent("/checkout", "OperationalError"), "{{ type }}", "db"),
			withFingerprint(sdkEvent("/checkout", "IntegrityError"), "{{ type }}", "db"),
			false},
		{"error.type is type",
			withFingerprint(sdkEvent("/a", "OperationalError"), "{{ error.type }}"),
			withFingerprint(sdkEvent("/b", "OperationalError"), "{{type}}"),
			true},
		{"tag variable, values differ",
			withFingerprint(sdkEvent("/checkout", "E", "region", "eu-west-1"), "{{ tags.region }}"),
			withFingerprint(sdkEvent("/checkout", "E", "region", "us-east-1"), "{{ tags.region }}"),
			false},
		{"tag variable, one value",
			withFingerprint(sdkEvent("/checkout", "E", "region", "eu-west-1"), "{{ tags.region }}"),
			withFingerprint(sdkEvent("/admin", "F", "region", "eu-west-1"), "{{ tags.region }}"),
			true},
		{"tag variable, tag missing on one",
			withFingerprint(sdkEvent("/checkout", "E", "region", "eu-west-1"), "{{ tags.region }}"),
			withFingerprint(sdkEvent("/checkout", "E"), "{{ tags.region }}"),
			false},
		{"tag variable, tag missing on both",
			withFingerprint(sdkEvent("/checkout", "E"), "{{ tags.region }}"),
			withFingerprint(sdkEvent("/admin", "F", "zone", "b"), "{{ tags.region }}"),
			true},
		{"variable spellings",
			withFingerprint(sdkEvent("/checkout", "E"), "{{transaction}}"),
			withFingerprint(sdkEvent("/checkout", "F"), " {{  transaction\t}} "),
			true},
		{"level and logger variables",
			withFingerprint(&event.Event{Level: "warning", Logger: "payments", Message: "a"}, "{{ level }}", "{{ logger }}"),
			withFingerprint(&event.Event{Level: "warning", Logger: "payments.stripe", Message: "a"}, "{{ level }}", "{{ logger }}"),
			false},
		{"message variable is masked",
			withFingerprint(&event.Event{Message: "order 17 not found"}, "{{ message }}"),
			withFingerprint(exc("LookupError", "order 42 not found", app("a.py", "f", 1)), "{{ message }}"),
			true},
		{"function variable reads the crash frame",
			withFingerprint(exc("E", "x", app("a.js", "outer", 1), app("b.js", "inner", 2), lib("c.js", "lib", 3)), "{{ function }}"),
			withFingerprint(exc("F", "y", app("z.js", "inner", 9)), "{{ function }}"),
			true},
		{"variable names are case-sensitive: literal text",
			withFingerprint(sdkEvent("/checkout", "E"), "{{ Transaction }}"),
			withFingerprint(sdkEvent("/admin", "F"), "{{ Transaction }}"),
			true},
		{"unknown variable is literal text",
			withFingerprint(sdkEvent("/checkout", "E"), "{{ route }}"),
			withFingerprint(sdkEvent("/admin", "F"), "{{ route }}"),
			true},
		// Finding 6 of the QA report: generated names made an issue per
		// deployment, process or run.
		{"php: Deployer release directories differ",
			onPlatform("php", "TypeError",
				phpFrame("/var/www/app/releases/41/public/index.php", "{main}", 20),
				phpFrame("/var/www/app/releases/41/src/Controller/CartController.php", "App\\Controller\\CartController::show", 42)),
			onPlatform("php", "TypeError",
				phpFrame("/var/www/app/releases/42/public/index.php", "{main}", 20),
				phpFrame("/var/www/app/releases/42/src/Controller/CartController.php", "App\\Controller\\CartController::show", 57)),
			true},
		{"php: Windows paths",
			onPlatform("php", "TypeError", phpFrame(`C:\inetpub\shop\releases\41\src\Cart.php`, "App\\Cart::total", 3)),
			onPlatform("php", "TypeError", phpFrame(`C:\inetpub\shop\releases\42\src\Cart.php`, "App\\Cart::total", 3)),
			true},
		{"php: different files",
			onPlatform("php", "TypeError", phpFrame("/var/www/app/releases/41/src/Cart.php", "App\\Cart::total", 3)),
			onPlatform("php", "TypeError", phpFrame("/var/www/app/releases/41/src/Order.php", "App\\Cart::total", 3)),
			false},
		{"php: anonymous class and closure named after their release's path",
			onPlatform("php", "Error",
				phpFrame("/var/www/app/releases/41/routes/web.php", "{closure:/var/www/app/releases/41/routes/web.php:15}", 16),
				phpFrame("/var/www/app/releases/41/src/Jobs.php", "class@anonymous\x00/var/www/app/releases/41/src/Jobs.php:12$0::handle", 14)),
			onPlatform("php", "Error",
				phpFrame("/var/www/app/releases/42/routes/web.php", "{closure:/var/www/app/releases/42/routes/web.php:18}", 19),
				phpFrame("/var/www/app/releases/42/src/Jobs.php", "class@anonymous\x00/var/www/app/releases/42/src/Jobs.php:12$0::handle", 14)),
			true},
		{"php: anonymous classes' methods differ",
			onPlatform("php", "Error", phpFrame("/app/src/Jobs.php", "class@anonymous/app/src/Jobs.php:12$0::handle", 14)),
			onPlatform("php", "Error", phpFrame("/app/src/Jobs.php", "class@anonymous/app/src/Jobs.php:12$0::retry", 14)),
			false},
		{"directories still count on other platforms",
			onPlatform("javascript", "TypeError", app("src/admin/index.js", "render", 1)),
			onPlatform("javascript", "TypeError", app("src/shop/index.js", "render", 1)),
			false},
		{"ruby: ERB template methods of two processes",
			onPlatform("ruby", "NoMethodError",
				event.Frame{Filename: "app/views/carts/show.html.erb", Function: "_app_views_carts_show_html_erb__4151236423534622352_70214356829680", InApp: &yes}),
			onPlatform("ruby", "NoMethodError",
				event.Frame{Filename: "app/views/carts/show.html.erb", Function: "_app_views_carts_show_html_erb___1096937237526342178_47120", InApp: &yes}),
			true},
		{"ruby: different templates",
			onPlatform("ruby", "NoMethodError",
				event.Frame{Filename: "app/views/carts/show.html.erb", Function: "_app_views_carts_show_html_erb__4151236423534622352_70214356829680", InApp: &yes}),
			onPlatform("ruby", "NoMethodError",
				event.Frame{Filename: "app/views/carts/show.html.erb", Function: "_app_views_carts_edit_html_erb__4151236423534622352_70214356829680", InApp: &yes}),
			false},
		{"java: lambda classes of two runs, JDK 17 and 21",
			onPlatform("java", "java.lang.IllegalStateException",
				javaFrame("com.example.Worker$$Lambda$1234/0x0000000800c0a440", "run", ""),
				javaFrame("com.example.Worker", "lambda$process$0", "Worker.java")),
			onPlatform("java", "java.lang.IllegalStateException",
				javaFrame("com.example.Worker$$Lambda/0x000000f0010a4b20", "run", ""),
				javaFrame("com.example.Worker", "lambda$process$3", "Worker.java")),
			true},
		{"java: lambdas of different classes",
			onPlatform("java", "java.lang.IllegalStateException", javaFrame("com.example.Worker$$Lambda$1234/0x0000000800c0a440", "run", "")),
			onPlatform("java", "java.lang.IllegalStateException", javaFrame("com.example.Mailer$$Lambda$1234/0x0000000800c0a440", "run", "")),
			false},
		{"java: lambda bodies of different methods",
			onPlatform("java", "E", javaFrame("com.example.Worker", "lambda$process$0", "Worker.java")),
			onPlatform("java", "E", javaFrame("com.example.Worker", "lambda$retry$0", "Worker.java")),
			false},
		{"java: proxies and CGLIB classes of two runs",
			onPlatform("java", "org.springframework.dao.DataAccessException",
				javaFrame("jdk.proxy2.$Proxy12", "save", ""),
				javaFrame("com.example.OrderService$$EnhancerBySpringCGLIB$$4d5e6f7a", "place", "<generated>"),
				javaFrame("com.example.CartService$$SpringCGLIB$$0", "total", "<generated>"),
				javaFrame("com.example.User$HibernateProxy$oRWxjAWT", "getName", "<generated>"),
				javaFrame("com.example.Api$$EnhancerByGuice$$ae46b1bf$$FastClassByGuice$$caceacd2", "invoke", "<generated>"),
				javaFrame("jdk.internal.reflect.GeneratedMethodAccessor57", "invoke", "")),
			onPlatform("java", "org.springframework.dao.DataAccessException",
				javaFrame("jdk.proxy3.$Proxy45", "save", ""),
				javaFrame("com.example.OrderService$$EnhancerBySpringCGLIB$$9a8b7c6d", "place", "<generated>"),
				javaFrame("com.example.CartService$$SpringCGLIB$$1", "total", "<generated>"),
				javaFrame("com.example.User$HibernateProxy$Xk3mPq9Z", "getName", "<generated>"),
				javaFrame("com.example.Api$$EnhancerByGuice$$0b1c2d3e$$FastClassByGuice$$99aa00bb", "invoke", "<generated>"),
				javaFrame("jdk.internal.reflect.GeneratedMethodAccessor112", "invoke", "")),
			true},
		{"java: proxies of different classes",
			onPlatform("java", "E", javaFrame("com.example.OrderService$$EnhancerBySpringCGLIB$$4d5e6f7a", "place", "")),
			onPlatform("java", "E", javaFrame("com.example.CartService$$EnhancerBySpringCGLIB$$4d5e6f7a", "place", "")),
			false},
		{"synthetic exception type is ignored",
			synthetic("db slow", "EXC_BAD_ACCESS", app("src/db.js", "query", 3)),
			synthetic("db slow", "SIGSEGV", app("src/db.js", "query", 3)),
			true},
		{"synthetic stacks differ",
			synthetic("db slow", "", app("src/db.js", "query", 3)),
			synthetic("db slow", "", app("src/db.js", "connect", 3)),
			false},
		{"synthetic type alone does not group: message does",
			synthetic("db slow", "EXC_BAD_ACCESS"), &event.Event{Message: "db slow"}, true},
		// Two builds of one bug: the minifier named the class Qt, then
		// Qz, and the top frame's function name came from no map.
		{"symbolicated frames keeping another build's minified name",
			symbolicated([]event.Frame{minified("https://x.example/app.1.js", "Qt.checkoutTotal", 1, 501), minified("https://x.example/app.1.js", "a", 1, 900)},
				app("src/cart.js", "Qt.checkoutTotal", 11), app("src/main.js", "onClick", 3)),
			symbolicated([]event.Frame{minified("https://x.example/app.2.js", "Qz.checkoutTotal", 1, 507), minified("https://x.example/app.2.js", "b", 1, 911)},
				app("src/cart.js", "Qz.checkoutTotal", 11), app("src/main.js", "onClick", 3)),
			true},
		{"symbolicated frames whose map named different functions",
			symbolicated([]event.Frame{minified("https://x.example/app.1.js", "n", 1, 501)}, app("src/cart.js", "checkoutTotal", 11)),
			symbolicated([]event.Frame{minified("https://x.example/app.1.js", "n", 1, 601)}, app("src/cart.js", "applyCoupon", 11)),
			false},
		// QA's two methods calling alike: the SDK's names, which the
		// minifier kept, take part once symbolication finds them the
		// source's (2026-12g), and not while it cannot tell.
		{"symbolicated frames, two methods the minifier kept",
			symbolicated([]event.Frame{minified("https://x.example/app.1.js", "Object.loadUsers", 1, 501)}, original(app("src/api.js", "Object.loadUsers", 4))),
			symbolicated([]event.Frame{minified("https://x.example/app.1.js", "Object.loadOrders", 1, 601)}, original(app("src/api.js", "Object.loadOrders", 4))),
			false},
		{"symbolicated frames, two names symbolication could not check",
			symbolicated([]event.Frame{minified("https://x.example/app.1.js", "Object.loadUsers", 1, 501)}, app("src/api.js", "Object.loadUsers", 4)),
			symbolicated([]event.Frame{minified("https://x.example/app.1.js", "Object.loadOrders", 1, 601)}, app("src/api.js", "Object.loadOrders", 4)),
			true},
		{"lambda timeouts of one function, other seconds",
			lambdaTimeout("checkout-api", "6"), lambdaTimeout("checkout-api", "15"), true},
		{"lambda timeout, runtime log line and SDK warning",
			lambdaTimeout("checkout-api", "6"),
			&event.Event{Message: "Task timed out after 6.01 seconds", Contexts: []byte(`{"aws.lambda": {"function_name": "checkout-api"}}`)},
			true},
		{"lambda timeouts of two functions",
			lambdaTimeout("checkout-api", "6"), lambdaTimeout("report-builder", "6"), false},
		{"custom fingerprint wins over a lambda timeout",
			withFingerprint(lambdaTimeout("checkout-api", "6"), "all-timeouts"),
			withFingerprint(lambdaTimeout("report-builder", "6"), "all-timeouts"), true},
		{"native crash, same site, images loaded elsewhere (ASLR)",
			native("SIGSEGV", nf("0x55d0c0a011f0", "/opt/app/bin/crashy", "0x55d0c0a00000")),
			native("SIGSEGV", nf("0x5612aa3011f0", "/opt/app/bin/crashy", "0x5612aa300000")), true},
		{"native crash, same signal, another site",
			native("SIGSEGV", nf("0x55d0c0a011f0", "/opt/app/bin/crashy", "0x55d0c0a00000")),
			native("SIGSEGV", nf("0x55d0c0a02400", "/opt/app/bin/crashy", "0x55d0c0a00000")), false},
		{"native crash, same offset in another library",
			native("SIGSEGV", nf("0x7f0000001f0", "/opt/app/lib/libfoo.so", "0x7f000000000")),
			native("SIGSEGV", nf("0x7f0000001f0", "/opt/app/lib/libbar.so", "0x7f000000000")), false},
		{"native crash, one package path per install",
			native("SIGSEGV", nf("0x7f0000001f0", "/opt/app-1.2/lib/libfoo.so", "0x7f000000000")),
			native("SIGSEGV", nf("0x7f1000001f0", `C:\Program Files\App\libfoo.so`, "0x7f100000000")), true},
		{"native crash, relative addresses",
			native("SIGSEGV", event.Frame{InstructionAddr: "0x1f0", AddrMode: "rel:2", Package: "/opt/app/lib/libfoo.so", InApp: &yes}),
			native("SIGSEGV", nf("0x7f1000001f0", "/opt/app/lib/libfoo.so", "0x7f100000000")), true},
		{"fallback same level and transaction",
			&event.Event{Level: "warning", Transaction: "/checkout"}, &event.Event{Level: "warning", Transaction: "/checkout"}, true},
		{"fallback level differs",
			&event.Event{Level: "warning", Transaction: "/checkout"}, &event.Event{Level: "error", Transaction: "/checkout"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := Group(tc.a), Group(tc.b)
			if (a.Hash == b.Hash) != tc.same {
				t.Errorf("same = %v, want %v\n a: %s %q\n b: %s %q", a.Hash == b.Hash, tc.same,
					a.Method, a.Components, b.Method, b.Components)
			}
		})
	}
}

func TestGroupComponents(t *testing.T) {
	tests := []struct {
		name   string
		ev     *event.Event
		method string
		comps  []string
	}{
		{"exception with in-app frames",
			exc("TypeError", "x", lib("node_modules/a/b.js", "lib", 1), app("src/a.js", "f", 1), app("src/b.js", "", 2)),
			MethodException, []string{"type=TypeError", "file=src/a.js", "function=f", "file=src/b.js", "function="}},
		{"frame without file or function is skipped",
			exc("Error", "x", event.Frame{Lineno: 3, InApp: &yes}, event.Frame{AbsPath: "https://h.example/a.js?x=1#y", Function: " g ", InApp: &yes}),
			MethodException, []string{"type=Error", "file=/a.js", "function=g"}},
		{"chain, one exception without frames",
			&event.Event{Exceptions: []event.Exception{
				{Type: "KeyError", Value: "'order_42'"},
				{Type: "LookupError", Value: "miss", Frames: []event.Frame{{Module: "shop.cache", Function: "get"}}}}},
			MethodException, []string{"type=KeyError", "value='<id>'", "type=LookupError", "module=shop.cache", "function=get"}},
		{"exception without frames", exc("TimeoutError", "after 30s"),
			MethodException, []string{"type=TimeoutError", "value=after <int>s"}},
		{"message", &event.Event{Message: "disk 93% full", Exceptions: []event.Exception{{Value: "ignored"}}},
			MethodMessage, []string{"message=disk <int>% full"}},
		{"outermost exception value", &event.Event{Exceptions: []event.Exception{{Value: "inner"}, {Value: "outer 1"}, {}}},
			MethodMessage, []string{"message=outer <int>"}},
		{"fallback", &event.Event{Level: "fatal", Transaction: "GET /orders"},
			MethodFallback, []string{"level=fatal", "culprit=GET /orders"}},
		{"synthetic exception of captureMessage",
			synthetic("Checkout total mismatch", "", lib("node_modules/react-dom/index.js", "commit", 1), app("src/checkout.js", "submitOrder", 42)),
			MethodException, []string{"type=", "file=src/checkout.js", "function=submitOrder"}},
		{"synthetic exception with a type",
			synthetic("crash", "EXC_BAD_ACCESS", app("main.c", "main", 1)),
			MethodException, []string{"type=", "file=main.c", "function=main"}},
		{"native frames without a function: package and offset, never the absolute address",
			native("SIGSEGV",
				nf("0x7f3a1c029d90", "/usr/lib/x86_64-linux-gnu/libc.so.6", "0x7f3a1c000000"),
				event.Frame{InstructionAddr: "0x55d0c0a011f0"}, // in no known image
				nf("0x55d0c0a011f0", "/opt/app/bin/crashy", "0x55d0c0a00000"),
				event.Frame{InstructionAddr: "0x55d0c0a01200", SymbolAddr: "0x55d0c0a01100", Function: "crash", Package: "/opt/app/bin/crashy", ImageAddr: "0x55d0c0a00000"}),
			MethodException, []string{"type=", "package=libc.so.6", "offset=0x29d90", "package=crashy", "offset=0x11f0", "file=", "function=crash"}},
		{"lambda timeout", lambdaTimeout("checkout-api", "6"),
			MethodLambdaTimeout, []string{"function=checkout-api"}},
		{"php frame by file name",
			onPlatform("php", "TypeError", phpFrame("/var/www/app/releases/42/src/Cart.php", "{closure:App\\Cart::total():12}", 14)),
			MethodException, []string{"type=TypeError", "file=Cart.php", "function={closure}"}},
		{"ruby template method",
			onPlatform("ruby", "NoMethodError", event.Frame{Filename: "app/views/carts/show.html.erb",
				Function: "_app_views_carts_show_html_erb___4151236423534622352_70214356829680", InApp: &yes}),
			MethodException, []string{"type=NoMethodError", "file=app/views/carts/show.html.erb", "function=_app_views_carts_show_html_erb"}},
		{"java generated classes",
			onPlatform("java", "E",
				javaFrame("com.example.Worker$$Lambda$1234/0x0000000800c0a440", "run", ""),
				javaFrame("com.example.Worker", "lambda$process$0", "Worker.java"),
				javaFrame("com.sun.proxy.$Proxy12", "save", ""),
				javaFrame("io.sentry.sample.-$$Lambda$MainActivity$tVGPRGxxb8SivUa5SKhzp6BuXOI", "onClick", ""),
				javaFrame("myapp.core$handler$fn__12345", "invoke", "core.clj")),
			MethodException, []string{"type=E",
				"module=com.example.Worker$$Lambda<auto>", "function=run",
				"module=com.example.Worker", "function=lambda$process$<auto>",
				"module=com.sun.proxy.$Proxy<auto>", "function=save",
				"module=io.sentry.sample.-$$Lambda$MainActivity$tVGPRGxxb8SivUa5SKhzp6BuXOI", "function=onClick",
				"module=myapp.core$handler$fn__<auto>", "function=invoke"}},
		{"fingerprint variables",
			withFingerprint(&event.Event{Level: "error", Logger: "shop", Transaction: "/checkout", Message: "order 17 failed",
				Tags: []event.Tag{{Key: "region", Value: "eu"}},
				Exceptions: []event.Exception{{Type: "KeyError", Value: "'total'", Frames: []event.Frame{
					{Module: "shop.views", Function: "checkout", Package: "/srv/venv/lib/shop.so", AbsPath: "/srv/shop/views.py", Filename: "shop/views.py", InApp: &yes},
					{Module: "json", Function: "loads", InApp: &no}}}}},
				"{{ transaction }}", "{{type}}", "{{ error.value }}", "{{ message }}", "{{ level }}", "{{ logger }}",
				"{{ tags.region }}", "{{ function }}", "{{ stack.module }}", "{{ package }}", "{{ path }}", "{{ stack.filename }}"),
			MethodFingerprint, []string{"/checkout", "KeyError", "'total'", "order <int> failed", "error", "shop",
				"eu", "checkout", "shop.views", "shop.so", "/srv/shop/views.py", "shop/views.py"}},
		{"fingerprint variables without values",
			withFingerprint(&event.Event{},
				"{{ transaction }}", "{{ type }}", "{{ value }}", "{{ message }}", "{{ level }}", "{{ logger }}",
				"{{ tags.region }}", "{{ function }}", "{{ module }}", "{{ stack.package }}", "{{ stack.abs_path }}", "{{ stack.filename }}"),
			MethodFingerprint, []string{"<no-transaction>", "<no-type>", "<no-value>", "<no-message>", "<no-level>", "<no-logger>",
				"<no-value-for-tag-region>", "<no-function>", "<no-module>", "<no-package>", "<no-abs-path>", "<no-filename>"}},
		{"fingerprint entries that are no variables",
			withFingerprint(&event.Event{Transaction: "/checkout"}, "{{ route }}", "{{ Transaction }}", "{{ tags.a b }}", "{{}}", "x {{ transaction }}"),
			MethodFingerprint, []string{"{{ route }}", "{{ Transaction }}", "{{ tags.a b }}", "{{}}", "x {{ transaction }}"}},
		{"fingerprint with default",
			withFingerprint(exc("E", "v", app("a.js", "f", 1)), "tenant", "{{ default }}"),
			MethodFingerprint, []string{"tenant", "type=E", "file=a.js", "function=f"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Group(tc.ev)
			if r.Method != tc.method || !reflect.DeepEqual(r.Components, tc.comps) {
				t.Errorf("got %s %q, want %s %q", r.Method, r.Components, tc.method, tc.comps)
			}
			if r.Version != Version {
				t.Errorf("Version = %q", r.Version)
			}
			if !hashPattern.MatchString(r.Hash) {
				t.Errorf("Hash = %q, want 32 hex characters", r.Hash)
			}
			if r.Hash != hashComponents(r.Method, r.Components) {
				t.Error("Hash is not the hash of Method and Components")
			}
		})
	}
}

var hashPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestHashComponentsUnambiguous(t *testing.T) {
	lists := [][]string{
		{"ab", "c"}, {"a", "bc"}, {"abc"}, {"a", "b", "c"},
		{"a", ""}, {"a"}, {"", "a"}, {}, {""},
		{"\x01a"}, {"a", "\x01"},
	}
	seen := map[string][]string{}
	for _, l := range lists {
		h := hashComponents(MethodFingerprint, l)
		if prev, ok := seen[h]; ok {
			t.Errorf("%q and %q hash alike", prev, l)
		}
		seen[h] = l
	}
	// The same components under another method are another group: a
	// fingerprint spelled like default components does not merge with them.
	if hashComponents(MethodFingerprint, []string{"message=x"}) == hashComponents(MethodMessage, []string{"message=x"}) {
		t.Error("method does not take part in the hash")
	}
}

func TestNormalizeFilename(t *testing.T) {
	tests := []struct{ in, want string }{
		{"app.js", "app.js"},
		{"app.3f9a1c.js", "app.js"},
		{"/static/js/main.3f9a1c2b.chunk.js", "/static/js/main.chunk.js"},
		{"/static/js/2.8e7d6c5b.chunk.js", "/static/js/2.chunk.js"},
		{"/static/js/3f9a1c2b.js", "/static/js/<hash>.js"},
		{"/_next/static/chunks/pages/_app-3f9a1c2b4d5e6f70.js", "/_next/static/chunks/pages/_app.js"},
		{"/assets/index-D8b4DHJx.js", "/assets/index.js"},
		{"/assets/index-B_x-Yz12.js", "/assets/index.js"},
		{"/assets/user-settings.js", "/assets/user-settings.js"},
		{"/releases/20261121/app.js", "/releases/<hash>/app.js"},
		{"https://cdn.example.com:8443/app.min.js?v=3#x", "/app.min.js"},
		{"app:///main.js", "/main.js"},
		{"https://example.com", "/"},
		{"jquery-3.7.1.min.js", "jquery-3.7.1.min.js"},
		{"facade.decade.js", "facade.decade.js"},
		{"lib.123456", "lib.123456"},
		{" views.py ", "views.py"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := normalizeFilename(tc.in); got != tc.want {
			t.Errorf("normalizeFilename(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzGroup(f *testing.F) {
	f.Add("TypeError", "user 123 not found", "", "https://x.example/app.3f9a1c.js?v=1", "render", "", true)
	f.Add("", "", "disk 93% full", "", "", "", false)
	f.Add("E", "v", "", "/srv/app/a.py", "f", "{{ default }}", true)
	f.Add("", "", "", "", "", "", false)
	f.Fuzz(func(t *testing.T, typ, value, message, file, fn, fingerprint string, inApp bool) {
		build := func() *event.Event {
			ev := &event.Event{Level: "error", Message: message}
			if typ != "" || value != "" || file != "" || fn != "" {
				ev.Exceptions = []event.Exception{{Type: typ, Value: value,
					Frames: []event.Frame{{Filename: file, Function: fn, InApp: &inApp}}}}
			}
			if fingerprint != "" {
				ev.Fingerprint = []string{fingerprint, "{{ default }}"}
			}
			return ev
		}
		a, b := Group(build()), Group(build())
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("not deterministic: %+v then %+v", a, b)
		}
		if !hashPattern.MatchString(a.Hash) || a.Version != Version || len(a.Components) == 0 {
			t.Fatalf("malformed result %+v", a)
		}
		switch a.Method {
		case MethodFingerprint, MethodException, MethodMessage, MethodFallback:
		default:
			t.Fatalf("unknown method %q", a.Method)
		}
	})
}

// TestPrevious checks Previous against the hashes that the code of each
// earlier version computed for the events in testdata/previous.json (run
// at the commits that last had those versions): every earlier hash that
// differs from today's is found, newest first, and an event whose grouping
// never changed has none. A case with a payload is what an SDK sent, where
// what changed is what ingest and the in-app stage make of it: its hashes
// are the old releases' ingest, in-app stage and grouping run on the
// payload, and its event is what today's make of it
// (TestUpgradeKeepsIssuesEndToEnd in internal/server posts the payloads).
func TestPrevious(t *testing.T) {
	b, err := os.ReadFile("testdata/previous.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name   string            `json:"name"`
		Event  event.Event       `json:"event"`
		Hashes map[string]string `json:"hashes"` // version → hash
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		now := Group(&c.Event).Hash
		var want []string
		for _, r := range earlier {
			h, ok := c.Hashes[r.version]
			if !ok {
				t.Fatalf("%s: no hash recorded for version %s", c.Name, r.version)
			}
			if h != now && !slices.Contains(want, h) {
				want = append(want, h)
			}
		}
		if got := Previous(&c.Event, now); !slices.Equal(got, want) {
			t.Errorf("%s: Previous = %v, want %v (now %s)", c.Name, got, want, now)
		}
	}
	last := &cases[len(cases)-1].Event
	if got := Previous(last, Group(last).Hash); got != nil {
		t.Errorf("an event grouped alike by every version has previous hashes %v", got)
	}
}

// TestFrameRules checks, rule by rule, what a frame contributes under
// 2026-12e's JavaScript function and context-line rules, after Sentry's
// frame strategy (strategies/newstyle.py): the components of an
// exception with one in-app frame, after its type.
func TestFrameRules(t *testing.T) {
	frame := func(fn, path, line string) event.Frame {
		return event.Frame{Filename: "src/routes.js", AbsPath: path, Function: fn, Lineno: 3, ContextLine: line, InApp: &yes}
	}
	const node = "/srv/shop/src/routes.js"
	long := strings.Repeat("x", maxContextLine)
	wide := strings.Repeat("é", maxContextLine) // 120 characters, 240 bytes
	tests := []struct {
		name     string
		platform string
		f        event.Frame
		want     []string
	}{
		// Unknown function names take no part on JavaScript platforms.
		{"node ?", "node", frame("?", node, ""), []string{"file=src/routes.js", "function="}},
		{"node Object.?", "node", frame("Object.?", node, ""), []string{"file=src/routes.js", "function="}},
		{"javascript <anonymous>", "javascript", frame("<anonymous>", node, ""), []string{"file=src/routes.js", "function="}},
		{"javascript Object.<anonymous>", "javascript", frame("Object.<anonymous>", node, ""), []string{"file=src/routes.js", "function="}},
		{"javascript <anonymous function>", "javascript", frame("<anonymous function>", node, ""), []string{"file=src/routes.js", "function="}},
		{"javascript Anonymous function", "javascript", frame("Anonymous function", node, ""), []string{"file=src/routes.js", "function="}},
		{"javascript Firefox's inner function", "javascript", frame("render/<", node, ""), []string{"file=src/routes.js", "function="}},
		{"javascript Firefox's nested inner function", "javascript", frame("App.render/</<", node, ""), []string{"file=src/routes.js", "function="}},
		// Only the last dotted part of a JavaScript name counts.
		{"node Object.foo", "node", frame("Object.foo", node, ""), []string{"file=src/routes.js", "function=foo"}},
		{"node Module.foo", "node", frame("Module.foo", node, ""), []string{"file=src/routes.js", "function=foo"}},
		{"javascript Layer.handle", "javascript", frame("Layer.handle", node, ""), []string{"file=src/routes.js", "function=handle"}},
		{"javascript plain name", "javascript", frame("getUser", node, ""), []string{"file=src/routes.js", "function=getUser"}},
		// Other platforms keep their names as they were.
		{"python ? is a name", "python", frame("?", node, ""), []string{"file=src/routes.js", "function=?"}},
		{"go dotted name kept", "go", frame("main.(*Server).handle", node, ""), []string{"file=src/routes.js", "function=main.(*Server).handle"}},
		{"no platform: Object.? kept", "", frame("Object.?", node, ""), []string{"file=src/routes.js", "function=Object.?"}},
		// The context line takes part on Sentry's contextline_platforms.
		{"node line", "node", frame("?", node, "  get('/cart', r => {throw new Error('x')});"),
			[]string{"file=src/routes.js", "function=", "context-line=get('/cart', r => {throw new Error('x')});"}},
		{"javascript line", "javascript", frame("render", "webpack:///src/routes.js", "return cart.items;"),
			[]string{"file=src/routes.js", "function=render", "context-line=return cart.items;"}},
		{"python line", "python", frame("get", node, "    return orders[order_id]"),
			[]string{"file=src/routes.js", "function=get", "context-line=return orders[order_id]"}},
		{"php line", "php", frame("App\\Cart::total", node, "\treturn $this->items->sum();"),
			[]string{"file=routes.js", "function=App\\Cart::total", "context-line=return $this->items->sum();"}},
		{"ruby line", "ruby", frame("show", node, "    @cart.total"),
			[]string{"file=src/routes.js", "function=show", "context-line=@cart.total"}},
		{"whitespace collapsed", "node", frame("f", node, "\tif (a  &&\t b)   {  "),
			[]string{"file=src/routes.js", "function=f", "context-line=if (a && b) {"}},
		{"blank line", "node", frame("f", node, " \t "), []string{"file=src/routes.js", "function=f"}},
		{"120 characters", "node", frame("f", node, long), []string{"file=src/routes.js", "function=f", "context-line=" + long}},
		{"120 characters of two bytes", "node", frame("f", node, wide), []string{"file=src/routes.js", "function=f", "context-line=" + wide}},
		{"121 characters: too long", "node", frame("f", node, long+"x"), []string{"file=src/routes.js", "function=f"}},
		{"too long counts the line before collapsing", "node", frame("f", node, "  "+long), []string{"file=src/routes.js", "function=f"}},
		// Not on other platforms.
		{"go line ignored", "go", frame("handle", node, "return nil"), []string{"file=src/routes.js", "function=handle"}},
		{"java line ignored", "java", frame("handle", node, "return null;"), []string{"file=src/routes.js", "function=handle"}},
		{"csharp line ignored", "csharp", frame("Handle", node, "return null;"), []string{"file=src/routes.js", "function=Handle"}},
		{"cocoa line ignored", "cocoa", frame("handle", node, "return nil"), []string{"file=src/routes.js", "function=handle"}},
		{"no platform line ignored", "", frame("handle", node, "return null;"), []string{"file=src/routes.js", "function=handle"}},
		// JavaScript: no line for a frame without a function whose file is a URL.
		{"javascript no function, http URL", "javascript", frame("", "https://shop.example/app.js", "init();"), []string{"file=src/routes.js", "function="}},
		{"javascript no function, file URL", "javascript", frame("", "file:///srv/app.js", "init();"), []string{"file=src/routes.js", "function="}},
		{"javascript no function, blob URL", "javascript", frame("", "blob:https://shop.example/1f2e", "init();"), []string{"file=src/routes.js", "function="}},
		{"javascript ? is a function: URL line counts", "javascript", frame("?", "https://shop.example/app.js", "init();"),
			[]string{"file=src/routes.js", "function=", "context-line=init();"}},
		{"node no function, path", "node", frame("", node, "init();"), []string{"file=src/routes.js", "function=", "context-line=init();"}},
		{"python no function, URL: the rule is JavaScript's", "python", frame("", "https://shop.example/app.py", "init()"),
			[]string{"file=src/routes.js", "function=", "context-line=init()"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Group(onPlatform(tc.platform, "E", tc.f))
			want := append([]string{"type=E"}, tc.want...)
			if r.Method != MethodException || !reflect.DeepEqual(r.Components, want) {
				t.Errorf("got %s %q, want %q", r.Method, r.Components, want)
			}
		})
	}
}

// TestFrameRulesGroups checks what the 2026-12e rules keep together and
// what they split.
func TestFrameRulesGroups(t *testing.T) {
	anon := func(platform string, line int, src string) *event.Event {
		return onPlatform(platform, "Error", event.Frame{Filename: "/srv/shop/routes.js", Module: "routes", Function: "?",
			Lineno: line, ContextLine: src, InApp: &yes})
	}
	tests := []struct {
		name string
		a, b *event.Event
		same bool
	}{
		{"two arrow functions of one file", anon("node", 2, "get('/cart', r=>{throw new Error('a')});"),
			anon("node", 3, "get('/login', r=>{throw new Error('b')});"), false},
		{"one arrow function moved down the file", anon("node", 2, "get('/cart', r=>{throw new Error('a')});"),
			anon("node", 40, "get('/cart', r=>{throw new Error('a')});"), true},
		{"one arrow function reindented", anon("node", 2, "get('/cart', r=>{throw new Error('a')});"),
			anon("node", 2, "    get('/cart',  r=>{throw new Error('a')});"), true},
		{"Chrome's and Firefox's names of one method",
			onPlatform("javascript", "TypeError", app("src/cart.js", "Object.total", 3)),
			onPlatform("javascript", "TypeError", app("src/cart.js", "total", 3)), true},
		{"two lines too long to count", anon("node", 1, strings.Repeat("a", 121)), anon("node", 1, strings.Repeat("b", 121)), true},
		{"go events without source keep grouping by name",
			onPlatform("go", "E", app("main.go", "main.handle", 1)), onPlatform("go", "E", app("main.go", "main.serve", 1)), false},
		{"recursion of one anonymous function, with its line",
			onPlatform("node", "RangeError",
				event.Frame{Filename: "t.js", Function: "?", ContextLine: "walk(n.left);", InApp: &yes},
				event.Frame{Filename: "t.js", Function: "?", ContextLine: "walk(n.left);", InApp: &yes}),
			onPlatform("node", "RangeError", event.Frame{Filename: "t.js", Function: "?", ContextLine: "walk(n.left);", InApp: &yes}),
			true},
		{"two anonymous functions calling each other are no recursion",
			onPlatform("node", "RangeError",
				event.Frame{Filename: "t.js", Function: "?", ContextLine: "a();", InApp: &yes},
				event.Frame{Filename: "t.js", Function: "?", ContextLine: "b();", InApp: &yes}),
			onPlatform("node", "RangeError", event.Frame{Filename: "t.js", Function: "?", ContextLine: "a();", InApp: &yes}),
			false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := Group(tc.a), Group(tc.b)
			if (a.Hash == b.Hash) != tc.same {
				t.Errorf("same = %v, want %v\n a: %q\n b: %q", a.Hash == b.Hash, tc.same, a.Components, b.Components)
			}
		})
	}
}

// TestNodeAnonymousFunctions is the QA report's case with the events
// @sentry/node 11.12.0 sent for compat/js/anonymous-routes.js (recorded
// from the SDK, reduced to the fields ingest keeps for grouping): two
// route handlers that are arrow functions of one file, each throwing its
// own error, and two messages captured from module scope with
// attachStacktrace. Under 2026-12d, the errors were one issue (every frame
// the same file and function, "?" or "Object.?") and so were the messages;
// now each is an issue of its own, told apart by the source lines of the
// anonymous frames.
func TestNodeAnonymousFunctions(t *testing.T) {
	b, err := os.ReadFile("testdata/node-anonymous.json")
	if err != nil {
		t.Fatal(err)
	}
	var evs []event.Event
	if err := json.Unmarshal(b, &evs); err != nil {
		t.Fatal(err)
	}
	if len(evs) != 4 {
		t.Fatalf("%d events recorded, want 4", len(evs))
	}
	seen := map[string]int{}
	for i := range evs {
		r := Group(&evs[i])
		if j, ok := seen[r.Hash]; ok {
			t.Errorf("events %d and %d are one issue: %q", j, i, r.Components)
		}
		seen[r.Hash] = i
	}
	// What the QA report saw, so that this test is known to exercise it.
	old := rulesOf(t, "2026-12d")
	if group(&evs[0], old).Hash != group(&evs[1], old).Hash || group(&evs[2], old).Hash != group(&evs[3], old).Hash {
		t.Error("under 2026-12d the recorded errors, and the messages, no longer merge: the recording does not show the bug")
	}
	want := []string{"type=Error",
		"module=anonymous-routes", "function=", "context-line=dispatch('/cart'); dispatch('/login');",
		"module=anonymous-routes", "function=dispatch", "context-line=function dispatch(p){try{routes.get(p)({})}catch(e){Sentry.captureException(e)}}",
		"module=anonymous-routes", "function=", "context-line=get('/cart', r=>{throw new Error('cart service unavailable')});"}
	if got := Group(&evs[0]).Components; !reflect.DeepEqual(got, want) {
		t.Errorf("components %q, want %q", got, want)
	}
}
