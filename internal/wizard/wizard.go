// Package wizard is `flytrap init`'s questionnaire: charmbracelet/huh forms
// that fill in a plan (flytrap.yaml) and nothing else; `flytrap deploy`
// applies it. Every question has a flag in the init command; the wizard
// only asks what the flags left open.
//
// On a terminal the forms are interactive (bubbletea). In accessible mode
// they become numbered line-by-line prompts that work on any stream:
// screen readers, pipes, tests.
package wizard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"charm.land/huh/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/term"

	"github.com/getflytrap/flytrap/internal/plan"
)

// Questions says which questions to ask; a flag answers the others.
type Questions struct {
	Profile, Region, Name, AdminEmail, AlertEmail, Domain, Size bool
	// Custom sizes, asked only when the size is "custom".
	DashboardInstanceType, DBInstanceClass, DBStorage, IngestMemory, ProcessorMemory bool
}

// All asks everything.
func All() Questions {
	return Questions{
		Profile: true, Region: true, Name: true, AdminEmail: true, AlertEmail: true, Domain: true, Size: true,
		DashboardInstanceType: true, DBInstanceClass: true, DBStorage: true, IngestMemory: true, ProcessorMemory: true,
	}
}

// Options configure a wizard run.
type Options struct {
	In  io.Reader
	Out io.Writer
	// Accessible uses line prompts instead of the interactive forms.
	Accessible bool
	// Environ is the environment for color detection (NO_COLOR).
	Environ []string
	// Plan holds the starting values: defaults, an existing plan file,
	// and the flags.
	Plan plan.Plan
	Ask  Questions
	// Profiles found in the shared AWS files.
	Profiles []Profile
	// RegionFor gives the default region for a profile (AWS_REGION, the
	// profile's region, then plan.DefaultRegion); used when the region
	// is asked after the profile.
	RegionFor func(profile string) string
}

// ErrAborted: the user left the form (Ctrl-C, Esc).
var ErrAborted = errors.New("init aborted")

// Run asks the questions and returns the completed plan, normalized but
// not validated: the caller reports what is still missing (accessible
// prompts accept an empty answer at the end of the input).
func Run(ctx context.Context, o Options) (plan.Plan, error) {
	p := o.Plan
	out, in := o.Out, o.In
	if o.Accessible {
		// Accessible prompts are styled; strip escapes for pipes, dumb
		// terminals and NO_COLOR.
		out = colorprofile.NewWriter(o.Out, o.Environ)
		// Each accessible prompt reads through a new buffered scanner; fed
		// more than one byte at a time it would swallow the next answers
		// of a piped input.
		in = oneByteReader{o.In}
	}
	run := func(groups ...*huh.Group) error {
		var nonEmpty []*huh.Group
		for _, g := range groups {
			if g != nil {
				nonEmpty = append(nonEmpty, g)
			}
		}
		if len(nonEmpty) == 0 {
			return nil
		}
		f := huh.NewForm(nonEmpty...).WithAccessible(o.Accessible).WithInput(in).WithOutput(out).WithShowHelp(!o.Accessible)
		if !o.Accessible && terminalWidth(o.Out) <= 0 {
			// A terminal that reports no size (some CI runners, serial
			// consoles) makes the text inputs' layout fail; use a fixed
			// width there.
			f = f.WithWidth(80)
		}
		if err := f.RunWithContext(ctx); err != nil {
			if errors.Is(err, huh.ErrUserAborted) {
				return ErrAborted
			}
			return err
		}
		return nil
	}

	// The profile first: the region's default follows it.
	if o.Ask.Profile && len(o.Profiles) > 0 {
		opts := []huh.Option[string]{huh.NewOption("(none: environment variables or instance role)", "")}
		for _, pr := range o.Profiles {
			label := pr.Name
			if pr.Region != "" {
				label += " (" + pr.Region + ")"
			}
			opts = append(opts, huh.NewOption(label, pr.Name))
		}
		profile := &choice{flag: "profile", opts: opts, dst: &p.AWS.Profile}
		if err := run(huh.NewGroup(profile.field(o.Accessible, "AWS profile",
			"Credentials to deploy with, from ~/.aws/config and ~/.aws/credentials."))); err != nil {
			return plan.Plan{}, err
		}
		if err := profile.err(); err != nil {
			return plan.Plan{}, err
		}
		if o.Ask.Region && o.RegionFor != nil {
			p.AWS.Region = o.RegionFor(p.AWS.Profile)
		}
	}

	// Accessible prompts validate the raw line before falling back to the
	// default, so an empty answer ("keep the default") must pass.
	keep := func(def string, v func(string) error) func(string) error {
		return func(in string) error {
			if o.Accessible && strings.TrimSpace(in) == "" && def != "" {
				return nil
			}
			return v(in)
		}
	}
	var fields []huh.Field
	if o.Ask.Region {
		fields = append(fields, huh.NewInput().
			Title("AWS region").
			Description("Where to deploy, e.g. eu-west-1.").
			Suggestions(CommonRegions).
			Value(&p.AWS.Region).
			Validate(keep(p.AWS.Region, plan.ValidateRegion)))
	}
	if o.Ask.Name {
		fields = append(fields, huh.NewInput().
			Title("Deployment name").
			Description("3-21 lowercase letters, digits, hyphens; prefixes every resource (flytrap-<name>-...).").
			Placeholder("prod").
			Value(&p.Name).
			Validate(keep(p.Name, plan.ValidateName)))
	}
	if o.Ask.AdminEmail {
		fields = append(fields, huh.NewInput().
			Title("Admin e-mail").
			Description("Login of the first dashboard administrator.").
			Value(&p.AdminEmail).
			Validate(keep(p.AdminEmail, func(s string) error { return plan.ValidateEmail(strings.TrimSpace(s), true) })))
	}
	if o.Ask.AlertEmail {
		fields = append(fields, huh.NewInput().
			Title("Alert e-mail (optional)").
			Description("Receives alarms (failed events); AWS mails a confirmation link first. Empty for none.").
			Value(&p.AlertEmail).
			Validate(func(s string) error { return plan.ValidateEmail(strings.TrimSpace(s), false) }))
	}
	if o.Ask.Domain {
		fields = append(fields, huh.NewInput().
			Title("Dashboard domain (optional)").
			Description("e.g. errors.example.com, HTTPS by Let's Encrypt; point its A record at the address deploy prints. Empty: https://<id>.cloudfront.net.").
			Value(&p.Domain).
			Validate(func(s string) error { return plan.ValidateDomain(strings.ToLower(strings.TrimSpace(s))) }))
	}
	size := p.Size
	sizeChoice := &choice{flag: "size", opts: sizeOptions(p), dst: &size}
	if o.Ask.Size {
		fields = append(fields, sizeChoice.field(o.Accessible, "Size",
			"Capacity of the dashboard, database and functions; estimates at 1M events/month."))
	}
	if len(fields) > 0 {
		if err := run(huh.NewGroup(fields...)); err != nil {
			return plan.Plan{}, err
		}
		if err := sizeChoice.err(); err != nil {
			return plan.Plan{}, err
		}
	}
	if o.Ask.Size && size != plan.SizeCustom {
		if s, ok := plan.Presets[size]; ok {
			p.Sizes = s
		}
	}
	if size == plan.SizeCustom {
		if err := run(customGroup(&p, o.Ask, o.Accessible)); err != nil {
			return plan.Plan{}, err
		}
	}
	p.Normalize()
	return p, nil
}

func sizeOptions(p plan.Plan) []huh.Option[string] {
	var opts []huh.Option[string]
	for _, name := range plan.PresetNames {
		q := p
		q.Sizes = plan.Presets[name]
		s := q.Sizes
		label := fmt.Sprintf("%-6s  %s dashboard, %s database, %d GB; about $%.0f/month", name, s.DashboardInstanceType, s.DBInstanceClass, s.DBAllocatedStorageGB, plan.EstimateMonthlyCost(q).TotalUSD)
		opts = append(opts, huh.NewOption(label, name))
	}
	return append(opts, huh.NewOption("custom  choose instance types, storage and memory", plan.SizeCustom))
}

// choice is a pick-one question. Interactive, it is huh's Select. Line
// by line it is a text field under a numbered list that takes a number or
// an option's value: huh's accessible select indexes its options with a
// refused answer when the input ends right after it, and panics.
type choice struct {
	flag string // the init flag that answers it
	opts []huh.Option[string]
	dst  *string
	bad  string // a final line answer that names no option
}

func (c *choice) field(accessible bool, title, desc string) huh.Field {
	if !accessible {
		return huh.NewSelect[string]().Title(title).Description(desc).Options(c.opts...).Value(c.dst)
	}
	var b strings.Builder
	b.WriteString(title)
	for i, o := range c.opts {
		fmt.Fprintf(&b, "\n%d. %s", i+1, o.Key)
	}
	fmt.Fprintf(&b, "\nEnter a number from 1 to %d or a name", len(c.opts))
	if i, ok := c.pick(*c.dst); ok {
		fmt.Fprintf(&b, " (empty: %d)", i+1)
	}
	b.WriteString(":")
	return huh.NewInput().Title(b.String()).Accessor(c).Validate(func(s string) error {
		if _, ok := c.pick(s); !ok && strings.TrimSpace(s) != "" {
			return c.refuse(s)
		}
		return nil
	})
}

// pick finds the option answer names: its number from 1 or its value.
func (c *choice) pick(answer string) (int, bool) {
	answer = strings.TrimSpace(answer)
	if n, err := strconv.Atoi(answer); err == nil {
		return n - 1, n >= 1 && n <= len(c.opts)
	}
	for i, o := range c.opts {
		if strings.EqualFold(o.Value, answer) {
			return i, true
		}
	}
	return 0, false
}

func (c *choice) refuse(answer string) error {
	var names []string
	for _, o := range c.opts {
		if o.Value != "" {
			names = append(names, o.Value)
		}
	}
	return fmt.Errorf("%s: %q is not a choice: enter a number from 1 to %d or one of %s, or pass --%s", c.flag, strings.TrimSpace(answer), len(c.opts), strings.Join(names, ", "), c.flag)
}

// err reports a refused answer the input ended on.
func (c *choice) err() error {
	if c.bad == "" {
		return nil
	}
	return c.refuse(c.bad)
}

// Get and Set make c the line field's accessor: Set receives the last
// answer, or Get's value for an empty one.
func (c *choice) Get() string { return *c.dst }

func (c *choice) Set(answer string) {
	if answer == *c.dst {
		return
	}
	if i, ok := c.pick(answer); ok {
		*c.dst = c.opts[i].Value
		return
	}
	c.bad = answer
}

// customGroup asks for the individual sizes, starting from the current
// ones.
func customGroup(p *plan.Plan, ask Questions, accessible bool) *huh.Group {
	// As in Run: an empty accessible answer keeps the current value.
	keep := func(v func(string) error) func(string) error {
		return func(in string) error {
			if accessible && strings.TrimSpace(in) == "" {
				return nil
			}
			return v(in)
		}
	}
	var fields []huh.Field
	if ask.DashboardInstanceType {
		fields = append(fields, huh.NewInput().Title("Dashboard EC2 instance type").
			Description("A Graviton (arm64) type, e.g. t4g.small.").
			Value(&p.Sizes.DashboardInstanceType).Validate(keep(plan.ValidateInstanceType)))
	}
	if ask.DBInstanceClass {
		fields = append(fields, huh.NewInput().Title("Database instance class").
			Description("RDS PostgreSQL, e.g. db.t4g.micro.").
			Value(&p.Sizes.DBInstanceClass).Validate(keep(plan.ValidateDBClass)))
	}
	if ask.DBStorage {
		fields = append(fields, intInput("Database storage (GiB)", "20 to 1000; grows automatically up to 100, or 125 % of it when larger.", &p.Sizes.DBAllocatedStorageGB, 20, 1000, keep))
	}
	if ask.IngestMemory {
		fields = append(fields, intInput("Ingest function memory (MB)", "128 to 10240.", &p.Sizes.IngestMemoryMB, 128, 10240, keep))
	}
	if ask.ProcessorMemory {
		fields = append(fields, intInput("Processor function memory (MB)", "128 to 10240.", &p.Sizes.ProcessorMemoryMB, 128, 10240, keep))
	}
	if len(fields) == 0 {
		return nil
	}
	return huh.NewGroup(fields...)
}

// intInput is a text field holding a whole number; huh has no numeric
// field, so the value lives in an accessor that parses on every set.
func intInput(title, desc string, dst *int, lo, hi int, wrap func(func(string) error) func(string) error) *huh.Input {
	return huh.NewInput().Title(title).Description(desc).
		Accessor(&intAccessor{dst: dst}).
		Validate(wrap(func(s string) error {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n < lo || n > hi {
				return fmt.Errorf("enter a whole number from %d to %d", lo, hi)
			}
			return nil
		}))
}

type intAccessor struct{ dst *int }

func (a *intAccessor) Get() string { return strconv.Itoa(*a.dst) }

func (a *intAccessor) Set(s string) {
	if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
		*a.dst = n
	}
}

// terminalWidth is w's width in columns, or 0 when unknown.
func terminalWidth(w io.Writer) int {
	f, ok := w.(*os.File)
	if !ok {
		return 0
	}
	width, _, err := term.GetSize(f.Fd())
	if err != nil {
		return 0
	}
	return width
}

// oneByteReader reads at most one byte per call.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

// CommonRegions are suggested while typing a region.
var CommonRegions = []string{
	"us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1",
	"eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1",
	"ap-south-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "ap-northeast-2", "sa-east-1",
}
