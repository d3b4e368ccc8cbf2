// Serves the browser SDK's tunnel with the official @sentry/node SDK's
// handleTunnelRequest, as a site behind a CDN does, and posts through it
// what two anonymous visitors' browsers send (@sentry/browser's envelope,
// infer_ip "auto"), each from its own address in X-Forwarded-For. The
// tunnel forwards each envelope to the DSN's server from this process,
// with the visitor's address in X-Sentry-Forwarded-For. Prints the
// tunnel's two answers' statuses as JSON.
// Usage: node tunnel.js <DSN>
"use strict";
const http = require("http");
const Sentry = require("@sentry/node");

const dsn = process.argv[2];
if (!dsn) {
  console.error("usage: node tunnel.js <DSN>");
  process.exit(2);
}

Sentry.init({ dsn, release: "compat-tunnel@1.0.0", environment: "compat", tracesSampleRate: 0 });

function visitorEnvelope(n) {
  const id = String(n).repeat(32);
  const sdk = { name: "sentry.javascript.browser", version: "11.12.0" };
  return [
    JSON.stringify({ event_id: id, sent_at: new Date().toISOString(), dsn, sdk }),
    JSON.stringify({ type: "event" }),
    JSON.stringify({
      event_id: id,
      platform: "javascript",
      release: "compat-tunnel@1.0.0",
      exception: { values: [{ type: "TypeError", value: "tunnelled visitor error" }] },
      request: { url: "https://shop.example/cart", headers: { "User-Agent": "Mozilla/5.0" } },
      sdk: { ...sdk, settings: { infer_ip: "auto" } },
    }),
  ].join("\n") + "\n";
}

const server = http.createServer((req, res) => {
  Sentry.handleTunnelRequest(req, res, { allowedDsns: [dsn] });
});
server.listen(0, "127.0.0.1", async () => {
  const tunnel = `http://127.0.0.1:${server.address().port}/tunnel`;
  const statuses = [];
  for (const [n, visitor] of [[1, "198.51.100.7"], [2, "203.0.113.99"]]) {
    const r = await fetch(tunnel, {
      method: "POST",
      body: visitorEnvelope(n),
      headers: { "content-type": "text/plain;charset=UTF-8", "x-forwarded-for": `${visitor}, 10.0.0.1` },
    });
    await r.arrayBuffer();
    statuses.push(r.status);
  }
  console.log(JSON.stringify({ statuses }));
  server.close();
  process.exit(0);
});
