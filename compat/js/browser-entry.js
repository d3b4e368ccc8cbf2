// Bundled by build-browser.js into one script a test page loads, so the
// official @sentry/browser SDK runs unmodified in Chromium.
import * as Sentry from "@sentry/browser";

window.Sentry = Sentry;
