package wizard

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/getflytrap/flytrap/internal/plan"
)

// run answers the wizard's accessible prompts from lines, given as one
// stream the way a pipe delivers them: each prompt reads through its own
// buffered scanner, so Run must feed them one byte at a time (with a
// plain reader only the first field would get its answer).
// iotest.HalfReader makes the source deliver odd chunk sizes on top.
func run(t *testing.T, o Options, lines ...string) (plan.Plan, string, error) {
	t.Helper()
	var out bytes.Buffer
	o.In = iotest.HalfReader(strings.NewReader(strings.Join(lines, "\n") + "\n"))
	o.Out = &out
	o.Accessible = true
	p, err := Run(context.Background(), o)
	return p, out.String(), err
}

func start() plan.Plan {
	p := plan.Default()
	p.AWS.Region = "us-east-1"
	return p
}

func TestWizardAccessible(t *testing.T) {
	profiles := []Profile{{Name: "default", Region: "us-east-2"}, {Name: "work", Region: "eu-west-1"}}
	regionFor := func(profile string) string {
		if pr, ok := FindProfile(profiles, profile); ok && pr.Region != "" {
			return pr.Region
		}
		return plan.DefaultRegion
	}
	tests := []struct {
		name    string
		ask     Questions
		answers []string
		check   func(t *testing.T, p plan.Plan)
		inOut   []string
	}{
		{
			name: "everything, medium",
			ask:  All(),
			// profile 3 = work; region: keep the profile's; then name,
			// admin, alert, domain, size 2 = medium.
			answers: []string{"3", "", "prod", "ops@example.com", "alerts@example.com", "errors.example.com", "2"},
			check: func(t *testing.T, p plan.Plan) {
				if p.AWS.Profile != "work" || p.AWS.Region != "eu-west-1" || p.Name != "prod" || p.AdminEmail != "ops@example.com" ||
					p.AlertEmail != "alerts@example.com" || p.Domain != "errors.example.com" || p.Size != "medium" || p.Sizes != plan.Presets["medium"] {
					t.Errorf("plan = %+v", p)
				}
			},
			inOut: []string{"AWS profile", "work (eu-west-1)", "AWS region", "Deployment name", "Admin e-mail", "Size", "medium"},
		},
		{
			name: "invalid answers are asked again",
			ask:  Questions{Name: true, AdminEmail: true},
			// Bad name twice, then a good one; a bad e-mail, then a good one.
			answers: []string{"Prod", "p", "staging", "nope", "me@example.com"},
			check: func(t *testing.T, p plan.Plan) {
				if p.Name != "staging" || p.AdminEmail != "me@example.com" {
					t.Errorf("plan = %+v", p)
				}
			},
			inOut: []string{"must be 3-21 characters", "is not an e-mail address"},
		},
		{
			name:    "custom sizes",
			ask:     Questions{Size: true, DashboardInstanceType: true, DBInstanceClass: true, DBStorage: true, IngestMemory: true, ProcessorMemory: true},
			answers: []string{"4", "m7g.large", "t3.micro", "db.m7g.large", "5", "200", "1024", "2048"},
			check: func(t *testing.T, p plan.Plan) {
				want := plan.Sizes{DashboardInstanceType: "m7g.large", DBInstanceClass: "db.m7g.large", DBAllocatedStorageGB: 200, IngestMemoryMB: 1024, ProcessorMemoryMB: 2048, ProcessorBatchSize: 10, IngestThrottleRate: 100, IngestThrottleBurst: 200}
				if p.Sizes != want || p.Size != plan.SizeCustom {
					t.Errorf("sizes = %+v (%s)", p.Sizes, p.Size)
				}
			},
			inOut: []string{"Dashboard EC2 instance type", "enter a whole number from 20 to 1000"},
		},
		{
			name:    "nothing to ask",
			ask:     Questions{},
			answers: nil,
			check: func(t *testing.T, p plan.Plan) {
				if p.Name != "" || p.Size != "small" {
					t.Errorf("plan = %+v", p)
				}
			},
		},
		{
			name: "input ends early",
			ask:  Questions{Name: true, AdminEmail: true},
			// EOF after the name: the admin stays empty for the caller to
			// report.
			answers: []string{"prod"},
			check: func(t *testing.T, p plan.Plan) {
				if p.Name != "prod" || p.AdminEmail != "" {
					t.Errorf("plan = %+v", p)
				}
				if err := p.Validate(); err == nil || !strings.Contains(err.Error(), "admin_email") {
					t.Errorf("Validate = %v", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, out, err := run(t, Options{Plan: start(), Ask: tt.ask, Profiles: profiles, RegionFor: regionFor}, tt.answers...)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, p)
			for _, s := range tt.inOut {
				if !strings.Contains(out, s) {
					t.Errorf("output lacks %q:\n%s", s, out)
				}
			}
			if strings.Contains(out, "\x1b[") {
				t.Errorf("escape sequences written to a non-terminal:\n%q", out)
			}
		})
	}
}

func TestDetectProfiles(t *testing.T) {
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, ".aws"), 0o755)
	os.WriteFile(filepath.Join(home, ".aws", "config"), []byte(`# comment
[default]
region = us-east-2
output = json

[profile work]
region=eu-west-1
s3 =
  max_concurrent_requests = 20
  region = nope

[profile sso-dev]
sso_session = corp
sso_account_id = 123456789012

[sso-session corp]
sso_region = us-east-1

; another comment
[services local]
`), 0o644)
	os.WriteFile(filepath.Join(home, ".aws", "credentials"), []byte("[default]\naws_access_key_id = X\n[ci]\naws_access_key_id = Y\n"), 0o600)
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	got, err := DetectProfiles(getenv, home)
	if err != nil {
		t.Fatal(err)
	}
	want := []Profile{{"default", "us-east-2"}, {"ci", ""}, {"sso-dev", ""}, {"work", "eu-west-1"}}
	if !slices.Equal(got, want) {
		t.Errorf("profiles = %+v, want %+v", got, want)
	}

	// The environment names other files, as for the SDK.
	other := filepath.Join(t.TempDir(), "cfg")
	os.WriteFile(other, []byte("[profile only]\nregion = ap-south-1\n"), 0o644)
	env["AWS_CONFIG_FILE"] = other
	env["AWS_SHARED_CREDENTIALS_FILE"] = filepath.Join(t.TempDir(), "missing")
	got, err = DetectProfiles(getenv, home)
	if err != nil || !slices.Equal(got, []Profile{{"only", "ap-south-1"}}) {
		t.Errorf("with AWS_CONFIG_FILE: %+v, %v", got, err)
	}

	// No files at all.
	got, err = DetectProfiles(func(string) string { return "" }, t.TempDir())
	if err != nil || len(got) != 0 {
		t.Errorf("no files: %+v, %v", got, err)
	}
}

// TestWizardAccessibleChoice: a line-by-line select takes a number or an
// option's name, asks again after a bad answer, and fails naming the
// flag (never panics, as huh's accessible select does) when the input
// ends on a bad answer.
func TestWizardAccessibleChoice(t *testing.T) {
	profiles := []Profile{{Name: "default"}, {Name: "work"}}
	tests := []struct {
		name        string
		ask         Questions
		answers     []string
		wantProfile string
		wantSize    string
		wantErr     string
	}{
		{name: "number", ask: Questions{Size: true}, answers: []string{"2"}, wantSize: "medium"},
		{name: "name", ask: Questions{Size: true}, answers: []string{"Large"}, wantSize: "large"},
		{name: "empty keeps", ask: Questions{Size: true}, answers: []string{""}, wantSize: "small"},
		{name: "asked again", ask: Questions{Size: true}, answers: []string{"9", "small-ish", "2"}, wantSize: "medium"},
		{name: "out of range at the end", ask: Questions{Size: true}, answers: []string{"9"}, wantErr: `size: "9" is not a choice`},
		{name: "zero at the end", ask: Questions{Size: true}, answers: []string{"0"}, wantErr: "--size"},
		{name: "bad name at the end", ask: Questions{Size: true}, answers: []string{"huge"}, wantErr: "--size"},
		{name: "profile", ask: Questions{Profile: true}, answers: []string{"3"}, wantProfile: "work", wantSize: "small"},
		{name: "profile none", ask: Questions{Profile: true}, answers: []string{"1"}, wantSize: "small"},
		{name: "bad profile at the end", ask: Questions{Profile: true}, answers: []string{"4"}, wantErr: "--profile"},
		{
			// The QA report's input: the size question got a 9 after
			// the optional fields were left empty.
			name:    "after the other fields",
			ask:     Questions{Region: true, Name: true, AdminEmail: true, AlertEmail: true, Domain: true, Size: true},
			answers: []string{"eu-west-1", "prod", "ops@example.com", "", "", "9"},
			wantErr: "--size",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, out, err := run(t, Options{Plan: start(), Ask: tt.ask, Profiles: profiles}, tt.answers...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q\n%s", err, tt.wantErr, out)
				}
				return
			}
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if p.AWS.Profile != tt.wantProfile || p.Size != tt.wantSize {
				t.Errorf("profile %q, size %q; want %q, %q\n%s", p.AWS.Profile, p.Size, tt.wantProfile, tt.wantSize, out)
			}
		})
	}
}
