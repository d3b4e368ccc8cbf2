package ingest

import (
	"fmt"
	"strings"
	"testing"
)

// TestDecodeSentryKeepsOtherThreads: an event with the threads a Cocoa,
// Java or Android (ANR) SDK sends kept only the crashed one, whose frames
// went to the exception; the others, which show a deadlock, were lost.
func TestDecodeSentryKeepsOtherThreads(t *testing.T) {
	in := `{"platform":"java","exception":{"values":[{"type":"IllegalStateException","value":"stuck","thread_id":7}]},
	"threads":{"values":[
	 {"id":1,"name":"main","current":false,"crashed":false,"state":"BLOCKED","stacktrace":{"frames":[
	  {"module":"java.lang.Thread","function":"run","lineno":840,"in_app":false},
	  {"module":"com.example.Cart","function":"lock","filename":"Cart.java","lineno":42,"in_app":true}]}},
	 {"id":7,"name":"worker","crashed":true,"current":true,"stacktrace":{"frames":[
	  {"module":"com.example.Worker","function":"run","filename":"Worker.java","lineno":12,"in_app":true}]}},
	 {"id":"12","name":"Signal Catcher","daemon":true},
	 null,
	 {"id":9,"stacktrace":{"frames":[{"instruction_addr":"0x55d0c0a011f0"}]}}]},
	"debug_meta":{"images":[{"type":"elf","code_file":"/opt/app/bin/crashy","image_addr":"0x55d0c0a00000","image_size":65536}]}}`
	ev, err := testDecoder().decodeSentry([]byte(in), testProject, envelopeHeader{})
	if err != nil {
		t.Fatal(err)
	}
	if got := frameSummary(ev.Exceptions[0].Frames); got != "run:12" {
		t.Errorf("exception frames %q, want the worker's", got)
	}
	if len(ev.Threads) != 3 {
		t.Fatalf("threads %+v, want main, Signal Catcher and 9", ev.Threads)
	}
	main, catcher, nine := ev.Threads[0], ev.Threads[1], ev.Threads[2]
	if main.ID != "1" || main.Name != "main" || main.Crashed || main.Current || frameSummary(main.Frames) != "run:840 lock:42" ||
		main.Frames[1].InApp == nil || !*main.Frames[1].InApp {
		t.Errorf("main thread %+v", main)
	}
	if catcher.ID != "12" || catcher.Name != "Signal Catcher" || len(catcher.Frames) != 0 {
		t.Errorf("thread without a stack %+v", catcher)
	}
	if len(nine.Frames) != 1 || nine.Frames[0].Package != "/opt/app/bin/crashy" {
		t.Errorf("native thread %+v, want its frame placed in its image", nine)
	}
	if len(ev.Notes) != 0 {
		t.Errorf("notes %q", ev.Notes)
	}
}

// TestDecodeSentryThreadLimits: at most maxThreads threads are kept, and
// each stack is cut like an exception's.
func TestDecodeSentryThreadLimits(t *testing.T) {
	var frames []string
	for i := range maxFrames + 10 {
		frames = append(frames, fmt.Sprintf(`{"function":"f%d"}`, i))
	}
	var threads []string
	for i := range maxThreads + 50 {
		threads = append(threads, fmt.Sprintf(`{"id":%d,"name":"t%d","stacktrace":{"frames":[%s]}}`, i, i, strings.Join(frames, ",")))
	}
	in := `{"message":"ANR","threads":[` + strings.Join(threads, ",") + `]}`
	ev, err := testDecoder().decodeSentry([]byte(in), testProject, envelopeHeader{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Threads) != maxThreads || ev.Threads[0].Name != "t0" {
		t.Fatalf("%d threads, first %q; want the first %d", len(ev.Threads), ev.Threads[0].Name, maxThreads)
	}
	for _, th := range ev.Threads {
		if len(th.Frames) != maxFrames {
			t.Fatalf("thread %s has %d frames, want %d", th.Name, len(th.Frames), maxFrames)
		}
	}
	if !hasNote(ev, fmt.Sprintf("kept the first %d of %d threads", maxThreads, maxThreads+50)) {
		t.Errorf("notes %q", ev.Notes)
	}
}
