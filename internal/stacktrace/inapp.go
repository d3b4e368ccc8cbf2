package stacktrace

import (
	"strings"

	"github.com/getflytrap/flytrap/internal/event"
)

// MarkInApp sets InApp on every frame the SDK left it nil for: false for
// library, runtime and engine code, true otherwise. An SDK's own decision is
// kept, since it may know the project layout better, except for the frames
// of an error-reporting SDK itself (see isSDKFrame) and, on JavaScript, the
// frames of the engine and of webpack's own code (see isJSRuntime): those
// are never the application's code, whatever the SDK said (@sentry/browser
// flags every frame in-app, <anonymous> and webpack's bootstrap included),
// and Sentry's JavaScript processing marks them not in-app after
// symbolication whatever the SDK sent.
//
// Library code is: node_modules, Node internals (node:..., internal/...),
// engine pseudo-locations (<anonymous>, native, [native code]), browser
// extensions, the webpack bootstrap, runtime and externals; for Python, site-packages,
// dist-packages, the standard library (lib/pythonX.Y) and frozen importlib
// frames. A frame with no location at all (a built-in such as Promise.all)
// is not application code either. A native frame (an instruction address,
// or a package and nothing else) is judged by its package: see
// isNativeLibrary. Where the path rules, which judged such frames before
// grouping version 2026-12d, say otherwise, their verdict is kept as
// event.Frame.PathInApp for grouping.Previous.
//
// The platform ("javascript", "node", "python") selects which rules apply,
// so a JavaScript rule cannot misjudge a Python path or the other way round;
// any other value, including "", applies all of them.
func MarkInApp(frames []event.Frame, platform string) {
	js, py := true, true
	switch platform {
	case "javascript", "node":
		py = false
	case "python":
		js = false
	}
	for i := range frames {
		f := &frames[i]
		if isSDKFrame(f) || js && isJSRuntimeFrame(f) {
			f.InApp = new(bool)
			continue
		}
		if f.InApp != nil {
			continue
		}
		inApp := !isPathLibrary(f, js, py)
		if isNativeFrame(f) {
			byPath := inApp
			if inApp = !isNativeLibrary(f.Package); inApp != byPath {
				f.PathInApp = &byPath
			}
		}
		f.InApp = &inApp
	}
}

// sdkPackages are the package (or webpack namespace) names of the Flytrap
// and Sentry SDKs, as they appear as a path segment: bundled
// (webpack://flytrap_express/./src/index.js), vendored into a Lambda
// package (/var/task/sentry_sdk/...) or installed.
var sdkPackages = map[string]bool{
	"flytrap_express": true, "flytrap_javascript": true, "flytrap_react": true, "flytrap_flask": true,
	"@sentry": true, "@sentry-internal": true, "sentry_sdk": true, "sentry-go": true,
}

// sdkModulePrefixes start the module names of SDK frames: Python's dotted
// modules and Go's import paths.
var sdkModulePrefixes = []string{
	"sentry_sdk.", "flytrap_flask.", "github.com/getsentry/sentry-go",
}

// isSDKFrame reports whether a frame is code of the Flytrap or Sentry SDKs:
// a location with one of sdkPackages as a path segment (a Go module
// version, "sentry-go@v0.50.0", is ignored), a script served from Sentry's
// CDN, or a module of the SDKs.
func isSDKFrame(f *event.Frame) bool {
	for _, m := range [...]string{f.Module, f.Package} {
		if m == "sentry_sdk" || m == "flytrap_flask" {
			return true
		}
		for _, p := range sdkModulePrefixes {
			if strings.HasPrefix(m, p) {
				return true
			}
		}
	}
	for _, loc := range [...]string{f.AbsPath, f.Filename} {
		p := strings.ToLower(strings.ReplaceAll(loc, `\`, "/"))
		for seg := range strings.SplitSeq(p, "/") {
			seg, _, _ = strings.Cut(seg, "@v")
			if sdkPackages[seg] || strings.HasSuffix(seg, ".sentry-cdn.com") {
				return true
			}
		}
	}
	return false
}

// isNativeFrame reports whether a frame is judged by its package: a native
// frame, with an instruction address, or with a package and no other
// location.
func isNativeFrame(f *event.Frame) bool {
	return f.Package != "" && (f.InstructionAddr != "" || f.AbsPath == "" && f.Filename == "" && f.Module == "")
}

// isPathLibrary applies the enabled rule sets to a frame's locations.
func isPathLibrary(f *event.Frame, js, py bool) bool {
	if f.AbsPath == "" && f.Filename == "" {
		return f.Module == ""
	}
	for _, loc := range [...]string{f.AbsPath, f.Filename} {
		if loc == "" {
			continue
		}
		// Windows paths and case-insensitive file systems ("Lib\site-packages")
		// are matched in one normalized form.
		p := strings.ToLower(strings.ReplaceAll(loc, `\`, "/"))
		if js && isJSLibrary(p) || py && isPythonLibrary(p) {
			return true
		}
	}
	return false
}

// nativeSystemDirs hold the operating system's libraries and frameworks
// (macOS and iOS, the simulator's runtime under /Library, Linux, Android,
// Windows once its drive letter is dropped).
var nativeSystemDirs = []string{
	"/system/", "/library/", "/usr/lib/", "/usr/libexec/", "/usr/lib32/", "/usr/lib64/",
	"/usr/local/lib/", "/lib/", "/lib32/", "/lib64/", "/apex/", "/vendor/", "/system_ext/",
	"/windows/",
}

// isNativeLibrary judges a native frame by its package, the image it runs
// in, as Sentry does for Apple platforms: an image inside an app bundle
// (".app/") is the app's unless it is one of the bundle's frameworks
// (embedded SDKs and libraries, Sentry's own included). Elsewhere, the
// operating system's images (nativeSystemDirs, the kernel's vDSO) are
// library code and any other image, such as the application's own binary
// in /opt/app/bin, is the app's.
func isNativeLibrary(pkg string) bool {
	p := strings.ToLower(strings.ReplaceAll(pkg, `\`, "/"))
	if len(p) > 2 && p[1] == ':' {
		p = p[2:]
	}
	if strings.Contains(p, ".app/") {
		return strings.Contains(p, "/frameworks/")
	}
	for _, dir := range nativeSystemDirs {
		if strings.HasPrefix(p, dir) {
			return true
		}
	}
	base := p[strings.LastIndexByte(p, '/')+1:]
	return strings.HasPrefix(base, "linux-vdso") || strings.HasPrefix(base, "linux-gate")
}

// browserExtensionSchemes are the URL schemes of extension scripts injected
// into the page; their errors are not the application's.
var browserExtensionSchemes = []string{
	"chrome-extension://", "moz-extension://", "safari-extension://",
	"safari-web-extension://", "ms-browser-extension://",
}

// isJSRuntimeFrame reports whether one of a frame's locations is engine or
// webpack code (see isJSRuntime).
func isJSRuntimeFrame(f *event.Frame) bool {
	for _, loc := range [...]string{f.AbsPath, f.Filename} {
		if loc != "" && isJSRuntime(strings.ToLower(strings.ReplaceAll(loc, `\`, "/"))) {
			return true
		}
	}
	return false
}

// isJSRuntime reports whether a normalized location is no one's source
// file but the engine's (V8's <anonymous> and native, Safari's [native
// code]) or webpack's own code, as a map names it at the root of its
// webpack:// namespace (or a frame's filename starts with it): the
// bootstrap (__webpack_require__), its runtime modules, webpack 4's
// (webpack)/buildin helpers, and an external module, the stub that hands
// over a require()d or global library (webpack://app/external
// node-commonjs "fs"). Deeper down, as in webpack:///./src/webpack/runtime/
// flags.js, the folder is the app's own, as Sentry judges it.
func isJSRuntime(p string) bool {
	switch p {
	case "<anonymous>", "native", "[native code]":
		return true
	}
	r := webpackRoot(p)
	return webpackPart(r, "webpack/bootstrap", " ?#") || strings.HasPrefix(r, "webpack/runtime/") ||
		strings.HasPrefix(r, "(webpack)/buildin/") || isWebpackExternal(r)
}

// webpackRoot returns the path of a webpack:// source inside its namespace,
// webpack://<namespace>/<path> (the namespace may be empty, or a scoped
// package name such as @shop/web), and any other location as it is.
func webpackRoot(p string) string {
	rest, ok := strings.CutPrefix(p, "webpack://")
	if !ok {
		return p
	}
	ns, rest, ok := strings.Cut(rest, "/")
	if ok && strings.HasPrefix(ns, "@") {
		_, rest, ok = strings.Cut(rest, "/")
	}
	if !ok {
		return ""
	}
	return rest
}

// webpackPart reports whether p starts with part and, if then is set, ends
// there or goes on with one of then's characters: webpack 4 names its
// bootstrap "webpack/bootstrap 3f9a1c2b", webpack 5 "webpack/bootstrap",
// and neither is an app's webpack/bootstrap.js.
func webpackPart(p, part, then string) bool {
	rest, ok := strings.CutPrefix(p, part)
	return ok && (then == "" || rest == "" || strings.IndexByte(then, rest[0]) >= 0)
}

// isWebpackExternal reports whether p, a path at the root of a webpack
// namespace, names a webpack external module: `external "react"` or
// `external <type> "name"`.
func isWebpackExternal(p string) bool {
	rest, ok := strings.CutPrefix(p, "external ")
	if !ok || !strings.HasSuffix(p, `"`) {
		return false
	}
	q := strings.IndexByte(rest, '"')
	return q >= 0 && q < len(rest)-1 && !strings.Contains(rest[:q], "/")
}

func isJSLibrary(p string) bool {
	if isJSRuntime(p) {
		return true
	}
	if strings.HasPrefix(p, "node_modules/") || strings.Contains(p, "/node_modules/") ||
		strings.HasPrefix(p, "node:") || strings.HasPrefix(p, "internal/") {
		return true
	}
	for _, s := range browserExtensionSchemes {
		if strings.HasPrefix(p, s) {
			return true
		}
	}
	return false
}

func isPythonLibrary(p string) bool {
	return strings.Contains(p, "/site-packages/") || strings.Contains(p, "/dist-packages/") ||
		strings.HasPrefix(p, "site-packages/") || strings.HasPrefix(p, "dist-packages/") ||
		stdlibRoot(p) >= 0 || strings.HasPrefix(p, "<frozen ")
}
