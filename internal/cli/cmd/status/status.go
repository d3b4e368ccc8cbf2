// Package status implements `flytrap status`: a deployment's endpoints,
// health and queue depths.
package status

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/getflytrap/flytrap/internal/awsbase"
	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	"github.com/getflytrap/flytrap/internal/cli/deployview"
	"github.com/getflytrap/flytrap/internal/deploy"
	"github.com/getflytrap/flytrap/internal/plan"
)

// Options are the inputs of `flytrap status`.
type Options struct {
	IO     *cmdutil.IOStreams
	Getenv func(string) string
	// AWS returns the clients (tests pass fakes); nil means the SDK.
	AWS func(ctx context.Context, profile, region string) (*deploy.Clients, error)
	// HTTP probes the endpoints; nil means a client with a 10 s timeout.
	HTTP *http.Client

	Target deploy.Target
	JSON   bool
}

// Status is what `flytrap status` reports.
type Status struct {
	Name      string `json:"name"`
	Region    string `json:"region"`
	AccountID string `json:"account_id"`
	// Deployed is false when the state holds no resources.
	Deployed  bool                `json:"deployed"`
	Resources int                 `json:"resources"`
	Outputs   *deploy.Outputs     `json:"outputs,omitempty"`
	Dashboard *awsx.Health        `json:"dashboard,omitempty"`
	Ingest    *deploy.IngestProbe `json:"ingest,omitempty"`
	Queue     *awsx.QueueDepth    `json:"queue,omitempty"`
	DLQ       *awsx.QueueDepth    `json:"dlq,omitempty"`
	// Alarms are the deployment's CloudWatch alarms (all notify the
	// alerts topic); one in ALARM is a problem.
	Alarms []Alarm `json:"alarms,omitempty"`
	// Healthy is true when every check passed and the DLQ is empty.
	Healthy  bool     `json:"healthy"`
	Problems []string `json:"problems,omitempty"`
	// Error and Hint say why the checks could not run (the command then
	// exits non-zero): --json prints a document in every case.
	Error string `json:"error,omitempty"`
	Hint  string `json:"hint,omitempty"`
}

// NewCmd returns the status command.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &Options{IO: f.IO, Getenv: f.Getenv}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show a deployment's URLs, health and queue depths",
		Long: `Read the deployment's outputs from its Terraform state in S3 (no Terraform
needed), check the dashboard's /healthz and the ingest API, show how many
events wait in the queue and in the dead-letter queue, and list the
deployment's CloudWatch alarms with their state. Exits 0 even when a check
fails: "healthy" in --json says whether all passed. When the checks cannot run,
--json still prints a document with "error" and "hint".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Target.ProfileSet = cmd.Flags().Changed("profile")
			return Run(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	deployview.AddTargetFlags(fl, &opts.Target)
	fl.BoolVar(&opts.JSON, "json", false, "print as JSON")
	return cmd
}

// Run prints the status. With --json it prints a document even when the
// checks cannot run, with the error and its hint, so a script reading
// stdout always gets JSON.
func Run(ctx context.Context, opts *Options) error {
	st, err := gather(ctx, opts)
	if opts.JSON {
		if err != nil {
			st.Error = err.Error()
			_, st.Hint = cmdutil.ExitCode(err)
		}
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		if jerr := enc.Encode(st); jerr != nil && err == nil {
			err = jerr
		}
		return err
	}
	if err != nil {
		return err
	}
	st.WriteText(opts.IO.Out)
	return nil
}

// gather loads the target and its clients and gets the status; on failure
// the Status names what it knows (name and region).
func gather(ctx context.Context, opts *Options) (Status, error) {
	p, err := opts.Target.Load(opts.Getenv)
	if err != nil {
		return Status{Name: opts.Target.Name, Region: opts.Target.Region}, err
	}
	failed := Status{Name: p.Name, Region: p.AWS.Region}
	load := opts.AWS
	if load == nil {
		load = deploy.LoadClients
	}
	c, err := load(ctx, p.AWS.Profile, p.AWS.Region)
	if err != nil {
		return failed, deploy.CredentialsError(err, p.AWS.Profile)
	}
	client := opts.HTTP
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	st, err := Get(ctx, c, client, p)
	if err != nil {
		if st.Name == "" {
			st = failed
		}
		return st, err
	}
	return st, nil
}

// Get gathers the status of the deployment p names.
func Get(ctx context.Context, c *deploy.Clients, client *http.Client, p plan.Plan) (Status, error) {
	id, err := awsx.CallerIdentity(ctx, c.STS)
	if err != nil {
		return Status{}, deploy.CredentialsError(err, p.AWS.Profile)
	}
	st := Status{Name: p.Name, Region: p.AWS.Region, AccountID: id.Account}
	bucket := awsx.StateBucket{Client: c.S3, Name: awsx.StateBucketName(id.Account, p.AWS.Region), Region: p.AWS.Region, Account: id.Account}
	raw, err := bucket.Get(ctx, awsx.StateKey(p.Name))
	if errors.Is(err, awsbase.ErrObjectNotFound) {
		return st, &cmdutil.Error{
			Msg:  fmt.Sprintf("no deployment named %q in account %s (%s)", p.Name, id.Account, p.AWS.Region),
			Hint: "deploy it with `flytrap deploy`, or check --name, --region and --profile",
		}
	}
	if err != nil {
		return st, &cmdutil.Error{Msg: "cannot read the Terraform state", Hint: "the credentials need s3:GetObject on s3://" + bucket.Name, Err: err}
	}
	ts, err := awsx.ParseTerraformState(raw)
	if err != nil {
		return st, err
	}
	st.Resources = ts.Resources
	st.Deployed = ts.Resources > 0
	if !st.Deployed {
		return st, nil
	}
	o, err := deploy.OutputsFromState(ts.Outputs)
	if err != nil {
		// A first apply that failed halfway records resources without
		// outputs: report what is there.
		st.Problems = append(st.Problems, err.Error())
		return st, nil
	}
	st.Outputs = &o
	h := awsx.CheckHealth(ctx, client, o.DashboardURL)
	st.Dashboard = &h
	if !h.OK {
		st.Problems = append(st.Problems, "the dashboard is not healthy: "+h.Error)
	}
	in := deploy.ProbeIngest(ctx, client, o.IngestURL)
	st.Ingest = &in
	if !in.OK {
		st.Problems = append(st.Problems, "the ingest API does not answer like Flytrap: "+in.Error)
	}
	if q, err := awsx.GetQueueDepth(ctx, c.SQS, o.QueueURL); err == nil {
		st.Queue = &q
	} else {
		st.Problems = append(st.Problems, err.Error())
	}
	if q, err := awsx.GetQueueDepth(ctx, c.SQS, o.DLQURL); err == nil {
		st.DLQ = &q
		if q.Total() > 0 {
			st.Problems = append(st.Problems, fmt.Sprintf("%d events failed processing 5 times and wait in the dead-letter queue; see `aws logs tail /aws/lambda/flytrap-%s-processor --since 1h`", q.Total(), p.Name))
		}
	} else {
		st.Problems = append(st.Problems, err.Error())
	}
	if c.CloudWatch != nil {
		alarms, err := ListAlarms(ctx, c.CloudWatch, p.Name)
		if err != nil {
			st.Problems = append(st.Problems, err.Error())
		}
		st.Alarms = alarms
		for _, a := range alarms {
			if a.State == AlarmState {
				st.Problems = append(st.Problems, fmt.Sprintf("alarm %s (%s) is firing: %s", a.Name, a.Metric, a.Reason))
			}
		}
	}
	st.Healthy = len(st.Problems) == 0
	return st, nil
}

// WriteText prints the status for people.
func (st Status) WriteText(w io.Writer) {
	fmt.Fprintf(w, "Deployment %q (account %s, %s): ", st.Name, st.AccountID, st.Region)
	if !st.Deployed {
		fmt.Fprintln(w, "not deployed (the state holds no resources)")
		return
	}
	fmt.Fprintf(w, "%d resources\n", st.Resources)
	if o := st.Outputs; o != nil {
		fmt.Fprintf(w, "  Dashboard:  %s", o.DashboardURL)
		if d := st.Dashboard; d != nil && d.OK {
			fmt.Fprintf(w, "  healthy (%d ms)\n", d.LatencyMS)
		} else {
			fmt.Fprintln(w, "  NOT HEALTHY")
		}
		fmt.Fprintf(w, "  Ingest:     %s", o.IngestURL)
		if in := st.Ingest; in != nil && in.OK {
			fmt.Fprintln(w, "  answering")
		} else {
			fmt.Fprintln(w, "  NOT ANSWERING")
		}
		fmt.Fprintf(w, "  DSN:        %s\n", o.DSN())
		fmt.Fprintf(w, "  Bucket:     %s\n", o.BucketName)
	}
	if q := st.Queue; q != nil {
		fmt.Fprintf(w, "  Queue:      %d waiting, %d in flight, %d delayed\n", q.Visible, q.InFlight, q.Delayed)
	}
	if q := st.DLQ; q != nil {
		fmt.Fprintf(w, "  DLQ:        %d messages\n", q.Total())
	}
	if len(st.Alarms) > 0 {
		firing := 0
		for _, a := range st.Alarms {
			if a.State == AlarmState {
				firing++
			}
		}
		fmt.Fprintf(w, "  Alarms:     %d, %d firing (they notify the alerts topic)\n", len(st.Alarms), firing)
		for _, a := range st.Alarms {
			fmt.Fprintf(w, "              %-17s %s\n", a.State, a.Name)
		}
	}
	if len(st.Problems) == 0 {
		fmt.Fprintln(w, "All checks passed.")
		return
	}
	fmt.Fprintln(w, "Problems:")
	for _, p := range st.Problems {
		fmt.Fprintf(w, "  - %s\n", p)
	}
}
