package awsxtest_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go"

	"github.com/getflytrap/flytrap/internal/awsx/awsxtest"
)

// TestSNSTopicsListAndDelete drives ListTopics and DeleteTopic with the
// real SDK client: its paginator follows NextToken across pages, deleting
// a topic deletes its subscriptions, deleting it again is no error (SNS's
// DeleteTopic is idempotent), a token SNS did not hand out is refused,
// and Refuse answers with the code given.
func TestSNSTopicsListAndDelete(t *testing.T) {
	ctx := context.Background()
	f := awsxtest.NewSNS(t)
	f.PageSize = 2
	c := f.Client()
	var arns []string
	for _, name := range []string{"d", "b", "a", "c", "e"} {
		out, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, aws.ToString(out.TopicArn))
		if _, err := c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: out.TopicArn, Protocol: aws.String("email"), Endpoint: aws.String(name + "@example.com")}); err != nil {
			t.Fatal(err)
		}
	}
	list := func() (names []string, pages int) {
		t.Helper()
		p := sns.NewListTopicsPaginator(c, &sns.ListTopicsInput{})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, tp := range out.Topics {
				arn := aws.ToString(tp.TopicArn)
				names = append(names, arn[strings.LastIndex(arn, ":")+1:])
			}
		}
		return names, pages
	}
	if names, pages := list(); strings.Join(names, ",") != "a,b,c,d,e" || pages != 3 {
		t.Errorf("listed %v in %d pages, want a-e in 3", names, pages)
	}

	for range 2 {
		if _, err := c.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: aws.String(arns[1])}); err != nil {
			t.Fatalf("DeleteTopic: %v", err)
		}
	}
	if names, _ := list(); strings.Join(names, ",") != "a,c,d,e" || !slices.Equal(f.Topics(), names) {
		t.Errorf("after deleting b: listed %v, fake holds %v", names, f.Topics())
	}
	for _, s := range f.Subscriptions() {
		if strings.HasPrefix(s, "b:") {
			t.Errorf("b's subscription outlived it: %v", f.Subscriptions())
		}
	}
	if len(f.Subscriptions()) != 4 {
		t.Errorf("subscriptions %v", f.Subscriptions())
	}

	_, err := c.ListTopics(ctx, &sns.ListTopicsInput{NextToken: aws.String("not-a-token")})
	if code := apiCode(err); code != "InvalidParameter" {
		t.Errorf("unknown NextToken: %v", err)
	}

	f.Refuse = func(action, topicARN string) string {
		if action == "DeleteTopic" && topicARN == arns[0] {
			return "AuthorizationError"
		}
		return ""
	}
	_, err = c.DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: aws.String(arns[0])})
	if code := apiCode(err); code != "AuthorizationError" || !slices.Contains(f.Topics(), "d") {
		t.Errorf("refused DeleteTopic: %v; topics %v", err, f.Topics())
	}
}

func apiCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// TestSNSFilterPolicies drives the filter policy actions with the real SDK
// client: a message reaches the confirmed subscriptions whose policy
// accepts its attributes (a String.Array by any element) and those
// without a policy; subscribing again with other attributes is refused,
// as SNS refuses it; SetSubscriptionAttributes needs a confirmed
// subscription; a String.Array that is not a JSON array and a policy the
// fake cannot match exactly are refused.
func TestSNSFilterPolicies(t *testing.T) {
	ctx := context.Background()
	f := awsxtest.NewSNS(t)
	c := f.Client()
	out, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("t")})
	if err != nil {
		t.Fatal(err)
	}
	subscribe := func(email, policy string) error {
		in := &sns.SubscribeInput{TopicArn: out.TopicArn, Protocol: aws.String("email"), Endpoint: aws.String(email)}
		if policy != "" {
			in.Attributes = map[string]string{"FilterPolicy": policy}
		}
		_, err := c.Subscribe(ctx, in)
		return err
	}
	for _, s := range []struct{ email, policy string }{
		{"a@example.com", `{"to":["a@example.com"]}`},
		{"b@example.com", `{"to":["b@example.com"],"kind":["alert"]}`},
		{"c@example.com", ""},
		{"d@example.com", `{"to":["d@example.com"]}`}, // stays pending
	} {
		if err := subscribe(s.email, s.policy); err != nil {
			t.Fatal(err)
		}
		if s.email != "d@example.com" {
			f.Confirm("t", s.email)
		}
	}
	if err := subscribe("a@example.com", `{"to":["x"]}`); apiCode(err) != "InvalidParameter" {
		t.Errorf("subscribing again with another policy: %v", err)
	}
	if err := subscribe("a@example.com", `{"to":[{"prefix":"a"}]}`); apiCode(err) != "InvalidParameter" {
		t.Errorf("a policy with an operator: %v", err)
	}

	publish := func(attrs map[string]types.MessageAttributeValue) error {
		_, err := c.Publish(ctx, &sns.PublishInput{TopicArn: out.TopicArn, Message: aws.String("m"), MessageAttributes: attrs})
		return err
	}
	str := func(dt, v string) types.MessageAttributeValue {
		return types.MessageAttributeValue{DataType: aws.String(dt), StringValue: aws.String(v)}
	}
	for i, tc := range []struct {
		attrs map[string]types.MessageAttributeValue
		want  string
	}{
		{nil, "c@example.com"},
		{map[string]types.MessageAttributeValue{"to": str("String.Array", `["a@example.com","b@example.com","d@example.com"]`)}, "a@example.com,c@example.com"},
		{map[string]types.MessageAttributeValue{"to": str("String.Array", `["b@example.com"]`), "kind": str("String", "alert")}, "b@example.com,c@example.com"},
		{map[string]types.MessageAttributeValue{"to": str("String", "a@example.com")}, "a@example.com,c@example.com"},
	} {
		if err := publish(tc.attrs); err != nil {
			t.Fatal(err)
		}
		pub := f.Published()
		if got := strings.Join(pub[len(pub)-1].Delivered, ","); got != tc.want {
			t.Errorf("%d: delivered to %s, want %s", i, got, tc.want)
		}
	}
	if err := publish(map[string]types.MessageAttributeValue{"to": str("String.Array", "a@example.com")}); apiCode(err) != "InvalidParameterValue" {
		t.Errorf("a String.Array that is no JSON array: %v", err)
	}

	subs, err := c.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: out.TopicArn})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range subs.Subscriptions {
		_, err := c.SetSubscriptionAttributes(ctx, &sns.SetSubscriptionAttributesInput{SubscriptionArn: s.SubscriptionArn,
			AttributeName: aws.String("FilterPolicy"), AttributeValue: aws.String(`{"to":["z"]}`)})
		if pending := aws.ToString(s.Endpoint) == "d@example.com"; pending != (apiCode(err) == "NotFound") || !pending && err != nil {
			t.Errorf("SetSubscriptionAttributes on %s: %v", aws.ToString(s.Endpoint), err)
		}
	}
	if got := strings.Join(f.Policies(), ","); got != `t: a@example.com: {"to":["z"]},t: b@example.com: {"to":["z"]},t: c@example.com: {"to":["z"]},t: d@example.com: {"to":["d@example.com"]}` {
		t.Errorf("policies %s", got)
	}
}
