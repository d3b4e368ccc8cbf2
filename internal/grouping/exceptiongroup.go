package grouping

import (
	"slices"
	"strings"

	"github.com/getflytrap/flytrap/internal/event"
)

// exceptionTree is an event's exceptions as the tree their mechanisms'
// exception_id and parent_id describe, after Sentry's
// filter_exceptions_for_exception_groups (strategies/newstyle.py).
type exceptionTree struct {
	exs []event.Exception
	// children are the indexes in exs of each exception's children, in
	// the order the SDK made them: the SDKs list the exceptions outermost
	// last, so the reverse of the list.
	children map[int][]int
	// seen guards the walks against a parent_id loop, which an event can
	// send though no SDK makes one.
	seen []bool
	loop bool
}

// exceptionsForGrouping returns the exceptions of exs that take part in
// grouping under the 2026-12f rules for exception groups (Sentry's RFC 79),
// and the ExceptionID of the one to title the event by when that is not
// the outermost (nil otherwise).
//
// Only a list of two or more exceptions that all carry an exception_id,
// one of them 0 (the exception raised), is a tree; any other is kept
// whole, as before. The "top-level" exceptions are the first of each
// branch from the root that are not exception groups. When all of them
// group alike (their own components are equal: a group of copies of one
// error), that one stands for the event: it and its first cause, and that
// cause's first cause and so on, in the SDK's order (innermost first), and
// it is the main exception. Otherwise one of each distinct kind, sorted by
// type from Z to A, and the root group last take part, and the root titles
// the event. A chain with IDs but no group (sentry-python's __cause__,
// @sentry/node's cause) is its own first path: it keeps its order and its
// hash.
//
// Sentry keeps the list whole when its walk finds no root or fails on a
// parent_id loop; so does this, and for two exceptions with one ID too,
// which no SDK sends and which make no one tree.
func exceptionsForGrouping(platform string, exs []event.Exception, r rules) ([]event.Exception, *int) {
	if len(exs) <= 1 {
		return exs, nil
	}
	t := exceptionTree{exs: exs, children: map[int][]int{}, seen: make([]bool, len(exs))}
	index := map[int]int{}
	for i := len(exs) - 1; i >= 0; i-- {
		m := exs[i].Mechanism
		if m == nil || m.ExceptionID == nil {
			return exs, nil
		}
		if _, dup := index[*m.ExceptionID]; dup {
			return exs, nil
		}
		index[*m.ExceptionID] = i
		if m.ParentID != nil {
			t.children[*m.ParentID] = append(t.children[*m.ParentID], i)
		}
	}
	root, ok := index[0]
	if !ok {
		return exs, nil
	}
	top := t.topLevel(root, nil)
	if t.loop {
		return exs, nil
	}
	// Stable, as Python's sorted: copies of one type keep the SDK's order.
	// (UTF-8 byte order is Python's code point order.)
	slices.SortStableFunc(top, func(a, b int) int { return strings.Compare(exs[b].Type, exs[a].Type) })
	var distinct []int
	prev := ""
	for k, i := range top {
		h := ""
		if comps := exceptionComponents(platform, exs[i:i+1], r); comps != nil {
			h = hashComponents(MethodException, comps)
		}
		// Like itertools.groupby: only neighbours that hash alike are one.
		if k == 0 || h != prev {
			distinct = append(distinct, i)
		}
		prev = h
	}
	if len(distinct) == 1 {
		main := distinct[0]
		clear(t.seen)
		path := t.firstPath(main, nil)
		if t.loop {
			return exs, nil
		}
		out := make([]event.Exception, 0, len(path))
		for k := len(path) - 1; k >= 0; k-- {
			out = append(out, exs[path[k]])
		}
		if main == len(exs)-1 {
			return out, nil
		}
		id := *exs[main].Mechanism.ExceptionID
		return out, &id
	}
	out := make([]event.Exception, 0, len(distinct)+1)
	for _, i := range distinct {
		out = append(out, exs[i])
	}
	return append(out, exs[root]), nil
}

// visit marks exception i seen, and reports false, recording the loop,
// when it was already.
func (t *exceptionTree) visit(i int) bool {
	if t.seen[i] {
		t.loop = true
		return false
	}
	t.seen[i] = true
	return true
}

// kids are the indexes of exception i's children.
func (t *exceptionTree) kids(i int) []int {
	return t.children[*t.exs[i].Mechanism.ExceptionID]
}

// topLevel appends to out the first exceptions below i, i itself
// included, that are not exception groups.
func (t *exceptionTree) topLevel(i int, out []int) []int {
	if !t.visit(i) {
		return out
	}
	if !t.exs[i].Mechanism.IsExceptionGroup {
		return append(out, i)
	}
	for _, c := range t.kids(i) {
		out = t.topLevel(c, out)
	}
	return out
}

// firstPath appends to out i, its first child, that one's first child and
// so on.
func (t *exceptionTree) firstPath(i int, out []int) []int {
	for t.visit(i) {
		out = append(out, i)
		kids := t.kids(i)
		if len(kids) == 0 {
			break
		}
		i = kids[0]
	}
	return out
}
