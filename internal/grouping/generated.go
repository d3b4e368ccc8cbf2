package grouping

import (
	"strings"

	"github.com/getflytrap/flytrap/internal/event"
)

// stableFrame returns f without the parts of its names that differ from
// one deployment, process or run of the same code to the next, by the
// event's platform, after Sentry's grouping (strategies/newstyle.py).
//
//   - PHP: the file is named by its base name, as Sentry names every file:
//     the SDK sends absolute paths, and deployment tools put each release
//     in a directory of its own (Deployer's releases/41/, releases/42/).
//     An anonymous class's method ("class@anonymous<NUL>/path/to/File.php:12$0::handle")
//     and a PHP 8.4 closure ("{closure:/path/to/routes.php:15}") lose the
//     path and line they are named after.
//   - Ruby: Rails names the method of a compiled ERB template after the
//     hash of its path and an object id, which change with every process
//     ("_app_views_carts_show_html_erb__4151236423534622352_70214356829680");
//     the suffix is cut, as Sentry does, and so is the extra underscore a
//     negative hash leaves, which Sentry keeps.
//   - Java: classes generated at run time are numbered in the order the JVM
//     makes them: lambdas ("Worker$$Lambda$1234/0x0000000800c0a440", and
//     "Worker$$Lambda/0x…" from JDK 21), JDK proxies ("jdk.proxy2.$Proxy45"),
//     CGLIB, Guice, Hibernate and Javassist proxies, reflection accessors and
//     Clojure functions; the number becomes "<auto>", as in Sentry.
//     (Android's desugared "-$$Lambda$MainActivity$tVGPRGxxb8SivUa5SKhzp6BuXOI"
//     carries a hash fixed when the app is built, not a number, and stays.)
//     A lambda's body method ("lambda$process$0") loses its index, which
//     adding a lambda above it changes.
func stableFrame(platform string, f event.Frame) event.Frame {
	switch platform {
	case "php":
		file := f.Filename
		if file == "" {
			file = f.AbsPath
		}
		f.Filename = basename(file)
		f.Function = phpFunction(f.Function)
	case "ruby":
		f.Function = stripERBSuffix(f.Function)
	case "java":
		f.Module = javaGenerated(f.Module)
		f.Function = javaGenerated(f.Function)
	}
	return f
}

// phpFunction removes the file and line from the names PHP gives anonymous
// classes and, from PHP 8.4, closures.
func phpFunction(fn string) string {
	const anon = "@anonymous"
	if i := strings.Index(fn, anon); i >= 0 {
		rest := ""
		if j := strings.LastIndex(fn, "::"); j > i {
			rest = fn[j:]
		}
		fn = fn[:i+len(anon)] + rest
	}
	const closure = "{closure:"
	for {
		i := strings.Index(fn, closure)
		if i < 0 {
			return fn
		}
		// The scope a closure is named after may be another closure.
		depth, end := 0, -1
		for j := i; j < len(fn) && end < 0; j++ {
			switch fn[j] {
			case '{':
				depth++
			case '}':
				if depth--; depth == 0 {
					end = j
				}
			}
		}
		if end < 0 {
			return fn
		}
		fn = fn[:i] + "{closure}" + fn[end+1:]
	}
}

// stripERBSuffix cuts "__HASH_ID" (four digits or more each) off the name
// of a method Rails compiled from a template, and the underscore that
// stands for the minus of a negative hash.
func stripERBSuffix(fn string) string {
	id := len(fn)
	for id > 0 && isDigit(fn[id-1]) {
		id--
	}
	if len(fn)-id < 4 || id == 0 || fn[id-1] != '_' {
		return fn
	}
	hash := id - 1
	for hash > 0 && isDigit(fn[hash-1]) {
		hash--
	}
	if id-1-hash < 4 || hash < 2 || fn[hash-2:hash] != "__" {
		return fn
	}
	return strings.TrimSuffix(fn[:hash-2], "_")
}

// javaGenerated removes the numbering of generated classes and lambda
// bodies from a class or method name. The patterns past the JDK's own are
// Sentry's (_java_*_re in newstyle.py), scanned for by hand: a regular
// expression made grouping a Java event ten times slower.
func javaGenerated(name string) string {
	// Every name a rule changes has a "$" or "reflect.Generated" in it (the
	// classes of the jdk.proxyN modules are $ProxyN); most names have
	// neither.
	if !strings.Contains(name, "$") && !strings.Contains(name, "reflect.Generated") {
		return name
	}
	if rest, ok := strings.CutPrefix(name, "jdk.proxy"); ok && digits(rest) > 0 {
		name = "jdk.proxy<auto>" + rest[digits(rest):]
	}
	if strings.HasPrefix(name, "lambda$") {
		// lambda$process$0: javac's index of the lambda in its class.
		i := len(name)
		for i > 0 && isDigit(name[i-1]) {
			i--
		}
		if i < len(name) && i > len("lambda$") && name[i-1] == '$' {
			name = name[:i] + "<auto>"
		}
	}
	name = replaceGenerated(name, "$$Lambda", func(s string) int {
		// "$1234/0x0000000800c0a440" (JDK 8 to 20), "/0x000000f0010a4b20"
		// (from JDK 21)
		n := 0
		if len(s) > 0 && s[0] == '$' && digits(s[1:]) > 0 {
			n = 1 + digits(s[1:])
		}
		if n < len(s) && s[n] == '/' && word(s[n+1:]) > 0 {
			n += 1 + word(s[n+1:])
		}
		return n
	})
	name = replaceGenerated(name, "$Proxy", digits)
	if strings.Contains(name, "reflect.Generated") {
		// sun.reflect.GeneratedMethodAccessor789, and jdk.internal.reflect.
		for _, kind := range []string{"MethodAccessor", "ConstructorAccessor", "SerializationConstructorAccessor"} {
			name = replaceGenerated(name, "reflect.Generated"+kind, digits)
		}
	}
	// $$EnhancerBySpringCGLIB$$4d5e6f7a, $$SpringCGLIB$$0,
	// $$FastClassBySpringCGLIB$$9a8b_3
	name = replaceGenerated(name, "CGLIB$$", hexNumber)
	// Guice: $$EnhancerByGuice$$ae46b1bf, $EnhancerByGuice$ae46b1bf, and
	// the same with FastClassBy.
	for _, marker := range []string{"$EnhancerBy", "$FastClassBy"} {
		name = replaceGeneratedAfter(name, marker, func(s string) (int, int) {
			n := word(s)
			if n == 0 || n >= len(s) || s[n] != '$' {
				return 0, 0
			}
			n++
			if n < len(s) && s[n] == '$' {
				n++
			}
			return n, hexNumber(s[n:])
		})
	}
	// $HibernateProxy$oRWxjAWT, $$HibernateProxy$$oRWxjAWT
	name = replaceGeneratedAfter(name, "$HibernateProxy$", func(s string) (int, int) {
		if strings.HasPrefix(s, "$") {
			return 1, word(s[1:])
		}
		return 0, word(s)
	})
	// $$_javassist_74, $$_javassist_seam_74
	name = replaceGenerated(name, "$$_javassist", func(s string) int {
		n := 0
		if strings.HasPrefix(s, "_seam") {
			n = len("_seam")
		}
		if n < len(s) && s[n] == '_' && digits(s[n+1:]) > 0 {
			n += 1 + digits(s[n+1:])
		}
		return n
	})
	return replaceGenerated(name, "$fn__", digits)
}

// replaceGenerated replaces, after each marker in s, the generated part
// that generated measures at the start of the text after it (0 for none)
// with "<auto>".
func replaceGenerated(s, marker string, generated func(rest string) int) string {
	return replaceGeneratedAfter(s, marker, func(rest string) (int, int) { return 0, generated(rest) })
}

// replaceGeneratedAfter is replaceGenerated where the generated part may
// start past the marker: generated returns how much of the text after the
// marker stays, then how much of the rest is generated.
func replaceGeneratedAfter(s, marker string, generated func(rest string) (keep, n int)) string {
	var b strings.Builder
	done := 0 // s[:done] is written to b, or left as it was when b is empty
	for i := 0; ; {
		j := strings.Index(s[i:], marker)
		if j < 0 {
			break
		}
		at := i + j + len(marker)
		keep, n := generated(s[at:])
		at += keep
		if n > 0 {
			b.WriteString(s[done:at])
			b.WriteString("<auto>")
			done = at + n
		}
		i = at + n
	}
	if b.Len() == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}

// digits is the number of decimal digits s starts with.
func digits(s string) int {
	n := 0
	for n < len(s) && isDigit(s[n]) {
		n++
	}
	return n
}

// word is the number of letters, digits and underscores s starts with.
func word(s string) int {
	n := 0
	for n < len(s) && (isDigit(s[n]) || s[n] == '_' || 'a' <= s[n]|0x20 && s[n]|0x20 <= 'z') {
		n++
	}
	return n
}

// hexNumber is the length of the hex number, with an optional "_" and
// decimal suffix, that s starts with.
func hexNumber(s string) int {
	n := 0
	for n < len(s) && (isDigit(s[n]) || 'a' <= s[n]|0x20 && s[n]|0x20 <= 'f') {
		n++
	}
	if n > 0 && n < len(s) && s[n] == '_' && digits(s[n+1:]) > 0 {
		n += 1 + digits(s[n+1:])
	}
	return n
}
