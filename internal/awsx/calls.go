package awsx

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Call is one SDK operation: the method value of a client.
//
// The *Calls types hold the operations Flytrap makes as Calls, where the
// interfaces of this package and of deploy would otherwise hold the SDK
// clients themselves. They exist for the linker. A binary that renders
// text/template or html/template reaches reflect's MethodByName, and the
// linker then keeps every exported method of every type stored in an
// interface, and of the types reachable from its fields: a *ec2.Client in
// an interface linked all ~800 of EC2's operations, 19 MB of the `flytrap`
// binary, which calls five. A func has no methods, so only the operations
// named are linked. The Lambdas render no templates and pass the clients
// themselves; S3's client stores itself in an interface (for S3 Express
// credentials), so it is linked whole wherever it is used.
type Call[In, Out, Opt any] func(ctx context.Context, in In, optFns ...func(Opt)) (Out, error)

// SNSCalls are the SNS operations of the dashboard's alerts.
type SNSCalls struct {
	createTopic               Call[*sns.CreateTopicInput, *sns.CreateTopicOutput, *sns.Options]
	publish                   Call[*sns.PublishInput, *sns.PublishOutput, *sns.Options]
	subscribe                 Call[*sns.SubscribeInput, *sns.SubscribeOutput, *sns.Options]
	unsubscribe               Call[*sns.UnsubscribeInput, *sns.UnsubscribeOutput, *sns.Options]
	setSubscriptionAttributes Call[*sns.SetSubscriptionAttributesInput, *sns.SetSubscriptionAttributesOutput, *sns.Options]
	listSubscriptionsByTopic  Call[*sns.ListSubscriptionsByTopicInput, *sns.ListSubscriptionsByTopicOutput, *sns.Options]
}

// NewSNSCalls returns c's operations that Flytrap makes.
func NewSNSCalls(c *sns.Client) SNSCalls {
	return SNSCalls{createTopic: c.CreateTopic, publish: c.Publish, subscribe: c.Subscribe, unsubscribe: c.Unsubscribe,
		setSubscriptionAttributes: c.SetSubscriptionAttributes, listSubscriptionsByTopic: c.ListSubscriptionsByTopic}
}

// CreateTopic is sns.Client.CreateTopic.
func (c SNSCalls) CreateTopic(ctx context.Context, in *sns.CreateTopicInput, optFns ...func(*sns.Options)) (*sns.CreateTopicOutput, error) {
	return c.createTopic(ctx, in, optFns...)
}

// Publish is sns.Client.Publish.
func (c SNSCalls) Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error) {
	return c.publish(ctx, in, optFns...)
}

// Subscribe is sns.Client.Subscribe.
func (c SNSCalls) Subscribe(ctx context.Context, in *sns.SubscribeInput, optFns ...func(*sns.Options)) (*sns.SubscribeOutput, error) {
	return c.subscribe(ctx, in, optFns...)
}

// Unsubscribe is sns.Client.Unsubscribe.
func (c SNSCalls) Unsubscribe(ctx context.Context, in *sns.UnsubscribeInput, optFns ...func(*sns.Options)) (*sns.UnsubscribeOutput, error) {
	return c.unsubscribe(ctx, in, optFns...)
}

// SetSubscriptionAttributes is sns.Client.SetSubscriptionAttributes.
func (c SNSCalls) SetSubscriptionAttributes(ctx context.Context, in *sns.SetSubscriptionAttributesInput, optFns ...func(*sns.Options)) (*sns.SetSubscriptionAttributesOutput, error) {
	return c.setSubscriptionAttributes(ctx, in, optFns...)
}

// ListSubscriptionsByTopic is sns.Client.ListSubscriptionsByTopic.
func (c SNSCalls) ListSubscriptionsByTopic(ctx context.Context, in *sns.ListSubscriptionsByTopicInput, optFns ...func(*sns.Options)) (*sns.ListSubscriptionsByTopicOutput, error) {
	return c.listSubscriptionsByTopic(ctx, in, optFns...)
}

// SecretsCalls are the Secrets Manager operation of the dashboard.
type SecretsCalls struct {
	getSecretValue Call[*secretsmanager.GetSecretValueInput, *secretsmanager.GetSecretValueOutput, *secretsmanager.Options]
}

// NewSecretsCalls returns c's operation that Flytrap makes.
func NewSecretsCalls(c *secretsmanager.Client) SecretsCalls {
	return SecretsCalls{getSecretValue: c.GetSecretValue}
}

// GetSecretValue is secretsmanager.Client.GetSecretValue.
func (c SecretsCalls) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	return c.getSecretValue(ctx, in, optFns...)
}

// STSCalls are the STS operation of deploy.
type STSCalls struct {
	getCallerIdentity Call[*sts.GetCallerIdentityInput, *sts.GetCallerIdentityOutput, *sts.Options]
}

// NewSTSCalls returns c's operation that Flytrap makes.
func NewSTSCalls(c *sts.Client) STSCalls { return STSCalls{getCallerIdentity: c.GetCallerIdentity} }

// GetCallerIdentity is sts.Client.GetCallerIdentity.
func (c STSCalls) GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	return c.getCallerIdentity(ctx, in, optFns...)
}

// SQSCalls are the SQS operation of `flytrap status`.
type SQSCalls struct {
	getQueueAttributes Call[*sqs.GetQueueAttributesInput, *sqs.GetQueueAttributesOutput, *sqs.Options]
}

// NewSQSCalls returns c's operation that Flytrap makes.
func NewSQSCalls(c *sqs.Client) SQSCalls { return SQSCalls{getQueueAttributes: c.GetQueueAttributes} }

// GetQueueAttributes is sqs.Client.GetQueueAttributes.
func (c SQSCalls) GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error) {
	return c.getQueueAttributes(ctx, in, optFns...)
}
