// Sends user feedback to a Flytrap server with the official @sentry/node
// SDK: an error, feedback about it (captureFeedback with associatedEventId)
// and feedback about nothing in particular, then prints the IDs as JSON.
// Usage: node feedback.js <DSN>
"use strict";
const Sentry = require("@sentry/node");

const dsn = process.argv[2];
if (!dsn) {
  console.error("usage: node feedback.js <DSN>");
  process.exit(2);
}

Sentry.init({ dsn, release: "compat-node@1.0.0", environment: "compat", tracesSampleRate: 0 });

async function main() {
  const errorId = Sentry.captureException(new Error("node feedback compat error"));
  const aboutError = Sentry.captureFeedback({
    message: "The checkout <b>broke</b> when I clicked pay",
    name: "Ada Lovelace",
    email: "ada@example.com",
    url: "https://shop.example/checkout",
    associatedEventId: errorId,
  });
  const standalone = Sentry.captureFeedback({ message: "Love the new design", name: "Grace", email: "grace@example.com" });
  const ok = await Sentry.flush(5000);
  console.log(JSON.stringify({ error: errorId, about_error: aboutError, standalone }));
  process.exit(ok ? 0 : 1);
}

main();
