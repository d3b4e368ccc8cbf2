package stacktrace

import (
	"strconv"
	"testing"

	"github.com/getflytrap/flytrap/internal/event"
)

func TestMarkInApp(t *testing.T) {
	tests := []struct {
		name     string
		frame    event.Frame
		platform string
		want     bool
	}{
		{"app file", event.Frame{AbsPath: "/srv/app/src/auth.js", Filename: "auth.js"}, "node", true},
		{"case study relative file", event.Frame{AbsPath: "app.js", Filename: "app.js"}, "", true},
		{"node_modules", event.Frame{AbsPath: "/srv/app/node_modules/express/lib/router/layer.js"}, "node", false},
		{"node_modules relative filename only", event.Frame{Filename: "node_modules/pg/lib/client.js"}, "node", false},
		{"windows node_modules", event.Frame{AbsPath: `C:\app\node_modules\pg\index.js`}, "", false},
		{"node builtin", event.Frame{AbsPath: "node:internal/process/task_queues"}, "node", false},
		{"old node internal", event.Frame{AbsPath: "internal/modules/cjs/loader.js"}, "node", false},
		{"v8 anonymous", event.Frame{AbsPath: "<anonymous>"}, "javascript", false},
		{"v8 native", event.Frame{AbsPath: "native"}, "javascript", false},
		{"safari native", event.Frame{AbsPath: "[native code]"}, "javascript", false},
		{"no location at all", event.Frame{Function: "Promise.all"}, "node", false},
		{"module only (structured SDK frame)", event.Frame{Module: "com.example.Checkout", Function: "pay"}, "java", true},
		{"chrome extension", event.Frame{AbsPath: "chrome-extension://abc/content.js"}, "javascript", false},
		{"firefox extension", event.Frame{AbsPath: "moz-extension://abc/content.js"}, "javascript", false},
		{"safari extension", event.Frame{AbsPath: "safari-web-extension://abc/content.js"}, "javascript", false},
		{"webpack bootstrap", event.Frame{AbsPath: "webpack:///webpack/bootstrap 3f9a1c2b"}, "javascript", false},
		{"webpack runtime", event.Frame{AbsPath: "webpack://shop/webpack/runtime/jsonp chunk loading"}, "javascript", false},
		{"webpack external", event.Frame{AbsPath: `webpack://shop/external node-commonjs "fs"`, Filename: `external node-commonjs "fs"`}, "node", false},
		{"webpack 4 external", event.Frame{AbsPath: `webpack:///external "react"`}, "javascript", false},
		{"webpack 4 buildin", event.Frame{AbsPath: "webpack:///(webpack)/buildin/global.js"}, "javascript", false},
		{"app file named bootstrap", event.Frame{AbsPath: "/srv/app/src/webpack/bootstrap.js"}, "node", true},
		{"app file named external", event.Frame{AbsPath: "/srv/app/src/external.js"}, "node", true},
		{"bundled app code", event.Frame{AbsPath: "https://x.example/static/js/main.3f9a1c2b.js"}, "javascript", true},
		{"python app", event.Frame{AbsPath: "/srv/app/shop/views.py"}, "python", true},
		{"python site-packages", event.Frame{AbsPath: "/srv/.venv/lib/python3.12/site-packages/flask/app.py"}, "python", false},
		{"python dist-packages", event.Frame{AbsPath: "/usr/lib/python3/dist-packages/requests/api.py"}, "python", false},
		{"python stdlib", event.Frame{AbsPath: "/usr/lib/python3.11/json/decoder.py"}, "python", false},
		{"python local stdlib", event.Frame{AbsPath: "/usr/local/lib/python3.12/asyncio/base_events.py"}, "python", false},
		{"python windows site-packages", event.Frame{AbsPath: `C:\Python312\Lib\site-packages\anytree\node.py`}, "python", false},
		{"python frozen", event.Frame{AbsPath: "<frozen importlib._bootstrap>"}, "python", false},
		{"python dir named python", event.Frame{AbsPath: "/srv/lib/python_utils/x.py"}, "python", true},
		{"python rule off for javascript", event.Frame{AbsPath: "/srv/site-packages/app.js"}, "javascript", true},
		{"javascript rule off for python", event.Frame{AbsPath: "internal/report.py"}, "python", true},
		{"unknown platform applies both", event.Frame{AbsPath: "/srv/site-packages/x.py"}, "", false},
		// Native images, as the Cocoa SDK and sentry-native name them.
		{"ios app binary", event.Frame{Function: "ViewController.causeCrash(Any) -> ()", Package: "/var/containers/Bundle/Application/575F9D39-D486-4728-B035-84923A0BE206/sentry-ios-cocoapods.app/sentry-ios-cocoapods"}, "cocoa", true},
		{"ios embedded framework", event.Frame{Function: "-[SentryClient crash]", Package: "/private/var/containers/Bundle/Application/575F9D39/sentry-ios-cocoapods.app/Frameworks/Sentry.framework/Sentry"}, "cocoa", false},
		{"ios system framework", event.Frame{Function: "UIApplicationMain", Package: "/System/Library/Frameworks/UIKit.framework/UIKit"}, "cocoa", false},
		{"ios system library", event.Frame{Function: "<redacted>", Package: "/usr/lib/system/libdyld.dylib"}, "cocoa", false},
		{"dyld", event.Frame{Function: "start", Package: "/usr/lib/dyld"}, "cocoa", false},
		{"macos app", event.Frame{Function: "main", Package: "/Applications/Shop.app/Contents/MacOS/Shop"}, "cocoa", true},
		{"macos app framework", event.Frame{Function: "f", Package: "/Applications/Shop.app/Contents/Frameworks/Sparkle.framework/Sparkle"}, "cocoa", false},
		{"simulator runtime", event.Frame{Function: "f", Package: "/Library/Developer/CoreSimulator/Volumes/iOS_22F76/Library/Developer/CoreSimulator/Profiles/Runtimes/iOS 18.5.simruntime/Contents/Resources/RuntimeRoot/System/Library/Frameworks/UIKit.framework/UIKit"}, "cocoa", false},
		{"linux app binary, address only", event.Frame{InstructionAddr: "0x55d0c0a011f0", Package: "/opt/app/bin/crashy"}, "native", true},
		{"linux libc", event.Frame{InstructionAddr: "0x7f3a1c029d90", Package: "/usr/lib/x86_64-linux-gnu/libc.so.6"}, "native", false},
		{"linux lib64 loader", event.Frame{InstructionAddr: "0x7f3a1c029d90", Package: "/lib64/ld-linux-x86-64.so.2"}, "native", false},
		{"vdso", event.Frame{InstructionAddr: "0x7ffd1c029d90", Package: "linux-vdso.so.1"}, "native", false},
		{"windows system dll", event.Frame{InstructionAddr: "0x7ffd1c029d90", Package: `C:\Windows\System32\KERNEL32.DLL`}, "native", false},
		{"windows app", event.Frame{InstructionAddr: "0x7ff61c029d90", Package: `C:\Program Files\Shop\shop.exe`}, "native", true},
		{"android system library", event.Frame{InstructionAddr: "0x7a1c029d90", Package: "/apex/com.android.runtime/lib64/bionic/libc.so"}, "native", false},
		{"android app library", event.Frame{InstructionAddr: "0x7a1c029d90", Package: "/data/app/~~x==/com.example.shop-1/lib/arm64/libshop.so"}, "native", true},
		{"address in no known image", event.Frame{InstructionAddr: "0x401000"}, "native", false},
		{".NET frame with an assembly package keeps the module rule", event.Frame{Module: "Shop.Checkout", Function: "Pay", Package: "Shop, Version=1.0.0.0"}, "csharp", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			frames := []event.Frame{tc.frame}
			MarkInApp(frames, tc.platform)
			if frames[0].InApp == nil || *frames[0].InApp != tc.want {
				t.Errorf("InApp = %v, want %v", frames[0].InApp, tc.want)
			}
		})
	}
}

func TestMarkInAppSDKFrames(t *testing.T) {
	tests := []struct {
		name  string
		frame event.Frame
		want  bool
	}{
		{"flytrap express bundled", event.Frame{AbsPath: "webpack://flytrap_express/./src/index.ts", Function: "errorHandler"}, false},
		{"flytrap express in a parsed stack", event.Frame{AbsPath: "/srv/app/node_modules/flytrap_express/dist/webpack:/flytrap_express/src/index.ts"}, false},
		{"flytrap javascript from a CDN copy", event.Frame{Filename: "https://cdn.example.com/vendor/flytrap_javascript/index.js"}, false},
		{"flytrap flask vendored", event.Frame{AbsPath: "/var/task/flytrap_flask/__init__.py", Module: "flytrap_flask"}, false},
		{"sentry browser bundled by webpack", event.Frame{Filename: "webpack://shop/./node_modules/@sentry/browser/build/npm/esm/helpers.js"}, false},
		{"sentry CDN bundle", event.Frame{Filename: "https://browser.sentry-cdn.com/8.42.0/bundle.min.js"}, false},
		{"sentry_sdk vendored into a Lambda package", event.Frame{Filename: "sentry_sdk/utils.py", AbsPath: "/var/task/sentry_sdk/utils.py", Module: "sentry_sdk.utils"}, false},
		{"sentry_sdk module only", event.Frame{Module: "sentry_sdk.integrations.aws_lambda", Function: "sentry_handler"}, false},
		{"sentry-go", event.Frame{AbsPath: "/go/pkg/mod/github.com/getsentry/sentry-go@v0.50.0/hub.go", Module: "github.com/getsentry/sentry-go"}, false},
		{"sentry-go vendored", event.Frame{AbsPath: "/src/vendor/github.com/getsentry/sentry-go/client.go"}, false},
		{"app named like flytrap", event.Frame{AbsPath: "/srv/flytrap/src/app.js"}, true},
		{"app using a sentry helper of its own", event.Frame{AbsPath: "/srv/app/src/sentry.js", Module: "sentry"}, true},
		{"app module starting with sentry", event.Frame{Module: "sentry_helpers.views", AbsPath: "/srv/app/sentry_helpers/views.py"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The SDK's own claim does not count for its own frames.
			frames := []event.Frame{tc.frame}
			frames[0].InApp = new(true)
			MarkInApp(frames, "")
			if *frames[0].InApp != tc.want {
				t.Errorf("InApp = %v, want %v", *frames[0].InApp, tc.want)
			}
		})
	}
}

// TestMarkInAppJSRuntimeFrames: the engine's frames and webpack's own code
// are library code even where the SDK flagged them in-app, as
// @sentry/browser flags every frame, so that they are neither the culprit
// nor grouped; Sentry's JavaScript processing overrides the SDK for them
// too. An SDK's in_app:false is kept, and so is its in_app:true for other
// frames.
func TestMarkInAppJSRuntimeFrames(t *testing.T) {
	tests := []struct {
		name     string
		frame    event.Frame
		platform string
		want     bool
	}{
		{"webpack 5 bootstrap", event.Frame{AbsPath: "webpack://shop/webpack/bootstrap", Filename: "webpack/bootstrap", Function: "__webpack_require__"}, "javascript", false},
		{"webpack 4 bootstrap", event.Frame{AbsPath: "webpack:///webpack/bootstrap 3f9a1c2b", Function: "__webpack_require__"}, "javascript", false},
		{"webpack runtime", event.Frame{AbsPath: "webpack://shop/webpack/runtime/jsonp chunk loading", Filename: "webpack/runtime/jsonp chunk loading"}, "javascript", false},
		{"webpack external", event.Frame{AbsPath: `webpack://shop/external commonjs "express"`, Filename: `external commonjs "express"`}, "node", false},
		{"v8 anonymous", event.Frame{Filename: "<anonymous>", Function: "JSON.parse"}, "javascript", false},
		{"v8 native", event.Frame{Filename: "native", Function: "Array.forEach"}, "node", false},
		{"safari native code", event.Frame{Filename: "[native code]", Function: "forEach"}, "javascript", false},
		{"unknown platform", event.Frame{Filename: "<anonymous>", Function: "JSON.parse"}, "", false},
		{"app code", event.Frame{AbsPath: "webpack://shop/./src/cart.js", Filename: "src/cart.js"}, "javascript", true},
		{"app file named bootstrap", event.Frame{AbsPath: "/srv/app/src/webpack/bootstrap.js"}, "node", true},
		// Only the root of a webpack namespace is webpack's own; an app's
		// folder of the same name deeper down is the app's.
		{"app folder webpack/runtime", event.Frame{AbsPath: "webpack:///./src/webpack/runtime/flags.js", Filename: "./src/webpack/runtime/flags.js"}, "javascript", true},
		{"app folder webpack/runtime in a namespace", event.Frame{AbsPath: "webpack://my-app/./src/webpack/runtime/flags.js"}, "javascript", true},
		{"app folder webpack/bootstrap", event.Frame{AbsPath: "webpack://my-app/./src/webpack/bootstrap"}, "javascript", true},
		{"app folder (webpack)/buildin", event.Frame{AbsPath: "webpack:///./src/(webpack)/buildin/global.js"}, "javascript", true},
		{"app file named external", event.Frame{AbsPath: `webpack:///./src/external "react"`}, "javascript", true},
		{"server folder webpack/runtime", event.Frame{AbsPath: "/srv/app/webpack/runtime/flags.js", Filename: "/srv/app/webpack/runtime/flags.js"}, "node", true},
		{"webpack runtime in a namespace", event.Frame{AbsPath: "webpack://my-app/webpack/runtime/jsonp chunk loading"}, "javascript", false},
		{"webpack runtime in a scoped namespace", event.Frame{AbsPath: "webpack://@shop/web/webpack/runtime/jsonp chunk loading"}, "javascript", false},
		{"webpack runtime without a namespace", event.Frame{AbsPath: "webpack:///webpack/runtime/define property getters"}, "javascript", false},
		{"webpack runtime filename alone", event.Frame{Filename: "webpack/runtime/jsonp chunk loading"}, "javascript", false},
		{"webpack 4 buildin", event.Frame{AbsPath: "webpack:///(webpack)/buildin/global.js"}, "javascript", false},
		{"webpack 4 external", event.Frame{AbsPath: `webpack:///external "react"`}, "javascript", false},
		{"python is not judged by JavaScript rules", event.Frame{Filename: "<anonymous>"}, "python", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			frames := []event.Frame{tc.frame}
			frames[0].InApp = new(true)
			MarkInApp(frames, tc.platform)
			if *frames[0].InApp != tc.want {
				t.Errorf("InApp = %v, want %v", *frames[0].InApp, tc.want)
			}
		})
	}
}

func TestMarkInAppKeepsSDKDecision(t *testing.T) {
	yes, no := true, false
	frames := []event.Frame{
		{AbsPath: "/srv/app/node_modules/mylib/x.js", InApp: &yes},
		{AbsPath: "/srv/app/src/x.js", InApp: &no},
		{AbsPath: "/srv/app/src/y.js"},
		{AbsPath: "/srv/app/src/z.js"},
	}
	MarkInApp(frames, "node")
	got := [4]bool{*frames[0].InApp, *frames[1].InApp, *frames[2].InApp, *frames[3].InApp}
	if got != [4]bool{true, false, true, true} {
		t.Errorf("InApp = %v", got)
	}
	// Each frame gets its own value: changing one must not change another.
	*frames[2].InApp = false
	if !*frames[3].InApp {
		t.Error("frames share one InApp pointer")
	}
}

// TestMarkInAppPathVerdict: where judging a native frame by its package
// (grouping version 2026-12d) disagrees with the path rules that judged it
// before, the path rules' verdict is kept for grouping.Previous; where they
// agree, or the SDK flagged the frame, nothing is.
func TestMarkInAppPathVerdict(t *testing.T) {
	app := "/var/containers/Bundle/Application/575F9D39/Shop.app/Shop"
	tests := []struct {
		name  string
		frame event.Frame
		want  *bool // PathInApp
	}{
		{"cocoa app frame, library by path", event.Frame{Function: "main", Package: app, InstructionAddr: "0x10008d9e0"}, new(false)},
		{"cocoa system frame, library either way", event.Frame{Function: "UIApplicationMain", Package: "/System/Library/Frameworks/UIKit.framework/UIKit", InstructionAddr: "0x1978b5c9c"}, nil},
		{"native library with a module, app by path", event.Frame{Module: "libc", Package: "/usr/lib/libc.so.6", InstructionAddr: "0x7f3a1c029d90"}, new(true)},
		{"native app frame with a file, app either way", event.Frame{Filename: "src/main.c", Function: "main", Package: "/opt/app/bin/crashy", InstructionAddr: "0x55d0c0a011f0"}, nil},
		{"flagged by the SDK", event.Frame{Function: "main", Package: app, InstructionAddr: "0x10008d9e0", InApp: new(true)}, nil},
		{"not native", event.Frame{AbsPath: "/srv/app/src/x.js"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			frames := []event.Frame{tc.frame}
			MarkInApp(frames, "cocoa")
			show := func(b *bool) string {
				if b == nil {
					return "unset"
				}
				return strconv.FormatBool(*b)
			}
			if got, want := show(frames[0].PathInApp), show(tc.want); got != want {
				t.Errorf("PathInApp = %s, want %s", got, want)
			}
		})
	}
}
