// Sends three traced requests and then an error with the official
// @sentry/node SDK through a counting proxy, and prints how many envelopes
// of each kind reached the server: with tracing on, Flytrap answers the
// first tracing envelope with X-Sentry-Rate-Limits, and the SDK should keep
// the rest to itself while errors still go through.
// Usage: node ratelimit.js <DSN>
"use strict";
const http = require("http");
const zlib = require("zlib");
const Sentry = require("@sentry/node");

const dsn = new URL(process.argv[2] || "");
const counts = { tracing: 0, event: 0, other: 0 };

const proxy = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    let text = body.toString();
    if (req.headers["content-encoding"] === "gzip") text = zlib.gunzipSync(body).toString();
    const types = text.split("\n").map((l) => {
      try { return JSON.parse(l).type; } catch { return undefined; }
    });
    if (types.includes("event")) counts.event++;
    else if (types.includes("span") || types.includes("transaction")) counts.tracing++;
    else counts.other++;
    const up = http.request({ host: dsn.hostname, port: dsn.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.end(body);
  });
});

proxy.listen(0, "127.0.0.1", async () => {
  const via = new URL(dsn.href);
  via.host = `127.0.0.1:${proxy.address().port}`;
  Sentry.init({ dsn: via.href, tracesSampleRate: 1.0, sendClientReports: false });
  for (const name of ["GET /checkout", "GET /cart", "GET /home"]) {
    Sentry.startSpan({ name, forceTransaction: true }, () => {});
    await Sentry.flush(5000);
  }
  Sentry.captureException(new Error("rate limit compat error"));
  await Sentry.flush(5000);
  console.log(JSON.stringify(counts));
  proxy.close();
  process.exit(0);
});
