package plan

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/testutil/golden"
)

func TestEstimateDefault(t *testing.T) {
	p := validPlan()
	p.AWS.Region = "us-east-1"
	e := EstimateMonthlyCost(p)
	var sum float64
	for _, it := range e.Items {
		if it.MonthlyUSD < 0 {
			t.Errorf("%s %s: negative", it.Service, it.Item)
		}
		sum += it.MonthlyUSD
	}
	if math.Abs(sum-e.TotalUSD) > 0.005 {
		t.Errorf("total %.2f != sum of items %.2f", e.TotalUSD, sum)
	}
	// The fixed part: t4g.small 12.26, 20 GB EBS 1.60, IPv4 3.65,
	// db.t4g.micro 11.68, 20 GB RDS 2.30, secret 0.40.
	want := map[string]float64{
		"EC2/dashboard instance":                 12.26,
		"EBS/dashboard root volume":              1.60,
		"VPC/public IPv4 (Elastic IP)":           3.65,
		"RDS/PostgreSQL instance":                11.68,
		"RDS/storage":                            2.30,
		"RDS/backups":                            0,
		"Secrets Manager/database master secret": 0.40,
		"API Gateway/HTTP API requests":          1.00,
	}
	got := map[string]float64{}
	for _, it := range e.Items {
		got[it.Service+"/"+it.Item] = it.MonthlyUSD
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || math.Abs(g-v) > 0.005 {
			t.Errorf("%s = %.2f (present %v), want %.2f", k, g, ok, v)
		}
	}
	for _, k := range []string{"Lambda/ingest", "Lambda/processor", "SQS/queue requests", "CloudWatch/logs", "CloudWatch/alarms", "S3/artifacts bucket"} {
		if got[k] <= 0 {
			t.Errorf("%s = %.2f, want a positive amount", k, got[k])
		}
	}
	if e.TotalUSD < 30 || e.TotalUSD > 45 {
		t.Errorf("default total %.2f outside the documented ~$36", e.TotalUSD)
	}
	var buf bytes.Buffer
	if err := e.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "estimate-small.golden", buf.Bytes())
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "estimate-small.json.golden", append(b, '\n'))
}

func TestEstimateScales(t *testing.T) {
	totals := map[string]float64{}
	for _, name := range PresetNames {
		p := validPlan()
		p.Sizes = Presets[name]
		totals[name] = EstimateMonthlyCost(p).TotalUSD
	}
	if !(totals["small"] < totals["medium"] && totals["medium"] < totals["large"]) {
		t.Errorf("preset totals not increasing: %v", totals)
	}
	p := validPlan()
	lo := EstimateMonthlyCostAt(p, DefaultUsage).TotalUSD
	u := DefaultUsage
	u.EventsPerMonth *= 10
	hi := EstimateMonthlyCostAt(p, u).TotalUSD
	if hi <= lo {
		t.Errorf("10× events costs %.2f, not more than %.2f", hi, lo)
	}
}

func TestEstimateNotes(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Plan)
		want   string
	}{
		{"other region", func(p *Plan) { p.AWS.Region = "eu-central-1" }, "eu-central-1 is usually"},
		{"unknown instance", func(p *Plan) { p.Sizes.DashboardInstanceType = "r8g.large" }, "No list price for r8g.large"},
		{"unknown db", func(p *Plan) { p.Sizes.DBInstanceClass = "db.x2g.large" }, "No list price for db.x2g.large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := validPlan()
			tt.modify(&p)
			e := EstimateMonthlyCost(p)
			if !strings.Contains(strings.Join(e.Notes, "\n"), tt.want) {
				t.Errorf("notes %q lack %q", e.Notes, tt.want)
			}
		})
	}
}

func TestCount(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", 657000: "657,000"} {
		if got := count(in); got != want {
			t.Errorf("count(%v) = %q, want %q", in, got, want)
		}
	}
}
