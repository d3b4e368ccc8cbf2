package awsxtest_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
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
