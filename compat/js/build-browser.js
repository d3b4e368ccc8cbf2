// Bundles @sentry/browser into one IIFE script that exposes window.Sentry,
// for cmd/flytrap's browser compatibility test, which runs it.
// Usage: node build-browser.js <outfile>
"use strict";
const out = process.argv[2];
if (!out) {
  console.error("usage: node build-browser.js <outfile>");
  process.exit(2);
}
require("esbuild").buildSync({
  entryPoints: [__dirname + "/browser-entry.js"],
  bundle: true,
  format: "iife",
  target: "es2020",
  outfile: out,
  logLevel: "warning",
});
