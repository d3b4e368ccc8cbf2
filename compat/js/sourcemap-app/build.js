// Minifies the app in src/ into <outdir>: app.min.js and admin.min.js (which
// starts with a directive) with external source maps, vendor.min.js with an inline one, for the source
// map upload tests in cmd/flytrap (sentry-cli and flytrap sourcemaps).
// Usage: node build.js <outdir>
"use strict";
const out = process.argv[2];
if (!out) {
  console.error("usage: node build.js <outdir>");
  process.exit(2);
}
const esbuild = require("esbuild");
const common = {
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  logLevel: "warning",
  sourcesContent: true,
};
esbuild.buildSync({
  ...common,
  entryPoints: { "app.min": __dirname + "/src/app.js" },
  outdir: out,
  sourcemap: "external",
});
// A directive first, so debug-ID injection has to split the first line.
esbuild.buildSync({
  ...common,
  entryPoints: { "admin.min": __dirname + "/src/admin.js" },
  outdir: out,
  sourcemap: "external",
  banner: { js: '"use strict";' },
});
// external maps get no comment; link them as bundlers usually do.
const fs = require("fs");
for (const name of ["app.min.js", "admin.min.js"]) {
  fs.appendFileSync(out + "/" + name, "//# sourceMappingURL=" + name + ".map\n");
}
esbuild.buildSync({
  ...common,
  entryPoints: { "vendor.min": __dirname + "/src/cart.js" },
  outdir: out,
  sourcemap: "inline",
});
