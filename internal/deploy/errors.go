package deploy

import (
	"cmp"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/plan"
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

// runtimeUnavailable explains a missing runtime. Only a development
// build of flytrap, outside a checkout, has none: its hint is the command
// that deploys from the checkout it was built from (checkout, "" when the
// build trimmed its paths), and how to build one that needs none.
func runtimeUnavailable(err error, o Options, checkout string) error {
	if !errors.Is(err, runtimebin.ErrUnavailable) {
		return &Error{Msg: "cannot provide the runtime binaries", Hint: "see the build output above", Err: err}
	}
	cd := "cd <your checkout of " + runtimebin.Module + ">"
	if checkout != "" {
		cd = "cd " + shellWord(checkout)
	}
	deploy := "flytrap deploy --plan " + shellWord(cmp.Or(o.PlanPath, "/path/to/"+plan.DefaultFile))
	if o.DryRun {
		deploy += " --dry-run"
	}
	return &Error{
		Msg: "the runtime binaries (ingest, processor, dashboard) are not available",
		Hint: "run this development build from its checkout, with Go installed, which cross-compiles them: `" + cd + " && " + deploy + "`;" +
			" or build a flytrap that carries them and deploys from any directory: `make release` in the checkout writes bin/flytrap;" +
			" or set " + runtimebin.EnvDir + " to a folder holding ingest.zip, processor.zip and flytrap-dashboard",
		Err: err,
	}
}

// shellWord returns s as one word of a POSIX shell command, for a path in
// a command to copy.
func shellWord(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.,:/@+=", r))
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
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
