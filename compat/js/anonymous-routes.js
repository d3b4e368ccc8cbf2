// Sends the QA report's errors from anonymous functions with the official
// @sentry/node SDK: two route handlers that are arrow functions in one
// file, each throwing its own error, and two messages captured from module
// scope with a stack trace attached. Each is a different bug, so a server
// must group them into four issues (grouping version 2026-12e).
// Usage: node anonymous-routes.js <DSN>
"use strict";
const Sentry = require("@sentry/node");

const dsn = process.argv[2];
if (!dsn) {
  console.error("usage: node anonymous-routes.js <DSN>");
  process.exit(2);
}

Sentry.init({ dsn, release: "compat-anonymous@1.0.0", environment: "compat", tracesSampleRate: 0, attachStacktrace: true });

const routes=new Map(); function get(p,fn){routes.set(p,fn)}
get('/cart',  r=>{throw new Error('cart service unavailable')});
get('/login', r=>{throw new Error('password hash mismatch')});
function dispatch(p){try{routes.get(p)({})}catch(e){Sentry.captureException(e)}}
dispatch('/cart'); dispatch('/login');

Sentry.captureMessage('warning: disk almost full', 'warning');
Sentry.captureMessage('fatal: queue consumer gave up', 'fatal');

Sentry.flush(5000).then((ok) => process.exit(ok ? 0 : 1));
