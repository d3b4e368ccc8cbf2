package deploy

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/logging"

	"github.com/getflytrap/flytrap/internal/awsx"
)

// AMIParameter is the SSM public parameter naming the latest Amazon Linux
// 2023 AMI for arm64 (Graviton), which the dashboard's build targets.
const AMIParameter = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"

// SSMAPI is the part of the SSM client deploy uses: the AMI lookup and the
// dashboard restart after an upgrade.
type SSMAPI interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
	SendCommand(ctx context.Context, in *ssm.SendCommandInput, optFns ...func(*ssm.Options)) (*ssm.SendCommandOutput, error)
	GetCommandInvocation(ctx context.Context, in *ssm.GetCommandInvocationInput, optFns ...func(*ssm.Options)) (*ssm.GetCommandInvocationOutput, error)
}

// ZonesAPI is the part of the EC2 client deploy uses to choose zones.
type ZonesAPI interface {
	DescribeAvailabilityZones(ctx context.Context, in *ec2.DescribeAvailabilityZonesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeAvailabilityZonesOutput, error)
	DescribeInstanceTypeOfferings(ctx context.Context, in *ec2.DescribeInstanceTypeOfferingsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstanceTypeOfferingsOutput, error)
}

// PrefixListsAPI is the part of the EC2 client deploy uses to find
// CloudFront's origin-facing prefix list, which the dashboard's security
// group admits.
type PrefixListsAPI interface {
	DescribeManagedPrefixLists(ctx context.Context, in *ec2.DescribeManagedPrefixListsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeManagedPrefixListsOutput, error)
}

// CloudFrontPrefixListName is the AWS-managed prefix list of the addresses
// CloudFront reaches origins from; its ID differs per region.
const CloudFrontPrefixListName = "com.amazonaws.global.cloudfront.origin-facing"

// CloudFrontPrefixList returns the ID of CloudFrontPrefixListName in the
// client's region.
func CloudFrontPrefixList(ctx context.Context, c PrefixListsAPI) (string, error) {
	out, err := c.DescribeManagedPrefixLists(ctx, &ec2.DescribeManagedPrefixListsInput{
		Filters: []ec2types.Filter{{Name: aws.String("prefix-list-name"), Values: []string{CloudFrontPrefixListName}}},
	})
	if err != nil {
		return "", fmt.Errorf("look up the prefix list %s: %w", CloudFrontPrefixListName, awsx.ClassifyCredentialError(err))
	}
	for _, pl := range out.PrefixLists {
		if aws.ToString(pl.PrefixListName) == CloudFrontPrefixListName && aws.ToString(pl.PrefixListId) != "" {
			return aws.ToString(pl.PrefixListId), nil
		}
	}
	return "", errNoCloudFrontList
}

// errNoCloudFrontList: the region (or partition) has no CloudFront.
var errNoCloudFrontList = errors.New("the region has no prefix list " + CloudFrontPrefixListName)

// Clients are the AWS clients of one profile and region.
type Clients struct {
	STS awsx.IdentityAPI
	S3  awsx.StateBucketAPI
	SSM SSMAPI
	EC2 ZonesAPI
	SQS awsx.QueueAttributesAPI
	// CloudWatch lists the deployment's alarms (status).
	CloudWatch AlarmsAPI
	// ENI counts the processor's lingering network interfaces (destroy).
	ENI ENIAPI
	// PrefixLists finds CloudFront's origin-facing prefix list.
	PrefixLists PrefixListsAPI
	// SNS deletes the dashboard's per-project alert topics (destroy).
	SNS AlertTopicsAPI
	// Lambda reads the account's concurrency quota (deploy's check).
	Lambda LambdaSettingsAPI
}

// LambdaSettingsAPI is the part of the Lambda client deploy uses to read
// the account's concurrency quota in the region.
type LambdaSettingsAPI interface {
	GetAccountSettings(ctx context.Context, in *lambda.GetAccountSettingsInput, optFns ...func(*lambda.Options)) (*lambda.GetAccountSettingsOutput, error)
}

// ENIAPI is the part of the EC2 client destroy uses to wait for the
// Lambda network interfaces AWS releases after the function is deleted.
type ENIAPI interface {
	DescribeNetworkInterfaces(ctx context.Context, in *ec2.DescribeNetworkInterfacesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error)
}

// AlarmsAPI is the part of the CloudWatch client `flytrap status` uses.
type AlarmsAPI interface {
	DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error)
}

// LoadClients builds SDK clients from the shared config: the profile
// ("" for the default chain) and region. AWS_ENDPOINT_URL and the
// per-service AWS_ENDPOINT_URL_<SERVICE> variables are honoured by the
// SDK, which is how tests point a whole run at fakes.
func LoadClients(ctx context.Context, profile, region string) (*Clients, error) {
	cfg, err := loadConfig(ctx, profile, region)
	if err != nil {
		return nil, err
	}
	ec2Client := newEC2Calls(ec2.NewFromConfig(cfg))
	return &Clients{
		STS: awsx.NewSTSCalls(sts.NewFromConfig(cfg)),
		S3: s3.NewFromConfig(cfg, func(o *s3.Options) {
			// A custom endpoint (a test fake, MinIO) rarely serves
			// virtual-hosted buckets.
			o.UsePathStyle = cfg.BaseEndpoint != nil || o.BaseEndpoint != nil
		}),
		SSM:         newSSMCalls(ssm.NewFromConfig(cfg)),
		EC2:         ec2Client,
		ENI:         ec2Client,
		PrefixLists: ec2Client,
		SQS:         awsx.NewSQSCalls(sqs.NewFromConfig(cfg)),
		CloudWatch:  newAlarmsCalls(cloudwatch.NewFromConfig(cfg)),
		SNS:         newSNSCalls(awsx.NewSNSClient(cfg)),
		Lambda:      newLambdaCalls(lambda.NewFromConfig(cfg)),
	}, nil
}

// loadConfig loads the shared config of profile ("" for the default
// chain) in region. No SDK logger: its only messages here are warnings
// like IMDS's "falling back to IMDSv1" on a machine that is not an EC2
// instance, printed to stderr in the middle of the progress. Failures
// still arrive as errors.
func loadConfig(ctx context.Context, profile, region string) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{config.WithRegion(region), config.WithLogger(logging.Nop{})}
	if profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(profile))
	}
	return config.LoadDefaultConfig(ctx, opts...)
}

// LatestAMI returns the AMI the public parameter currently names.
func LatestAMI(ctx context.Context, c SSMAPI) (string, error) {
	out, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(AMIParameter)})
	if err != nil {
		return "", fmt.Errorf("look up the Amazon Linux 2023 AMI (%s): %w", AMIParameter, awsx.ClassifyCredentialError(err))
	}
	if out.Parameter == nil || aws.ToString(out.Parameter.Value) == "" {
		return "", fmt.Errorf("SSM parameter %s is empty", AMIParameter)
	}
	return aws.ToString(out.Parameter.Value), nil
}

// ChooseZones returns two availability zones of the region: standard
// zones (no Local or Wavelength Zones) that need no opt-in, the first
// offering instanceType (the dashboard lives there), in name order so the
// choice is stable.
func ChooseZones(ctx context.Context, c ZonesAPI, instanceType string) ([]string, error) {
	out, err := c.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{
		Filters: []ec2types.Filter{
			{Name: aws.String("state"), Values: []string{"available"}},
			{Name: aws.String("zone-type"), Values: []string{"availability-zone"}},
			{Name: aws.String("opt-in-status"), Values: []string{"opt-in-not-required"}},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("list availability zones: %w", awsx.ClassifyCredentialError(err))
	}
	var zones []string
	for _, z := range out.AvailabilityZones {
		if n := aws.ToString(z.ZoneName); n != "" {
			zones = append(zones, n)
		}
	}
	sort.Strings(zones)
	if len(zones) < 2 {
		return nil, &ZonesError{Usable: len(zones)}
	}
	offered := map[string]bool{}
	var token *string
	for {
		o, err := c.DescribeInstanceTypeOfferings(ctx, &ec2.DescribeInstanceTypeOfferingsInput{
			LocationType: ec2types.LocationTypeAvailabilityZone,
			Filters:      []ec2types.Filter{{Name: aws.String("instance-type"), Values: []string{instanceType}}},
			NextToken:    token,
		})
		if err != nil {
			return nil, fmt.Errorf("list zones offering %s: %w", instanceType, awsx.ClassifyCredentialError(err))
		}
		for _, off := range o.InstanceTypeOfferings {
			offered[aws.ToString(off.Location)] = true
		}
		if token = o.NextToken; token == nil {
			break
		}
	}
	// Zones offering the type first, each group in name order.
	sort.SliceStable(zones, func(i, j int) bool { return offered[zones[i]] && !offered[zones[j]] })
	if !offered[zones[0]] {
		return nil, &ZonesError{Usable: len(zones), InstanceType: instanceType}
	}
	return zones[:2], nil
}

// ZonesError says why ChooseZones found no pair of zones: the region has
// too few usable ones, or (InstanceType set) none offers the dashboard's
// type. The two have different fixes: another region, another type.
type ZonesError struct {
	Usable       int
	InstanceType string
}

func (e *ZonesError) Error() string {
	if e.InstanceType != "" {
		return fmt.Sprintf("no availability zone of the region offers %s: choose another dashboard_instance_type", e.InstanceType)
	}
	return fmt.Sprintf("the region has %d usable availability zones; Flytrap needs 2", e.Usable)
}

// errNoClients guards steps that need AWS from running in a dry run.
var errNoClients = errors.New("no AWS clients (dry run?)")
