package ingest

import (
	"fmt"
	"testing"

	"github.com/getflytrap/flytrap/internal/event"
	"github.com/getflytrap/flytrap/internal/grouping"
	"github.com/getflytrap/flytrap/internal/stacktrace"
)

// nativeCrash is an event as sentry-native's inproc backend sends a
// SIGSEGV in a binary without debug information: frames that carry only
// instruction_addr, and the loaded images in debug_meta.
const nativeCrash = `{"platform":"native","level":"fatal",
 "exception":{"values":[{"type":"SIGSEGV","value":"Segfault",
  "mechanism":{"type":"signalhandler","synthetic":true,"handled":false,"meta":{"signal":{"name":"SIGSEGV","number":11}}},
  "stacktrace":{"frames":[
   {"instruction_addr":"0x7f3a1c029d90"},
   {"instruction_addr":"0x55d0c0a011f0"},
   {"instruction_addr":"0x7f3a1c2b31f0","symbol_addr":"0x7f3a1c2b3100","package":"/opt/app/lib/libfoo.so"},
   {"instruction_addr":"0x10","addr_mode":"rel:1"},
   {"instruction_addr":"0xdeadbeef"}]}}]},
 "debug_meta":{"images":[
  {"type":"elf","code_file":"/usr/lib/x86_64-linux-gnu/libc.so.6","image_addr":"0x7f3a1c000000","image_size":2125824,"debug_id":"c3d5e2a8-0bd3-3a6c-1d09-8f2c3b0d9d21"},
  {"type":"elf","code_file":"/opt/app/bin/crashy","image_addr":"0x55d0c0a00000","image_size":"12288","debug_id":"4f7e9a1b-2c3d-4e5f-8a9b-0c1d2e3f4a5b"},
  {"type":"elf","code_file":"/opt/app/lib/libfoo.so","image_addr":"0x7f3a1c2b0000","image_size":16384}]}}`

// TestDecodeSentryNativeFrames: frames with only an address were dropped,
// so a native crash had no stack and every crash of one signal was one
// issue. They are kept, with the package and image address debug_meta
// gives the address.
func TestDecodeSentryNativeFrames(t *testing.T) {
	ev, err := testDecoder().decodeSentry([]byte(nativeCrash), testProject, envelopeHeader{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Exceptions) != 1 {
		t.Fatalf("exceptions %+v", ev.Exceptions)
	}
	fs := ev.Exceptions[0].Frames
	want := []event.Frame{
		{InstructionAddr: "0x7f3a1c029d90", Package: "/usr/lib/x86_64-linux-gnu/libc.so.6", ImageAddr: "0x7f3a1c000000"},
		{InstructionAddr: "0x55d0c0a011f0", Package: "/opt/app/bin/crashy", ImageAddr: "0x55d0c0a00000"},
		{InstructionAddr: "0x7f3a1c2b31f0", SymbolAddr: "0x7f3a1c2b3100", Package: "/opt/app/lib/libfoo.so", ImageAddr: "0x7f3a1c2b0000"},
		{InstructionAddr: "0x10", AddrMode: "rel:1", Package: "/opt/app/bin/crashy"},
		{InstructionAddr: "0xdeadbeef"}, // in no image: kept, unattributed
	}
	if len(fs) != len(want) {
		t.Fatalf("%d frames, want %d: %+v", len(fs), len(want), fs)
	}
	for i := range want {
		if fs[i].InstructionAddr != want[i].InstructionAddr || fs[i].SymbolAddr != want[i].SymbolAddr ||
			fs[i].Package != want[i].Package || fs[i].ImageAddr != want[i].ImageAddr || fs[i].AddrMode != want[i].AddrMode {
			t.Errorf("frame %d = %+v, want %+v", i, fs[i], want[i])
		}
	}
	offsets := []uint64{0x29d90, 0x11f0, 0x31f0, 0x10}
	for i, w := range offsets {
		if got, ok := fs[i].ImageOffset(); !ok || got != w {
			t.Errorf("frame %d offset = %#x, %v; want %#x", i, got, ok, w)
		}
	}
	if _, ok := fs[4].ImageOffset(); ok {
		t.Errorf("an address in no image has an offset")
	}
	if len(ev.Notes) != 0 {
		t.Errorf("notes %q", ev.Notes)
	}
}

// TestDecodeSentryNativeAddressForms: addresses arrive as hex strings of
// either case, decimal strings or JSON numbers, and are stored as one form;
// an address that is none of them is dropped with a note.
func TestDecodeSentryNativeAddressForms(t *testing.T) {
	in := `{"exception":{"values":[{"type":"SIGABRT","stacktrace":{"frames":[
		{"instruction_addr":"0x00007F3A1C029D90"},{"instruction_addr":4198400},{"instruction_addr":"4198400"},{"instruction_addr":"nowhere"},{"instruction_addr":-1}]}}]}}`
	ev, err := testDecoder().decodeSentry([]byte(in), testProject, envelopeHeader{})
	if err != nil {
		t.Fatal(err)
	}
	fs := ev.Exceptions[0].Frames
	if len(fs) != 3 || fs[0].InstructionAddr != "0x7f3a1c029d90" || fs[1].InstructionAddr != "0x401000" || fs[2].InstructionAddr != "0x401000" {
		t.Errorf("frames %+v", fs)
	}
	if !hasNote(ev, "frames[3].instruction_addr") || !hasNote(ev, "frames[4].instruction_addr") {
		t.Errorf("notes %q", ev.Notes)
	}
}

// TestNativeCrashesGroupByImageOffset sends sentry-native crashes as the
// SDK does, through decoding and grouping: one crash site in two runs,
// its binary loaded at other addresses, is one issue; another crash site
// with the same signal is another. Before, both were one issue whatever
// the site.
func TestNativeCrashesGroupByImageOffset(t *testing.T) {
	crash := func(base, site uint64) string {
		return fmt.Sprintf(`{"platform":"native","level":"fatal","exception":{"values":[{"type":"SIGSEGV","value":"Segfault",
 "mechanism":{"type":"signalhandler","synthetic":true,"handled":false},
 "stacktrace":{"frames":[{"instruction_addr":"%#x"},{"instruction_addr":"%#x"}]}}]},
 "debug_meta":{"images":[{"type":"elf","code_file":"/opt/app/bin/crashy","image_addr":"%#x","image_size":65536,"debug_id":"4f7e9a1b-2c3d-4e5f-8a9b-0c1d2e3f4a5b"}]}}`,
			base+0x500, base+site, base)
	}
	group := func(in string) grouping.Result {
		ev, err := testDecoder().decodeSentry([]byte(in), testProject, envelopeHeader{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range ev.Exceptions {
			stacktrace.MarkInApp(ev.Exceptions[i].Frames, ev.Platform)
		}
		return grouping.Group(ev)
	}
	run1, run2 := group(crash(0x55d0c0a00000, 0x1000)), group(crash(0x5612aa300000, 0x1000))
	other := group(crash(0x55d0c0a00000, 0x7f00))
	if run1.Hash != run2.Hash {
		t.Errorf("one crash site in two runs split:\n %q\n %q", run1.Components, run2.Components)
	}
	if run1.Hash == other.Hash {
		t.Errorf("two crash sites merged: %q", run1.Components)
	}
}
