// Reports runs of two cron jobs to a Flytrap server with the official
// @sentry/node SDK's withMonitor: "compat-sync", every 10 minutes, runs
// fine; "compat-report", a crontab in Vienna, throws. Prints nothing.
// Usage: node checkins.js <DSN>
"use strict";
const Sentry = require("@sentry/node");

const dsn = process.argv[2];
if (!dsn) {
  console.error("usage: node checkins.js <DSN>");
  process.exit(2);
}

Sentry.init({ dsn, release: "compat-cron@1.0.0", environment: "compat", tracesSampleRate: 0 });

async function main() {
  await Sentry.withMonitor("compat-sync", async () => new Promise((resolve) => setTimeout(resolve, 50)), {
    schedule: { type: "interval", value: 10, unit: "minute" },
    checkinMargin: 2,
    maxRuntime: 5,
  });
  try {
    await Sentry.withMonitor("compat-report", async () => {
      throw new Error("report failed");
    }, {
      schedule: { type: "crontab", value: "30 6 * * 1-5" },
      timezone: "Europe/Vienna",
      failureIssueThreshold: 1,
    });
  } catch (e) {
    // Expected: withMonitor rethrows after its error check-in.
  }
  process.exit((await Sentry.flush(5000)) ? 0 : 1);
}

main();
