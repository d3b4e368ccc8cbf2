package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/connlimit"
	"github.com/getflytrap/flytrap/internal/plan/plantest"
	"github.com/getflytrap/flytrap/internal/testutil/golden"
)

func validPlan() Plan {
	p := Default()
	p.Name = "prod"
	p.AWS = AWS{Profile: "work", Region: "eu-west-1"}
	p.AdminEmail = "admin@example.com"
	p.AlertEmail = "alerts@example.com"
	return p
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Plan)
		want   string // substring of the error; "" for valid
	}{
		{"valid", func(*Plan) {}, ""},
		{"no alert email or domain", func(p *Plan) { p.AlertEmail, p.Domain = "", "" }, ""},
		{"domain", func(p *Plan) { p.Domain = "errors.example.com" }, ""},
		{"custom sizes", func(p *Plan) { p.Size = SizeCustom; p.Sizes.DashboardInstanceType = "m7g.large" }, ""},
		{"missing name", func(p *Plan) { p.Name = "" }, "name: a deployment name is required"},
		{"name too short", func(p *Plan) { p.Name = "ab" }, "must be 3-21 characters"},
		{"name uppercase", func(p *Plan) { p.Name = "Prod" }, "must be 3-21 characters"},
		{"name starts with digit", func(p *Plan) { p.Name = "1prod" }, "must be 3-21 characters"},
		{"name too long", func(p *Plan) { p.Name = strings.Repeat("a", 22) }, "must be 3-21 characters"},
		{"name trailing hyphen", func(p *Plan) { p.Name = "prod-" }, "must not end with a hyphen"},
		{"name double hyphen", func(p *Plan) { p.Name = "pr--od" }, "two hyphens"},
		{"bad region", func(p *Plan) { p.AWS.Region = "europe" }, "aws.region"},
		{"gov region", func(p *Plan) { p.AWS.Region = "us-gov-west-1" }, ""},
		{"ingest domain", func(p *Plan) { p.IngestDomain, p.IngestZoneID = "ingest.example.com", "Z0123456789ABCDEFGHIJ" }, ""},
		{"ingest domain is the dashboard's", func(p *Plan) {
			p.Domain, p.IngestDomain, p.IngestZoneID = "errors.example.com", "errors.example.com", "Z0123456789ABCDEFGHIJ"
		}, `ingest_domain: "errors.example.com" is also the dashboard's domain`},
		{"ingest domain without zone", func(p *Plan) { p.IngestDomain = "ingest.example.com" }, "ingest_zone_id: the ingest domain needs the Route 53 hosted zone"},
		{"zone without ingest domain", func(p *Plan) { p.IngestZoneID = "Z0123456789ABCDEFGHIJ" }, "set both or neither"},
		{"bad zone", func(p *Plan) { p.IngestDomain, p.IngestZoneID = "ingest.example.com", "zone-1" }, `"zone-1" is not a Route 53 hosted zone ID`},
		{"region too long for IAM names", func(p *Plan) { p.AWS.Region = "ap-southeasternmost-1" }, "aws.region"},
		{"missing admin", func(p *Plan) { p.AdminEmail = "" }, "admin_email: an e-mail address is required"},
		{"bad admin", func(p *Plan) { p.AdminEmail = "admin" }, "is not an e-mail address"},
		{"bad alert", func(p *Plan) { p.AlertEmail = "a@b" }, "alert_email"},
		{"bad domain", func(p *Plan) { p.Domain = "Errors.Example.com" }, "domain"},
		{"x86 instance", func(p *Plan) { p.Sizes.DashboardInstanceType = "t3.small" }, "not a Graviton"},
		{"bad instance", func(p *Plan) { p.Sizes.DashboardInstanceType = "small" }, "must look like t4g.small"},
		{"bad db class", func(p *Plan) { p.Sizes.DBInstanceClass = "t4g.micro" }, "must look like db.t4g.micro"},
		{"storage too small", func(p *Plan) { p.Sizes.DBAllocatedStorageGB = 10 }, "db_allocated_storage: 10 must be from 20 to 1000"},
		{"memory", func(p *Plan) { p.Sizes.IngestMemoryMB = 64 }, "ingest_memory_mb"},
		{"batch", func(p *Plan) { p.Sizes.ProcessorBatchSize = 0 }, "processor_batch_size"},
		{"batch at the timeout's limit", func(p *Plan) { p.Sizes.ProcessorBatchSize = MaxProcessorBatchSize }, ""},
		{"batch past the timeout", func(p *Plan) { p.Sizes.ProcessorBatchSize = MaxProcessorBatchSize + 1 },
			"processor_batch_size: 1201 events at 50 ms an event need more than the processor's 60 s timeout"},
		{"batch SQS allows", func(p *Plan) { p.Sizes.ProcessorBatchSize = 10000 }, "use at most 1200"},
		{"burst", func(p *Plan) { p.Sizes.IngestThrottleBurst = 6000 }, "ingest_throttle_burst"},
		{"retention", func(p *Plan) { p.LogRetentionDays = 31 }, "log_retention_days: 31"},
		{"event retention off", func(p *Plan) { p.Retention = Retention{} }, ""},
		{"event retention at its limits", func(p *Plan) { p.Retention = Retention{Days: MaxRetentionDays, PerIssue: MaxRetentionPerIssue} }, ""},
		{"negative retention days", func(p *Plan) { p.Retention.Days = -1 }, "retention.days: -1 must be from 0"},
		{"no ingest rate limit", func(p *Plan) { p.IngestRateLimit = RateLimitNone }, ""},
		{"ingest rate limit of an older plan", func(p *Plan) { p.IngestRateLimit = 0 }, ""},
		{"ingest rate limit below -1", func(p *Plan) { p.IngestRateLimit = -2 }, "ingest_rate_limit: -2 must be"},
		{"ingest rate limit too high", func(p *Plan) { p.IngestRateLimit = MaxIngestRateLimit + 1 }, "ingest_rate_limit"},
		{"live streams of an older plan", func(p *Plan) { p.MaxLiveStreams, p.MaxLiveStreamsPerUser = 0, 0 }, ""},
		{"negative live streams", func(p *Plan) { p.MaxLiveStreams = -1 }, "max_live_streams: -1 must be from 1 to 100000"},
		{"too many live streams per user", func(p *Plan) { p.MaxLiveStreamsPerUser = MaxLiveStreams + 1 }, "max_live_streams_per_user: 100001 must be"},
		{"upload rate of an older plan", func(p *Plan) { p.MinUploadRate = 0 }, ""},
		{"upload rate too high", func(p *Plan) { p.MinUploadRate = MaxMinUploadRate + 1 }, "min_upload_rate: 1048577 must be from 1 to 1048576 bytes per second"},
		{"connections per client of an older plan", func(p *Plan) { p.MaxConnsPerClient = 0 }, ""},
		{"negative connections per client", func(p *Plan) { p.MaxConnsPerClient = -1 }, "max_conns_per_client: -1 must be from 1 to 10000 connections"},
		{"too many retention days", func(p *Plan) { p.Retention.Days = MaxRetentionDays + 1 }, "retention.days"},
		{"negative per issue", func(p *Plan) { p.Retention.PerIssue = -5 }, "retention.per_issue: -5 must be from 0"},
		{"too many per issue", func(p *Plan) { p.Retention.PerIssue = MaxRetentionPerIssue + 1 }, "retention.per_issue"},
		{"size", func(p *Plan) { p.Size = "huge" }, `size: "huge" is not one of small, medium, large or custom`},
		{"version", func(p *Plan) { p.Version = 2 }, "version: 2 is not supported"},
		{"aws tag", func(p *Plan) { p.Tags = map[string]string{"aws:x": "1"} }, `must not start with "aws:"`},
		{"tag space", func(p *Plan) { p.Tags = map[string]string{"cost center": "1"} }, `tag key "cost center": ' ' is not allowed; keys may hold only`},
		{"tag value IAM refuses", func(p *Plan) { p.Tags = map[string]string{"Team": "Platform & Infra"} }, `tag "Team": value "Platform & Infra": '&' is not allowed; AWS (IAM) allows in tag values only letters, digits, spaces and _ . : / = + - @`},
		{"tags ok", func(p *Plan) { p.Tags = map[string]string{"Team": "errors", "cost-center": "42"} }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := validPlan()
			tt.modify(&p)
			err := p.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.want != "" && err == nil:
				t.Fatalf("Validate accepted the plan, want an error with %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("Validate = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// TestDefaultsMatchDev: a plan's connection limit defaults to flytrap
// dev's.
func TestDefaultsMatchDev(t *testing.T) {
	if DefaultMaxConnsPerClient != connlimit.DefaultPerClient {
		t.Errorf("DefaultMaxConnsPerClient %d, connlimit.DefaultPerClient %d", DefaultMaxConnsPerClient, connlimit.DefaultPerClient)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	p := Default()
	err := p.Validate()
	if err == nil {
		t.Fatal("the default plan has no name or admin and must not validate")
	}
	for _, want := range []string{"name:", "admin_email:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

func TestNormalize(t *testing.T) {
	p := validPlan()
	p.AWS.Region = " EU-West-1 "
	p.Domain = "Errors.Example.COM."
	p.Sizes = Presets["large"]
	p.Size = "small"
	p.Normalize()
	if p.AWS.Region != "eu-west-1" || p.Domain != "errors.example.com" || p.Size != "large" {
		t.Errorf("Normalize = %+v", p)
	}
	p.Sizes.ProcessorMemoryMB = 640
	p.Normalize()
	if p.Size != SizeCustom {
		t.Errorf("changed sizes keep preset %q, want custom", p.Size)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, DefaultFile)
	p := validPlan()
	p.Domain = "errors.example.com"
	p.Tags = map[string]string{"Team": "errors"}
	if err := Save(path, p); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(p)
	if !bytes.Equal(a, b) {
		t.Errorf("round trip:\n got %s\nwant %s", a, b)
	}
	raw, _ := os.ReadFile(path)
	golden.Check(t, "flytrap.yaml.golden", raw)
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("Save left %d files, want only the plan", len(entries))
	}
}

func TestSaveRefusesInvalid(t *testing.T) {
	path := filepath.Join(t.TempDir(), DefaultFile)
	if err := Save(path, Default()); err == nil {
		t.Fatal("Save wrote a plan without name and admin")
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an invalid plan was written (stat: %v)", err)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"minimal file keeps defaults", "version: 1\nname: prod\nadmin_email: a@example.com\n", ""},
		{"unknown key", "version: 1\nname: prod\nadmin_email: a@example.com\nregoin: x\n", "field regoin not found"},
		{"wrong type", "version: 1\nname: prod\nadmin_email: a@example.com\nsizes:\n  ingest_memory_mb: lots\n", "cannot unmarshal"},
		{"newer version", "version: 7\nname: prod\nadmin_email: a@example.com\n", "version: 7 is not supported"},
		{"invalid value", "version: 1\nname: Prod\nadmin_email: a@example.com\n", "invalid plan"},
		{"unknown retention key", "version: 1\nname: prod\nadmin_email: a@example.com\nretention:\n  dayz: 30\n", "field dayz not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.yaml))
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if p.Sizes != Presets[DefaultSize] || p.AWS.Region != DefaultRegion || !p.DBDeletionProtection || p.LogRetentionDays != 30 ||
					p.Retention != (Retention{Days: 90, PerIssue: 10000}) {
					t.Errorf("defaults not kept: %+v", p)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestLoadMissing(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	var nf *NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("Load of a missing file = %v, want *NotFoundError", err)
	}
}

func TestPresetsAreValid(t *testing.T) {
	for _, name := range PresetNames {
		p := validPlan()
		p.Sizes = Presets[name]
		p.Normalize()
		if p.Size != name {
			t.Errorf("preset %s normalizes to %s", name, p.Size)
		}
		if err := p.Validate(); err != nil {
			t.Errorf("preset %s: %v", name, err)
		}
		e := EstimateMonthlyCost(p)
		for _, it := range e.Items {
			if strings.Contains(it.Detail, "not in the table") {
				t.Errorf("preset %s: %s %s has no price", name, it.Service, it.Item)
			}
		}
	}
}

// TestGlobalNames: the names IAM and S3 keep beyond one region carry the
// region, and the longest name and region allowed still fit their limits
// (IAM 64, S3 63), so init's validation rules out a failing apply.
func TestGlobalNames(t *testing.T) {
	p := Default()
	p.Name, p.AWS.Region = "prod", "eu-west-1"
	want := []string{"flytrap-prod-eu-west-1-ingest", "flytrap-prod-eu-west-1-processor", "flytrap-prod-eu-west-1-dashboard", "flytrap-prod-123456789012-eu-west-1"}
	if got := p.GlobalNames("123456789012"); !slices.Equal(got, want) {
		t.Errorf("GlobalNames = %v, want %v", got, want)
	}
	other := p
	other.AWS.Region = "us-east-1"
	for _, n := range other.GlobalNames("123456789012") {
		if slices.Contains(want, n) {
			t.Errorf("%s is the same in two regions", n)
		}
	}
	p.Name, p.AWS.Region = strings.Repeat("a", 21), "aa-abcdefghijklmno-1" // 20 characters
	if err := errors.Join(ValidateName(p.Name), ValidateRegion(p.AWS.Region)); err != nil {
		t.Fatal(err)
	}
	names := p.GlobalNames("123456789012")
	for _, n := range names[:3] {
		if len(n) > 64 {
			t.Errorf("IAM name %s has %d characters, over 64", n, len(n))
		}
	}
	if b := names[3]; len(b) > 63 {
		t.Errorf("bucket name %s has %d characters, over 63", b, len(b))
	}
}

// TestCheckCatalog: every preset and the default region are in the
// catalog; typos are refused with a suggestion.
func TestCheckCatalog(t *testing.T) {
	for _, name := range PresetNames {
		p := Default()
		p.Sizes = Presets[name]
		if err := CheckCatalog(p); err != nil {
			t.Errorf("preset %s: %v", name, err)
		}
	}
	for _, c := range []struct {
		edit func(*Plan)
		want string
	}{
		{func(p *Plan) { p.AWS.Region = "us-gov-west-1" }, ""},
		{func(p *Plan) { p.AWS.Region = "eu-wets-1" }, `"eu-wets-1" is not an AWS region (did you mean eu-west-1?)`},
		{func(p *Plan) { p.AWS.Region = "xx-nowhere-9" }, `"xx-nowhere-9" is not an AWS region`},
		{func(p *Plan) { p.Sizes.DashboardInstanceType = "m7g.metal" }, ""},
		{func(p *Plan) { p.Sizes.DashboardInstanceType = "t4g.metal" }, `t4g has no size "metal"`},
		{func(p *Plan) { p.Sizes.DBInstanceClass = "db.r7g.large" }, ""},
		{func(p *Plan) { p.Sizes.DBInstanceClass = "db.t4.micro" }, `"db.t4" is not an RDS for PostgreSQL family (did you mean db.t3?)`},
	} {
		p := Default()
		c.edit(&p)
		err := CheckCatalog(p)
		if (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("CheckCatalog(%s, %s, %s) = %v, want %q", p.AWS.Region, p.Sizes.DashboardInstanceType, p.Sizes.DBInstanceClass, err, c.want)
		}
	}
}

// TestDashboardFront: without a domain the dashboard is behind CloudFront
// and nothing is warned about; plain_http is warned about; plain_http with
// a domain is a mistake named by its field; and plain_http survives a
// save and load.
func TestDashboardFront(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		domain                string
		plainHTTP             bool
		wantCloudFront, warns bool
		wantErr               string
	}{
		{"default", "", false, true, false, ""},
		{"domain", "errors.example.com", false, false, false, ""},
		{"plain http", "", true, false, true, ""},
		{"both", "errors.example.com", true, false, false, "plain_http: a domain gets HTTPS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Default()
			p.Name, p.AdminEmail, p.Domain, p.PlainHTTP = "prod", "ops@example.com", tc.domain, tc.plainHTTP
			err := p.Validate()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.BehindCloudFront() != tc.wantCloudFront || (len(p.Warnings()) > 0) != tc.warns {
				t.Errorf("BehindCloudFront %v, warnings %q; want %v, %v", p.BehindCloudFront(), p.Warnings(), tc.wantCloudFront, tc.warns)
			}
			path := filepath.Join(t.TempDir(), DefaultFile)
			if err := Save(path, p); err != nil {
				t.Fatal(err)
			}
			got, err := Load(path)
			if err != nil || got.PlainHTTP != tc.plainHTTP {
				t.Errorf("loaded plain_http %v (%v), want %v", got.PlainHTTP, err, tc.plainHTTP)
			}
		})
	}
}

// TestValidateTags: keys and values as IAM's Tag API (the strictest of the
// services the default tags land on) and EC2's instance metadata (keys)
// accept them. The same table runs against terraform/variables.tf in
// terraform's TestTagValidation.
func TestValidateTags(t *testing.T) {
	for _, tt := range plantest.TagCases {
		err := ValidateTags(map[string]string{tt.Key: tt.Value})
		if (err == nil) != tt.OK {
			t.Errorf("tag %q=%q: err = %v, want ok %v", tt.Key, tt.Value, err, tt.OK)
		}
		if err != nil && !strings.Contains(err.Error(), "tag") {
			t.Errorf("tag %q=%q: error %q does not say it is about a tag", tt.Key, tt.Value, err)
		}
	}
}

// TestValidateTagsCase: keys that differ only in case are one key to
// AWS, so a plan with both is refused, naming them.
func TestValidateTagsCase(t *testing.T) {
	err := ValidateTags(map[string]string{"Team": "b", "team": "c", "owner": "x"})
	if err == nil || !strings.Contains(err.Error(), `tags "Team" and "team" differ only in case`) {
		t.Errorf("Team and team: err = %v", err)
	}
	if err := ValidateTags(map[string]string{"Team": "b", "owner": "x"}); err != nil {
		t.Errorf("Team and owner: %v", err)
	}
}

// TestValidateTagsBuiltIn: a key Flytrap sets itself, in any case, is
// refused naming Flytrap's key, since IAM would get Project and project.
func TestValidateTagsBuiltIn(t *testing.T) {
	err := ValidateTags(map[string]string{"project": "x"})
	if err == nil || !strings.Contains(err.Error(), `tag "project": Flytrap sets "Project" itself`) {
		t.Errorf("project: err = %v", err)
	}
}

// TestEffectiveIngestRateLimit: a plan from before ingest_rate_limit has
// 0, which deploys the default, not a limit of 0 events.
func TestEffectiveIngestRateLimit(t *testing.T) {
	for _, tc := range []struct{ in, want int }{{0, DefaultIngestRateLimit}, {600, 600}, {RateLimitNone, RateLimitNone}} {
		if got := (Plan{IngestRateLimit: tc.in}).EffectiveIngestRateLimit(); got != tc.want {
			t.Errorf("ingest_rate_limit %d deploys %d, want %d", tc.in, got, tc.want)
		}
	}
}
