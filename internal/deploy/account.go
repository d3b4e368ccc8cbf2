package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/plan"
)

// The account checks are the online half of init's validation: the
// offline half (plan.CheckCatalog) knows which regions, instance types
// and database classes exist at all, these ask the account whether it can
// use them. They only read (Describe*, GetCallerIdentity, Lambda's
// GetAccountSettings).

// RegionsAPI is the part of the EC2 client the account checks use to see
// whether the plan's region is enabled for the account.
type RegionsAPI interface {
	DescribeRegions(ctx context.Context, in *ec2.DescribeRegionsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeRegionsOutput, error)
}

// OrderableAPI is the part of the RDS client the account checks use to see
// whether the database class can be ordered.
type OrderableAPI interface {
	DescribeOrderableDBInstanceOptions(ctx context.Context, in *rds.DescribeOrderableDBInstanceOptionsInput, optFns ...func(*rds.Options)) (*rds.DescribeOrderableDBInstanceOptionsOutput, error)
}

// CheckClients are the clients of the account checks. STS and Regions talk
// to the partition's home region (us-east-1 for the commercial one), which
// is always enabled: in a region that is not, every call fails and the
// region could not be named as the problem. EC2 and RDS talk to the
// plan's region, as does Lambda, whose concurrency quota is per region.
type CheckClients struct {
	STS         awsx.IdentityAPI
	Regions     RegionsAPI
	EC2         ZonesAPI
	RDS         OrderableAPI
	PrefixLists PrefixListsAPI
	Lambda      LambdaSettingsAPI
}

// CheckLoader builds the clients for a profile ("" for the default chain)
// and region; LoadCheckClients is the real one.
type CheckLoader func(ctx context.Context, profile, region string) (*CheckClients, error)

// LoadCheckClients builds the account checks' clients from the shared
// config, like LoadClients (AWS_ENDPOINT_URL is honoured the same way).
func LoadCheckClients(ctx context.Context, profile, region string) (*CheckClients, error) {
	cfg, err := loadConfig(ctx, profile, region)
	if err != nil {
		return nil, err
	}
	return NewCheckClients(cfg), nil
}

// NewCheckClients builds the account checks' clients from cfg, whose
// region is the plan's.
func NewCheckClients(cfg aws.Config) *CheckClients {
	home := homeRegion(cfg.Region)
	ec2Client := newEC2Calls(ec2.NewFromConfig(cfg))
	return &CheckClients{
		STS:         awsx.NewSTSCalls(sts.NewFromConfig(cfg, func(o *sts.Options) { o.Region = home })),
		Regions:     newEC2Calls(ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.Region = home })),
		EC2:         ec2Client,
		RDS:         newRDSCalls(rds.NewFromConfig(cfg)),
		PrefixLists: ec2Client,
		Lambda:      newLambdaCalls(lambda.NewFromConfig(cfg)),
	}
}

// homeRegion is a region of region's partition that every account has.
func homeRegion(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "cn-north-1"
	case strings.HasPrefix(region, "us-gov-"):
		return "us-gov-west-1"
	}
	return "us-east-1"
}

// AccountCheck is what the account checks ask about.
type AccountCheck struct {
	Profile, Region, InstanceType, DBClass string
	// EngineVersion is the PostgreSQL version the database module creates
	// (DBEngineVersion): a major version ("17") or a full one ("17.6").
	EngineVersion string
	// CloudFront: the dashboard will sit behind CloudFront (no domain, no
	// plain_http), whose origin-facing prefix list the region must have.
	CloudFront bool
	// ProcessorMax is the processor's maximum concurrency
	// (ProcessorMaxConcurrency), which the Lambda quota check counts.
	ProcessorMax int
}

// AccountReport is what the account checks found. Problems are values the
// account cannot use, one "field: problem" each like plan.Validate's
// lines (the field names the plan setting, so init can name its flag);
// Warnings are checks that could not be made, for instance for lack of
// permission; Checked is what AWS confirmed.
type AccountReport struct {
	// Skipped says why nothing was checked ("" when the checks ran).
	Skipped  string   `json:"skipped,omitempty"`
	Account  string   `json:"account,omitempty"`
	ARN      string   `json:"arn,omitempty"`
	Zones    []string `json:"zones,omitempty"`
	Checked  []string `json:"checked,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	Problems []string `json:"problems,omitempty"`
}

// AccountCheckTimeout bounds all the account checks' calls together, so
// init never hangs on a network that drops packets.
const AccountCheckTimeout = 20 * time.Second

// CheckAccountOnline runs CheckAccount for p with the real clients, the
// database module's engine version and AccountCheckTimeout.
func CheckAccountOnline(ctx context.Context, p plan.Plan) AccountReport {
	version, err := DBEngineVersion()
	if err != nil {
		return AccountReport{Skipped: "cannot read the database module's engine version: " + err.Error()}
	}
	processorMax, err := ProcessorMaxConcurrency()
	if err != nil {
		return AccountReport{Skipped: "cannot read the processor module's maximum concurrency: " + err.Error()}
	}
	return CheckAccount(ctx, LoadCheckClients, AccountCheck{
		Profile: p.AWS.Profile, Region: p.AWS.Region,
		InstanceType: p.Sizes.DashboardInstanceType, DBClass: p.Sizes.DBInstanceClass,
		EngineVersion: version, CloudFront: p.BehindCloudFront(), ProcessorMax: processorMax,
	}, AccountCheckTimeout)
}

// CheckAccount asks AWS whether the account can deploy in.Region with
// in's instance type and database class, and whether its Lambda
// concurrency quota there leaves ingest room. It does not fail: without
// credentials, or when AWS cannot be reached within timeout, the report
// says why it skipped the checks; credentials AWS refuses are a problem
// of aws.profile.
func CheckAccount(ctx context.Context, load CheckLoader, in AccountCheck, timeout time.Duration) AccountReport {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	who := "the default credentials"
	if in.Profile != "" {
		who = fmt.Sprintf("profile %q", in.Profile)
	}
	c, err := load(ctx, in.Profile, in.Region)
	if err != nil {
		return AccountReport{Skipped: fmt.Sprintf("cannot load the AWS configuration of %s: %v", who, err)}
	}
	out, rawErr := c.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	// Classified for the branches; rawErr keeps AWS's code for the message.
	err = awsx.ClassifyCredentialError(rawErr)
	switch {
	case errors.Is(err, awsx.ErrNoCredentials):
		if in.Profile == "" {
			return AccountReport{Skipped: "no AWS credentials in the environment, the shared files or an instance role"}
		}
		return AccountReport{Skipped: "no AWS credentials for " + who}
	case errors.Is(err, awsx.ErrCredentialsExpired):
		return AccountReport{Problems: []string{fmt.Sprintf("aws.profile: the AWS credentials of %s have expired; renew them (aws sso login%s, or new keys), or pass --offline to skip the account checks", who, profileArg(in.Profile))}}
	case errors.Is(err, awsx.ErrCredentialsRejected):
		return AccountReport{Problems: []string{fmt.Sprintf("aws.profile: AWS rejected the credentials of %s (%s); fix them (aws configure%s), or pass --offline to skip the account checks", who, briefError(ctx, rawErr), profileArg(in.Profile))}}
	case err != nil:
		return AccountReport{Skipped: "AWS could not be asked: " + briefError(ctx, rawErr)}
	case aws.ToString(out.Account) == "":
		return AccountReport{Skipped: "STS GetCallerIdentity returned no account"}
	}
	r := AccountReport{Account: aws.ToString(out.Account), ARN: aws.ToString(out.Arn)}
	if !r.checkRegion(ctx, c.Regions, in.Region) {
		// Calls to a region the account cannot use all fail.
		return r
	}
	r.checkZones(ctx, c.EC2, in)
	r.checkDBClass(ctx, c.RDS, in)
	if in.CloudFront {
		r.checkCloudFront(ctx, c.PrefixLists, in)
	}
	r.checkLambdaQuota(ctx, c.Lambda, in)
	return r
}

// checkLambdaQuota runs deploy's quota check (CheckLambdaQuota), so a
// quota too low for ingest is named before the first deploy, when its
// increase can be requested in time. A low quota is a warning, not a
// problem: ingest works below it, throttled, and AWS raises it.
func (r *AccountReport) checkLambdaQuota(ctx context.Context, c LambdaSettingsAPI, in AccountCheck) {
	q := CheckLambdaQuota(ctx, c, in.Region, in.Profile, in.ProcessorMax)
	switch {
	case q.Warning != "":
		r.Warnings = append(r.Warnings, q.Warning)
	case q.Skipped:
		r.Warnings = append(r.Warnings, q.Note)
	default:
		r.Checked = append(r.Checked, q.Note)
	}
}

// checkCloudFront asks for the prefix list the dashboard's security group
// will admit CloudFront by, as deploy will.
func (r *AccountReport) checkCloudFront(ctx context.Context, c PrefixListsAPI, in AccountCheck) {
	id, err := CloudFrontPrefixList(ctx, c)
	switch {
	case errors.Is(err, errNoCloudFrontList):
		r.Problems = append(r.Problems, fmt.Sprintf("domain: %s has no CloudFront origin-facing prefix list, so the dashboard cannot be served through CloudFront there; give it a domain (HTTPS by Let's Encrypt), or accept plain HTTP with --plain-http", in.Region))
	case err != nil:
		r.couldNot(ctx, "that CloudFront can reach the dashboard", "ec2:DescribeManagedPrefixLists", err)
	default:
		r.Checked = append(r.Checked, fmt.Sprintf("CloudFront can reach the dashboard in %s (prefix list %s)", in.Region, id))
	}
}

func profileArg(profile string) string {
	if profile == "" {
		return ""
	}
	return " --profile " + profile
}

// checkRegion reports whether the region is enabled (or could not be
// checked, in which case the other checks go on and tell more).
func (r *AccountReport) checkRegion(ctx context.Context, c RegionsAPI, region string) bool {
	out, err := c.DescribeRegions(ctx, &ec2.DescribeRegionsInput{AllRegions: aws.Bool(true)})
	if err != nil {
		r.couldNot(ctx, "whether region "+region+" is enabled", "ec2:DescribeRegions", err)
		return true
	}
	for _, reg := range out.Regions {
		if aws.ToString(reg.RegionName) != region {
			continue
		}
		switch status := aws.ToString(reg.OptInStatus); status {
		case "opt-in-not-required", "opted-in", "":
			r.Checked = append(r.Checked, "region "+region+" is enabled")
			return true
		case "not-opted-in":
			r.Problems = append(r.Problems, fmt.Sprintf("aws.region: region %s is not enabled for account %s; enable it in the AWS console (Account, AWS Regions) or with `aws account enable-region --region-name %s`, wait until it is enabled, or choose another region", region, r.Account, region))
		default:
			r.Problems = append(r.Problems, fmt.Sprintf("aws.region: region %s is %q for account %s, not enabled; wait until `aws account get-region-opt-status --region-name %s` says ENABLED, or choose another region", region, status, r.Account, region))
		}
		return false
	}
	r.Problems = append(r.Problems, fmt.Sprintf("aws.region: account %s has no region %s (a region of another partition, such as China or GovCloud, needs that partition's credentials)", r.Account, region))
	return false
}

// checkZones asks what deploy will ask: ChooseZones.
func (r *AccountReport) checkZones(ctx context.Context, c ZonesAPI, in AccountCheck) {
	zones, err := ChooseZones(ctx, c, in.InstanceType)
	var ze *ZonesError
	switch {
	case errors.As(err, &ze) && ze.InstanceType != "":
		family, _, _ := strings.Cut(in.InstanceType, ".")
		r.Problems = append(r.Problems, fmt.Sprintf("sizes.dashboard_instance_type: %s is not offered in any availability zone of %s; choose a type the region offers (aws ec2 describe-instance-type-offerings --region %s --location-type availability-zone --filters Name=instance-type,Values=%s.*)", in.InstanceType, in.Region, in.Region, family))
	case errors.As(err, &ze):
		zones := "zones"
		if ze.Usable == 1 {
			zones = "zone"
		}
		r.Problems = append(r.Problems, fmt.Sprintf("aws.region: %s has %d usable availability %s for account %s; Flytrap needs 2: choose another region", in.Region, ze.Usable, zones, r.Account))
	case err != nil:
		r.couldNot(ctx, "the availability zones offering "+in.InstanceType, "ec2:DescribeAvailabilityZones and ec2:DescribeInstanceTypeOfferings", err)
	default:
		r.Zones = zones
		r.Checked = append(r.Checked, fmt.Sprintf("%s is offered in %s, the dashboard's zone (zones %s)", in.InstanceType, zones[0], strings.Join(zones, ", ")))
	}
}

// checkDBClass asks whether the class can be ordered for PostgreSQL at
// the module's version, and if not, which classes can.
func (r *AccountReport) checkDBClass(ctx context.Context, c OrderableAPI, in AccountCheck) {
	// The version is matched here, not passed to RDS: the module may name
	// a major version ("17"), and RDS lists full ones ("17.6").
	found := false
	err := orderableOptions(ctx, c, &rds.DescribeOrderableDBInstanceOptionsInput{
		Engine: aws.String("postgres"), DBInstanceClass: aws.String(in.DBClass),
	}, func(class, version string) bool {
		found = sameVersion(version, in.EngineVersion)
		return !found
	})
	if err != nil {
		r.couldNot(ctx, "whether "+in.DBClass+" can be ordered", "rds:DescribeOrderableDBInstanceOptions", err)
		return
	}
	if found {
		r.Checked = append(r.Checked, fmt.Sprintf("%s is orderable for PostgreSQL %s", in.DBClass, in.EngineVersion))
		return
	}
	seen := map[string]bool{}
	err = orderableOptions(ctx, c, &rds.DescribeOrderableDBInstanceOptionsInput{
		Engine: aws.String("postgres"), EngineVersion: aws.String(in.EngineVersion),
	}, func(class, version string) bool {
		if sameVersion(version, in.EngineVersion) {
			seen[class] = true
		}
		return true
	})
	alternatives := fmt.Sprintf("list the ones that are with `aws rds describe-orderable-db-instance-options --region %s --engine postgres --engine-version %s --query 'OrderableDBInstanceOptions[].DBInstanceClass'`", in.Region, in.EngineVersion)
	if err == nil && len(seen) > 0 {
		alternatives = "orderable classes include " + suggestClasses(in.DBClass, seen)
	}
	r.Problems = append(r.Problems, fmt.Sprintf("sizes.db_instance_class: %s cannot be ordered for PostgreSQL %s in %s; %s", in.DBClass, in.EngineVersion, in.Region, alternatives))
}

// orderableOptions calls each(class, version) for every option, page by
// page, until each returns false.
func orderableOptions(ctx context.Context, c OrderableAPI, in *rds.DescribeOrderableDBInstanceOptionsInput, each func(class, version string) bool) error {
	for {
		out, err := c.DescribeOrderableDBInstanceOptions(ctx, in)
		if err != nil {
			return err
		}
		for _, o := range out.OrderableDBInstanceOptions {
			if !each(aws.ToString(o.DBInstanceClass), aws.ToString(o.EngineVersion)) {
				return nil
			}
		}
		if aws.ToString(out.Marker) == "" {
			return nil
		}
		in.Marker = out.Marker
	}
}

// sameVersion: version is want, or one of its minor versions when want is
// a major version.
func sameVersion(version, want string) bool {
	return version == want || strings.HasPrefix(version, want+".")
}

// suggestClasses names up to six classes, closest to want first: the same
// family (db.t4g), then the same size (micro), then the rest by name.
func suggestClasses(want string, classes map[string]bool) string {
	dot := strings.LastIndexByte(want, '.')
	family, size := want, ""
	if dot > 0 {
		family, size = want[:dot+1], want[dot:]
	}
	rank := func(c string) int {
		switch {
		case strings.HasPrefix(c, family):
			return 0
		case size != "" && strings.HasSuffix(c, size):
			return 1
		}
		return 2
	}
	var list []string
	for c := range classes {
		list = append(list, c)
	}
	sort.Slice(list, func(i, j int) bool {
		if ri, rj := rank(list[i]), rank(list[j]); ri != rj {
			return ri < rj
		}
		return list[i] < list[j]
	})
	const limit = 6
	if len(list) <= limit {
		return strings.Join(list, ", ")
	}
	return fmt.Sprintf("%s (and %d more)", strings.Join(list[:limit], ", "), len(list)-limit)
}

// couldNot records a check that could not be made.
func (r *AccountReport) couldNot(ctx context.Context, what, permission string, err error) {
	if accessDenied(err) {
		r.Warnings = append(r.Warnings, fmt.Sprintf("could not check %s: the credentials lack %s", what, permission))
		return
	}
	r.Warnings = append(r.Warnings, fmt.Sprintf("could not check %s: %s", what, briefError(ctx, err)))
}

// accessDenied: the credentials work but may not make this call. SNS
// says AuthorizationError.
func accessDenied(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && slices.Contains([]string{"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess", "AuthorizationError"}, apiErr.ErrorCode())
}

// briefError is err without the SDK's wrapping: AWS's code and message,
// the network failure, or the time limit.
func briefError(ctx context.Context, err error) string {
	var apiErr smithy.APIError
	var sendErr *smithyhttp.RequestSendError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return "AWS did not answer in time"
	case errors.As(err, &apiErr):
		return apiErr.ErrorCode() + ": " + apiErr.ErrorMessage()
	case errors.As(err, &sendErr):
		return "cannot reach AWS: " + sendErr.Err.Error()
	}
	return err.Error()
}
