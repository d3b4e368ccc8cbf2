// Records the method and path of every request the official Sentry JS SDKs send.
"use strict";
const http = require("http");
const fs = require("fs");
const mode = process.argv[2]; // node | browser-server
const seen = [];
const bundle = process.argv[3];
const srv = http.createServer((req, res) => {
  if (req.url === "/" ) {
    res.setHeader("content-type", "text/html");
    res.end(`<html><body><script src="/sentry.js"></script><script>
      Sentry.init({dsn: "http://abc123@" + location.host + "/42", tracesSampleRate: 0});
      const eventId = Sentry.captureException(new Error("browser path probe"));
      Sentry.captureMessage("browser message");
      Sentry.showReportDialog({ eventId });
      Sentry.flush(3000).then(() => { document.title = "done"; });
    </script></body></html>`);
    return;
  }
  if (req.url === "/sentry.js") { res.setHeader("content-type","text/javascript"); res.end(fs.readFileSync(bundle)); return; }
  if (req.url === "/favicon.ico") { res.statusCode = 404; res.end(); return; }
  console.log(req.method + " " + req.url.split("?")[0] + "  query=" + (req.url.split("?")[1]||"").replace(/sentry_key=[^&]*/, "sentry_key=KEY").replace(/sentry_client=[^&]*/, "sentry_client=CLIENT"));
  res.setHeader("access-control-allow-origin", "*");
  res.setHeader("access-control-allow-headers", "*");
  res.setHeader("content-type", "application/json");
  res.end("{}");
});
srv.listen(Number(process.env.PORT) || 0, "127.0.0.1", () => {
  const port = srv.address().port;
  console.error("PORT " + port);
  if (mode === "node") {
    const Sentry = require(process.argv[4] + "/node_modules/@sentry/node");
    Sentry.init({ dsn: `http://abc123@127.0.0.1:${port}/42`, tracesSampleRate: 0 });
    Sentry.captureException(new Error("node path probe"));
    Sentry.captureMessage("node message");
    Sentry.flush(3000).then(() => { setTimeout(() => process.exit(0), 200); });
  }
});
