package symbolicate

import "testing"

// TestResolveSource: a map's sources are relative to the map's URL (the
// source map spec), and absolute URLs and paths stay as they are.
func TestResolveSource(t *testing.T) {
	for _, tt := range []struct{ mapURL, source, want string }{
		{"https://shop.example.com/static/js/app.min.js.map", "../src/cart.js", "https://shop.example.com/static/src/cart.js"},
		{"https://shop.example.com/static/js/app.min.js?v=3", "./cart.js", "https://shop.example.com/static/js/cart.js"},
		{"https://shop.example.com/static/js/app.min.js", "/src/cart.js", "https://shop.example.com/src/cart.js"},
		{"https://shop.example.com/static/js/app.min.js", "webpack:///./src/cart.js", "webpack:///./src/cart.js"},
		{"https://shop.example.com/static/js/app.min.js", "webpack://shop/./src/cart.js", "webpack://shop/./src/cart.js"},
		{"https://shop.example.com/static/js/app.min.js", "https://cdn.example.com/src/cart.js", "https://cdn.example.com/src/cart.js"},
		{"app:///dist/app.min.js", "../src/cart.js", "app:///src/cart.js"},
		// A Node server's file path: joined as a path, spaces kept, and
		// the ../ of a bundler run elsewhere climbing to the root.
		{"/srv/app/dist/app.min.js", "../src/cart.js", "/srv/app/src/cart.js"},
		{"/srv/my app/dist/app.min.js", "../src/my cart.js", "/srv/my app/src/my cart.js"},
		{"/work/shop/dist/app.min.js", "../../../../../../work/shop/src/cart.js", "/work/shop/src/cart.js"},
		{"/srv/app/dist/app.min.js", "/home/ci/src/cart.js", "/home/ci/src/cart.js"},
		// Nothing to resolve against.
		{"~/static/js/app.min.js", "../src/cart.js", "../src/cart.js"},
		{"app.min.js", "../src/cart.js", "../src/cart.js"},
		{`C:\app\dist\app.min.js`, "../src/cart.js", "../src/cart.js"},
		{"C:/app/dist/app.min.js", "../src/cart.js", "../src/cart.js"},
		{"", "../src/cart.js", "../src/cart.js"},
	} {
		if got := resolveSource(tt.mapURL, tt.source); got != tt.want {
			t.Errorf("resolveSource(%q, %q) = %q, want %q", tt.mapURL, tt.source, got, tt.want)
		}
	}
}

// TestMapURL: the map is where the minified file's sourceMappingURL
// points, else beside the file.
func TestMapURL(t *testing.T) {
	const file = "https://shop.example.com/static/js/app.min.js"
	for _, tt := range []struct{ body, want string }{
		{"var a=1;\n//# sourceMappingURL=../maps/app.min.js.map\n", "https://shop.example.com/static/maps/app.min.js.map"},
		{"var a=1;\n//# sourceMappingURL=app.min.js.map", "https://shop.example.com/static/js/app.min.js.map"},
		{"var a=1;\n//# sourceMappingURL=data:application/json;base64,e30=", file},
		{"var a=1;", file},
	} {
		if got := mapURL(file, newMinified([]byte(tt.body))); got != tt.want {
			t.Errorf("mapURL of %q = %q, want %q", tt.body, got, tt.want)
		}
	}
	if got := mapURL(file, nil); got != file {
		t.Errorf("mapURL without the file = %q, want %q", got, file)
	}
}
