package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/getflytrap/flytrap/internal/awsx"
)

// SmokeResult is what the smoke test saw.
type SmokeResult struct {
	Dashboard awsx.Health `json:"dashboard"`
	Ingest    IngestProbe `json:"ingest"`
}

// IngestProbe is an unauthenticated POST to the ingest API. The CLI has no
// project key (the dashboard creates them), so it expects the ingest
// function's own 401 JSON answer: that proves the request went through
// API Gateway's route and integration to a running Lambda, which is
// everything but the key lookup and the queue.
type IngestProbe struct {
	URL    string `json:"url"`
	OK     bool   `json:"ok"`
	Status int    `json:"status,omitempty"`
	Error  string `json:"error,omitempty"`
}

// ProbePath is the Sentry envelope route of project 1, with the trailing
// slash the SDKs send.
const ProbePath = "/api/1/envelope/"

// ProbeIngest posts an empty envelope without a key to base and checks for
// a 401 with a JSON error body.
func ProbeIngest(ctx context.Context, client *http.Client, base string) IngestProbe {
	u := strings.TrimSuffix(base, "/") + ProbePath
	pr := IngestProbe{URL: u}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader("{}\n"))
	if err != nil {
		pr.Error = err.Error()
		return pr
	}
	req.Header.Set("Content-Type", "application/x-sentry-envelope")
	req.Header.Set("User-Agent", "flytrap-deploy-smoke-test")
	resp, err := client.Do(req)
	if err != nil {
		pr.Error = err.Error()
		return pr
	}
	defer resp.Body.Close()
	pr.Status = resp.StatusCode
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	// Flytrap's error shape, {"error": {"code": ...}}, tells the function's
	// answer apart from API Gateway's own ({"message": ...}).
	var eb struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	switch {
	case resp.StatusCode != http.StatusUnauthorized:
		pr.Error = fmt.Sprintf("HTTP %d, want 401 from the ingest function (%s)", resp.StatusCode, snippet(body))
	case mt != "application/json" || json.Unmarshal(body, &eb) != nil || eb.Error.Code == "":
		pr.Error = fmt.Sprintf("HTTP 401 without Flytrap's JSON error body (%s): not the ingest function's answer", snippet(body))
	default:
		pr.OK = true
	}
	return pr
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	if s == "" {
		return "empty body"
	}
	return s
}

// DefaultSmokeTimeout covers a first boot: the instance starts, cloud-init
// installs the service, the binary is fetched and the migrations run.
const DefaultSmokeTimeout = 10 * time.Minute

// ingestProbeBackoff are the waits between the ingest probe's attempts
// (the last entry is unused): 8 attempts over about 2 minutes.
var ingestProbeBackoff = []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second, 30 * time.Second, 0}

type smokeStep struct{}

func (smokeStep) Name() string { return "smoke-test" }

func (smokeStep) Run(ctx context.Context, s *State) error {
	o := s.Outputs
	client := s.Deps.HTTP
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	res := &SmokeResult{}
	s.Smoke = res

	// Retried: the probe runs seconds after the stage, the Lambda
	// permission or the ingest domain's record were created, and a
	// propagation blip must not fail a deploy that worked.
	for i, wait := range ingestProbeBackoff {
		res.Ingest = ProbeIngest(ctx, client, o.IngestURL)
		if res.Ingest.OK || ctx.Err() != nil || i == len(ingestProbeBackoff)-1 {
			break
		}
		s.Logf("ingest: %s; trying again in %s", res.Ingest.Error, wait)
		if err := s.sleep(ctx, wait); err != nil {
			return err
		}
	}
	if res.Ingest.OK {
		s.Logf("ingest: POST %s answered 401 JSON (route → Lambda works)", res.Ingest.URL)
	} else {
		s.Logf("ingest: %s", res.Ingest.Error)
	}

	timeout := s.Options.SmokeTimeout
	if timeout == 0 {
		timeout = DefaultSmokeTimeout
	}
	s.Logf("waiting up to %s for %s/healthz (a first boot takes a few minutes)", timeout, o.DashboardURL)
	// Attempts rather than a deadline: the wait is bounded however the
	// clock behaves.
	const interval = 10 * time.Second
	attempts := int(timeout/interval) + 1
	for i := 1; ; i++ {
		res.Dashboard = awsx.CheckHealth(ctx, client, o.DashboardURL)
		if res.Dashboard.OK || i >= attempts || ctx.Err() != nil {
			break
		}
		if err := s.sleep(ctx, interval); err != nil {
			return err
		}
	}
	if res.Dashboard.OK {
		s.Logf("dashboard: %s answered 200 in %d ms", res.Dashboard.URL, res.Dashboard.LatencyMS)
	}

	switch {
	case !res.Ingest.OK:
		return &Error{
			Msg:  "the ingest API does not answer like Flytrap: " + res.Ingest.Error,
			Hint: "check the function's logs: `aws logs tail /aws/lambda/flytrap-" + s.Plan.Name + "-ingest --since 10m`",
		}
	case !res.Dashboard.OK && s.Plan.Domain != "":
		// Commonly just DNS: the record cannot point at the Elastic IP
		// before the first apply has made it.
		s.Warnf("%s/healthz did not answer (%s): point %s's DNS A record at the dashboard's Elastic IP (aws ec2 describe-addresses --filters Name=tag:Name,Values=flytrap-%s-dashboard); the certificate is issued on the first HTTPS request",
			o.DashboardURL, res.Dashboard.Error, s.Plan.Domain, s.Plan.Name)
		return nil
	case !res.Dashboard.OK:
		return &Error{
			Msg: fmt.Sprintf("the dashboard did not become healthy within %s: %s", timeout, res.Dashboard.Error),
			Hint: fmt.Sprintf("run `flytrap status` in a few minutes; its logs: `aws logs tail /ec2/flytrap-%s-dashboard` (once the CloudWatch agent runs), `aws ssm start-session --target %s` then `systemctl status %s`, or `aws ec2 get-console-output --instance-id %s` (cloud-init)",
				s.Plan.Name, o.DashboardInstanceID, DashboardUnit, o.DashboardInstanceID),
		}
	}
	return nil
}

func (s *State) sleep(ctx context.Context, d time.Duration) error {
	if s.Deps.Sleep != nil {
		return s.Deps.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
