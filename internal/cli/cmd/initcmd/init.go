// Package initcmd implements `flytrap init`: the wizard that writes a
// deployment plan (flytrap.yaml). It creates nothing in AWS; `flytrap
// deploy` applies the plan. (The package is not called init: that name is
// reserved for functions in Go.)
package initcmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	"github.com/getflytrap/flytrap/internal/deploy"
	"github.com/getflytrap/flytrap/internal/plan"
	"github.com/getflytrap/flytrap/internal/runtimebin"
	"github.com/getflytrap/flytrap/internal/wizard"
)

// Options are the inputs of `flytrap init`. Every question of the wizard
// has a field (and a flag) here.
type Options struct {
	IO     *cmdutil.IOStreams
	Getenv func(string) string
	// Home is the user's home directory (for ~/.aws); "" means os.UserHomeDir.
	Home string
	// Interactive says whether the terminal forms may be used; nil means
	// "stdin and stdout are terminals".
	Interactive func() bool
	// CheckAccount asks AWS whether the account can use the plan's
	// region, instance type and database class; nil means
	// deploy.CheckAccountOnline. --offline skips it.
	CheckAccount func(ctx context.Context, p plan.Plan) deploy.AccountReport

	Output     string
	Force      bool
	Yes        bool
	JSON       bool
	Accessible bool
	Offline    bool

	Name, Region, Profile, AdminEmail, AlertEmail, Domain, Size string
	IngestDomain, IngestZoneID                                  string
	DashboardInstanceType, DBInstanceClass                      string
	DBStorage, IngestMemory, ProcessorMemory, LogRetention      int
	RetentionDays, RetentionPerIssue, IngestRateLimit           int
	MaxLiveStreams, MaxLiveStreamsPerUser, MinUploadRate        int
	MaxConnsPerClient                                           int
	DBDeletionProtection, PlainHTTP                             bool
	Tags                                                        []string

	// changed reports whether a flag was given (cobra's Changed).
	changed func(flag string) bool
}

// NewCmd returns the init command.
func NewCmd(f *cmdutil.Factory) *cobra.Command {
	opts := &Options{IO: f.IO, Getenv: f.Getenv}
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Plan a deployment to AWS: answer a few questions, get flytrap.yaml",
		Long: `Ask for the AWS profile and region (found in ~/.aws/config), a deployment name,
the admin's e-mail, an optional alert e-mail and domain, and a size, then write
flytrap.yaml and show what it costs per month. Nothing is created in AWS:
` + "`flytrap deploy`" + ` applies the plan.

The region, instance type and database class are checked against Flytrap's
built-in lists, then, when the profile has credentials, with the account
itself (read-only calls, at most 20 seconds): the region is enabled, the
instance type is offered in its zones, the class can be ordered for
PostgreSQL, and, without a domain, CloudFront can reach the dashboard there.
Without credentials or network those checks are skipped with a note;
--offline skips them always.

Every question has a flag. With --yes nothing is asked: flags and defaults
fill the plan, and --name and --admin-email are required. Without a terminal
the questions are asked line by line (as with --accessible). An existing
flytrap.yaml provides the defaults; overwriting it needs --force.`,
		Example: `  flytrap init
  flytrap init --yes --name prod --admin-email ops@example.com --region eu-west-1
  flytrap init --yes --name staging --admin-email ops@example.com --size custom --db-instance-class db.t4g.small`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.changed = cmd.Flags().Changed
			return Run(cmd.Context(), opts)
		},
	}
	d := plan.Default()
	fl := cmd.Flags()
	fl.StringVarP(&opts.Output, "output", "o", plan.DefaultFile, "plan file to write")
	cmdutil.MarkPaths(fl, "output")
	fl.BoolVar(&opts.Force, "force", false, "overwrite an existing plan file")
	fl.BoolVarP(&opts.Yes, "yes", "y", false, "ask nothing: use the flags and defaults")
	fl.BoolVar(&opts.JSON, "json", false, "print the plan and its cost estimate as JSON")
	fl.BoolVar(&opts.Accessible, "accessible", false, "ask line by line (screen readers, no terminal needed) [$ACCESSIBLE]")
	fl.BoolVar(&opts.Offline, "offline", false, "do not ask AWS: check region, instance type and DB class against the built-in lists only")
	fl.StringVar(&opts.Name, "name", "", "deployment name, e.g. prod (3-21 lowercase letters, digits, hyphens)")
	fl.StringVar(&opts.Region, "region", "", "AWS region (default: $AWS_REGION, the profile's region, then "+plan.DefaultRegion+")")
	fl.StringVar(&opts.Profile, "profile", "", "AWS profile from ~/.aws/config (default: $AWS_PROFILE, then \"default\" if it exists)")
	fl.StringVar(&opts.AdminEmail, "admin-email", "", "e-mail of the first dashboard administrator")
	fl.StringVar(&opts.AlertEmail, "alert-email", "", "e-mail subscribed to alarms (optional)")
	fl.StringVar(&opts.Domain, "domain", "", "dashboard domain for HTTPS with Let's Encrypt (optional; default https://<id>.cloudfront.net)")
	fl.BoolVar(&opts.PlainHTTP, "plain-http", false, "without a domain, serve the dashboard over plain HTTP on its Elastic IP instead of through CloudFront (unencrypted sign-in: only where CloudFront cannot be used)")
	fl.StringVar(&opts.IngestDomain, "ingest-domain", "", "stable ingest host name for DSNs, e.g. ingest.example.com (optional; needs --ingest-zone-id)")
	fl.StringVar(&opts.IngestZoneID, "ingest-zone-id", "", "Route 53 hosted zone ID holding --ingest-domain (certificate validation and alias records)")
	fl.StringVar(&opts.Size, "size", plan.DefaultSize, "size preset: "+strings.Join(plan.PresetNames, ", ")+" or custom")
	fl.StringVar(&opts.DashboardInstanceType, "dashboard-instance-type", "", "dashboard EC2 type, Graviton (implies --size custom)")
	fl.StringVar(&opts.DBInstanceClass, "db-instance-class", "", "RDS instance class (implies --size custom)")
	fl.IntVar(&opts.DBStorage, "db-storage", 0, "database storage in GiB, 20-1000 (implies --size custom)")
	fl.IntVar(&opts.IngestMemory, "ingest-memory", 0, "ingest function memory in MB (implies --size custom)")
	fl.IntVar(&opts.ProcessorMemory, "processor-memory", 0, "processor function memory in MB (implies --size custom)")
	fl.IntVar(&opts.LogRetention, "log-retention", d.LogRetentionDays, "days CloudWatch keeps logs")
	fl.IntVar(&opts.RetentionDays, "retention-days", d.Retention.Days, "delete events older than this many days (0: keep)")
	fl.IntVar(&opts.RetentionPerIssue, "retention-per-issue", d.Retention.PerIssue, "keep at most this many events per issue, applied by the hourly retention job (0: all)")
	fl.IntVar(&opts.IngestRateLimit, "ingest-rate-limit", d.IngestRateLimit, fmt.Sprintf("events per minute ingest accepts from each project without a limit of its own, 1-%d (%d: no limit)", plan.MaxIngestRateLimit, plan.RateLimitNone))
	fl.IntVar(&opts.MaxLiveStreams, "max-live-streams", d.MaxLiveStreams, fmt.Sprintf("live-update streams (dashboard tabs, flytrap tail) the dashboard holds open at once before more are refused with 503, 1-%d", plan.MaxLiveStreams))
	fl.IntVar(&opts.MaxLiveStreamsPerUser, "max-live-streams-per-user", d.MaxLiveStreamsPerUser, fmt.Sprintf("of --max-live-streams, those one user may hold before more of theirs are refused with 429, 1-%d", plan.MaxLiveStreams))
	fl.IntVar(&opts.MinUploadRate, "min-upload-rate", d.MinUploadRate, fmt.Sprintf("slowest source map upload to the dashboard (sentry-cli, with an API token), in bytes per second of each request, after 10s (408 below it), 1-%d", plan.MaxMinUploadRate))
	fl.IntVar(&opts.MaxConnsPerClient, "max-conns-per-client", d.MaxConnsPerClient, fmt.Sprintf("connections one client address may hold open on the dashboard when it serves clients itself (a domain, or --plain-http), 1-%d", plan.MaxMaxConnsPerClient))
	fl.BoolVar(&opts.DBDeletionProtection, "db-deletion-protection", d.DBDeletionProtection, "protect the database and the bucket's data from deletion (destroy turns it off itself)")
	fl.StringArrayVar(&opts.Tags, "tag", nil, "extra tag for every resource, KEY=VALUE (repeatable)")
	return cmd
}

// Run writes the plan.
func Run(ctx context.Context, opts *Options) error {
	changed := opts.changed
	if changed == nil {
		// Called without cobra (tests): a non-zero field counts as given.
		changed = opts.nonZero
	}
	getenv := opts.Getenv
	home := opts.Home
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	profiles, err := wizard.DetectProfiles(getenv, home)
	if err != nil {
		return &cmdutil.Error{Msg: "cannot read the shared AWS config", Hint: "fix ~/.aws/config, or pass --profile and --region", Err: err}
	}

	// Starting values: defaults, then an existing plan, then flags. A file
	// that does not load (exists, not loaded) gives no values: the
	// environment's profile and region apply as without one.
	p := plan.Default()
	exists, loaded := false, false
	if old, err := plan.Load(opts.Output); err == nil {
		p, exists, loaded = old, true, true
	} else {
		var nf *plan.NotFoundError
		if !errors.As(err, &nf) {
			if _, statErr := os.Stat(opts.Output); statErr == nil {
				exists = true // unreadable or invalid: only --force may replace it
			}
		}
	}
	if exists && !opts.Force {
		return cmdutil.UsageError(opts.Output+" exists", "pass --force to overwrite it (its values are the defaults), or -o for another file")
	}
	if !loaded {
		p.AWS.Profile = defaultProfile(getenv, profiles)
		p.AWS.Region = regionFor(getenv, profiles, p.AWS.Profile)
	}
	bad, err := opts.apply(&p, changed)
	if err != nil {
		return err
	}
	if bad != nil {
		// With the plan's own checks, so every wrong flag shows at once;
		// not what is missing, which the wizard would ask.
		errs := []error{bad}
		if v, ok := p.Validate().(interface{ Unwrap() []error }); ok {
			for _, e := range v.Unwrap() {
				if !strings.Contains(e.Error(), "is required") {
					errs = append(errs, e)
				}
			}
		}
		return invalidValues(errors.Join(errs...), "invalid plan values:", invalidHint)
	}
	if changed("profile") && !changed("region") && !loaded {
		p.AWS.Region = regionFor(getenv, profiles, p.AWS.Profile)
	}

	if !opts.Yes {
		interactive := opts.Interactive
		if interactive == nil {
			interactive = opts.IO.Interactive
		}
		accessible := opts.Accessible || getenv("ACCESSIBLE") != "" || !interactive()
		// With --json, stdout carries only the JSON document.
		out := opts.IO.Out
		if opts.JSON {
			out = opts.IO.ErrOut
		}
		w := wizard.Options{
			In: opts.IO.In, Out: out, Accessible: accessible, Environ: environ(getenv),
			Plan: p, Ask: questions(changed), Profiles: profiles,
			RegionFor: func(profile string) string { return regionFor(getenv, profiles, profile) },
		}
		p, err = wizard.Run(ctx, w)
		if errors.Is(err, wizard.ErrAborted) {
			return context.Canceled
		}
		if err != nil {
			return err
		}
	}
	p.Normalize()
	if err := p.Validate(); err != nil {
		return invalid(err, opts.Yes)
	}
	if err := checkExists(p, profiles); err != nil {
		return invalid(err, opts.Yes)
	}
	// With --json, stdout carries only the JSON document.
	notes := opts.IO.Out
	if opts.JSON {
		notes = opts.IO.ErrOut
	}
	var account *deploy.AccountReport
	if !opts.Offline {
		check := opts.CheckAccount
		if check == nil {
			check = deploy.CheckAccountOnline
		}
		r := check(ctx, p)
		account = &r
		if err := reportAccount(notes, r); err != nil {
			return err
		}
	}
	if err := plan.Save(opts.Output, p); err != nil {
		return &cmdutil.Error{Msg: "cannot write " + opts.Output, Hint: "choose a writable path with -o", Err: err}
	}
	est := plan.EstimateMonthlyCost(p)
	if opts.JSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Path     string        `json:"path"`
			Plan     plan.Plan     `json:"plan"`
			Estimate plan.Estimate `json:"estimate"`
			Warnings []string      `json:"warnings,omitempty"`
			// AccountCheck is absent with --offline.
			AccountCheck *deploy.AccountReport `json:"account_check,omitempty"`
		}{opts.Output, p, est, p.Warnings(), account})
	}
	out := opts.IO.Out
	fmt.Fprintf(out, "Wrote %s: deployment %q in %s", opts.Output, p.Name, p.AWS.Region)
	if p.AWS.Profile != "" {
		fmt.Fprintf(out, " (profile %s)", p.AWS.Profile)
	}
	fmt.Fprintf(out, ", %s size.\n", p.Size)
	// The names IAM and S3 keep beyond this region: each holds the region,
	// so the same deployment name can be used in another region.
	fmt.Fprintf(out, "Account-wide names: %s\n", strings.Join(p.GlobalNames("<account>"), ", "))
	fmt.Fprintf(out, "Dashboard: %s\n\n", dashboardAddress(p))
	if err := est.WriteText(out); err != nil {
		return err
	}
	for _, w := range p.Warnings() {
		fmt.Fprintf(out, "\nWARNING: %s\n", w)
	}
	writeNext(out, opts)
	return nil
}

// writeNext says what to run next: deploy, from the checkout for a
// development build that would not find the runtime binaries here.
func writeNext(out io.Writer, opts *Options) {
	if runtimebin.Missing("", opts.Getenv(runtimebin.EnvDir)) == nil {
		fmt.Fprintf(out, "\nNext: flytrap deploy --dry-run   (offline preview), then flytrap deploy\n")
		return
	}
	cd := "cd <your checkout of " + runtimebin.Module + ">"
	if c := runtimebin.Checkout(); c != "" {
		cd = "cd " + cmdutil.ShellArg(c)
	}
	planPath, err := filepath.Abs(opts.Output)
	if err != nil {
		planPath = opts.Output
	}
	fmt.Fprintf(out, "\nNext: %s && flytrap deploy --plan %s --dry-run   (offline preview), then the same without --dry-run\n", cd, cmdutil.ShellArg(planPath))
	fmt.Fprintf(out, "This flytrap is a development build: deploy cross-compiles the runtime binaries in its checkout, with Go.\n"+
		"`make release` in the checkout builds a bin/flytrap that carries them and deploys from any directory.\n")
}

// dashboardAddress says where the plan's dashboard will answer, and how
// it gets HTTPS.
func dashboardAddress(p plan.Plan) string {
	switch {
	case p.Domain != "":
		return "https://" + p.Domain + " (a Let's Encrypt certificate; point the domain's A record at the dashboard's Elastic IP after the first deploy)"
	case p.PlainHTTP:
		return "http://<elastic ip> (plain HTTP, see the warning below)"
	default:
		return "https://<id>.cloudfront.net through CloudFront, with its certificate (the address is known after the first deploy)"
	}
}

// flagOf names the flag of each plan field in validation messages.
var flagOf = map[string]string{
	"name": "--name", "aws.region": "--region", "aws.profile": "--profile",
	"admin_email": "--admin-email", "alert_email": "--alert-email", "domain": "--domain", "plain_http": "--plain-http",
	"ingest_domain": "--ingest-domain", "ingest_zone_id": "--ingest-zone-id",
	"sizes.dashboard_instance_type": "--dashboard-instance-type", "sizes.db_instance_class": "--db-instance-class",
	"sizes.db_allocated_storage": "--db-storage", "sizes.ingest_memory_mb": "--ingest-memory",
	"sizes.processor_memory_mb": "--processor-memory", "log_retention_days": "--log-retention",
	"retention.days": "--retention-days", "retention.per_issue": "--retention-per-issue",
	"ingest_rate_limit": "--ingest-rate-limit", "max_live_streams": "--max-live-streams",
	"max_live_streams_per_user": "--max-live-streams-per-user", "min_upload_rate": "--min-upload-rate",
	"max_conns_per_client": "--max-conns-per-client", "tags": "--tag",
}

// reportAccount prints what the account checks found: why they were
// skipped, or what AWS confirmed and the checks that could not be made.
// Values the account cannot use are an error naming their flags.
func reportAccount(w io.Writer, r deploy.AccountReport) error {
	if r.Skipped != "" {
		fmt.Fprintf(w, "Skipped the online checks (%s): region, instance type and DB class were checked against Flytrap's built-in lists only.\n", r.Skipped)
		return nil
	}
	if len(r.Problems) == 0 && len(r.Checked) > 0 {
		fmt.Fprintf(w, "Checked with AWS account %s: %s.\n", r.Account, strings.Join(r.Checked, "; "))
	}
	for _, warning := range r.Warnings {
		fmt.Fprintf(w, "WARNING: %s\n", warning)
	}
	if len(r.Problems) > 0 {
		return invalidValues(errors.New(strings.Join(r.Problems, "\n")), "the AWS account cannot use these plan values:",
			"fix the values named above, or pass --offline to write the plan without asking AWS")
	}
	return nil
}

// invalid turns validation errors (one "field: problem" a line) into one
// message naming each value's flag. Only missing required values make the
// plan "incomplete"; a wrong value is reported as itself.
func invalid(err error, yes bool) error {
	lines := flagLines(err)
	incomplete := true
	for _, line := range lines {
		if !strings.Contains(line, "is required") {
			incomplete = false
		}
	}
	if incomplete {
		hint := "answer the questions, or pass the values as flags (flytrap init --help)"
		if yes {
			hint = "with --yes, --name and --admin-email are required: flytrap init --yes --name prod --admin-email you@example.com"
		}
		return &cmdutil.Error{Msg: "the plan is incomplete:\n" + strings.Join(lines, "\n"), Hint: hint, Code: cmdutil.ExitUsage}
	}
	return invalidValues(err, "invalid plan values:", invalidHint)
}

// invalidHint is the hint of wrong plan values.
const invalidHint = "fix the values named above (flytrap init --help lists the flags); a region, type or class newer than this flytrap needs a newer flytrap"

// invalidValues is the error for wrong values: msg, then one line per
// value naming its flag.
func invalidValues(err error, msg, hint string) error {
	return &cmdutil.Error{Msg: msg + "\n" + strings.Join(flagLines(err), "\n"), Hint: hint, Code: cmdutil.ExitUsage}
}

// flagLines puts each "field: problem" line of err under its flag.
func flagLines(err error) []string {
	var lines []string
	for _, line := range strings.Split(err.Error(), "\n") {
		field, problem, ok := strings.Cut(line, ": ")
		if f, known := flagOf[field]; ok && known {
			line = f + " (" + field + "): " + problem
		}
		lines = append(lines, "  "+line)
	}
	return lines
}

// checkExists checks, offline, that what the plan names exists: the
// profile in the shared AWS files, the region, the instance type and the
// database class in plan's embedded catalog.
func checkExists(p plan.Plan, profiles []wizard.Profile) error {
	var errs []error
	if p.AWS.Profile != "" {
		if _, ok := wizard.FindProfile(profiles, p.AWS.Profile); !ok {
			names := make([]string, len(profiles))
			for i, pr := range profiles {
				names[i] = pr.Name
			}
			known := "there are none"
			if len(names) > 0 {
				known = "it has " + strings.Join(names, ", ")
			}
			errs = append(errs, fmt.Errorf("aws.profile: AWS profile %q is not in the shared AWS config (%s); create it with `aws configure --profile %s`, or unset AWS_PROFILE", p.AWS.Profile, known, p.AWS.Profile))
		}
	}
	if err := plan.CheckCatalog(p); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// apply copies the given flags into p. bad holds the values the plan's
// checks cannot see (a 0 the plan would read as the default), err a flag
// that cannot be applied at all.
func (opts *Options) apply(p *plan.Plan, changed func(string) bool) (bad, err error) {
	set := func(flag string, dst *string, v string) {
		if changed(flag) {
			*dst = strings.TrimSpace(v)
		}
	}
	set("name", &p.Name, opts.Name)
	set("region", &p.AWS.Region, opts.Region)
	set("profile", &p.AWS.Profile, opts.Profile)
	set("admin-email", &p.AdminEmail, opts.AdminEmail)
	set("alert-email", &p.AlertEmail, opts.AlertEmail)
	set("domain", &p.Domain, opts.Domain)
	set("ingest-domain", &p.IngestDomain, opts.IngestDomain)
	set("ingest-zone-id", &p.IngestZoneID, opts.IngestZoneID)
	if changed("size") && opts.Size != plan.SizeCustom {
		s, ok := plan.Presets[opts.Size]
		if !ok {
			return nil, cmdutil.UsageError(fmt.Sprintf("--size %q is not one of %s or custom", opts.Size, strings.Join(plan.PresetNames, ", ")), "pick a preset, or custom with the individual size flags")
		}
		p.Sizes = s
	}
	set("dashboard-instance-type", &p.Sizes.DashboardInstanceType, opts.DashboardInstanceType)
	set("db-instance-class", &p.Sizes.DBInstanceClass, opts.DBInstanceClass)
	setInt := func(flag string, dst *int, v int) {
		if changed(flag) {
			*dst = v
		}
	}
	setInt("db-storage", &p.Sizes.DBAllocatedStorageGB, opts.DBStorage)
	setInt("ingest-memory", &p.Sizes.IngestMemoryMB, opts.IngestMemory)
	setInt("processor-memory", &p.Sizes.ProcessorMemoryMB, opts.ProcessorMemory)
	setInt("log-retention", &p.LogRetentionDays, opts.LogRetention)
	setInt("retention-days", &p.Retention.Days, opts.RetentionDays)
	setInt("retention-per-issue", &p.Retention.PerIssue, opts.RetentionPerIssue)
	// A plan reads 0 in these as the default, which a user typing 0 did
	// not ask for: the flag is refused as any other value out of range.
	for _, c := range []struct {
		flag, field string
		dst         *int
		v           int
	}{
		{"ingest-rate-limit", "ingest_rate_limit", &p.IngestRateLimit, opts.IngestRateLimit},
		{"max-live-streams", "max_live_streams", &p.MaxLiveStreams, opts.MaxLiveStreams},
		{"max-live-streams-per-user", "max_live_streams_per_user", &p.MaxLiveStreamsPerUser, opts.MaxLiveStreamsPerUser},
		{"min-upload-rate", "min_upload_rate", &p.MinUploadRate, opts.MinUploadRate},
		{"max-conns-per-client", "max_conns_per_client", &p.MaxConnsPerClient, opts.MaxConnsPerClient},
	} {
		if !changed(c.flag) {
			continue
		}
		if err := plan.ValidateChosen(c.field, c.v); err != nil {
			bad = errors.Join(bad, fmt.Errorf("%s: %w", c.field, err))
			continue
		}
		*c.dst = c.v
	}
	if changed("db-deletion-protection") {
		p.DBDeletionProtection = opts.DBDeletionProtection
	}
	if changed("plain-http") {
		p.PlainHTTP = opts.PlainHTTP
	}
	if changed("tag") {
		p.Tags = map[string]string{}
		// AWS tag keys are case-insensitive: two that differ in case
		// would make apply fail partway, and a repeated one would
		// silently keep the last value.
		folded := map[string]string{}
		for _, t := range opts.Tags {
			k, v, ok := strings.Cut(t, "=")
			if !ok || k == "" {
				return nil, cmdutil.UsageError(fmt.Sprintf("--tag %q must be KEY=VALUE", t), "e.g. --tag team=errors")
			}
			if prev, dup := folded[strings.ToLower(k)]; dup {
				if prev == k {
					return nil, cmdutil.UsageError(fmt.Sprintf("--tag %s is given twice", k), "give each tag key once")
				}
				return nil, cmdutil.UsageError(fmt.Sprintf("--tag %s and --tag %s differ only in case; AWS tag keys are case-insensitive", prev, k), "give each tag key once, in one spelling")
			}
			folded[strings.ToLower(k)] = k
			p.Tags[k] = v
		}
	}
	p.Normalize()
	return bad, nil
}

// questions asks what no flag answered.
func questions(changed func(string) bool) wizard.Questions {
	q := wizard.All()
	q.Profile = !changed("profile")
	q.Region = !changed("region")
	q.Name = !changed("name")
	q.AdminEmail = !changed("admin-email")
	q.AlertEmail = !changed("alert-email")
	q.Domain = !changed("domain")
	q.DashboardInstanceType = !changed("dashboard-instance-type")
	q.DBInstanceClass = !changed("db-instance-class")
	q.DBStorage = !changed("db-storage")
	q.IngestMemory = !changed("ingest-memory")
	q.ProcessorMemory = !changed("processor-memory")
	// Individual sizes given by flag make the size custom already.
	q.Size = !changed("size") && !(changed("dashboard-instance-type") || changed("db-instance-class") || changed("db-storage") || changed("ingest-memory") || changed("processor-memory"))
	return q
}

// defaultProfile: AWS_PROFILE, else "default" when it exists, else none
// (the SDK's chain: environment variables, instance role).
func defaultProfile(getenv func(string) string, profiles []wizard.Profile) string {
	if p := getenv("AWS_PROFILE"); p != "" {
		return p
	}
	if _, ok := wizard.FindProfile(profiles, "default"); ok {
		return "default"
	}
	return ""
}

// regionFor follows the SDK's precedence: the environment, then the
// profile's setting, then plan.DefaultRegion.
func regionFor(getenv func(string) string, profiles []wizard.Profile, profile string) string {
	if r := getenv("AWS_REGION"); r != "" {
		return r
	}
	if r := getenv("AWS_DEFAULT_REGION"); r != "" {
		return r
	}
	if pr, ok := wizard.FindProfile(profiles, profile); ok && pr.Region != "" {
		return pr.Region
	}
	return plan.DefaultRegion
}

func environ(getenv func(string) string) []string {
	var env []string
	for _, k := range []string{"NO_COLOR", "TERM", "COLORTERM", "CLICOLOR", "CLICOLOR_FORCE"} {
		if v := getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// nonZero stands in for cobra's Changed when Run is called directly.
func (opts *Options) nonZero(flag string) bool {
	switch flag {
	case "name":
		return opts.Name != ""
	case "region":
		return opts.Region != ""
	case "profile":
		return opts.Profile != ""
	case "admin-email":
		return opts.AdminEmail != ""
	case "alert-email":
		return opts.AlertEmail != ""
	case "domain":
		return opts.Domain != ""
	case "plain-http":
		return opts.PlainHTTP
	case "ingest-domain":
		return opts.IngestDomain != ""
	case "ingest-zone-id":
		return opts.IngestZoneID != ""
	case "size":
		return opts.Size != ""
	case "dashboard-instance-type":
		return opts.DashboardInstanceType != ""
	case "db-instance-class":
		return opts.DBInstanceClass != ""
	case "db-storage":
		return opts.DBStorage != 0
	case "ingest-memory":
		return opts.IngestMemory != 0
	case "processor-memory":
		return opts.ProcessorMemory != 0
	case "log-retention":
		return opts.LogRetention != 0
	case "retention-days":
		return opts.RetentionDays != 0
	case "retention-per-issue":
		return opts.RetentionPerIssue != 0
	case "ingest-rate-limit":
		return opts.IngestRateLimit != 0
	case "max-live-streams":
		return opts.MaxLiveStreams != 0
	case "max-live-streams-per-user":
		return opts.MaxLiveStreamsPerUser != 0
	case "min-upload-rate":
		return opts.MinUploadRate != 0
	case "max-conns-per-client":
		return opts.MaxConnsPerClient != 0
	case "tag":
		return len(opts.Tags) > 0
	}
	return false
}
