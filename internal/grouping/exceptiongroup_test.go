package grouping

import (
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/getflytrap/flytrap/internal/event"
)

// rulesOf returns the rules of an earlier version.
func rulesOf(t *testing.T, version string) rules {
	t.Helper()
	for _, r := range earlier {
		if r.version == version {
			return r
		}
	}
	t.Fatalf("no earlier version %s", version)
	return rules{}
}

// groupCases reads testdata/exception-groups.json: what @sentry/node
// 11.12.0 sent for compat/js/aggregate-errors.js (its events reduced to
// what ingest keeps for grouping), and the shapes sentry-python's
// exceptions_from_error gives an ExceptionGroup of two errors that were
// never raised, an asyncio TaskGroup's group of two raised copies of one
// error, and a "raise ... from" chain.
func groupCases(t *testing.T) map[string]event.Event {
	t.Helper()
	b, err := os.ReadFile("testdata/exception-groups.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name  string      `json:"name"`
		Event event.Event `json:"event"`
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	out := map[string]event.Event{}
	for _, c := range cases {
		out[c.Name] = c.Event
	}
	return out
}

// label names an exception in the tests' expectations.
func label(ex event.Exception) string { return ex.Type + ": " + ex.Value }

// TestExceptionsForGrouping checks which exceptions of each recorded
// event take part in grouping, and which titles it, after Sentry's
// filter_exceptions_for_exception_groups.
func TestExceptionsForGrouping(t *testing.T) {
	cases := groupCases(t)
	tests := []struct {
		name string
		want []string
		main int // the main exception's ID, -1 for the outermost
	}{
		// Distinct children: each, sorted by type from Z to A, then the group.
		{"node many", []string{"TypeError: a", "RangeError: b", "AggregateError: many"}, -1},
		{"python distinct", []string{"ValueError: bad total", "KeyError: 'sku'", "ExceptionGroup: order invalid (2 sub-exceptions)"}, -1},
		// A nested group's children are top-level exceptions of the
		// outer one; the inner group itself takes no part. The two
		// TypeErrors come from different lines, so both take part.
		{"node nested", []string{"TypeError: a", "TypeError: c", "RangeError: b", "AggregateError: outer"}, -1},
		// Copies of one error (python's differ in value only, which the
		// frames outrank): the first alone, and it titles the event.
		{"node copies", []string{"TypeError: x"}, 1},
		{"python copies", []string{"ConnectionRefusedError: db1 refused"}, 1},
		// Chains with IDs but no group keep every exception, in order.
		{"node caused", []string{"RangeError: disk full", "Error: save failed"}, -1},
		{"python cause", []string{"KeyError: 'sku'", "LookupFailed: no such product"}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, ok := cases[tt.name]
			if !ok {
				t.Fatalf("no recorded event %q", tt.name)
			}
			exs, main := exceptionsForGrouping(ev.Platform, ev.Exceptions, current)
			var got []string
			for _, ex := range exs {
				got = append(got, label(ex))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("exceptions %q, want %q", got, tt.want)
			}
			gotMain := -1
			if main != nil {
				gotMain = *main
			}
			if gotMain != tt.main {
				t.Errorf("main exception %d, want %d", gotMain, tt.main)
			}
			if r := Group(&ev); !slices.Equal([]int{gotMain}, []int{intOr(r.MainExceptionID, -1)}) {
				t.Errorf("Group's MainExceptionID %v, want %d", r.MainExceptionID, gotMain)
			}
		})
	}
}

func intOr(p *int, or int) int {
	if p == nil {
		return or
	}
	return *p
}

// TestExceptionGroupsGroup checks what the 2026-12f rules keep together
// and apart, and that chains and lists without a tree hash as under
// 2026-12e, so their issues are untouched.
func TestExceptionGroupsGroup(t *testing.T) {
	cases := groupCases(t)
	prev := rulesOf(t, "2026-12e")
	for _, name := range []string{"node caused", "python cause"} {
		ev := cases[name]
		if got, want := Group(&ev).Hash, group(&ev, prev).Hash; got != want {
			t.Errorf("%s: hash %s, under 2026-12e %s", name, got, want)
		}
	}

	// A group of copies of one error is that error's issue.
	copies := cases["node copies"]
	alone := event.Event{Platform: copies.Platform, Exceptions: slices.Clone(copies.Exceptions[2:3])}
	alone.Exceptions[0].Mechanism = nil
	if Group(&copies).Hash != Group(&alone).Hash {
		t.Error("a group of three copies of a TypeError is not the issue of that TypeError")
	}

	// Siblings are not a chain: their order does not matter...
	many := cases["node many"]
	swapped := many
	swapped.Exceptions = slices.Clone(many.Exceptions)
	swapped.Exceptions[0], swapped.Exceptions[1] = swapped.Exceptions[1], swapped.Exceptions[0]
	if Group(&many).Hash != Group(&swapped).Hash {
		t.Error("a group's children in another order are another issue")
	}
	// ...but which errors they are does.
	other := many
	other.Exceptions = slices.Clone(many.Exceptions)
	other.Exceptions[0].Type = "SyntaxError"
	if Group(&many).Hash == Group(&other).Hash {
		t.Error("groups of different errors are one issue")
	}
}

// TestExceptionGroupsMalformed checks that IDs which make no tree (an SDK
// sent them, or anyone) leave the list as it was, as Sentry's fallback
// does, without looping or failing.
func TestExceptionGroupsMalformed(t *testing.T) {
	id := func(n int) *int { return &n }
	ex := func(typ string, eid, parent *int, group bool) event.Exception {
		return event.Exception{Type: typ, Value: "v", Mechanism: &event.Mechanism{ExceptionID: eid, ParentID: parent, IsExceptionGroup: group},
			Frames: []event.Frame{app("a.py", typ, 1)}}
	}
	tests := []struct {
		name string
		exs  []event.Exception
	}{
		{"one exception without ID", []event.Exception{ex("A", id(1), id(0), false), ex("B", nil, nil, true)}},
		{"no root", []event.Exception{ex("A", id(2), id(1), false), ex("G", id(1), nil, true)}},
		{"duplicate ID", []event.Exception{ex("A", id(1), id(0), false), ex("B", id(1), id(0), false), ex("G", id(0), nil, true)}},
		{"root in a loop", []event.Exception{ex("G2", id(1), id(0), true), ex("G", id(0), id(1), true)}},
		{"root its own child", []event.Exception{ex("A", id(1), id(0), false), ex("G", id(0), id(0), true)}},
		{"chain in a loop", []event.Exception{ex("A", id(1), id(0), false), ex("R", id(0), id(1), false)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, main := exceptionsForGrouping("python", tt.exs, current)
			if main != nil || !slices.EqualFunc(got, tt.exs, func(a, b event.Exception) bool { return label(a) == label(b) }) {
				t.Errorf("exceptions %v, main %v: want the list unchanged", got, main)
			}
		})
	}
}
