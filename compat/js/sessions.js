// Runs one process of a Node app with the official @sentry/node SDK and
// release health on (a release set): its process session ends as the mode
// says. Usage: node sessions.js <DSN> <release> ok|errored|crashed
//   ok      exits normally: a healthy session
//   errored captures a handled error, then exits: an errored session
//   crashed throws an uncaught error: a crashed session
"use strict";
const Sentry = require("@sentry/node");

const [dsn, release, mode] = process.argv.slice(2);
if (!dsn || !release || !["ok", "errored", "crashed"].includes(mode)) {
  console.error("usage: node sessions.js <DSN> <release> ok|errored|crashed");
  process.exit(2);
}

Sentry.init({ dsn, release, environment: "compat", tracesSampleRate: 0 });
Sentry.setUser({ id: process.env.SESSION_USER || "user-1" });

async function main() {
  if (mode === "crashed") {
    setTimeout(() => {
      throw new Error("node session compat crash");
    }, 0);
    return;
  }
  if (mode === "errored") {
    Sentry.captureException(new Error("node session compat handled error"));
  }
  const ok = await Sentry.flush(5000);
  process.exitCode = ok ? 0 : 1;
}

main();
