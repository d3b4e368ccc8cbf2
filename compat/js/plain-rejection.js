// Rejects a promise with a plain object, unhandled, with the official
// @sentry/node SDK: it reports an Error it makes up for the object,
// marked synthetic, with the onunhandledrejection mechanism.
// Usage: node plain-rejection.js <DSN>
"use strict";
const Sentry = require("@sentry/node");

const dsn = process.argv[2];
if (!dsn) {
  console.error("usage: node plain-rejection.js <DSN>");
  process.exit(2);
}

Sentry.init({ dsn, release: "compat-node@1.0.0", tracesSampleRate: 0 });

async function main() {
  Promise.reject({ code: 42, reason: "plain object" });
  // Let the SDK's unhandledrejection handler run before flushing.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const ok = await Sentry.flush(5000);
  process.exit(ok ? 0 : 1);
}

main();
