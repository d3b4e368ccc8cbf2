package grouping

import (
	"strings"
	"unicode"

	"github.com/getflytrap/flytrap/internal/event"
)

// fingerprintVariable returns the name of the variable a fingerprint entry
// stands for ("default" for "{{ default }}"), or false when the entry is
// literal text. As in Sentry, a variable is "{{", a name without spaces,
// and "}}", with any spacing inside the braces; the name is matched as
// written ("{{ Transaction }}" is no variable). Unlike Sentry, spaces
// around the braces are ignored too, as they always were for default.
func fingerprintVariable(entry string) (string, bool) {
	inner, ok := strings.CutPrefix(strings.TrimSpace(entry), "{{")
	if !ok {
		return "", false
	}
	if inner, ok = strings.CutSuffix(inner, "}}"); !ok {
		return "", false
	}
	name := strings.TrimSpace(inner)
	if name == "" || strings.IndexFunc(name, unicode.IsSpace) >= 0 {
		return "", false
	}
	return name, true
}

// resolveVariable is the value of a fingerprint variable other than
// default, as Sentry resolves the variables of the fingerprints SDKs send
// (sentry.grouping.fingerprinting.utils.resolve_fingerprint_variable): a
// variable the event has no value for becomes a placeholder naming it,
// such as "<no-transaction>", so that such events still group together and
// apart from the events that have one. An unknown name reports false and
// the entry stays literal text.
//
// The stack variables read the crash frame: the innermost in-app frame of
// the outermost exception, else its innermost frame.
func resolveVariable(name string, ev *event.Event, r rules) (string, bool) {
	var outer *event.Exception
	if n := len(ev.Exceptions); n > 0 {
		outer = &ev.Exceptions[n-1]
	}
	or := func(v, missing string) string {
		if v == "" {
			return missing
		}
		return v
	}
	switch name {
	case "transaction":
		return or(ev.Transaction, "<no-transaction>"), true
	case "message":
		// Masked like a message that groups an event, so that the
		// numbers in it do not make an issue each.
		msg := message(ev, r)
		if msg == "" && outer != nil {
			msg = outer.Value
		}
		if msg == "" {
			return "<no-message>", true
		}
		return MaskMessage(msg), true
	case "type", "error.type":
		if outer == nil {
			return "<no-type>", true
		}
		return or(outer.Type, "<no-type>"), true
	case "value", "error.value":
		if outer == nil {
			return "<no-value>", true
		}
		return or(outer.Value, "<no-value>"), true
	case "level":
		return or(ev.Level, "<no-level>"), true
	case "logger":
		return or(ev.Logger, "<no-logger>"), true
	}
	if tag, ok := strings.CutPrefix(name, "tags."); ok {
		if v, ok := ev.Tag(tag); ok {
			return v, true
		}
		return "<no-value-for-tag-" + tag + ">", true
	}
	var f event.Frame
	if outer != nil {
		f = crashFrame(outer.Frames, r)
	}
	switch name {
	case "function", "stack.function":
		return or(f.Function, "<no-function>"), true
	case "module", "stack.module":
		return or(f.Module, "<no-module>"), true
	case "package", "stack.package":
		// The image's file name, not where it was installed.
		return or(basename(f.Package), "<no-package>"), true
	case "path", "stack.abs_path":
		return or(or(f.AbsPath, f.Filename), "<no-abs-path>"), true
	case "stack.filename":
		return or(or(f.Filename, f.AbsPath), "<no-filename>"), true
	}
	return "", false
}

// crashFrame is the innermost frame in-app by the rules, else the innermost
// frame, or the zero frame when there are none.
func crashFrame(frames []event.Frame, r rules) event.Frame {
	for i := len(frames) - 1; i >= 0; i-- {
		if isInApp(&frames[i], r) {
			return frames[i]
		}
	}
	if n := len(frames); n > 0 {
		return frames[n-1]
	}
	return event.Frame{}
}

// basename is the last element of a POSIX or Windows path.
func basename(path string) string {
	return path[strings.LastIndexAny(path, `/\`)+1:]
}
