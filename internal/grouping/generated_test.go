package grouping

import (
	"reflect"
	"testing"

	"github.com/getflytrap/flytrap/internal/event"
)

func TestGeneratedNames(t *testing.T) {
	tests := []struct {
		name     string
		f        func(string) string
		in, want string
	}{
		{"erb", stripERBSuffix, "_app_views_carts_show_html_erb__4151236423534622352_70214356829680", "_app_views_carts_show_html_erb"},
		{"erb, negative hash", stripERBSuffix, "_app_views_carts_show_html_erb___4151236423534622352_70214356829680", "_app_views_carts_show_html_erb"},
		{"erb, short numbers stay", stripERBSuffix, "render__123_4567", "render__123_4567"},
		{"erb, one underscore stays", stripERBSuffix, "render_1234_5678", "render_1234_5678"},
		{"erb, digits only", stripERBSuffix, "__1234_5678", ""},
		{"erb, plain method", stripERBSuffix, "show", "show"},
		{"erb, empty", stripERBSuffix, "", ""},
		{"php closure at top level", phpFunction, "{closure:/var/www/releases/42/routes/web.php:15}", "{closure}"},
		{"php closure in a method", phpFunction, `App\Cart::{closure:App\Cart::total():12}`, `App\Cart::{closure}`},
		{"php nested closure", phpFunction, "{closure:{closure:/app/a.php:3}:4}", "{closure}"},
		{"php two closures", phpFunction, "{closure:a:1}{closure:b:2}", "{closure}{closure}"},
		{"php unterminated closure", phpFunction, "{closure:/app/a.php:3", "{closure:/app/a.php:3"},
		{"php closure before PHP 8.4", phpFunction, "{closure}", "{closure}"},
		{"php anonymous class", phpFunction, "class@anonymous\x00/app/Jobs.php:12$0::handle", "class@anonymous::handle"},
		{"php anonymous subclass", phpFunction, `App\Job@anonymous` + "\x00/app/Jobs.php:12$0::handle", `App\Job@anonymous::handle`},
		{"php anonymous class alone", phpFunction, "class@anonymous/app/Jobs.php:12$0", "class@anonymous"},
		{"php method", phpFunction, `App\Cart::total`, `App\Cart::total`},
		{"java lambda, JDK 8", javaGenerated, "com.example.Worker$$Lambda$14/1892308", "com.example.Worker$$Lambda<auto>"},
		{"java lambda, JDK 17", javaGenerated, "com.example.Worker$$Lambda$1234/0x0000000800c0a440", "com.example.Worker$$Lambda<auto>"},
		{"java lambda, JDK 21", javaGenerated, "com.example.Worker$$Lambda/0x000000f0010a4b20", "com.example.Worker$$Lambda<auto>"},
		{"java lambda body", javaGenerated, "lambda$process$12", "lambda$process$<auto>"},
		{"java proxy, JDK 8", javaGenerated, "com.sun.proxy.$Proxy12", "com.sun.proxy.$Proxy<auto>"},
		{"java proxy, JDK 16", javaGenerated, "jdk.proxy2.$Proxy45", "jdk.proxy<auto>.$Proxy<auto>"},
		{"spring cglib", javaGenerated, "com.example.OrderService$$EnhancerBySpringCGLIB$$4d5e6f7a", "com.example.OrderService$$EnhancerBySpringCGLIB$$<auto>"},
		{"spring 6 cglib", javaGenerated, "com.example.OrderService$$SpringCGLIB$$0", "com.example.OrderService$$SpringCGLIB$$<auto>"},
		{"guice", javaGenerated, "com.example.Api$EnhancerByGuice$ae46b1bf$FastClassByGuice$caceacd2", "com.example.Api$EnhancerByGuice$<auto>$FastClassByGuice$<auto>"},
		{"hibernate", javaGenerated, "com.example.User$HibernateProxy$oRWxjAWT", "com.example.User$HibernateProxy$<auto>"},
		{"javassist seam", javaGenerated, "com.example.EntriesResource_$$_javassist_seam_74", "com.example.EntriesResource_$$_javassist<auto>"},
		{"reflection", javaGenerated, "sun.reflect.GeneratedMethodAccessor789", "sun.reflect.GeneratedMethodAccessor<auto>"},
		{"serialization", javaGenerated, "jdk.internal.reflect.GeneratedSerializationConstructorAccessor12", "jdk.internal.reflect.GeneratedSerializationConstructorAccessor<auto>"},
		{"clojure", javaGenerated, "myapp.core$handler$fn__12345", "myapp.core$handler$fn__<auto>"},
		{"guice, doubled dollars", javaGenerated, "com.example.Api$$EnhancerByGuice$$ae46b1bf$$FastClassByGuice$$caceacd2", "com.example.Api$$EnhancerByGuice$$<auto>$$FastClassByGuice$$<auto>"},
		{"cglib fast class", javaGenerated, "com.example.Api$$FastClassBySpringCGLIB$$9a8b_3", "com.example.Api$$FastClassBySpringCGLIB$$<auto>"},
		{"hibernate, doubled dollars", javaGenerated, "com.example.User$$HibernateProxy$$oRWxjAWT", "com.example.User$$HibernateProxy$$<auto>"},
		{"javassist", javaGenerated, "com.example.EntriesResource_$$_javassist_74", "com.example.EntriesResource_$$_javassist<auto>"},
		{"constructor accessor", javaGenerated, "sun.reflect.GeneratedConstructorAccessor456", "sun.reflect.GeneratedConstructorAccessor<auto>"},
		{"android desugared lambda stays", javaGenerated, "io.sentry.sample.-$$Lambda$MainActivity$tVGPRGxxb8SivUa5SKhzp6BuXOI", "io.sentry.sample.-$$Lambda$MainActivity$tVGPRGxxb8SivUa5SKhzp6BuXOI"},
		{"lambda without a number stays", javaGenerated, "com.example.Worker$$Lambda", "com.example.Worker$$Lambda"},
		{"two lambdas", javaGenerated, "a.B$$Lambda$1/0x1$$Lambda$2/0x2", "a.B$$Lambda<auto>$$Lambda<auto>"},
		{"lambda body without a name", javaGenerated, "lambda$0", "lambda$0"},
		{"jdk.proxy without a number stays", javaGenerated, "jdk.proxy.$Proxy", "jdk.proxy.$Proxy"},
		{"inner class stays", javaGenerated, "com.example.Outer$Inner$1", "com.example.Outer$Inner$1"},
		{"plain class stays", javaGenerated, "com.example.Worker", "com.example.Worker"},
	}
	for _, tt := range tests {
		if got := tt.f(tt.in); got != tt.want {
			t.Errorf("%s: %q -> %q, want %q", tt.name, tt.in, got, tt.want)
		}
	}
}

func FuzzStableFrame(f *testing.F) {
	f.Add("php", "/var/www/releases/42/a.php", "{closure:{closure:/a.php:3}:4}", "")
	f.Add("ruby", "app/views/a.html.erb", "_a__1234_5678", "")
	f.Add("java", "", "lambda$x$0", "a$$Lambda$1/0x1")
	f.Fuzz(func(t *testing.T, platform, file, fn, module string) {
		in := event.Frame{Filename: file, Function: fn, Module: module}
		a, b := stableFrame(platform, in), stableFrame(platform, in)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("not deterministic: %+v then %+v", a, b)
		}
	})
}
