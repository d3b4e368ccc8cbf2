package plan

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// Price table: AWS on-demand list prices in us-east-1 (N. Virginia), USD,
// as published on the AWS pricing pages in June 2025 (PricesAsOf). No
// free tier, savings plan or reserved pricing is applied, so a new account
// pays less. Other regions are mostly 0-25% dearer. Re-check
// https://aws.amazon.com/pricing/ before budgeting on these numbers.
const (
	// PricesAsOf dates the price table.
	PricesAsOf = "2025-06"
	// PriceRegion is the region the table's prices are for.
	PriceRegion = "us-east-1"

	// HoursPerMonth is AWS's billing month (365 × 24 / 12).
	HoursPerMonth = 730

	priceEBSgp3GBMonth      = 0.08         // EBS gp3 storage, per GB-month (3000 IOPS / 125 MB/s included)
	pricePublicIPv4Hour     = 0.005        // any public IPv4 address, attached or not (since Feb 2024)
	priceRDSgp3GBMonth      = 0.115        // RDS gp3 storage, Single-AZ, per GB-month
	priceRDSBackupGBMonth   = 0.095        // RDS backup storage beyond the free allowance (= provisioned storage)
	priceLambdaArmGBSecond  = 0.0000133334 // Lambda on arm64, per GB-second
	priceLambdaPerMillion   = 0.20         // Lambda requests
	priceHTTPAPIPerMillion  = 1.00         // API Gateway HTTP API, first 300 M requests
	priceSQSPerMillion      = 0.40         // SQS standard queue requests (64 KB chunks)
	priceLogsIngestGB       = 0.50         // CloudWatch Logs ingestion, per GB
	priceLogsStoreGBMonth   = 0.03         // CloudWatch Logs storage, per GB-month (compressed)
	priceAlarmMonth         = 0.10         // CloudWatch standard-resolution metric alarm
	priceRDSSnapshotGBMonth = 0.095        // RDS snapshot storage beyond the free backup allowance
	priceS3GBMonth          = 0.023        // S3 Standard, first 50 TB
	priceS3PutPerThousand   = 0.005        // S3 PUT, COPY, POST, LIST
	priceS3GetPerThousand   = 0.0004       // S3 GET
	priceSecretMonth        = 0.40         // Secrets Manager, per secret-month
	dashboardRootVolumeGB   = 20           // terraform/modules/dashboard root_volume_gb default
	cloudWatchAlarms        = 9            // modules/queue (2) and terraform/observability.tf (7)
	sqsLongPollSeconds      = 20           // Lambda's SQS pollers use 20 s long polls
	sqsIdlePollers          = 5            // Lambda starts 5 pollers per SQS event source
	logCompressionRatio     = 0.15         // stored size / ingested size, roughly
)

// ec2HourlyUSD holds Linux on-demand prices of the Graviton types the
// dashboard can run on (arm64 only).
var ec2HourlyUSD = map[string]float64{
	"t4g.nano": 0.0042, "t4g.micro": 0.0084, "t4g.small": 0.0168, "t4g.medium": 0.0336,
	"t4g.large": 0.0672, "t4g.xlarge": 0.1344, "t4g.2xlarge": 0.2688,
	"m7g.medium": 0.0408, "m7g.large": 0.0816, "m7g.xlarge": 0.1632,
	"m6g.medium": 0.0385, "m6g.large": 0.077, "m6g.xlarge": 0.154,
	"c7g.medium": 0.0363, "c7g.large": 0.0725, "c7g.xlarge": 0.145,
}

// rdsHourlyUSD holds RDS for PostgreSQL Single-AZ on-demand prices.
var rdsHourlyUSD = map[string]float64{
	"db.t4g.micro": 0.016, "db.t4g.small": 0.032, "db.t4g.medium": 0.065,
	"db.t4g.large": 0.129, "db.t4g.xlarge": 0.258, "db.t4g.2xlarge": 0.517,
	"db.t3.micro": 0.018, "db.t3.small": 0.036, "db.t3.medium": 0.072, "db.t3.large": 0.145,
	"db.m7g.large": 0.168, "db.m7g.xlarge": 0.337,
	"db.m6g.large": 0.159, "db.m6g.xlarge": 0.318,
	"db.r7g.large": 0.239,
}

// Usage is the traffic an estimate assumes. Fixed costs (EC2, RDS, the IP)
// dominate below a few million events a month.
type Usage struct {
	EventsPerMonth int64
	// IngestMillis is the ingest Lambda's average billed duration.
	IngestMillis float64
	// ProcessorMillisPerEvent is the processor's billed time per event
	// (batches share one invocation).
	ProcessorMillisPerEvent float64
	// LogBytesPerEvent: API access log line plus both functions' log lines.
	LogBytesPerEvent float64
	// StoredGB in the artifacts bucket (source maps, the dashboard binary).
	StoredGB float64
	// BackupGB beyond the free backup allowance.
	BackupGB float64
}

// DefaultUsage is what EstimateMonthlyCost assumes: a million events a
// month (about 23 a minute), typical of a small team's production apps.
var DefaultUsage = Usage{
	EventsPerMonth:          1_000_000,
	IngestMillis:            30,
	ProcessorMillisPerEvent: processorMillisPerEvent,
	LogBytesPerEvent:        1500,
	StoredGB:                1,
	BackupGB:                0,
}

// LineItem is one row of an estimate.
type LineItem struct {
	Service    string  `json:"service"`
	Item       string  `json:"item"`
	Detail     string  `json:"detail"`
	MonthlyUSD float64 `json:"monthly_usd"`
}

// Estimate is a plan's approximate monthly AWS bill.
type Estimate struct {
	// Region is the plan's region; PriceRegion the one the prices are
	// for. They differ for every region but us-east-1, and every short
	// form of the estimate (Headline) says so.
	Region      string     `json:"region"`
	PriceRegion string     `json:"price_region"`
	PricesAsOf  string     `json:"prices_as_of"`
	Usage       Usage      `json:"usage"`
	Items       []LineItem `json:"items"`
	TotalUSD    float64    `json:"total_usd"`
	// Notes qualify the numbers (other region, unknown instance prices).
	Notes []string `json:"notes,omitempty"`
}

// EstimateMonthlyCost estimates p's monthly cost at DefaultUsage.
func EstimateMonthlyCost(p Plan) Estimate {
	return EstimateMonthlyCostAt(p, DefaultUsage)
}

// EstimateMonthlyCostAt estimates p's monthly cost at usage u.
func EstimateMonthlyCostAt(p Plan, u Usage) Estimate {
	e := Estimate{Region: p.AWS.Region, PriceRegion: PriceRegion, PricesAsOf: PricesAsOf, Usage: u}
	add := func(service, item, detail string, usd float64) {
		e.Items = append(e.Items, LineItem{Service: service, Item: item, Detail: detail, MonthlyUSD: round2(usd)})
	}
	events := float64(u.EventsPerMonth)
	millions := events / 1e6

	// Fixed: the dashboard instance, its disk and address.
	s := p.Sizes
	if h, ok := ec2HourlyUSD[s.DashboardInstanceType]; ok {
		add("EC2", "dashboard instance", fmt.Sprintf("%s, %d h × $%.4f", s.DashboardInstanceType, HoursPerMonth, h), h*HoursPerMonth)
	} else {
		add("EC2", "dashboard instance", s.DashboardInstanceType+": price not in the table", 0)
		e.Notes = append(e.Notes, fmt.Sprintf("No list price for %s in the table: the total leaves the instance out.", s.DashboardInstanceType))
	}
	add("EBS", "dashboard root volume", fmt.Sprintf("%d GB gp3 × $%.3f", dashboardRootVolumeGB, priceEBSgp3GBMonth), dashboardRootVolumeGB*priceEBSgp3GBMonth)
	add("VPC", "public IPv4 (Elastic IP)", fmt.Sprintf("%d h × $%.3f", HoursPerMonth, pricePublicIPv4Hour), HoursPerMonth*pricePublicIPv4Hour)
	if p.BehindCloudFront() {
		// CloudFront's always-free allowance (not the 12-month free tier)
		// is far above what a team's dashboard pages and API calls use.
		add("CloudFront", "dashboard HTTPS", "within the always-free 1 TB and 10 M requests a month", 0)
	}

	// Fixed: the database.
	if h, ok := rdsHourlyUSD[s.DBInstanceClass]; ok {
		add("RDS", "PostgreSQL instance", fmt.Sprintf("%s Single-AZ, %d h × $%.3f", s.DBInstanceClass, HoursPerMonth, h), h*HoursPerMonth)
	} else {
		add("RDS", "PostgreSQL instance", s.DBInstanceClass+": price not in the table", 0)
		e.Notes = append(e.Notes, fmt.Sprintf("No list price for %s in the table: the total leaves the database instance out.", s.DBInstanceClass))
	}
	add("RDS", "storage", fmt.Sprintf("%d GB gp3 × $%.3f", s.DBAllocatedStorageGB, priceRDSgp3GBMonth), float64(s.DBAllocatedStorageGB)*priceRDSgp3GBMonth)
	if u.BackupGB > 0 {
		add("RDS", "backups", fmt.Sprintf("%.0f GB beyond the free allowance × $%.3f", u.BackupGB, priceRDSBackupGBMonth), u.BackupGB*priceRDSBackupGBMonth)
	} else {
		add("RDS", "backups", fmt.Sprintf("7 days, within the free allowance (%d GB)", s.DBAllocatedStorageGB), 0)
	}
	add("Secrets Manager", "database master secret", fmt.Sprintf("1 secret × $%.2f", priceSecretMonth), priceSecretMonth)

	// Per event: API Gateway, two Lambdas, SQS.
	add("API Gateway", "HTTP API requests", fmt.Sprintf("%s requests × $%.2f/M", count(events), priceHTTPAPIPerMillion), millions*priceHTTPAPIPerMillion)
	ingestGBs := events * u.IngestMillis / 1000 * float64(s.IngestMemoryMB) / 1024
	add("Lambda", "ingest", fmt.Sprintf("%s invocations, %.0f ms at %d MB (arm64)", count(events), u.IngestMillis, s.IngestMemoryMB), ingestGBs*priceLambdaArmGBSecond+millions*priceLambdaPerMillion)
	batch := float64(max(s.ProcessorBatchSize, 1))
	invocations := math.Ceil(events / batch)
	procGBs := events * u.ProcessorMillisPerEvent / 1000 * float64(s.ProcessorMemoryMB) / 1024
	add("Lambda", "processor", fmt.Sprintf("%s invocations (batches of %d), %.0f ms/event at %d MB", count(invocations), s.ProcessorBatchSize, u.ProcessorMillisPerEvent, s.ProcessorMemoryMB), procGBs*priceLambdaArmGBSecond+invocations/1e6*priceLambdaPerMillion)
	idlePolls := float64(sqsIdlePollers) * HoursPerMonth * 3600 / sqsLongPollSeconds
	sqsRequests := events + 2*invocations + idlePolls // send, receive + delete per batch, idle long polls
	add("SQS", "queue requests", fmt.Sprintf("%s requests incl. %s idle long polls", count(sqsRequests), count(idlePolls)), sqsRequests/1e6*priceSQSPerMillion)

	// Logs, alarms, storage.
	logGB := events * u.LogBytesPerEvent / 1e9
	retainedGB := logGB * logCompressionRatio * math.Min(float64(p.LogRetentionDays)/30, 12)
	add("CloudWatch", "logs", fmt.Sprintf("%.1f GB ingested, %d-day retention", logGB, p.LogRetentionDays), logGB*priceLogsIngestGB+retainedGB*priceLogsStoreGBMonth)
	add("CloudWatch", "alarms", fmt.Sprintf("%d alarms × $%.2f", cloudWatchAlarms, priceAlarmMonth), cloudWatchAlarms*priceAlarmMonth)
	// The key set is read by ingest at most once a minute per warm instance
	// and written on key changes; source map reads happen per event with a
	// stack.
	s3Gets := events/10 + 50_000
	add("S3", "artifacts bucket", fmt.Sprintf("%.0f GB + %s GETs", u.StoredGB, count(s3Gets)), u.StoredGB*priceS3GBMonth+s3Gets/1000*priceS3GetPerThousand+1000.0/1000*priceS3PutPerThousand)

	var total float64
	for _, it := range e.Items {
		total += it.MonthlyUSD
	}
	e.TotalUSD = round2(total)
	if p.AWS.Region != "" && p.AWS.Region != PriceRegion {
		e.Notes = append(e.Notes, fmt.Sprintf("Prices are %s's; %s is usually 0-25%% dearer.", PriceRegion, p.AWS.Region))
	}
	e.Notes = append(e.Notes,
		"No free tier, savings plan or data transfer out included; t4g instances in unlimited mode may add CPU credit charges under sustained load.",
		"The state bucket (flytrap-tfstate-...) holds a few KB: well under $0.01.",
	)
	return e
}

// Headline is the estimate in one phrase, naming the region whose prices
// it uses: "about $35/month at us-east-1 list prices (eu-west-1 is
// usually 0-25% dearer)".
func (e Estimate) Headline() string {
	s := fmt.Sprintf("about $%.0f/month at %s list prices", e.TotalUSD, e.PriceRegion)
	if e.Region != "" && e.Region != e.PriceRegion {
		s += fmt.Sprintf(" (%s is usually 0-25%% dearer)", e.Region)
	}
	return s
}

// WriteText prints the estimate as a table.
func (e Estimate) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "Estimated monthly cost: about $%.0f (%s on-demand list prices of %s, %s events/month)\n",
		e.TotalUSD, e.PriceRegion, e.PricesAsOf, count(float64(e.Usage.EventsPerMonth)))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, it := range e.Items {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%8s\n", it.Service, it.Item, it.Detail, usd(it.MonthlyUSD))
	}
	fmt.Fprintf(tw, "  %s\t\t\t%8s\n", "Total", usd(e.TotalUSD))
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range e.Notes {
		if _, err := fmt.Fprintf(w, "  Note: %s\n", n); err != nil {
			return err
		}
	}
	return nil
}

func usd(v float64) string { return fmt.Sprintf("$%.2f", v) }

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// count formats a number with thousands separators.
func count(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// SnapshotMonthlyUSD is what a kept database snapshot of gb GiB costs a
// month at PriceRegion's list price (a final snapshot outlives its
// database, so it has no free allowance).
func SnapshotMonthlyUSD(gb int) float64 { return round2(float64(gb) * priceRDSSnapshotGBMonth) }
