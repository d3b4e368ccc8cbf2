package awsxtest_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/getflytrap/flytrap/internal/awsx/awsxtest"
)

// TestLambdaAccountSettings: the SDK's GetAccountSettings reads the
// fake's AccountLimit, and a refusal arrives as the SDK's API error with
// Lambda's code and status.
func TestLambdaAccountSettings(t *testing.T) {
	f := awsxtest.NewLambda(t)
	f.ConcurrentExecutions, f.UnreservedConcurrentExecutions = 10, 10
	out, err := f.Client().GetAccountSettings(context.Background(), &lambda.GetAccountSettingsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if l := out.AccountLimit; l == nil || l.ConcurrentExecutions != 10 || aws.ToInt32(l.UnreservedConcurrentExecutions) != 10 || l.CodeSizeZipped != 52428800 {
		t.Errorf("AccountLimit %+v", out.AccountLimit)
	}

	for _, tc := range []struct {
		code   string
		status int
	}{{"AccessDeniedException", 403}, {"ServiceException", 500}} {
		f.Refuse = tc.code
		_, err = f.Client().GetAccountSettings(context.Background(), &lambda.GetAccountSettingsInput{})
		var apiErr smithy.APIError
		var respErr *smithyhttp.ResponseError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tc.code || !errors.As(err, &respErr) || respErr.HTTPStatusCode() != tc.status {
			t.Errorf("refused with %s: %v, want that code and %d", tc.code, err, tc.status)
		}
	}
	if f.Calls() != 3 {
		t.Errorf("%d calls, want 3", f.Calls())
	}
}

// TestLambdaRequests: the documented path with its trailing slash is
// served as the SDK's is; unsigned requests and other operations are not.
func TestLambdaRequests(t *testing.T) {
	f := awsxtest.NewLambda(t)
	for _, tc := range []struct {
		method, path string
		signed       bool
		want         int
	}{
		{"GET", "/2016-08-19/account-settings/", true, 200},
		{"GET", "/2016-08-19/account-settings", true, 200},
		{"GET", "/2016-08-19/account-settings/", false, 403},
		{"GET", "/2015-03-31/functions/", true, 404},
		{"POST", "/2016-08-19/account-settings/", true, 404},
	} {
		req, _ := http.NewRequest(tc.method, f.URL()+tc.path, nil)
		if tc.signed {
			req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+awsxtest.AccessKeyID+"/20261208/us-east-1/lambda/aws4_request")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s (signed %v): %d, want %d", tc.method, tc.path, tc.signed, resp.StatusCode, tc.want)
		}
		if tc.want != 200 && resp.Header.Get("X-Amzn-ErrorType") == "" {
			t.Errorf("%s %s: no X-Amzn-ErrorType", tc.method, tc.path)
		}
	}
}
