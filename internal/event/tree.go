package event

// TreeEntry is one exception of an exception group as pages show it.
type TreeEntry struct {
	// Index is the exception's index in Event.Exceptions.
	Index int
	// Depth is 0 for the exception raised, 1 for the exceptions it
	// holds, and so on.
	Depth int
	// InGroup says the exception's parent is an exception group: it is
	// one of its errors, not the cause of the exception above it.
	InGroup bool
}

// ExceptionTree returns the exceptions of an event that holds an
// exception group as the tree their mechanisms describe: from the
// exception raised (ExceptionID 0) down, each followed by its children in
// the order the SDK made them (the reverse of the list, which is outermost
// last). It returns nil, and pages show the list as a chain of causes, when
// no exception is a group or the IDs make no tree of all the exceptions:
// one is missing or repeated, there is no 0, a parent_id loops or names
// no exception.
func (e *Event) ExceptionTree() []TreeEntry {
	exs := e.Exceptions
	index := make(map[int]int, len(exs))
	children := map[int][]int{}
	group := false
	for i := len(exs) - 1; i >= 0; i-- {
		m := exs[i].Mechanism
		if m == nil || m.ExceptionID == nil {
			return nil
		}
		if _, dup := index[*m.ExceptionID]; dup {
			return nil
		}
		index[*m.ExceptionID] = i
		group = group || m.IsExceptionGroup
		if m.ParentID != nil && *m.ExceptionID != 0 {
			children[*m.ParentID] = append(children[*m.ParentID], i)
		}
	}
	root, ok := index[0]
	if !group || !ok {
		return nil
	}
	out := make([]TreeEntry, 0, len(exs))
	seen := make([]bool, len(exs))
	var walk func(i, depth int, inGroup bool) bool
	walk = func(i, depth int, inGroup bool) bool {
		if seen[i] {
			return false
		}
		seen[i] = true
		out = append(out, TreeEntry{Index: i, Depth: depth, InGroup: inGroup})
		m := exs[i].Mechanism
		for _, c := range children[*m.ExceptionID] {
			if !walk(c, depth+1, m.IsExceptionGroup) {
				return false
			}
		}
		return true
	}
	if !walk(root, 0, false) || len(out) != len(exs) {
		return nil
	}
	return out
}
