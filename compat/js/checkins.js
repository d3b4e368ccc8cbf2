// Reports runs of cron jobs to a Flytrap server with the official
// @sentry/node SDK's withMonitor: "compat-sync", every 10 minutes, runs
// fine; "compat-report", a crontab in Vienna, throws. "compat-late" sends
// with captureCheckIn the order withMonitor's two requests may land in
// when they race: the run's ok, without the monitor config, delivered
// before its in_progress with it. Prints nothing.
// Usage: node checkins.js <DSN>
"use strict";
const crypto = require("node:crypto");
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
  const checkInId = crypto.randomUUID().replace(/-/g, "");
  Sentry.captureCheckIn({ checkInId, monitorSlug: "compat-late", status: "ok", duration: 1.5 });
  if (!(await Sentry.flush(5000))) {
    process.exit(1);
  }
  Sentry.captureCheckIn({ checkInId, monitorSlug: "compat-late", status: "in_progress" }, {
    schedule: { type: "crontab", value: "@hourly" },
  });
  process.exit((await Sentry.flush(5000)) ? 0 : 1);
}

main();
