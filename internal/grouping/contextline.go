package grouping

import (
	"strings"
	"unicode/utf8"

	"github.com/getflytrap/flytrap/internal/event"
)

// maxContextLine is the longest source line, in characters, that takes
// part in grouping, as in Sentry: a longer line is most likely minified or
// generated code, which changes with every build.
const maxContextLine = 120

// contextLinePlatforms are the platforms whose frames' source lines take
// part in grouping (2026-12e). They are Sentry's contextline_platforms
// (grouping/strategies/configurations.py): platforms whose SDKs or source
// maps give the real source of the frame, good enough to tell two
// anonymous functions of one file apart. Other platforms' SDKs send no
// source, or source of uneven quality, so their grouping is left alone.
var contextLinePlatforms = map[string]bool{
	"javascript": true,
	"node":       true,
	"python":     true,
	"php":        true,
	"ruby":       true,
}

// isJavaScript reports whether platform is of Sentry's JavaScript family
// (stacktraces/platform.py), whose function names get the JavaScript
// rules.
func isJavaScript(platform string) bool {
	return platform == "javascript" || platform == "node"
}

// contextLine is the component of f's source line ("" for none) by the
// rules of Sentry's get_contextline_component (strategies/newstyle.py):
// its whitespace collapsed to single spaces, on the platforms of
// contextLinePlatforms only, and not when the line is longer than
// maxContextLine. On JavaScript platforms a frame without a function
// whose file is a URL has no context line either: such a frame is
// typically a browser's inline script or one served without source maps,
// whose source Flytrap did not see and whose line is no stable identity.
// A Node frame's file is a path, so its line counts even when the
// function has no name, which is what tells apart two arrow functions of
// one file.
func contextLine(platform string, f *event.Frame) string {
	if !contextLinePlatforms[platform] {
		return ""
	}
	line := strings.Join(strings.Fields(f.ContextLine), " ")
	if line == "" || utf8.RuneCountInString(f.ContextLine) > maxContextLine {
		return ""
	}
	if isJavaScript(platform) && strings.TrimSpace(f.Function) == "" && hasURLOrigin(f.AbsPath) {
		return ""
	}
	return "context-line=" + line
}

// hasURLOrigin reports whether path points at a URL, file: URLs included,
// as Sentry's has_url_origin with files_count_as_urls.
func hasURLOrigin(path string) bool {
	for _, p := range []string{"http:", "https:", "applewebdata:", "blob:", "file:"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// jsFunction is the part of a JavaScript frame's function name that takes
// part in grouping (2026-12e), after Sentry's get_function_component and
// frame strategy (strategies/newstyle.py). Only the last dotted part
// counts ("Object.foo", "Module.foo" and "foo" are one function), since
// browsers and engines disagree on the receiver they prefix. A name that
// says the function has none ("?", which the Sentry JavaScript SDKs write
// for an anonymous function, "<anonymous>", "<anonymous function>",
// "Anonymous function", Firefox's "outer/<") is no name at all: taken as
// one, every anonymous function of a file would be the same function.
func jsFunction(name string) string {
	name = strings.TrimSpace(name)
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	switch name {
	case "?", "<anonymous>", "<anonymous function>", "Anonymous function":
		return ""
	}
	if strings.HasSuffix(name, "/<") {
		return ""
	}
	return name
}
