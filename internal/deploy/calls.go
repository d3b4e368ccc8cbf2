package deploy

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/getflytrap/flytrap/internal/awsx"
)

// ec2Calls, rdsCalls, ssmCalls, alarmsCalls, snsCalls and lambdaCalls hold the operations deploy
// makes as method values, not the SDK clients: in the `flytrap` binary a
// client stored in an interface keeps all of its operations (see
// awsx.Call), and EC2 alone has about 800.

type ec2Calls struct {
	describeRegions               awsx.Call[*ec2.DescribeRegionsInput, *ec2.DescribeRegionsOutput, *ec2.Options]
	describeAvailabilityZones     awsx.Call[*ec2.DescribeAvailabilityZonesInput, *ec2.DescribeAvailabilityZonesOutput, *ec2.Options]
	describeInstanceTypeOfferings awsx.Call[*ec2.DescribeInstanceTypeOfferingsInput, *ec2.DescribeInstanceTypeOfferingsOutput, *ec2.Options]
	describeManagedPrefixLists    awsx.Call[*ec2.DescribeManagedPrefixListsInput, *ec2.DescribeManagedPrefixListsOutput, *ec2.Options]
	describeNetworkInterfaces     awsx.Call[*ec2.DescribeNetworkInterfacesInput, *ec2.DescribeNetworkInterfacesOutput, *ec2.Options]
}

func newEC2Calls(c *ec2.Client) ec2Calls {
	return ec2Calls{describeRegions: c.DescribeRegions, describeAvailabilityZones: c.DescribeAvailabilityZones,
		describeInstanceTypeOfferings: c.DescribeInstanceTypeOfferings, describeManagedPrefixLists: c.DescribeManagedPrefixLists,
		describeNetworkInterfaces: c.DescribeNetworkInterfaces}
}

func (c ec2Calls) DescribeRegions(ctx context.Context, in *ec2.DescribeRegionsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeRegionsOutput, error) {
	return c.describeRegions(ctx, in, optFns...)
}

func (c ec2Calls) DescribeAvailabilityZones(ctx context.Context, in *ec2.DescribeAvailabilityZonesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeAvailabilityZonesOutput, error) {
	return c.describeAvailabilityZones(ctx, in, optFns...)
}

func (c ec2Calls) DescribeInstanceTypeOfferings(ctx context.Context, in *ec2.DescribeInstanceTypeOfferingsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstanceTypeOfferingsOutput, error) {
	return c.describeInstanceTypeOfferings(ctx, in, optFns...)
}

func (c ec2Calls) DescribeManagedPrefixLists(ctx context.Context, in *ec2.DescribeManagedPrefixListsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeManagedPrefixListsOutput, error) {
	return c.describeManagedPrefixLists(ctx, in, optFns...)
}

func (c ec2Calls) DescribeNetworkInterfaces(ctx context.Context, in *ec2.DescribeNetworkInterfacesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error) {
	return c.describeNetworkInterfaces(ctx, in, optFns...)
}

type rdsCalls struct {
	describeOrderableDBInstanceOptions awsx.Call[*rds.DescribeOrderableDBInstanceOptionsInput, *rds.DescribeOrderableDBInstanceOptionsOutput, *rds.Options]
}

func newRDSCalls(c *rds.Client) rdsCalls {
	return rdsCalls{describeOrderableDBInstanceOptions: c.DescribeOrderableDBInstanceOptions}
}

func (c rdsCalls) DescribeOrderableDBInstanceOptions(ctx context.Context, in *rds.DescribeOrderableDBInstanceOptionsInput, optFns ...func(*rds.Options)) (*rds.DescribeOrderableDBInstanceOptionsOutput, error) {
	return c.describeOrderableDBInstanceOptions(ctx, in, optFns...)
}

type ssmCalls struct {
	getParameter         awsx.Call[*ssm.GetParameterInput, *ssm.GetParameterOutput, *ssm.Options]
	sendCommand          awsx.Call[*ssm.SendCommandInput, *ssm.SendCommandOutput, *ssm.Options]
	getCommandInvocation awsx.Call[*ssm.GetCommandInvocationInput, *ssm.GetCommandInvocationOutput, *ssm.Options]
}

func newSSMCalls(c *ssm.Client) ssmCalls {
	return ssmCalls{getParameter: c.GetParameter, sendCommand: c.SendCommand, getCommandInvocation: c.GetCommandInvocation}
}

func (c ssmCalls) GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	return c.getParameter(ctx, in, optFns...)
}

func (c ssmCalls) SendCommand(ctx context.Context, in *ssm.SendCommandInput, optFns ...func(*ssm.Options)) (*ssm.SendCommandOutput, error) {
	return c.sendCommand(ctx, in, optFns...)
}

func (c ssmCalls) GetCommandInvocation(ctx context.Context, in *ssm.GetCommandInvocationInput, optFns ...func(*ssm.Options)) (*ssm.GetCommandInvocationOutput, error) {
	return c.getCommandInvocation(ctx, in, optFns...)
}

type alarmsCalls struct {
	describeAlarms awsx.Call[*cloudwatch.DescribeAlarmsInput, *cloudwatch.DescribeAlarmsOutput, *cloudwatch.Options]
}

func newAlarmsCalls(c *cloudwatch.Client) alarmsCalls {
	return alarmsCalls{describeAlarms: c.DescribeAlarms}
}

func (c alarmsCalls) DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error) {
	return c.describeAlarms(ctx, in, optFns...)
}

type snsCalls struct {
	listTopics  awsx.Call[*sns.ListTopicsInput, *sns.ListTopicsOutput, *sns.Options]
	deleteTopic awsx.Call[*sns.DeleteTopicInput, *sns.DeleteTopicOutput, *sns.Options]
}

func newSNSCalls(c *sns.Client) snsCalls {
	return snsCalls{listTopics: c.ListTopics, deleteTopic: c.DeleteTopic}
}

func (c snsCalls) ListTopics(ctx context.Context, in *sns.ListTopicsInput, optFns ...func(*sns.Options)) (*sns.ListTopicsOutput, error) {
	return c.listTopics(ctx, in, optFns...)
}

func (c snsCalls) DeleteTopic(ctx context.Context, in *sns.DeleteTopicInput, optFns ...func(*sns.Options)) (*sns.DeleteTopicOutput, error) {
	return c.deleteTopic(ctx, in, optFns...)
}

type lambdaCalls struct {
	getAccountSettings awsx.Call[*lambda.GetAccountSettingsInput, *lambda.GetAccountSettingsOutput, *lambda.Options]
}

func newLambdaCalls(c *lambda.Client) lambdaCalls {
	return lambdaCalls{getAccountSettings: c.GetAccountSettings}
}

func (c lambdaCalls) GetAccountSettings(ctx context.Context, in *lambda.GetAccountSettingsInput, optFns ...func(*lambda.Options)) (*lambda.GetAccountSettingsOutput, error) {
	return c.getAccountSettings(ctx, in, optFns...)
}
