// Package plan is the deployment plan file, flytrap.yaml: what `flytrap init`
// writes and `flytrap deploy` applies (the wizard only fills in a plan; only
// deploy touches AWS). It also estimates what a plan costs per month.
package plan

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// DefaultFile is the plan file name init writes and deploy reads by default.
const DefaultFile = "flytrap.yaml"

// CurrentVersion is the plan format this flytrap writes. A file with a
// higher version was written by a newer flytrap and is refused rather than
// half understood.
const CurrentVersion = 1

// Plan is the content of flytrap.yaml. Field names follow the Terraform
// variables they become (see internal/deploy), so a reader of one
// understands the other.
type Plan struct {
	// Version of the file format (CurrentVersion).
	Version int `yaml:"version" json:"version"`
	// Name of the deployment: prefixes every AWS resource (flytrap-<name>-...).
	Name string `yaml:"name" json:"name"`
	// AWS says where to deploy.
	AWS AWS `yaml:"aws" json:"aws"`
	// AdminEmail is the login of the first dashboard administrator.
	AdminEmail string `yaml:"admin_email" json:"admin_email"`
	// AlertEmail is subscribed to the alerts topic; "" for none.
	AlertEmail string `yaml:"alert_email" json:"alert_email"`
	// Domain serves the dashboard over HTTPS with a Let's Encrypt
	// certificate; "" serves it through CloudFront at
	// https://<id>.cloudfront.net.
	Domain string `yaml:"domain" json:"domain"`
	// PlainHTTP, without a domain, serves the dashboard over plain HTTP on
	// the Elastic IP instead of through CloudFront, for accounts that
	// cannot use CloudFront. Warned about at init and deploy.
	PlainHTTP bool `yaml:"plain_http,omitempty" json:"plain_http,omitempty"`
	// IngestDomain is a stable host name for the ingest API, so DSNs
	// survive a redeploy; "" uses the random execute-api host.
	// IngestZoneID is the Route 53 hosted zone holding it.
	IngestDomain string `yaml:"ingest_domain,omitempty" json:"ingest_domain,omitempty"`
	IngestZoneID string `yaml:"ingest_zone_id,omitempty" json:"ingest_zone_id,omitempty"`
	// Size names the preset Sizes came from, or "custom". Sizes are
	// authoritative: Normalize recomputes Size from them.
	Size string `yaml:"size" json:"size"`
	// Sizes of the compute and storage resources.
	Sizes Sizes `yaml:"sizes" json:"sizes"`
	// Retention says which events the dashboard deletes (the Terraform
	// variables retention_days and retention_per_issue).
	Retention Retention `yaml:"retention" json:"retention"`
	// IngestRateLimit is the events per minute ingest accepts from each
	// project without a limit of its own (flytrap dev's --rate-limit),
	// RateLimitNone for no limit; 0, as in plans written before it
	// existed, is DefaultIngestRateLimit.
	IngestRateLimit int `yaml:"ingest_rate_limit" json:"ingest_rate_limit"`
	// MaxLiveStreams and MaxLiveStreamsPerUser bound the dashboard's
	// live-update streams (flytrap dev's --max-live-streams and
	// --max-live-streams-per-user); 0, as in plans written before they
	// existed, is the default.
	MaxLiveStreams        int `yaml:"max_live_streams" json:"max_live_streams"`
	MaxLiveStreamsPerUser int `yaml:"max_live_streams_per_user" json:"max_live_streams_per_user"`
	// MinUploadRate is the bytes per second each request of a source map
	// upload to the dashboard must keep up (flytrap dev's
	// --min-upload-rate); 0, as in plans written before it existed, is
	// DefaultMinUploadRate.
	MinUploadRate int `yaml:"min_upload_rate" json:"min_upload_rate"`
	// MaxConnsPerClient bounds the connections one client address holds
	// open on the dashboard when it serves clients itself, with a domain
	// or plain_http (flytrap dev's --max-conns-per-client); over it the
	// address's longest-idle connection is closed to make room, and a new
	// one is refused only when none is idle. 0, as in plans written
	// before it existed, is DefaultMaxConnsPerClient.
	MaxConnsPerClient int `yaml:"max_conns_per_client" json:"max_conns_per_client"`
	// LogRetentionDays is how long CloudWatch keeps Lambda and API logs.
	LogRetentionDays int `yaml:"log_retention_days" json:"log_retention_days"`
	// DBDeletionProtection protects the database and the bucket's content;
	// `flytrap destroy` turns it off itself before destroying.
	DBDeletionProtection bool `yaml:"db_deletion_protection" json:"db_deletion_protection"`
	// Tags are extra tags for every resource.
	Tags map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
}

// AWS is the account access and region of a deployment.
type AWS struct {
	// Profile in the shared AWS config; "" uses the SDK's default chain
	// (environment, default profile, instance role).
	Profile string `yaml:"profile" json:"profile"`
	// Region to deploy to.
	Region string `yaml:"region" json:"region"`
}

// Retention is the event retention rule the dashboard's hourly job applies;
// issues keep their counts when their events are deleted.
type Retention struct {
	// Days deletes events received more than this many days ago (0: keep).
	Days int `yaml:"days" json:"days"`
	// PerIssue keeps at most this many events per issue (0: all).
	PerIssue int `yaml:"per_issue" json:"per_issue"`
}

// Retention defaults, the same as `flytrap dev`'s.
const (
	DefaultRetentionDays     = 90
	DefaultRetentionPerIssue = 10000
	// MaxRetentionDays and MaxRetentionPerIssue bound the settings: beyond
	// them the database, not the rule, sets the limit.
	MaxRetentionDays     = 3650
	MaxRetentionPerIssue = 1000000
)

// Ingest rate limits of a plan, as flytrap dev's --rate-limit takes them.
const (
	// DefaultIngestRateLimit is ingest.DefaultRatePerMinute.
	DefaultIngestRateLimit = 6000
	// MaxIngestRateLimit is store.MaxRateLimit, a project's own bound.
	MaxIngestRateLimit = 1_000_000
	// RateLimitNone is the ingest_rate_limit of no limit.
	RateLimitNone = -1
)

// Live-stream limits of a plan, as flytrap dev's --max-live-streams and
// --max-live-streams-per-user take them.
const (
	// DefaultMaxLiveStreams is live.DefaultMaxStreams.
	DefaultMaxLiveStreams = 500
	// DefaultMaxLiveStreamsPerUser is live.DefaultMaxStreamsPerUser.
	DefaultMaxLiveStreamsPerUser = 16
	// MaxLiveStreams bounds both settings: each open stream holds about
	// 48 KB, so this many fill about 5 GB, more than the largest preset's
	// instance has.
	MaxLiveStreams = 100_000
)

// Source map upload rates of a plan, as flytrap dev's --min-upload-rate
// takes them.
const (
	// DefaultMinUploadRate is bodydeadline.DefaultUploadRate.
	DefaultMinUploadRate = 1 << 10
	// MaxMinUploadRate is 1 MiB/s: a demand beyond it would cut off the
	// uploads of most CI runners.
	MaxMinUploadRate = 1 << 20
)

// Connection limits of a plan, as flytrap dev's --max-conns-per-client
// takes them.
const (
	// DefaultMaxConnsPerClient is connlimit.DefaultPerClient.
	DefaultMaxConnsPerClient = 128
	// MaxMaxConnsPerClient bounds the setting: each connection stalled
	// with its headers holds about 105 KB, so one address would fill
	// about 1 GB.
	MaxMaxConnsPerClient = 10_000
)

// Sizes are the capacity settings a size preset chooses.
type Sizes struct {
	DashboardInstanceType string `yaml:"dashboard_instance_type" json:"dashboard_instance_type"`
	DBInstanceClass       string `yaml:"db_instance_class" json:"db_instance_class"`
	DBAllocatedStorageGB  int    `yaml:"db_allocated_storage" json:"db_allocated_storage"`
	IngestMemoryMB        int    `yaml:"ingest_memory_mb" json:"ingest_memory_mb"`
	ProcessorMemoryMB     int    `yaml:"processor_memory_mb" json:"processor_memory_mb"`
	ProcessorBatchSize    int    `yaml:"processor_batch_size" json:"processor_batch_size"`
	IngestThrottleRate    int    `yaml:"ingest_throttle_rate" json:"ingest_throttle_rate"`
	IngestThrottleBurst   int    `yaml:"ingest_throttle_burst" json:"ingest_throttle_burst"`
}

// ProcessorTimeoutSeconds is the processor Lambda's timeout for one batch:
// local.processor_timeout_seconds in terraform/main.tf, from which the
// queue's visibility timeout is derived.
const ProcessorTimeoutSeconds = 60

// processorMillisPerEvent is the processor's time for an event that the
// cost estimate bills (DefaultUsage) and a batch is allowed within the
// timeout: far above the 1.4 ms of CPU an event measured on a full core
// (docs/benchmarks.md), since a 512 MB function has a third of one, and
// a cold environment connects to the database and reads source maps.
const processorMillisPerEvent = 50

// MaxProcessorBatchSize is the largest processor_batch_size that is
// processed within ProcessorTimeoutSeconds at processorMillisPerEvent. A
// batch that outlasts the timeout fails whole and is handed out again,
// to fail again, until its events are in the dead-letter queue.
const MaxProcessorBatchSize = ProcessorTimeoutSeconds * 1000 / processorMillisPerEvent

// SizeCustom is the Size of sizes that match no preset.
const SizeCustom = "custom"

// Presets are the named sizes init offers. "small" equals the Terraform
// variables' defaults; each step up roughly doubles capacity and cost.
var Presets = map[string]Sizes{
	"small": {
		DashboardInstanceType: "t4g.small",
		DBInstanceClass:       "db.t4g.micro",
		DBAllocatedStorageGB:  20,
		IngestMemoryMB:        256,
		ProcessorMemoryMB:     512,
		ProcessorBatchSize:    10,
		IngestThrottleRate:    100,
		IngestThrottleBurst:   200,
	},
	"medium": {
		DashboardInstanceType: "t4g.medium",
		DBInstanceClass:       "db.t4g.small",
		DBAllocatedStorageGB:  50,
		IngestMemoryMB:        512,
		ProcessorMemoryMB:     1024,
		ProcessorBatchSize:    25,
		IngestThrottleRate:    500,
		IngestThrottleBurst:   1000,
	},
	"large": {
		DashboardInstanceType: "t4g.large",
		DBInstanceClass:       "db.t4g.medium",
		DBAllocatedStorageGB:  100,
		IngestMemoryMB:        1024,
		ProcessorMemoryMB:     2048,
		ProcessorBatchSize:    50,
		IngestThrottleRate:    2000,
		IngestThrottleBurst:   4000,
	},
}

// PresetNames lists the presets from small to large.
var PresetNames = []string{"small", "medium", "large"}

// DefaultSize is the preset a plan gets when nothing else is chosen.
const DefaultSize = "small"

// DefaultRegion is used when neither a flag, AWS_REGION nor the profile
// names a region.
const DefaultRegion = "us-east-1"

// LogRetentionValues are the retention periods CloudWatch accepts (never
// expire excluded: logs would grow without bound).
var LogRetentionValues = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// Default returns a plan with every optional setting at its default and the
// required ones (name, admin e-mail) empty.
func Default() Plan {
	return Plan{
		Version:               CurrentVersion,
		AWS:                   AWS{Region: DefaultRegion},
		Size:                  DefaultSize,
		Sizes:                 Presets[DefaultSize],
		Retention:             Retention{Days: DefaultRetentionDays, PerIssue: DefaultRetentionPerIssue},
		IngestRateLimit:       DefaultIngestRateLimit,
		MaxLiveStreams:        DefaultMaxLiveStreams,
		MaxLiveStreamsPerUser: DefaultMaxLiveStreamsPerUser,
		MinUploadRate:         DefaultMinUploadRate,
		MaxConnsPerClient:     DefaultMaxConnsPerClient,
		LogRetentionDays:      30,
		DBDeletionProtection:  true,
	}
}

// Normalize sets Size to the preset whose values Sizes hold, else "custom",
// and lowercases what AWS and DNS treat case-insensitively.
func (p *Plan) Normalize() {
	p.Name = strings.TrimSpace(p.Name)
	p.AWS.Profile = strings.TrimSpace(p.AWS.Profile)
	p.AWS.Region = strings.ToLower(strings.TrimSpace(p.AWS.Region))
	p.AdminEmail = strings.TrimSpace(p.AdminEmail)
	p.AlertEmail = strings.TrimSpace(p.AlertEmail)
	p.Domain = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(p.Domain)), ".")
	p.IngestDomain = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(p.IngestDomain)), ".")
	p.IngestZoneID = strings.TrimSpace(p.IngestZoneID)
	p.Size = PresetOf(p.Sizes)
}

// PresetOf returns the name of the preset equal to s, or SizeCustom.
func PresetOf(s Sizes) string {
	for _, name := range PresetNames {
		if Presets[name] == s {
			return name
		}
	}
	return SizeCustom
}

// The checks below mirror the validation blocks of terraform/variables.tf,
// so a plan that passes here is not refused by `terraform plan` minutes
// later. internal/deploy's contract test runs both on the same values.
//
// They compile on first use: every flytrap command, flytrap dev's server
// too, links this package, and compiling them all took 1.5 ms and 175 KB
// at start-up (GODEBUG=inittrace=1), mostly domainRe's repetitions.
var (
	nameRe          = lazyRegexp(`^[a-z][a-z0-9-]{2,20}$`)
	regionRe        = lazyRegexp(`^[a-z]{2,4}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]+$`)
	emailRe         = lazyRegexp(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	domainRe        = lazyRegexp(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)
	instanceTypeRe  = lazyRegexp(`^[a-z][a-z0-9-]*\.[a-z0-9]+$`)
	dbClassRe       = lazyRegexp(`^db\.[a-z0-9-]+\.[a-z0-9]+$`)
	tagKeyRe        = lazyRegexp(`^[A-Za-z0-9+=._:@-]+$`)
	tagValueRe      = lazyRegexp(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
	gravitonFamilyR = lazyRegexp(`^[a-z]+[0-9]+g[a-z]*\.`)
)

// lazyRegexp returns a function that compiles expr on its first call and
// returns the same *regexp.Regexp after.
func lazyRegexp(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}

// ValidateName checks a deployment name like the Terraform `name` variable.
func ValidateName(s string) error {
	switch {
	case s == "":
		return errors.New("a deployment name is required (e.g. prod)")
	case !nameRe().MatchString(s):
		return fmt.Errorf("name %q must be 3-21 characters: a lowercase letter, then lowercase letters, digits or hyphens", s)
	case strings.HasSuffix(s, "-") || strings.Contains(s, "--"):
		return fmt.Errorf("name %q must not end with a hyphen or contain two hyphens in a row (RDS identifiers forbid both)", s)
	}
	return nil
}

// maxRegionLen bounds the region, which is part of the IAM names
// (GlobalNames): 8 + 21 + 1 + 20 + 10 = 60 of IAM's 64 characters.
const maxRegionLen = 20

// ValidateRegion checks a region name's shape (not that it exists).
func ValidateRegion(s string) error {
	if !regionRe().MatchString(s) || len(s) > maxRegionLen {
		return fmt.Errorf("region %q must look like eu-west-1", s)
	}
	return nil
}

// GlobalNames are the names of the deployment's resources that are unique
// across all regions of the account (IAM roles and the instance profile) or
// across AWS (the bucket), as the Terraform modules build them. Each holds
// the region, so one deployment name can be used in two regions; the state
// is per region and would not see the other region's names.
func (p Plan) GlobalNames(accountID string) []string {
	prefix := "flytrap-" + p.Name
	iam := prefix + "-" + p.AWS.Region
	return []string{
		iam + "-ingest",
		iam + "-processor",
		iam + "-dashboard",
		prefix + "-" + accountID + "-" + p.AWS.Region,
	}
}

// ValidateEmail checks an e-mail address; required says whether "" is
// allowed.
func ValidateEmail(s string, required bool) error {
	if s == "" {
		if required {
			return errors.New("an e-mail address is required")
		}
		return nil
	}
	if !emailRe().MatchString(s) {
		return fmt.Errorf("%q is not an e-mail address", s)
	}
	return nil
}

// ValidateDomain checks an optional lowercase host name.
func ValidateDomain(s string) error {
	if s == "" {
		return nil
	}
	if len(s) > 253 || !domainRe().MatchString(s) {
		return fmt.Errorf("domain %q must be a lowercase host name such as errors.example.com", s)
	}
	return nil
}

var zoneIDRe = lazyRegexp(`^Z[A-Z0-9]{1,31}$`)

// validateZone checks the Route 53 zone of the ingest domain: required
// with one, meaningless without.
func validateZone(domain, zone string) error {
	switch {
	case domain != "" && zone == "":
		return errors.New("the ingest domain needs the Route 53 hosted zone that holds it (aws route53 list-hosted-zones-by-name)")
	case domain == "" && zone != "":
		return errors.New("a hosted zone without an ingest domain; set both or neither")
	case zone != "" && !zoneIDRe().MatchString(zone):
		return fmt.Errorf("%q is not a Route 53 hosted zone ID (like Z0123456789ABCDEFGHIJ)", zone)
	}
	return nil
}

// ValidateInstanceType checks the dashboard's EC2 type. Beyond the Terraform
// check it requires a Graviton (arm64) family: the dashboard binary and the
// Amazon Linux AMI deploy resolves are arm64.
func ValidateInstanceType(s string) error {
	if !instanceTypeRe().MatchString(s) {
		return fmt.Errorf("instance type %q must look like t4g.small", s)
	}
	if !gravitonFamilyR().MatchString(s) {
		return fmt.Errorf("instance type %q is not a Graviton (arm64) type; the dashboard runs the arm64 build: choose e.g. t4g.small, m7g.large", s)
	}
	return nil
}

// ValidateDBClass checks an RDS instance class.
func ValidateDBClass(s string) error {
	if !dbClassRe().MatchString(s) {
		return fmt.Errorf("database class %q must look like db.t4g.micro", s)
	}
	return nil
}

// Validate checks every field and returns all problems at once, joined, so a
// hand-edited file is fixed in one pass.
func (p Plan) Validate() error {
	var errs []error
	add := func(field string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", field, err))
		}
	}
	if p.Version != CurrentVersion {
		add("version", fmt.Errorf("%d is not supported (this flytrap reads version %d; a newer flytrap wrote this file?)", p.Version, CurrentVersion))
	}
	add("name", ValidateName(p.Name))
	add("aws.region", ValidateRegion(p.AWS.Region))
	add("admin_email", ValidateEmail(p.AdminEmail, true))
	add("alert_email", ValidateEmail(p.AlertEmail, false))
	add("domain", ValidateDomain(p.Domain))
	if p.Domain != "" && p.PlainHTTP {
		add("plain_http", errors.New("a domain gets HTTPS with a Let's Encrypt certificate; remove plain_http (or the domain)"))
	}
	add("ingest_domain", ValidateDomain(p.IngestDomain))
	if p.IngestDomain != "" && strings.EqualFold(p.IngestDomain, p.Domain) {
		add("ingest_domain", fmt.Errorf("%q is also the dashboard's domain; one host name cannot point at both the dashboard and the ingest API: give ingest a name of its own (ingest.example.com)", p.IngestDomain))
	}
	add("ingest_zone_id", validateZone(p.IngestDomain, p.IngestZoneID))
	if p.Size != SizeCustom {
		if _, ok := Presets[p.Size]; !ok {
			add("size", fmt.Errorf("%q is not one of %s or %s", p.Size, strings.Join(PresetNames, ", "), SizeCustom))
		}
	}
	s := p.Sizes
	add("sizes.dashboard_instance_type", ValidateInstanceType(s.DashboardInstanceType))
	add("sizes.db_instance_class", ValidateDBClass(s.DBInstanceClass))
	add("sizes.db_allocated_storage", between(s.DBAllocatedStorageGB, 20, 1000, "GiB"))
	add("sizes.ingest_memory_mb", between(s.IngestMemoryMB, 128, 10240, "MB"))
	add("sizes.processor_memory_mb", between(s.ProcessorMemoryMB, 128, 10240, "MB"))
	add("sizes.processor_batch_size", validateBatchSize(s.ProcessorBatchSize))
	add("sizes.ingest_throttle_rate", between(s.IngestThrottleRate, 1, 10000, "requests per second"))
	add("sizes.ingest_throttle_burst", between(s.IngestThrottleBurst, 1, 5000, "requests"))
	add("retention.days", ValidateRetentionDays(p.Retention.Days))
	add("retention.per_issue", ValidateRetentionPerIssue(p.Retention.PerIssue))
	// 0, which plans written before these settings existed hold, is the
	// default; a user choosing a value is refused 0 (ValidateChosen).
	for _, c := range p.chosenInts() {
		if c.v != 0 {
			add(c.field, ValidateChosen(c.field, c.v))
		}
	}
	if !slices.Contains(LogRetentionValues, p.LogRetentionDays) {
		add("log_retention_days", fmt.Errorf("%d is not one of CloudWatch's values %v", p.LogRetentionDays, LogRetentionValues))
	}
	add("tags", ValidateTags(p.Tags))
	return errors.Join(errs...)
}

// EffectiveIngestRateLimit is IngestRateLimit, or its default for 0.
func (p Plan) EffectiveIngestRateLimit() int {
	if p.IngestRateLimit == 0 {
		return DefaultIngestRateLimit
	}
	return p.IngestRateLimit
}

// EffectiveMaxLiveStreams is MaxLiveStreams, or its default for 0.
func (p Plan) EffectiveMaxLiveStreams() int {
	return cmp.Or(p.MaxLiveStreams, DefaultMaxLiveStreams)
}

// EffectiveMaxLiveStreamsPerUser is MaxLiveStreamsPerUser, or its default
// for 0.
func (p Plan) EffectiveMaxLiveStreamsPerUser() int {
	return cmp.Or(p.MaxLiveStreamsPerUser, DefaultMaxLiveStreamsPerUser)
}

// EffectiveMinUploadRate is MinUploadRate, or its default for 0.
func (p Plan) EffectiveMinUploadRate() int {
	return cmp.Or(p.MinUploadRate, DefaultMinUploadRate)
}

// EffectiveMaxConnsPerClient is MaxConnsPerClient, or its default for 0.
func (p Plan) EffectiveMaxConnsPerClient() int {
	return cmp.Or(p.MaxConnsPerClient, DefaultMaxConnsPerClient)
}

// chosenInts are the settings, by field, whose 0 in a plan means the
// default but is no value a user may choose.
func (p Plan) chosenInts() []struct {
	field string
	v     int
} {
	return []struct {
		field string
		v     int
	}{
		{"ingest_rate_limit", p.IngestRateLimit}, {"max_live_streams", p.MaxLiveStreams},
		{"max_live_streams_per_user", p.MaxLiveStreamsPerUser}, {"min_upload_rate", p.MinUploadRate},
		{"max_conns_per_client", p.MaxConnsPerClient},
	}
}

// ValidateChosen checks a value a user chose for field, one of
// ingest_rate_limit, max_live_streams, max_live_streams_per_user,
// min_upload_rate and max_conns_per_client. 0, which a plan reads as the default, is refused: the
// user asked for something else. Other fields are not checked.
func ValidateChosen(field string, v int) error {
	switch field {
	case "ingest_rate_limit":
		if v != RateLimitNone && (v < 1 || v > MaxIngestRateLimit) {
			return fmt.Errorf("%d must be a number of events per minute from 1 to %d, or %d for no limit", v, MaxIngestRateLimit, RateLimitNone)
		}
	case "max_live_streams", "max_live_streams_per_user":
		if v < 1 || v > MaxLiveStreams {
			return fmt.Errorf("%d must be from 1 to %d live streams", v, MaxLiveStreams)
		}
	case "min_upload_rate":
		if v < 1 || v > MaxMinUploadRate {
			return fmt.Errorf("%d must be from 1 to %d bytes per second", v, MaxMinUploadRate)
		}
	case "max_conns_per_client":
		if v < 1 || v > MaxMaxConnsPerClient {
			return fmt.Errorf("%d must be from 1 to %d connections", v, MaxMaxConnsPerClient)
		}
	}
	return nil
}

// ValidateRetentionDays checks the age after which events are deleted.
func ValidateRetentionDays(d int) error {
	if d < 0 || d > MaxRetentionDays {
		return fmt.Errorf("%d must be from 0 (keep events) to %d days", d, MaxRetentionDays)
	}
	return nil
}

// ValidateRetentionPerIssue checks how many events an issue keeps.
func ValidateRetentionPerIssue(n int) error {
	if n < 0 || n > MaxRetentionPerIssue {
		return fmt.Errorf("%d must be from 0 (keep all) to %d events", n, MaxRetentionPerIssue)
	}
	return nil
}

// validateBatchSize checks processor_batch_size against the processor's
// timeout: SQS takes batches of up to 10,000, which the timeout does not
// fit.
func validateBatchSize(n int) error {
	if n > MaxProcessorBatchSize {
		return fmt.Errorf("%d events at %d ms an event need more than the processor's %d s timeout: a batch that times out fails whole, "+
			"and SQS hands it out again until its events are in the dead-letter queue; use at most %d",
			n, processorMillisPerEvent, ProcessorTimeoutSeconds, MaxProcessorBatchSize)
	}
	return between(n, 1, MaxProcessorBatchSize, "events")
}

func between(v, lo, hi int, unit string) error {
	if v < lo || v > hi {
		return fmt.Errorf("%d must be from %d to %d %s", v, lo, hi, unit)
	}
	return nil
}

// ValidateTags checks --tag keys and values against what every resource
// they land on accepts (they are the provider's default_tags):
//   - IAM, whose Tag API is the strictest service: key
//     [\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}, value [\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}
//     (characters, not bytes), no "aws:" prefix;
//   - EC2 instance metadata, where the dashboard exposes its tags: keys of
//     letters a-z/A-Z, digits and + - = . , _ : @ only, not "." "..".
//
// Keys are the intersection (no space, "/" or ","; ASCII letters only),
// values IAM's set. terraform/variables.tf holds the same checks.
func ValidateTags(tags map[string]string) error {
	if len(tags) > 40 {
		return fmt.Errorf("%d tags; at most 40 (AWS allows 50 per resource, Flytrap sets some)", len(tags))
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	folded := make(map[string]string, len(keys))
	for _, k := range keys {
		if prev, dup := folded[strings.ToLower(k)]; dup {
			return fmt.Errorf("tags %q and %q differ only in case; AWS tag keys are case-insensitive, so give one", prev, k)
		}
		folded[strings.ToLower(k)] = k
	}
	for _, k := range keys {
		v := tags[k]
		switch {
		case k == "":
			return errors.New("a tag key must not be empty")
		case utf8.RuneCountInString(k) > 128 || utf8.RuneCountInString(v) > 256:
			return fmt.Errorf("tag %q: keys are at most 128 and values 256 characters", k)
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			return fmt.Errorf("tag %q: keys must not start with \"aws:\"", k)
		case builtinTagKey(k) != "":
			return fmt.Errorf("tag %q: Flytrap sets %q itself (AWS tag keys are case-insensitive); choose another key", k, builtinTagKey(k))
		case !tagKeyRe().MatchString(k) || k == "." || k == ".." || k == "_index":
			return fmt.Errorf("tag key %q: %s; keys may hold only letters A-Z and a-z, digits and + - = . _ : @ (IAM refuses \",\", and the dashboard instance's metadata refuses spaces and \"/\")", k, badTagChars(k, tagKeyRe()))
		case !tagValueRe().MatchString(v):
			return fmt.Errorf("tag %q: value %q: %s; AWS (IAM) allows in tag values only letters, digits, spaces and _ . : / = + - @", k, v, badTagChars(v, tagValueRe()))
		}
	}
	return nil
}

// builtinTagKeys are the tags every resource gets from Flytrap
// (terraform/versions.tf's builtin_tags).
var builtinTagKeys = []string{"Project", "FlytrapDeployment", "ManagedBy"}

// builtinTagKey returns the built-in key k equals ignoring case, or "".
func builtinTagKey(k string) string {
	for _, b := range builtinTagKeys {
		if strings.EqualFold(k, b) {
			return b
		}
	}
	return ""
}

// badTagChars names the characters of s that re (a character class
// repeated) refuses, e.g. `"&" is not allowed`.
func badTagChars(s string, re *regexp.Regexp) string {
	var bad []string
	for _, r := range s {
		if q := strconv.QuoteRune(r); !re.MatchString(string(r)) && !slices.Contains(bad, q) {
			bad = append(bad, q)
		}
	}
	switch len(bad) {
	case 0:
		return "not allowed"
	case 1:
		return bad[0] + " is not allowed"
	}
	return strings.Join(bad, ", ") + " are not allowed"
}

// PlainHTTPWarning is what init and deploy say, loudly, about a plan
// that chose plain HTTP: the dashboard then has no certificate.
const PlainHTTPWarning = "plain_http: the dashboard is served over plain HTTP at http://<elastic ip>, so sign-in, the first admin password and session cookies cross the internet unencrypted (cookies are not Secure); drop plain_http for HTTPS through CloudFront, or set a domain (flytrap init --domain errors.example.com) for HTTPS with a Let's Encrypt certificate"

// Warnings are what is allowed but unsafe in p.
func (p Plan) Warnings() []string {
	if p.Domain == "" && p.PlainHTTP {
		return []string{PlainHTTPWarning}
	}
	return nil
}

// BehindCloudFront says whether the dashboard is served through CloudFront
// (no domain, plain HTTP not chosen).
func (p Plan) BehindCloudFront() bool { return p.Domain == "" && !p.PlainHTTP }

// Load reads and validates a plan file. Settings the file leaves out keep
// their defaults; unknown settings are an error (a typo would otherwise be
// silently ignored).
func Load(path string) (Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Plan{}, &NotFoundError{Path: path}
		}
		return Plan{}, fmt.Errorf("read plan: %w", err)
	}
	p, err := Parse(b)
	if err != nil {
		return Plan{}, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// NotFoundError says the plan file does not exist (the user has not run
// `flytrap init` here).
type NotFoundError struct{ Path string }

// Error names the missing file.
func (e *NotFoundError) Error() string { return "no plan file " + e.Path }

// Parse decodes and validates a plan.
func Parse(b []byte) (Plan, error) {
	p := Default()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return Plan{}, fmt.Errorf("parse plan: %w", err)
	}
	p.Normalize()
	if err := p.Validate(); err != nil {
		return Plan{}, fmt.Errorf("invalid plan:\n%w", err)
	}
	return p, nil
}

// header starts every plan file so a reader knows what it is for.
const header = `# Flytrap deployment plan, written by ` + "`flytrap init`" + `.
# Edit it freely; ` + "`flytrap deploy`" + ` applies it (` + "`--dry-run`" + ` to preview).
# Sizes win over "size": a preset name is recomputed from them on save.
`

// Marshal encodes p as a plan file, header included.
func Marshal(p Plan) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(header)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(p); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Save validates p and writes it to path, readable by the owner only (it
// names the account's profile and people's addresses). It writes a
// temporary file first so an interrupted save leaves the old plan intact.
func Save(path string, p Plan) error {
	p.Normalize()
	if err := p.Validate(); err != nil {
		return fmt.Errorf("invalid plan:\n%w", err)
	}
	b, err := Marshal(p)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".flytrap-plan-*")
	if err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write plan: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write plan: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	return nil
}
