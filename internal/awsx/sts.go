package awsx

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// IdentityAPI is the part of the STS client `flytrap deploy` uses to check
// credentials before touching anything.
type IdentityAPI interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// Identity is who the credentials belong to.
type Identity struct {
	Account string `json:"account"`
	ARN     string `json:"arn"`
	UserID  string `json:"user_id"`
}

// Credential failures, told apart because each has a different fix.
var (
	// ErrNoCredentials: the SDK's chain found nothing (no environment
	// variables, profile or instance role).
	ErrNoCredentials = errors.New("no AWS credentials found")
	// ErrCredentialsExpired: temporary credentials or an SSO session ran out.
	ErrCredentialsExpired = errors.New("the AWS credentials have expired")
	// ErrCredentialsRejected: AWS does not know the key or the signature is
	// wrong (a deleted key, a typo in the secret).
	ErrCredentialsRejected = errors.New("AWS rejected the credentials")
)

// CallerIdentity asks STS who the credentials are. Failures caused by the
// credentials themselves wrap ErrNoCredentials, ErrCredentialsExpired or
// ErrCredentialsRejected; others (network, throttling) are returned as they
// are.
func CallerIdentity(ctx context.Context, c IdentityAPI) (Identity, error) {
	out, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return Identity{}, ClassifyCredentialError(err)
	}
	id := Identity{Account: aws.ToString(out.Account), ARN: aws.ToString(out.Arn), UserID: aws.ToString(out.UserId)}
	if id.Account == "" {
		return Identity{}, errors.New("sts: GetCallerIdentity returned no account ID")
	}
	return id, nil
}

// ClassifyCredentialError wraps err in the matching credential sentinel, or
// returns it unchanged when the credentials are not the problem. Any AWS
// call's error can go through it.
func ClassifyCredentialError(err error) error {
	if err == nil {
		return nil
	}
	var tokenErr *ssocreds.InvalidTokenError
	if errors.As(err, &tokenErr) {
		return fmt.Errorf("%w (SSO session): %v", ErrCredentialsExpired, err)
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired":
			return fmt.Errorf("%w: %v", ErrCredentialsExpired, err)
		case "InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException", "InvalidAccessKeyId", "AuthFailure":
			return fmt.Errorf("%w: %v", ErrCredentialsRejected, err)
		}
	}
	// No provider of the chain yielded credentials: the request fails
	// before it is sent. The SDK reports it as a SigningError, or (with the
	// newer auth scheme resolution) as an untyped "get identity: get
	// credentials" error, so the message is the only common ground.
	var signErr *v4.SigningError
	msg := err.Error()
	if errors.As(err, &signErr) || strings.Contains(msg, "get identity: get credentials") ||
		strings.Contains(msg, "failed to retrieve credentials") || strings.Contains(msg, "failed to refresh cached credentials") {
		if strings.Contains(msg, "expired") {
			return fmt.Errorf("%w: %v", ErrCredentialsExpired, err)
		}
		return fmt.Errorf("%w: %v", ErrNoCredentials, err)
	}
	return err
}
