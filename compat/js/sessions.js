// Runs one process of a Node app with the official @sentry/node SDK and
// release health on (a release set).
// Usage: node sessions.js <DSN> <release> ok|errored|crashed|server
//   ok      exits normally: a healthy session
//   errored captures a handled error, then exits: an errored session
//   crashed throws an uncaught error: a crashed session
//   server  serves four HTTP requests, the third of which captures an
//           error: the SDK counts each request as a session and sends the
//           counts as aggregates (a sessions item), in environment "server"
// The user is $SESSION_USER (default user-1).
"use strict";
const Sentry = require("@sentry/node");

const [dsn, release, mode] = process.argv.slice(2);
if (!dsn || !release || !["ok", "errored", "crashed", "server"].includes(mode)) {
  console.error("usage: node sessions.js <DSN> <release> ok|errored|crashed|server");
  process.exit(2);
}

Sentry.init({
  dsn,
  release,
  environment: mode === "server" ? "server" : "compat",
  tracesSampleRate: 0,
  // Aggregates are sent every minute by default.
  integrations: [Sentry.httpIntegration({ sessionFlushingDelayMS: 200 })],
});
Sentry.setUser({ id: process.env.SESSION_USER || "user-1" });

// serve answers four requests, then waits for the aggregates to go out.
function serve() {
  const http = require("http");
  const server = http.createServer((req, res) => {
    if (req.url === "/fail") {
      Sentry.captureException(new Error("node session compat request error"));
      res.statusCode = 500;
    }
    res.end("ok");
  });
  server.listen(0, "127.0.0.1", async () => {
    const base = `http://127.0.0.1:${server.address().port}`;
    for (const path of ["/a", "/b", "/fail", "/c"]) {
      await fetch(base + path).then((r) => r.text());
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    server.close();
    const ok = await Sentry.flush(5000);
    process.exitCode = ok ? 0 : 1;
  });
}

async function main() {
  if (mode === "server") {
    serve();
    return;
  }
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
