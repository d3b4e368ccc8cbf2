package awsx

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/getflytrap/flytrap/internal/awsbase"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
)

// SNSAPI is the part of SNS the alert topics use; *sns.Client implements
// it.
type SNSAPI interface {
	CreateTopic(ctx context.Context, in *sns.CreateTopicInput, optFns ...func(*sns.Options)) (*sns.CreateTopicOutput, error)
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
	Subscribe(ctx context.Context, in *sns.SubscribeInput, optFns ...func(*sns.Options)) (*sns.SubscribeOutput, error)
	Unsubscribe(ctx context.Context, in *sns.UnsubscribeInput, optFns ...func(*sns.Options)) (*sns.UnsubscribeOutput, error)
	SetSubscriptionAttributes(ctx context.Context, in *sns.SetSubscriptionAttributesInput, optFns ...func(*sns.Options)) (*sns.SetSubscriptionAttributesOutput, error)
	ListSubscriptionsByTopic(ctx context.Context, in *sns.ListSubscriptionsByTopicInput, optFns ...func(*sns.Options)) (*sns.ListSubscriptionsByTopicOutput, error)
}

// PendingConfirmation is the subscription ARN SNS reports for an email
// subscription whose owner has not clicked the confirmation link yet.
const PendingConfirmation = "PendingConfirmation"

// DeletedSubscription is the subscription ARN SNS reports, for up to 72
// hours, for a subscription deleted by someone other than its owner: an
// email subscription whose recipient clicked the unsubscribe link of an
// email SNS delivered. SNS delivers it nothing, cannot unsubscribe it,
// and does not subscribe its endpoint again until it has cleared it.
const DeletedSubscription = "Deleted"

// SNSSubscription is an email subscription of a topic.
type SNSSubscription struct {
	Email string
	// ARN is PendingConfirmation until the owner confirms, and
	// DeletedSubscription once the recipient unsubscribed by SNS's link.
	ARN string
}

// Confirmed reports whether the owner confirmed the subscription.
func (s SNSSubscription) Confirmed() bool { return strings.HasPrefix(s.ARN, "arn:") }

// Deleted reports whether the recipient unsubscribed by SNS's link and SNS
// has not cleared the subscription yet.
func (s SNSSubscription) Deleted() bool { return s.ARN == DeletedSubscription }

// NewSNSClient returns an SNS client for cfg, honoring
// AWS_ENDPOINT_URL_SNS.
func NewSNSClient(cfg aws.Config, optFns ...func(*sns.Options)) *sns.Client {
	return sns.NewFromConfig(cfg, append([]func(*sns.Options){func(o *sns.Options) {
		if e := awsbase.ServiceEndpoint("SNS"); e != nil {
			o.BaseEndpoint = e
		}
	}}, optFns...)...)
}

// SNSTopics manages and publishes to SNS topics by name.
type SNSTopics struct {
	client SNSAPI
}

// NewSNSTopics returns topics over client.
func NewSNSTopics(client SNSAPI) *SNSTopics { return &SNSTopics{client: client} }

// TopicARN creates the topic called name, or finds it when it exists
// (CreateTopic is idempotent), and returns its ARN.
func (t *SNSTopics) TopicARN(ctx context.Context, name string) (string, error) {
	out, err := t.client.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("sns: create topic %s: %w", name, err)
	}
	return aws.ToString(out.TopicArn), nil
}

// RecipientAttribute is the message attribute that names, as a
// String.Array, the addresses a message is for; each email subscription's
// filter policy accepts the messages that name its own address
// (EmailFilterPolicy).
const RecipientAttribute = "recipients"

// EmailFilterPolicy is the filter policy of email's subscription: the
// messages whose RecipientAttribute names it. SNS compares strings
// exactly, so addresses are lower case on both sides.
func EmailFilterPolicy(email string) string {
	b, _ := json.Marshal(map[string][]string{RecipientAttribute: {strings.ToLower(email)}})
	return string(b)
}

// Publish sends subject and message to the confirmed subscriptions of
// the topic whose filter policy (EmailFilterPolicy) names one of the
// addresses in to; a subscription without a filter policy gets every
// message. SNS email subjects are ASCII, one line, under 100 characters:
// other characters become '?' and longer ones are cut.
func (t *SNSTopics) Publish(ctx context.Context, topicARN, subject, message string, to []string) error {
	lower := make([]string, len(to))
	for i, a := range to {
		lower[i] = strings.ToLower(a)
	}
	recipients, err := json.Marshal(lower)
	if err != nil {
		return err
	}
	_, err = t.client.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(topicARN),
		Subject:  aws.String(snsSubject(subject)),
		Message:  aws.String(message),
		MessageAttributes: map[string]types.MessageAttributeValue{
			RecipientAttribute: {DataType: aws.String("String.Array"), StringValue: aws.String(string(recipients))},
		},
	})
	if err != nil {
		return fmt.Errorf("sns: publish to %s: %w", topicARN, err)
	}
	return nil
}

func snsSubject(s string) string {
	b := []byte(strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s))
	if len(b) > 99 {
		b = b[:99]
	}
	return string(b)
}

// EmailSubscriptions lists the topic's email subscriptions, pending ones
// included.
func (t *SNSTopics) EmailSubscriptions(ctx context.Context, topicARN string) ([]SNSSubscription, error) {
	var out []SNSSubscription
	p := sns.NewListSubscriptionsByTopicPaginator(t.client, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(topicARN)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("sns: list subscriptions of %s: %w", topicARN, err)
		}
		for _, s := range page.Subscriptions {
			if aws.ToString(s.Protocol) == "email" {
				out = append(out, SNSSubscription{Email: aws.ToString(s.Endpoint), ARN: aws.ToString(s.SubscriptionArn)})
			}
		}
	}
	return out, nil
}

// SubscribeEmail subscribes an address to the topic, with the filter
// policy that lets through only the messages published to it
// (EmailFilterPolicy); SNS mails it a confirmation link, and the
// subscription is pending until it is clicked.
func (t *SNSTopics) SubscribeEmail(ctx context.Context, topicARN, email string) error {
	_, err := t.client.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(topicARN), Protocol: aws.String("email"), Endpoint: aws.String(email),
		Attributes: map[string]string{"FilterPolicy": EmailFilterPolicy(email)}})
	if err != nil {
		return fmt.Errorf("sns: subscribe %s to %s: %w", email, topicARN, err)
	}
	return nil
}

// FilterEmail sets a confirmed subscription's filter policy to the
// messages published to email (EmailFilterPolicy): subscriptions made
// before filter policies were, which get every message.
func (t *SNSTopics) FilterEmail(ctx context.Context, subscriptionARN, email string) error {
	_, err := t.client.SetSubscriptionAttributes(ctx, &sns.SetSubscriptionAttributesInput{SubscriptionArn: aws.String(subscriptionARN),
		AttributeName: aws.String("FilterPolicy"), AttributeValue: aws.String(EmailFilterPolicy(email))})
	if err != nil {
		return fmt.Errorf("sns: set the filter policy of %s: %w", subscriptionARN, err)
	}
	return nil
}

// Unsubscribe removes a confirmed subscription.
func (t *SNSTopics) Unsubscribe(ctx context.Context, subscriptionARN string) error {
	if _, err := t.client.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: aws.String(subscriptionARN)}); err != nil {
		return fmt.Errorf("sns: unsubscribe %s: %w", subscriptionARN, err)
	}
	return nil
}
