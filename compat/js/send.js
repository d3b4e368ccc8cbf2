// Sends events to a Flytrap server with the official @sentry/node SDK, the
// way an Express app would: a caught exception with a breadcrumb, user and
// tags, an unhandled promise rejection, and a plain message.
// Usage: node send.js <DSN>
"use strict";
const Sentry = require("@sentry/node");

const dsn = process.argv[2];
if (!dsn) {
  console.error("usage: node send.js <DSN>");
  process.exit(2);
}

Sentry.init({
  dsn,
  release: "compat-node@1.0.0",
  environment: "compat",
  sendDefaultPii: false,
  // Keep the run short and deterministic: no tracing, no default sampling.
  tracesSampleRate: 0,
});

function loadInvoice(id) {
  const invoices = {};
  return invoices[id].total; // TypeError: Cannot read properties of undefined
}

async function main() {
  Sentry.setUser({ id: "node-user-1", email: "node@example.com" });
  Sentry.setTag("component", "billing");
  Sentry.addBreadcrumb({ category: "http", message: "GET /invoices/42", level: "info" });
  try {
    loadInvoice(42);
  } catch (err) {
    Sentry.captureException(err);
  }
  Sentry.captureMessage("node compat message 123", "warning");
  Promise.reject(new RangeError("node compat rejection"));
  // Let the SDK's unhandledrejection handler run before flushing.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const ok = await Sentry.flush(5000);
  process.exit(ok ? 0 : 1);
}

main();
