package dashboard

import (
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/stacktrace"
)

var (
	tagRE   = regexp.MustCompile(`<[^>]*>`)
	spaceRE = regexp.MustCompile(`\s+`)
)

// pageText is a page's text as a reader sees it: no markup, entities
// decoded, runs of white space as one space.
func pageText(doc string) string {
	return spaceRE.ReplaceAllString(html.UnescapeString(tagRE.ReplaceAllString(doc, " ")), " ")
}

// nativeEvent is a crash as sentry-native sends it for a binary without
// debug information and as the processor stores it: the frames are
// addresses in images, and the in-app stage judged them by their package.
func nativeEvent(projectID int64, id string, at time.Time) *event.Event {
	ev := &event.Event{EventID: id, ProjectID: projectID, Source: event.SourceSentry, Platform: "native",
		Timestamp: at, Received: at, Level: "fatal",
		Exceptions: []event.Exception{{Type: "SIGSEGV", Value: "Segfault",
			Mechanism: &event.Mechanism{Type: "signalhandler", Handled: ptr(false)},
			Frames: []event.Frame{
				{InstructionAddr: "0x7f3a1c029d90", Package: "/usr/lib/x86_64-linux-gnu/libc.so.6", ImageAddr: "0x7f3a1c000000"},
				{InstructionAddr: "0x55d0c0a011f0", Package: "/opt/app/bin/crashy", ImageAddr: "0x55d0c0a00000"},
				{InstructionAddr: "0x7f3a1c2b31f0", Package: "/opt/app/lib/libfoo.so", ImageAddr: "0x7f3a1c2b0000"},
				{InstructionAddr: "0xdeadbeef"},
				{Function: "on_crash", Lineno: 88},
			}}},
	}
	stacktrace.MarkInApp(ev.Exceptions[0].Frames, ev.Platform)
	return ev
}

// cocoaEvent is an iOS crash as the Cocoa SDK sends it: symbolicated on
// the device, packages as full paths, no frame flagged in_app.
func cocoaEvent(projectID int64, id string, at time.Time, inApp *bool) *event.Event {
	app := "/var/containers/Bundle/Application/575F9D39/sentry-ios-cocoapods.app/sentry-ios-cocoapods"
	ev := &event.Event{EventID: id, ProjectID: projectID, Source: event.SourceSentry, Platform: "cocoa",
		Timestamp: at, Received: at, Level: "fatal",
		Exceptions: []event.Exception{{Type: "EXC_BAD_ACCESS", Value: "Attempted to dereference null pointer.",
			Frames: []event.Frame{
				{Function: "<redacted>", Package: "/usr/lib/system/libdyld.dylib", InstructionAddr: "0x19060959c", ImageAddr: "0x190605000", InApp: inApp},
				{Function: "main", Package: app, InstructionAddr: "0x10008d9e0", ImageAddr: "0x100084000", InApp: inApp},
				{Function: "UIApplicationMain", Package: "/System/Library/Frameworks/UIKit.framework/UIKit", InstructionAddr: "0x1978b5c9c", ImageAddr: "0x197841000", InApp: inApp},
				{Function: "ViewController.causeCrash(Any) -> ()", Package: app, InstructionAddr: "0x10008c1a4", ImageAddr: "0x100084000", InApp: inApp},
				{Function: "-[SentryClient crash]", Package: "/private/var/containers/Bundle/Application/575F9D39/sentry-ios-cocoapods.app/Frameworks/Sentry.framework/Sentry", InstructionAddr: "0x1000c5e2c", ImageAddr: "0x1000a4000", InApp: inApp},
			}}},
	}
	stacktrace.MarkInApp(ev.Exceptions[0].Frames, ev.Platform)
	return ev
}

// TestIssuePageNativeFrames: the page showed a native frame as " in
// <redacted>", never its package or address, and badged every frame "app"
// when none was the app's.
func TestIssuePageNativeFrames(t *testing.T) {
	f := newFixture(t)
	page := func(ev *event.Event) (body, text string) {
		r := f.get(roleMember, issuePath(f.save(ev).IssueID))
		wantStatus(t, r, 200)
		return r.Body, pageText(r.Body)
	}

	_, text := page(nativeEvent(f.web.ID, "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1", now.Add(-time.Hour)))
	for _, want := range []string{
		"0x7f3a1c2b31f0 in libfoo.so + 0x31f0 app",
		"0x55d0c0a011f0 in crashy + 0x11f0 app",
		"0x7f3a1c029d90 in libc.so.6 + 0x29d90",
		"0xdeadbeef",
		":88 in on_crash",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("native frame %q not shown:\n%s", want, text)
		}
	}
	if strings.Contains(text, "libc.so.6 + 0x29d90 app") {
		t.Errorf("libc badged as the app's")
	}

	// Judged by package: the app's binary is the app's, the system's
	// libraries and the bundle's frameworks are not.
	body, text := page(cocoaEvent(f.web.ID, "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2", now.Add(-time.Hour), nil))
	for _, want := range []string{"ViewController.causeCrash(Any) -> () in sentry-ios-cocoapods app", "main in sentry-ios-cocoapods app", "UIApplicationMain in UIKit", "-[SentryClient crash] in Sentry"} {
		if !strings.Contains(text, want) {
			t.Errorf("cocoa frame %q not shown:\n%s", want, text)
		}
	}
	if n := strings.Count(body, `<span class="badge">app</span>`); n != 2 {
		t.Errorf("%d frames badged app, want 2", n)
	}
	if !strings.Contains(body, `title="/System/Library/Frameworks/UIKit.framework/UIKit"`) {
		t.Errorf("package path not in a tooltip")
	}

	// The SDK said no frame is the app's: its flags are used, and no
	// frame is badged, though all are shown.
	body, text = page(cocoaEvent(f.web.ID, "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3", now.Add(-time.Hour), ptr(false)))
	if n := strings.Count(body, `<span class="badge">app</span>`); n != 0 {
		t.Errorf("%d frames badged app where the SDK marked none", n)
	}
	if strings.Contains(body, `class="lib-frames"`) || !strings.Contains(text, "UIApplicationMain in UIKit") {
		t.Errorf("frames collapsed when none is the app's:\n%s", text)
	}
}

// TestIssuePageOtherThreads: the threads beside the crashed one were
// dropped; they are shown below the stack, each collapsed.
func TestIssuePageOtherThreads(t *testing.T) {
	f := newFixture(t)
	ev := cocoaEvent(f.web.ID, "d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4", now.Add(-time.Hour), nil)
	ev.Threads = []event.Thread{
		{ID: "1", Name: "com.apple.main-thread", Frames: []event.Frame{
			{Function: "mach_msg_trap", Package: "/usr/lib/system/libsystem_kernel.dylib", InstructionAddr: "0x1", InApp: ptr(false)},
			{Function: "CartViewController.lock()", Package: "/var/containers/Bundle/Application/A/Shop.app/Shop", InstructionAddr: "0x2", InApp: ptr(true)}}},
		{ID: "7"},
	}
	r := f.get(roleMember, issuePath(f.save(ev).IssueID))
	wantStatus(t, r, 200)
	text := pageText(r.Body)
	if n := strings.Count(r.Body, `<details class="thread">`); n != 2 {
		t.Errorf("%d collapsed threads, want 2", n)
	}
	for _, want := range []string{"Other threads", "com.apple.main-thread #1", "CartViewController.lock() in Shop app", "#7 0 frames"} {
		if !strings.Contains(text, want) {
			t.Errorf("%q not shown:\n%s", want, text)
		}
	}
	if i, j := strings.Index(text, "ViewController.causeCrash"), strings.Index(text, "Other threads"); i < 0 || j < i {
		t.Errorf("the other threads are not below the crash's stack")
	}
}
