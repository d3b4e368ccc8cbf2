package deploy

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/getflytrap/flytrap/internal/awsbase"
	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/plan"
	"github.com/getflytrap/flytrap/internal/runtimebin"
	"github.com/getflytrap/flytrap/internal/tf"
	"github.com/getflytrap/flytrap/terraform"
)

// EnvPluginDir names a provider mirror for offline plans (a folder laid
// out for `terraform init -plugin-dir`, see docs/deploy.md).
const EnvPluginDir = "FLYTRAP_TF_PLUGIN_DIR"

// PlanFileName is the saved plan in the workspace.
const PlanFileName = "flytrap.tfplan"

// LogFileName collects Terraform's full output in the workspace.
const LogFileName = "terraform.log"

// DashboardUnit is the systemd unit of the dashboard on its instance
// (templates/cloudinit/dashboard.yaml.tmpl).
const DashboardUnit = "flytrap-dashboard"

// DeploySteps are the steps of `flytrap deploy`, in order.
func DeploySteps() []Step {
	return []Step{
		credentialsStep{},
		stateBucketStep{},
		resolveStep{},
		terraformStep{},
		runtimeStep{},
		workspaceStep{},
		initStep{},
		planStep{},
		confirmStep{},
		saveInputsStep{},
		migrateStep{},
		applyStep{},
		outputsStep{},
		restartStep{},
		smokeStep{},
		adminStep{},
	}
}

// NewState returns the state a pipeline starts from.
func NewState(p plan.Plan, o Options, d Deps, log io.Writer) *State {
	return &State{Plan: p, Options: o, Deps: d, Log: log}
}

// --- credentials ---

type credentialsStep struct{}

func (credentialsStep) Name() string { return "credentials" }

func (credentialsStep) Run(ctx context.Context, s *State) error {
	if s.Options.DryRun {
		s.Identity = awsx.Identity{Account: PlaceholderAccountID}
		return Skip("dry run: no AWS call; account %s is a placeholder", PlaceholderAccountID)
	}
	if err := s.clients(ctx); err != nil {
		return err
	}
	id, err := awsx.CallerIdentity(ctx, s.Clients.STS)
	if err != nil {
		return CredentialsError(err, s.Plan.AWS.Profile)
	}
	s.Identity = id
	profile := s.Plan.AWS.Profile
	if profile == "" {
		profile = "default credential chain"
	}
	s.Logf("account %s as %s (%s, %s)", id.Account, id.ARN, profile, s.Plan.AWS.Region)
	return nil
}

// clients loads the AWS clients once.
func (s *State) clients(ctx context.Context) error {
	if s.Clients != nil {
		return nil
	}
	if s.Deps.AWS == nil {
		return errNoClients
	}
	c, err := s.Deps.AWS(ctx, s.Plan.AWS.Profile, s.Plan.AWS.Region)
	if err != nil {
		return CredentialsError(err, s.Plan.AWS.Profile)
	}
	s.Clients = c
	return nil
}

// --- state bucket ---

type stateBucketStep struct{}

func (stateBucketStep) Name() string { return "state-bucket" }

func (stateBucketStep) Run(ctx context.Context, s *State) error {
	s.StateBucket = awsx.StateBucket{
		Name:    awsx.StateBucketName(s.Identity.Account, s.Plan.AWS.Region),
		Region:  s.Plan.AWS.Region,
		Account: s.Identity.Account,
	}
	if s.Options.DryRun {
		return Skip("dry run: would create or reuse s3://%s (versioned, encrypted, public access blocked)", s.StateBucket.Name)
	}
	s.StateBucket.Client = s.Clients.S3
	created, err := s.StateBucket.Ensure(ctx)
	if err != nil {
		if errors.Is(err, awsx.ErrBucketNotOwned) {
			return &Error{
				Msg:  "cannot use the state bucket " + s.StateBucket.Name,
				Hint: "the name is taken by another account or these credentials may not use it; check the bucket's owner and the IAM permissions (s3:ListBucket, s3:CreateBucket, s3:PutBucket*)",
				Err:  err,
			}
		}
		return awsError(err, s.Plan.AWS.Profile, "cannot create the state bucket "+s.StateBucket.Name, "the credentials need s3:CreateBucket and s3:PutBucket* on it")
	}
	s.BucketCreated = created
	if created {
		s.Logf("created s3://%s (versioned, encrypted, public access blocked, TLS only)", s.StateBucket.Name)
	} else {
		s.Logf("using s3://%s", s.StateBucket.Name)
	}
	prev, err := loadInputs(ctx, s)
	if err != nil {
		return err
	}
	if prev != nil {
		s.Previous = prev
		s.Logf("found the inputs of the last deploy of %q (s3://%s/%s)", s.Plan.Name, s.StateBucket.Name, awsx.InputsKey(s.Plan.Name))
	}
	return nil
}

// loadInputs reads the variables the last apply used, or nil.
func loadInputs(ctx context.Context, s *State) (*Vars, error) {
	b, err := s.StateBucket.Get(ctx, awsx.InputsKey(s.Plan.Name))
	if errors.Is(err, awsbase.ErrObjectNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, awsError(err, s.Plan.AWS.Profile, "cannot read the last deploy's inputs", "the credentials need s3:GetObject on s3://"+s.StateBucket.Name)
	}
	v, err := ParseVars(b)
	if err != nil {
		return nil, &Error{Msg: "the recorded inputs of the last deploy are unreadable", Hint: "a newer flytrap may have written them; upgrade flytrap", Err: err}
	}
	return &v, nil
}

// --- resolve ---

type resolveStep struct{}

func (resolveStep) Name() string { return "resolve" }

func (resolveStep) Run(ctx context.Context, s *State) error {
	region := s.Plan.AWS.Region
	if s.Options.DryRun {
		s.Resolved = Resolved{
			AccountID:         PlaceholderAccountID,
			AMIID:             PlaceholderAMIID,
			AvailabilityZones: PlaceholderZones(region),
			Source:            "placeholder",
		}
		if s.Plan.BehindCloudFront() {
			s.Resolved.CloudFrontPrefixList = PlaceholderPrefixList
			s.Resolved.OriginSecret = newOriginSecret()
		}
		s.Logf("dry run placeholders: account %s, AMI %s, zones %s", PlaceholderAccountID, PlaceholderAMIID, strings.Join(s.Resolved.AvailabilityZones, ", "))
		return nil
	}
	r := Resolved{AccountID: s.Identity.Account, Source: "aws"}
	prev := s.Previous
	if s.Plan.BehindCloudFront() {
		pl, err := CloudFrontPrefixList(ctx, s.Clients.PrefixLists)
		if errors.Is(err, errNoCloudFrontList) {
			return &Error{Msg: "cannot put the dashboard behind CloudFront", Hint: "set a domain (flytrap init --domain), or plain_http: true in flytrap.yaml", Err: err}
		}
		if err != nil {
			return awsError(err, s.Plan.AWS.Profile, "cannot put the dashboard behind CloudFront", "the credentials need ec2:DescribeManagedPrefixLists")
		}
		r.CloudFrontPrefixList = pl
		// A new secret would redeploy the distribution (minutes) and
		// briefly lock out the dashboard, so it is kept once made.
		if prev != nil && prev.OriginSecret != "" {
			r.OriginSecret = prev.OriginSecret
		} else {
			r.OriginSecret = newOriginSecret()
		}
		s.Logf("dashboard behind CloudFront (origin-facing prefix list %s)", pl)
	}
	// Zones never move once chosen: a different zone replaces the subnets
	// and with them the database.
	if prev != nil && prev.Region == region && len(prev.AvailabilityZones) == 2 {
		r.AvailabilityZones = prev.AvailabilityZones
		s.Logf("zones %s (kept from the last deploy)", strings.Join(r.AvailabilityZones, ", "))
	} else {
		zones, err := ChooseZones(ctx, s.Clients.EC2, s.Plan.Sizes.DashboardInstanceType)
		if err != nil {
			return awsError(err, s.Plan.AWS.Profile, "cannot choose availability zones", "the credentials need ec2:DescribeAvailabilityZones and ec2:DescribeInstanceTypeOfferings")
		}
		r.AvailabilityZones = zones
		s.Logf("zones %s", strings.Join(zones, ", "))
	}
	// A new AMI replaces the dashboard instance, so a redeploy keeps the
	// one it has unless asked.
	if prev != nil && prev.AMIID != "" && !s.Options.UpdateAMI {
		r.AMIID = prev.AMIID
		s.Logf("AMI %s (kept from the last deploy; --update-ami moves to the latest Amazon Linux 2023)", r.AMIID)
	} else {
		ami, err := LatestAMI(ctx, s.Clients.SSM)
		if err != nil {
			return awsError(err, s.Plan.AWS.Profile, "cannot find the Amazon Linux 2023 AMI", "the credentials need ssm:GetParameter on "+AMIParameter)
		}
		r.AMIID = ami
		s.Logf("AMI %s (latest Amazon Linux 2023 arm64)", ami)
		if prev != nil && prev.AMIID != "" && prev.AMIID != ami {
			s.Warnf("the dashboard moves from AMI %s to %s: its instance is replaced (a few minutes of dashboard downtime; ingest is not affected)", prev.AMIID, ami)
		}
	}
	s.checkLambdaQuota(ctx)
	s.Resolved = r
	return nil
}

// checkLambdaQuota warns when the account's Lambda concurrency quota
// leaves ingest too little room beside the processor (CheckLambdaQuota).
// It never fails the deploy.
func (s *State) checkLambdaQuota(ctx context.Context) {
	processorMax, err := ProcessorMaxConcurrency()
	if err != nil {
		s.Logf("Lambda concurrency quota not checked: %v", err)
		return
	}
	q := CheckLambdaQuota(ctx, s.Clients.Lambda, s.Plan.AWS.Region, s.Plan.AWS.Profile, processorMax)
	if q.Warning != "" {
		s.Warnf("%s", q.Warning)
		return
	}
	s.Logf("%s", q.Note)
}

// newOriginSecret returns 32 random bytes, base64url: the header value
// that tells the dashboard a request came through its own distribution.
func newOriginSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// --- terraform ---

type terraformStep struct{}

func (terraformStep) Name() string { return "terraform" }

func (terraformStep) Run(ctx context.Context, s *State) error {
	constraint := tf.DeployConstraint
	if s.Options.DryRun {
		constraint = tf.PlanConstraint
	}
	inst, err := s.Deps.EnsureTerraform(ctx, constraint)
	if err != nil {
		if s.Options.DryRun {
			s.PlanSkipped = "Terraform is not available (" + err.Error() + ")"
			return Skip("%s; the workspace is still written", s.PlanSkipped)
		}
		return terraformUnavailable(err, constraint)
	}
	s.Terraform = inst
	s.Logf("%s (%s)", inst.Path, inst.Source)
	if err := os.MkdirAll(s.Options.Workspace, 0o755); err != nil {
		return err
	}
	log, err := os.OpenFile(filepath.Join(s.Options.Workspace, LogFileName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	s.closers = append(s.closers, log.Close)
	fmt.Fprintf(log, "\n=== flytrap %s, %s ===\n", s.operation(), s.now().UTC().Format(time.RFC3339))
	r, err := s.Deps.NewRunner(s.Options.Workspace, inst.Path, s.terraformEnv(), log)
	if err != nil {
		return err
	}
	s.Runner = r
	return nil
}

func (s *State) operation() string {
	if s.Options.Operation != "" {
		return s.Options.Operation
	}
	if s.Options.DryRun {
		return "deploy --dry-run"
	}
	return "deploy"
}

func (s *State) now() time.Time {
	if s.Deps.Now != nil {
		return s.Deps.Now()
	}
	return time.Now()
}

// terraformEnv is Terraform's environment: the user's, pointed at the
// plan's profile and region; in a dry run fake credentials instead of any
// real ones, so nothing can reach an account.
func (s *State) terraformEnv() map[string]string {
	over := map[string]string{"AWS_REGION": s.Plan.AWS.Region, "AWS_DEFAULT_REGION": s.Plan.AWS.Region}
	drop := []string{}
	if s.Options.DryRun {
		over["AWS_ACCESS_KEY_ID"] = "flytrap-dry-run"
		over["AWS_SECRET_ACCESS_KEY"] = "flytrap-dry-run"
		over["AWS_CONFIG_FILE"] = os.DevNull
		over["AWS_SHARED_CREDENTIALS_FILE"] = os.DevNull
		over["AWS_EC2_METADATA_DISABLED"] = "true"
		// The version check calls checkpoint-api.hashicorp.com, which
		// stalls offline.
		over["CHECKPOINT_DISABLE"] = "1"
		drop = append(drop, "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE")
	} else if s.Plan.AWS.Profile != "" {
		over["AWS_PROFILE"] = s.Plan.AWS.Profile
	}
	env := tf.Env(s.Deps.Environ, over)
	for _, k := range drop {
		delete(env, k)
	}
	return env
}

// --- runtime ---

type runtimeStep struct{}

func (runtimeStep) Name() string { return "runtime" }

func (runtimeStep) Run(ctx context.Context, s *State) error {
	dir := filepath.Join(s.Options.Workspace, ArtifactsDir)
	a, err := s.Deps.Runtime(ctx, dir, stepLog{s})
	if err != nil {
		return runtimeUnavailable(err, s.Options, runtimebin.Checkout())
	}
	s.Artifacts = a
	for _, name := range runtimebin.Names {
		size := "?"
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil {
			size = fmt.Sprintf("%.1f MB", float64(fi.Size())/(1<<20))
		}
		s.Logf("%-18s %8s  sha256 %.12s  (%s)", name, size, a.SHA256[name], a.Source)
	}
	return nil
}

// stepLog writes the lines it is given as detail lines of the running
// step.
type stepLog struct{ s *State }

func (l stepLog) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		l.s.Logf("%s", line)
	}
	return len(p), nil
}

// --- workspace ---

type workspaceStep struct{}

func (workspaceStep) Name() string { return "workspace" }

func (workspaceStep) Run(ctx context.Context, s *State) error {
	ws := s.Options.Workspace
	if err := terraform.WriteTo(ws); err != nil {
		return err
	}
	userData, err := s.Deps.RenderUserData(UserDataInput{Prefix: "flytrap-" + s.Plan.Name})
	if err != nil {
		return fmt.Errorf("render the dashboard's cloud-init: %w", err)
	}
	s.Vars = BuildVars(s.Plan, s.Resolved, userData)
	if err := WriteVars(ws, s.Vars); err != nil {
		return err
	}
	if s.Options.DryRun {
		// Local backend, skipped AWS checks: see terraform.OfflineOverride.
		if err := os.WriteFile(filepath.Join(ws, terraform.OfflineOverrideFileName), []byte(terraform.OfflineOverride), 0o644); err != nil {
			return err
		}
	}
	s.Logf("%s: modules, %s, %s/", ws, VarsFileName, ArtifactsDir)
	for _, w := range s.Plan.Warnings() {
		s.Warnf("%s", w)
	}
	return nil
}

// --- init ---

type initStep struct{}

func (initStep) Name() string { return "init" }

func (initStep) Run(ctx context.Context, s *State) error {
	if s.Runner == nil {
		return Skip("%s", s.PlanSkipped)
	}
	if s.Existing != nil && s.Existing.Resources == 0 {
		return Skip("nothing to destroy")
	}
	if !s.Options.DryRun {
		b := s.backend()
		// -reconfigure: a dry run in the same workspace left the local
		// backend initialized; the state itself is always in S3.
		if err := s.Runner.Init(ctx, tf.InitOptions{BackendConfig: b.InitConfig(), Reconfigure: true}); err != nil {
			return terraformFailed("init", nil, s.Options.Workspace, err)
		}
		s.Logf("state s3://%s/%s (locked with a lock file)", b.Bucket, b.Key)
		return nil
	}
	pluginDir := s.getenv(EnvPluginDir)
	if pluginDir != "" {
		if err := s.Runner.Init(ctx, tf.InitOptions{PluginDir: pluginDir, Reconfigure: true}); err != nil {
			return &Error{
				Msg:  "terraform init with the provider mirror " + pluginDir + " failed",
				Hint: EnvPluginDir + " must be laid out for `terraform init -plugin-dir` (registry.terraform.io/hashicorp/aws/<version>/<os>_<arch>/...); see docs/deploy.md",
				Err:  err,
			}
		}
		s.Logf("providers from %s", pluginDir)
		return nil
	}
	// No mirror: let Terraform fetch the provider from the registry, but
	// only briefly: offline it cannot, and a dry run still succeeds.
	ictx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if err := s.Runner.Init(ictx, tf.InitOptions{Reconfigure: true}); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.PlanSkipped = "terraform init could not install the hashicorp/aws provider (offline?); set " + EnvPluginDir + " to a provider mirror to plan offline (docs/deploy.md)"
		return Skip("%s", s.PlanSkipped)
	}
	return nil
}

func (s *State) backend() Backend {
	return Backend{Bucket: s.StateBucket.Name, Key: awsx.StateKey(s.Plan.Name), Region: s.Plan.AWS.Region}
}

func (s *State) getenv(k string) string {
	if s.Deps.Getenv == nil {
		return ""
	}
	return s.Deps.Getenv(k)
}

// --- plan ---

type planStep struct{}

func (planStep) Name() string { return "plan" }

func (planStep) Run(ctx context.Context, s *State) error {
	if s.PlanSkipped != "" {
		s.printStaticResources()
		return Skip("%s", s.PlanSkipped)
	}
	s.PlanFile = PlanFileName
	p, err := s.plan(ctx, "plan")
	s.PlanProgress = p
	if err != nil {
		return err
	}
	s.printPlanned()
	s.DatabaseChanges = DatabaseChanges(s.Previous, s.Vars)
	for _, c := range s.DatabaseChanges {
		s.Logf("%s", c)
	}
	return nil
}

// plan runs `terraform plan -out` into the saved plan file. The plan
// prints a handful of lines (diagnostics, the summary), so it always uses
// the plain view.
func (s *State) plan(ctx context.Context, what string) (*Progress, error) {
	p := NewProgress(0)
	r := &PlainRenderer{W: s.Log, Progress: p, Indent: "    "}
	stream := tf.StreamWriter(r.Handle)
	_, err := s.Runner.Plan(ctx, tf.PlanOptions{Out: s.PlanFile}, stream)
	stream.Close()
	r.Close()
	if err != nil {
		if ctx.Err() != nil {
			return p, ctx.Err()
		}
		return p, terraformFailed(what, p, s.Options.Workspace, err)
	}
	return p, nil
}

// printPlanned lists what the plan changes, grouped by module.
func (s *State) printPlanned() {
	p := s.PlanProgress
	if p == nil || len(p.Planned) == 0 {
		return
	}
	for _, g := range GroupChanges(p.Planned) {
		s.Logf("  %-4s %-20s %3d  %s", g.Action, g.Module, g.Count, g.Types)
	}
}

// ChangeGroup is the planned changes of one action in one module.
type ChangeGroup struct {
	Action string `json:"action"`
	Module string `json:"module"`
	Count  int    `json:"count"`
	// Types lists the resource types, with ×N for several.
	Types string `json:"types"`
}

// GroupChanges groups planned changes by action and module, creates
// first, each module's types by count.
func GroupChanges(changes []tf.Change) []ChangeGroup {
	type key struct{ action, module string }
	byKey := map[key]map[string]int{}
	for _, c := range changes {
		mod := c.Resource.Module
		if mod == "" {
			mod = "(root)"
		}
		mod = strings.TrimPrefix(mod, "module.")
		k := key{c.Action, mod}
		if byKey[k] == nil {
			byKey[k] = map[string]int{}
		}
		byKey[k][c.Resource.ResourceType]++
	}
	order := map[string]int{"create": 0, "update": 1, "replace": 2, "delete": 3}
	var out []ChangeGroup
	for k, types := range byKey {
		g := ChangeGroup{Action: k.action, Module: k.module}
		names := make([]string, 0, len(types))
		for t, n := range types {
			g.Count += n
			names = append(names, t)
		}
		sort.Slice(names, func(i, j int) bool {
			if types[names[i]] != types[names[j]] {
				return types[names[i]] > types[names[j]]
			}
			return names[i] < names[j]
		})
		parts := make([]string, len(names))
		for i, t := range names {
			parts[i] = t
			if types[t] > 1 {
				parts[i] += fmt.Sprintf(" ×%d", types[t])
			}
		}
		g.Types = strings.Join(parts, ", ")
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool {
		if order[out[i].Action] != order[out[j].Action] {
			return order[out[i].Action] < order[out[j].Action]
		}
		return out[i].Module < out[j].Module
	})
	return out
}

// printStaticResources says what the modules declare when no plan could
// run (no Terraform or no provider).
func (s *State) printStaticResources() {
	mods, err := StaticResources()
	if err != nil {
		return
	}
	s.Logf("without a plan, this is what the modules declare (counts before count/for_each):")
	for _, m := range mods {
		s.Logf("  %-10s %s", m.Module, strings.Join(m.Types, ", "))
	}
}

// --- confirm ---

// destructionWarning says that c (a delete or replace) will happen and,
// for the dashboard instance, what a new one costs: the instance is
// replaced whenever its user data changes (cloud-init runs on first boot
// only), and the certificate cache lives on its disk.
func destructionWarning(c tf.Change, domain string) string {
	msg := fmt.Sprintf("%s will be %s", c.Resource.Addr, map[string]string{"delete": "destroyed", "replace": "replaced"}[c.Action])
	if c.Action != "replace" || c.Resource.Addr != "module.dashboard.aws_instance.this" {
		return msg
	}
	msg += ": a new dashboard instance boots (its cloud-init, AMI or domain changed), a few minutes without the dashboard; the Elastic IP stays"
	if domain != "" {
		msg += fmt.Sprintf(", and the Let's Encrypt certificate for %s is issued again (Let's Encrypt allows 5 for one name a week)", domain)
	}
	return msg
}

type confirmStep struct{}

func (confirmStep) Name() string { return "confirm" }

func (confirmStep) Run(ctx context.Context, s *State) error {
	// Destruction deserves a look even with --yes in a terminal log, and
	// in a dry run, which is where it can be seen in time (one without
	// Terraform has no plan).
	if s.PlanProgress != nil {
		for _, c := range s.PlanProgress.Planned {
			if c.Action == "delete" || c.Action == "replace" {
				s.Warnf("%s", destructionWarning(c, s.Plan.Domain))
			}
		}
	}
	if s.Options.DryRun {
		s.Logf("dry run: nothing was created; the workspace is %s", s.Options.Workspace)
		return ErrStop
	}
	sum := s.PlanProgress.Summary
	if sum != nil && sum.Operations() == 0 {
		return Skip("no changes")
	}
	if s.Options.Yes {
		return Skip("--yes")
	}
	if s.Options.Confirm == nil {
		return &Error{
			Msg:   "deploy needs a confirmation to apply the plan",
			Hint:  "run it in a terminal, or pass --yes to apply without asking (use --dry-run to preview)",
			Usage: true,
		}
	}
	q := fmt.Sprintf("Apply to account %s in %s?", s.Identity.Account, s.Plan.AWS.Region)
	if sum != nil {
		q = fmt.Sprintf("Apply %d to add, %d to change, %d to destroy in account %s (%s)?", sum.Add, sum.Change, sum.Remove, s.Identity.Account, s.Plan.AWS.Region)
	}
	ok, err := s.Options.Confirm(ctx, q)
	if err != nil {
		return err
	}
	if !ok {
		s.Declined = true
		s.Logf("not applied")
		return ErrStop
	}
	return nil
}

// --- save inputs ---

type saveInputsStep struct{}

func (saveInputsStep) Name() string { return "save-inputs" }

func (saveInputsStep) Run(ctx context.Context, s *State) error {
	// Saved before apply: if apply fails halfway, a teammate can still
	// destroy what exists.
	b, err := s.Vars.Marshal()
	if err != nil {
		return err
	}
	key := awsx.InputsKey(s.Plan.Name)
	if err := s.StateBucket.Put(ctx, key, b, "application/json"); err != nil {
		return awsError(err, s.Plan.AWS.Profile, "cannot record the deploy's inputs", "the credentials need s3:PutObject on s3://"+s.StateBucket.Name)
	}
	s.Logf("s3://%s/%s", s.StateBucket.Name, key)
	return nil
}

// --- apply ---

type applyStep struct{}

func (applyStep) Name() string { return "apply" }

func (applyStep) Run(ctx context.Context, s *State) error {
	if s.Migrated {
		// The targeted upload made the saved plan stale; plan the rest
		// (the same changes the user confirmed, minus the upload).
		pp, err := s.plan(ctx, "plan (after the migration)")
		if err != nil {
			return err
		}
		s.PlanProgress.Summary = pp.Summary
	}
	total := 0
	if s.PlanProgress != nil && s.PlanProgress.Summary != nil {
		total = s.PlanProgress.Summary.Operations()
	}
	p := NewProgress(total)
	s.Applied = p
	err := s.stream(ctx, "Applying", p, func(w io.Writer) error {
		return s.Runner.Apply(ctx, tf.ApplyOptions{PlanFile: s.PlanFile}, w)
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return terraformFailed("apply", p, s.Options.Workspace, err)
	}
	return nil
}

// stream runs a Terraform command whose JSON goes through the renderer
// the options choose (live view on a terminal, lines otherwise).
func (s *State) stream(ctx context.Context, title string, p *Progress, run func(w io.Writer) error) error {
	var r Renderer
	if s.Options.Progress != nil {
		r = s.Options.Progress(title, p)
	} else {
		r = &PlainRenderer{W: s.Log, Progress: p, Indent: "    "}
	}
	w := tf.StreamWriter(r.Handle)
	err := run(w)
	w.Close()
	r.Close()
	return err
}

// --- outputs ---

type outputsStep struct{}

func (outputsStep) Name() string { return "outputs" }

func (outputsStep) Run(ctx context.Context, s *State) error {
	m, err := s.Runner.Outputs(ctx)
	if err != nil {
		return terraformFailed("output", nil, s.Options.Workspace, err)
	}
	o, err := OutputsFromTerraform(m)
	if err != nil {
		return err
	}
	s.Outputs = &o
	s.Logf("dashboard %s, ingest %s", o.DashboardURL, o.IngestURL)
	return nil
}

// --- restart dashboard ---

type restartStep struct{}

func (restartStep) Name() string { return "restart-dashboard" }

// Run restarts the dashboard service through SSM when the apply uploaded a
// new binary or config to an instance that already existed: the service
// fetches both at start, and the instance is not replaced for them.
func (restartStep) Run(ctx context.Context, s *State) error {
	if s.PlanProgress == nil {
		return Skip("no plan")
	}
	changed, replaced := false, false
	for _, c := range s.PlanProgress.Planned {
		switch c.Resource.Addr {
		case "module.dashboard.aws_s3_object.binary", "module.dashboard.aws_s3_object.config":
			changed = changed || c.Action == "update" || c.Action == "replace"
		case "module.dashboard.aws_instance.this":
			replaced = replaced || c.Action == "create" || c.Action == "replace"
		}
	}
	switch {
	case replaced:
		return Skip("the instance is new and starts with the new binary")
	case !changed:
		return Skip("the dashboard's binary and config are unchanged")
	}
	// Awaited: systemctl restart returns once the old process has stopped
	// and the new one started (after ExecStartPre fetched and checked the
	// binary), so the smoke test's /healthz that follows is answered by the
	// new process, not the old one draining. The checksum says which
	// binary it started.
	instance := s.Outputs.DashboardInstanceID
	out, err := s.runOnInstance(ctx, instance, RestartCommand, "flytrap deploy: restart the dashboard on its new binary")
	var failed *commandFailed
	switch {
	case errors.As(err, &failed):
		return &Error{
			Msg:  "the dashboard did not restart on its new binary: " + failed.Error(),
			Hint: fmt.Sprintf("the functions are updated; see `aws ssm start-session --target %s` then `journalctl -u %s` (a failed fetch or start), fix the cause and run flytrap deploy again", instance, DashboardUnit),
			Err:  err,
		}
	case err != nil:
		// Not fatal: the new binary runs from the next restart on.
		s.Warnf("could not restart the dashboard through SSM (%v); run `aws ssm start-session --target %s` and `sudo systemctl restart %s`", err, instance, DashboardUnit)
		return nil
	}
	s.Restarted = true
	want := s.Artifacts.SHA256[runtimebin.DashboardBinary]
	got := ""
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[1] == InstalledDashboardBinary {
			got = f[0]
		}
	}
	if want != "" && got != want {
		return &Error{
			Msg:  fmt.Sprintf("the dashboard restarted, but %s on %s has SHA-256 %q, not this deploy's %s", InstalledDashboardBinary, instance, got, want),
			Hint: fmt.Sprintf("the service did not fetch the uploaded binary; see `journalctl -u %s` over `aws ssm start-session --target %s`, and run flytrap deploy again", DashboardUnit, instance),
		}
	}
	s.Logf("restarted %s on %s (binary %s)", DashboardUnit, instance, shortSHA(got))
	return nil
}

// InstalledDashboardBinary is where the instance's fetch script installs
// the dashboard (templates/cloudinit/dashboard.yaml.tmpl).
const InstalledDashboardBinary = "/opt/flytrap/flytrap-dashboard"

// RestartCommand restarts the service and prints the checksum of the
// binary it started.
const RestartCommand = "set -e; systemctl restart " + DashboardUnit + "; sha256sum " + InstalledDashboardBinary

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	if s == "" {
		return "unknown"
	}
	return s
}

// --- admin password ---

type adminStep struct{}

func (adminStep) Name() string { return "admin-password" }

func (adminStep) Run(ctx context.Context, s *State) error {
	a, ok, err := awsx.TakeInitialAdmin(ctx, s.Clients.S3, s.Outputs.BucketName)
	if err != nil {
		return awsError(err, s.Plan.AWS.Profile, "cannot read the initial admin password", "the credentials need s3:GetObject and s3:DeleteObject on s3://"+s.Outputs.BucketName+"/"+awsx.InitialAdminKey)
	}
	if !ok {
		s.AdminShownBefore = true
		return Skip("no password waiting: an earlier deploy showed it")
	}
	s.Admin = &a
	s.Logf("taken from s3://%s/%s and deleted", s.Outputs.BucketName, awsx.InitialAdminKey)
	return nil
}
