// Sends exception groups with the official @sentry/node SDK, whose linked
// errors integration lists an AggregateError's errors beside it with
// mechanism.exception_id, parent_id, source and is_exception_group:
// two different errors in one group, a group nested in another, a group of
// three copies of one error, and an error with a cause (a chain, not a
// group). A server that groups as Sentry does makes four issues of them,
// the third titled by its TypeError rather than the AggregateError.
// Usage: node aggregate-errors.js <DSN>
"use strict";
const Sentry = require("@sentry/node");

const dsn = process.argv[2];
if (!dsn) {
  console.error("usage: node aggregate-errors.js <DSN>");
  process.exit(2);
}

Sentry.init({ dsn, release: "compat-aggregate@1.0.0", environment: "compat", tracesSampleRate: 0 });

function many() {
  return new AggregateError([new TypeError("a"), new RangeError("b")], "many");
}
function nested() {
  const inner = new AggregateError([new RangeError("b"), new TypeError("c")], "inner");
  return new AggregateError([new TypeError("a"), inner], "outer");
}
function copy() {
  return new TypeError("x");
}
function copies() {
  return new AggregateError([copy(), copy(), copy()], "same");
}
function caused() {
  return new Error("save failed", { cause: new RangeError("disk full") });
}

Sentry.captureException(many());
Sentry.captureException(nested());
Sentry.captureException(copies());
Sentry.captureException(caused());

Sentry.flush(5000).then((ok) => process.exit(ok ? 0 : 1));
