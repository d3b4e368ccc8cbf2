package dashboard

import (
	"net/http"

	"github.com/getflytrap/flytrap/internal/auth"
	"github.com/getflytrap/flytrap/internal/service"
)

// ClientKey names the request's client for the sign-in throttle, as the
// dashboard is configured to find it (TrustForwardedFor).
func (d *Dashboard) ClientKey(r *http.Request) string { return auth.ClientKey(r, d.trustXFF) }

// Throttle is the dashboard's sign-in throttle, for the API's token
// endpoint to share: a password guessed through either counts for both.
func (d *Dashboard) Throttle() *auth.Throttle { return d.throttle }

// CommentThrottle is the throttle of the dashboard's comment emails, for
// the API to share: comments through either count for both.
func (d *Dashboard) CommentThrottle() *service.CommentThrottle { return d.svc.CommentThrottle() }

// EmailMisses counts the emails no user has that project admins tried
// to add through the dashboard, for the API to share: misses through
// either count for both.
func (d *Dashboard) EmailMisses() *service.EmailMisses { return d.svc.EmailMisses() }

// IngestBase is where the request's SDKs send events (IngestURL, else the
// dashboard's own URL), for the API's DSNs.
func (d *Dashboard) IngestBase(r *http.Request) string { return d.ingestBase(r) }
