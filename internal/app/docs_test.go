package app

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestDocsNameEveryJob: docs/api.md's list of the job metric label's
// values names every job constant (Job... in this package and in the
// runtime/dashboard assembly), so a new job is not left out of it.
func TestDocsNameEveryJob(t *testing.T) {
	names := jobNames(t, "app.go")
	names = append(names, jobNames(t, filepath.Join("..", "..", "runtime", "dashboard", "alerts.go"))...)
	if len(names) < 6 {
		t.Fatalf("found only the jobs %q", names)
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "api.md"))
	if err != nil {
		t.Fatal(err)
	}
	list := regexp.MustCompile("\\(`job` is ([^)]*)\\)").FindSubmatch(doc)
	if list == nil {
		t.Fatal("docs/api.md has no \"(`job` is ...)\" list")
	}
	for _, n := range names {
		if !strings.Contains(string(list[1]), "`"+n+"`") {
			t.Errorf("docs/api.md's job label list lacks %q: %s", n, list[1])
		}
	}
}

// jobNames is the values of the string constants named Job... in file.
func jobNames(t *testing.T, file string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			v := s.(*ast.ValueSpec)
			for i, id := range v.Names {
				if !strings.HasPrefix(id.Name, "Job") || i >= len(v.Values) {
					continue
				}
				lit, ok := v.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				n, _ := strconv.Unquote(lit.Value)
				names = append(names, n)
			}
		}
	}
	return names
}
