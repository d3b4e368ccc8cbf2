package awsx_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/deploy/deploytest"
)

// TestCallerIdentity talks to an STS fake speaking the Query protocol
// with the real SDK client.
func TestCallerIdentity(t *testing.T) {
	c, fake := deploytest.NewSTS(t, "eu-west-1")
	id, err := awsx.CallerIdentity(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if id.Account != deploytest.Account || id.ARN != fake.ARN || id.UserID != "AIDAFAKEUSERID" {
		t.Errorf("identity = %+v", id)
	}

	tests := []struct {
		code string
		want error
	}{
		{"InvalidClientTokenId", awsx.ErrCredentialsRejected},
		{"SignatureDoesNotMatch", awsx.ErrCredentialsRejected},
		{"ExpiredToken", awsx.ErrCredentialsExpired},
		{"AccessDenied", nil},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			fake.ErrorCode = tt.code
			_, err := awsx.CallerIdentity(context.Background(), c)
			if err == nil {
				t.Fatal("no error")
			}
			for _, sentinel := range []error{awsx.ErrCredentialsRejected, awsx.ErrCredentialsExpired, awsx.ErrNoCredentials} {
				if errors.Is(err, sentinel) != (sentinel == tt.want) {
					t.Errorf("%v: errors.Is(%v) = %v", err, sentinel, !(sentinel == tt.want))
				}
			}
		})
	}

	// No credentials at all: the provider fails before anything is sent.
	fake.ErrorCode = ""
	calls := fake.Calls()
	cfg := deploytest.Config(fake.URL, "eu-west-1")
	cfg.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{}, errors.New("no EC2 IMDS role found")
	})
	_, err = awsx.CallerIdentity(context.Background(), sts.NewFromConfig(cfg))
	if !errors.Is(err, awsx.ErrNoCredentials) {
		t.Errorf("without credentials: %v", err)
	}
	if fake.Calls() != calls {
		t.Error("a request without credentials reached STS")
	}
}

func TestClassifyCredentialError(t *testing.T) {
	tests := []struct {
		err  error
		want error
	}{
		{nil, nil},
		{&v4.SigningError{Err: errors.New("failed to retrieve credentials: no profile")}, awsx.ErrNoCredentials},
		{&v4.SigningError{Err: errors.New("failed to retrieve credentials: token expired")}, awsx.ErrCredentialsExpired},
		{fmt.Errorf("op: %w", &ssocreds.InvalidTokenError{Err: errors.New("the SSO session has expired")}), awsx.ErrCredentialsExpired},
		{&smithy.GenericAPIError{Code: "UnrecognizedClientException"}, awsx.ErrCredentialsRejected},
		{&smithy.GenericAPIError{Code: "RequestExpired"}, awsx.ErrCredentialsExpired},
		{errors.New("dial tcp: connection refused"), nil},
	}
	for _, tt := range tests {
		got := awsx.ClassifyCredentialError(tt.err)
		if tt.want == nil {
			if got != tt.err {
				t.Errorf("Classify(%v) = %v, want it unchanged", tt.err, got)
			}
			continue
		}
		if !errors.Is(got, tt.want) {
			t.Errorf("Classify(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
