package stacktrace

import (
	"slices"
	"strings"

	"github.com/getflytrap/flytrap/internal/event"
)

// DisplayNames returns the file name to show for each frame of one stack,
// so the same code reads alike whichever SDK reported it: the path of a URL
// without its origin (`http://localhost:5173/src/app.js` -> `/src/app.js`),
// and an absolute path relative to the application's root when the stack
// reveals that root (see AppRoot). Any other name is shown as the SDK sent
// it. The frames are not changed: the raw value stays what grouping and
// the API use.
func DisplayNames(frames []event.Frame) []string {
	root := AppRoot(frames)
	names := make([]string, len(frames))
	for i, f := range frames {
		names[i] = displayPath(frameFile(f), root)
	}
	return names
}

// frameFile is the location a frame names: its file name, else its
// absolute path.
func frameFile(f event.Frame) string {
	if f.Filename != "" {
		return f.Filename
	}
	return f.AbsPath
}

// displayPath shortens one location (see DisplayNames); root is "" when
// unknown.
func displayPath(loc, root string) string {
	p := loc
	if u, ok := urlPath(loc); ok {
		if !strings.HasPrefix(strings.ToLower(loc), "file:") {
			return u
		}
		p = u
	}
	if rel, ok := strings.CutPrefix(p, root+"/"); ok && root != "" && rel != "" {
		return rel
	}
	return p
}

// nodeModuleExts are the extensions the Node SDK drops when it derives a
// frame's module from its file name.
var nodeModuleExts = []string{".js", ".mjs", ".cjs"}

// AppRoot returns the directory the application runs from, as far as the
// stack reveals it, or "". The Node SDK names an application frame's module
// after its path below that directory ("/srv/app/routes/users.js" under
// "/srv/app" is module "routes:users"), so an absolute file name and its
// module give the root away. The first application frame that does wins.
func AppRoot(frames []event.Frame) string {
	for _, f := range frames {
		if root, ok := nodeRoot(frameFile(f), f.Module); ok && root != "" {
			return root
		}
	}
	return ""
}

// PathModule reports whether f's module is the one the Node SDK derives
// from its file's path below the application root ("routes:users" for
// /srv/app/routes/users.js), which says no more than the path does. A file
// rewriteFramesIntegration renamed (app:///routes/users.js) keeps the
// module of its old path, which the URL's path names below the root.
func PathModule(f event.Frame) bool {
	file := frameFile(f)
	if p, ok := urlPath(file); ok {
		file = p
	}
	_, ok := nodeRoot(file, f.Module)
	return ok
}

// nodeRoot derives the application root from one Node frame's absolute
// file and its module ("dir.sub:file"): "" for a file right below "/",
// and ok false when the module is not the path's.
func nodeRoot(file, module string) (root string, ok bool) {
	if !strings.HasPrefix(file, "/") || strings.Contains(file, "/node_modules/") || module == "" {
		return "", false
	}
	dir, base, found := strings.Cut(module, ":")
	if !found {
		dir, base = "", module
	}
	stem := file
	for _, ext := range nodeModuleExts {
		if s, ok := strings.CutSuffix(file, ext); ok {
			stem = s
			break
		}
	}
	parent, ok := strings.CutSuffix(stem, "/"+base)
	if !ok {
		return "", false
	}
	if dir == "" {
		return parent, true
	}
	// The module's directory is the file's directory below the root with
	// slashes made dots.
	segs := strings.Split(parent, "/")
	for i := len(segs) - 1; i > 0; i-- {
		if strings.Join(segs[i:], ".") == dir {
			return strings.Join(segs[:i], "/"), true
		}
	}
	return "", false
}

// DisplayCulprit is the culprit: the SDK's own if it sent one (as
// Sentry: the SDK's, else the transaction, else computed), else the
// event's Culprit with the file names shown as the issue page shows them
// (DisplayNames), so the same code gets the same culprit
// whichever SDK reported it; for an event with neither a transaction nor
// frames, the request's URL without its query, as Sentry falls back to.
// Grouping keeps the computed raw culprit.
func DisplayCulprit(ev event.Event) string {
	if ev.SDKCulprit != "" {
		return ev.SDKCulprit
	}
	if c := frameCulprit(ev); c != "" || ev.Request == nil {
		return c
	}
	// A browser's rejection with a string or a message captured without a
	// stack still happened on a page, or in a server's handler: the
	// issue list says which rather than nothing.
	u, _, _ := strings.Cut(ev.Request.URL, "?")
	u, _, _ = strings.Cut(u, "#")
	return u
}

// frameCulprit is DisplayCulprit from the transaction or the frames.
func frameCulprit(ev event.Event) string {
	n := ev.CulpritException()
	if ev.Transaction != "" || n < 0 {
		return ev.Culprit()
	}
	frames := slices.Clone(ev.Exceptions[n].Frames)
	for i, name := range DisplayNames(frames) {
		if PathModule(frames[i]) {
			// The page shows the path the module was made of.
			frames[i].Module = ""
		}
		frames[i].Filename, frames[i].AbsPath = name, ""
	}
	ev.Exceptions = slices.Clone(ev.Exceptions)
	ev.Exceptions[n].Frames = frames
	return ev.Culprit()
}
