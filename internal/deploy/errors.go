package deploy

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/runtimebin"
	"github.com/getflytrap/flytrap/internal/tf"
)

// Error is a failure of deploy, destroy or status that says what to do
// about it. The command layer prints Hint below the message and chooses
// the exit code (cmdutil.ExitCode); this package knows neither.
type Error struct {
	Msg  string
	Hint string
	// Usage marks a mistake in how the command was called (a flag, a
	// confirmation nobody can give) rather than a failure on the way.
	Usage bool
	Err   error
}

// Error is Msg, then the cause, saying nothing twice: a cause that starts
// with the message (awsx.ErrNoCredentials wrapped by the SDK's error)
// replaces it.
func (e *Error) Error() string {
	if e.Err == nil {
		return e.Msg
	}
	cause := e.Err.Error()
	switch {
	case strings.HasSuffix(e.Msg, cause):
		return e.Msg
	case strings.HasPrefix(cause, e.Msg):
		return cause
	}
	return e.Msg + ": " + cause
}

func (e *Error) Unwrap() error { return e.Err }

func usageError(msg, hint string) error {
	return &Error{Msg: msg, Hint: hint, Usage: true}
}

// CredentialsError maps a failure to load AWS configuration or to call
// STS to a message with the fix.
func CredentialsError(err error, profile string) error {
	var noProfile config.SharedConfigProfileNotExistError
	var noProfilePtr *config.SharedConfigProfileNotExistError
	profileFlag := ""
	if profile != "" {
		profileFlag = " --profile " + profile
	}
	switch {
	case errors.As(err, &noProfile) || errors.As(err, &noProfilePtr):
		// The profile may come from AWS_PROFILE rather than the plan:
		// name the one the SDK looked for.
		if noProfile.Profile != "" {
			profile = noProfile.Profile
		} else if noProfilePtr != nil {
			profile = noProfilePtr.Profile
		}
		return &Error{
			Msg:  fmt.Sprintf("AWS profile %q not found in the shared config", profile),
			Hint: "list profiles with `aws configure list-profiles`, create it with `aws configure --profile " + profile + "`, or set aws.profile in flytrap.yaml",
			Err:  err,
		}
	case errors.Is(err, awsx.ErrNoCredentials):
		return &Error{
			Msg:  "no AWS credentials found",
			Hint: "run `aws configure" + profileFlag + "` or set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
			Err:  err,
		}
	case errors.Is(err, awsx.ErrCredentialsExpired):
		return &Error{
			Msg:  "the AWS credentials have expired",
			Hint: "run `aws sso login" + profileFlag + "` (SSO) or refresh the temporary credentials, then try again",
			Err:  err,
		}
	case errors.Is(err, awsx.ErrCredentialsRejected):
		return &Error{
			Msg:  "AWS rejected the credentials",
			Hint: "check the access key (`aws configure list" + profileFlag + "`); `aws sts get-caller-identity" + profileFlag + "` shows what AWS sees",
			Err:  err,
		}
	}
	return &Error{
		Msg:  "cannot verify the AWS credentials",
		Hint: "check the network connection and the region; `aws sts get-caller-identity" + profileFlag + "` should work",
		Err:  err,
	}
}

// awsError maps an AWS failure of a later step: credential problems get
// CredentialsError's hints, others a hint naming the action.
func awsError(err error, profile, what, hint string) error {
	if errors.Is(err, awsx.ErrNoCredentials) || errors.Is(err, awsx.ErrCredentialsExpired) || errors.Is(err, awsx.ErrCredentialsRejected) {
		return CredentialsError(err, profile)
	}
	return &Error{Msg: what, Hint: hint, Err: err}
}

func terraformUnavailable(err error, constraint string) error {
	return &Error{
		Msg: "Terraform is not available",
		Hint: fmt.Sprintf("install Terraform %s (https://developer.hashicorp.com/terraform/install) and put it on PATH; with internet access flytrap installs %s into its cache by itself",
			constraint, tf.PinnedVersion),
		Err: err,
	}
}

func runtimeUnavailable(err error) error {
	if !errors.Is(err, runtimebin.ErrUnavailable) {
		return &Error{Msg: "cannot provide the runtime binaries", Hint: "see the build output above", Err: err}
	}
	return &Error{
		Msg: "the runtime binaries (ingest, processor, dashboard) are not available",
		Hint: "use a release build of flytrap (they are embedded), run flytrap inside a checkout of " + runtimebin.Module +
			" with Go installed (it cross-compiles them), or set " + runtimebin.EnvDir + " to a folder holding ingest.zip, processor.zip and flytrap-dashboard",
		Err: err,
	}
}

func terraformFailed(what string, p *Progress, workspace string, err error) error {
	msg := "terraform " + what + " failed"
	if p != nil {
		if errs := p.Errors(); len(errs) > 0 {
			msg += ": " + errs[0].Summary
			if errs[0].Address != "" {
				msg += " (" + errs[0].Address + ")"
			}
		}
	}
	return &Error{
		Msg:  msg,
		Hint: "the full output is in " + filepath.Join(workspace, "terraform.log") + "; fix the cause and run the command again (Terraform continues from what exists)",
		Err:  err,
	}
}
