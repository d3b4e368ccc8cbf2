package bench

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

// decodeBody gunzips a request body and splits the envelope into its
// header, item header and event.
func decodeBody(t *testing.T, body []byte) (head, item, event map[string]any, payloadLen int) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitN(raw, []byte("\n"), 3)
	if len(lines) != 3 {
		t.Fatalf("envelope has %d lines, want 3:\n%s", len(lines), raw)
	}
	for i, dst := range []*map[string]any{&head, &item, &event} {
		if err := json.Unmarshal(lines[i], dst); err != nil {
			t.Fatalf("line %d: %v\n%.300s", i+1, err, lines[i])
		}
	}
	return head, item, event, len(lines[2])
}

func TestPayloads(t *testing.T) {
	tests := []struct {
		size     Size
		distinct int
	}{
		{Size2K, 1},
		{Size2K, 7},
		{Size50K, 3},
	}
	for _, tt := range tests {
		p, err := newPayloads(tt.size, tt.distinct, runEnvironment("0123456789abcdef"), time.Now(), 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.groups) != tt.distinct {
			t.Fatalf("%s: %d groups, want %d", tt.size, len(p.groups), tt.distinct)
		}
		if p.eventSize < tt.size.Bytes() || p.eventSize > tt.size.Bytes()+300 {
			t.Errorf("%s: events of %d bytes, want %d to %d", tt.size, p.eventSize, tt.size.Bytes(), tt.size.Bytes()+300)
		}
		if p.bodySize >= p.eventSize*3/5 {
			t.Errorf("%s: bodies of %d bytes for %d-byte events: not compressed", tt.size, p.bodySize, p.eventSize)
		}
		stacks := map[string]bool{}
		for g := range tt.distinct {
			id := eventID("0123456789abcdef", uint64(1000+g))
			head, item, ev, n := decodeBody(t, p.body(g, id))
			if head["event_id"] != id || ev["event_id"] != id {
				t.Errorf("%s group %d: IDs %v and %v, want %s", tt.size, g, head["event_id"], ev["event_id"], id)
			}
			if item["type"] != "event" || item["length"] != float64(n) {
				t.Errorf("%s group %d: item header %v for a %d-byte event", tt.size, g, item, n)
			}
			exc := ev["exception"].(map[string]any)["values"].([]any)[0].(map[string]any)
			frames := exc["stacktrace"].(map[string]any)["frames"].([]any)
			if len(frames) < 10 || len(frames) > 29 {
				t.Errorf("%s group %d: %d frames, want 10 to 29", tt.size, g, len(frames))
			}
			if crumbs := ev["breadcrumbs"].(map[string]any)["values"].([]any); ev["environment"] != runEnvironment("0123456789abcdef") || len(crumbs) == 0 || len(crumbs) > maxBreadcrumbs {
				t.Errorf("%s group %d: environment %v, breadcrumbs %v", tt.size, g, ev["environment"], ev["breadcrumbs"])
			}
			stack, _ := json.Marshal(frames)
			stacks[exc["type"].(string)+string(stack)] = true
		}
		if len(stacks) != tt.distinct {
			t.Errorf("%s: %d distinct exceptions among %d groups", tt.size, len(stacks), tt.distinct)
		}
	}
}

func TestEventIDsAreUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, run := range []string{randomRun(), randomRun()} {
		for seq := range uint64(1000) {
			id := eventID(run, seq)
			if len(id) != idLen || seen[id] {
				t.Fatalf("ID %q: length %d, seen before: %v", id, len(id), seen[id])
			}
			if _, err := strconv.ParseUint(id[16:], 16, 64); err != nil {
				t.Fatalf("ID %q is not hex: %v", id, err)
			}
			seen[id] = true
		}
	}
}

func TestNewPayloadsRejects(t *testing.T) {
	for _, tt := range []struct {
		size     Size
		distinct int
		want     string
	}{
		{"4k", 1, "unknown size"},
		{Size2K, 0, "at least 1"},
	} {
		if _, err := newPayloads(tt.size, tt.distinct, runEnvironment("0123456789abcdef"), time.Now(), 1); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("newPayloads(%q, %d) = %v, want an error with %q", tt.size, tt.distinct, err, tt.want)
		}
	}
}

func TestBodies(t *testing.T) {
	bodies, err := Bodies(Size2K, 3, 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(bodies) != 7 {
		t.Fatalf("%d bodies, want 7", len(bodies))
	}
	ids := map[string]bool{}
	types := map[string]bool{}
	for i, body := range bodies {
		head, _, ev, n := decodeBody(t, body)
		id, _ := head["event_id"].(string)
		if len(id) != idLen || ids[id] || ev["event_id"] != id {
			t.Errorf("body %d: IDs %v and %v, seen before: %v", i, id, ev["event_id"], ids[id])
		}
		ids[id] = true
		if n < Size2K.Bytes() || n > Size2K.Bytes()+300 {
			t.Errorf("body %d: a %d-byte event, want %d to %d", i, n, Size2K.Bytes(), Size2K.Bytes()+300)
		}
		exc := ev["exception"].(map[string]any)["values"].([]any)[0].(map[string]any)
		types[exc["type"].(string)] = true
	}
	if len(types) != 3 {
		t.Errorf("the bodies hold %d distinct errors, want 3: %v", len(types), types)
	}
	if _, err := Bodies("4k", 1, 1); err == nil {
		t.Error("Bodies of an unknown size: no error")
	}
}
