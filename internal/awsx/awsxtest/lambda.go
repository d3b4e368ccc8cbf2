package awsxtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// LambdaFake is a Lambda server speaking the REST-JSON protocol the SDK
// uses. It implements GetAccountSettings (GET
// /2016-08-19/account-settings/, the SDK sends it without the trailing
// slash) and answers every other request with a 404, so a client
// calling more than the fake knows fails loudly. Set the fields before
// the first request.
type LambdaFake struct {
	srv *httptest.Server

	mu sync.Mutex
	// ConcurrentExecutions and UnreservedConcurrentExecutions are the
	// AccountLimit GetAccountSettings reports (1000 and 1000 by default,
	// AWS's default quota with nothing reserved).
	ConcurrentExecutions, UnreservedConcurrentExecutions int32
	// Refuse, when not "", is the error code every request fails with:
	// AccessDeniedException (403) for a caller without the permission,
	// another code (ServiceException, 500) for a failure of Lambda.
	Refuse string
	calls  int
}

// NewLambda starts the fake and stops it when t ends.
func NewLambda(t testing.TB) *LambdaFake {
	t.Helper()
	f := &LambdaFake{ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 1000}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the endpoint (BaseEndpoint or AWS_ENDPOINT_URL_LAMBDA).
func (f *LambdaFake) URL() string { return f.srv.URL }

// Client returns a Lambda client for the fake.
func (f *LambdaFake) Client() *lambda.Client { return lambda.NewFromConfig(Config(f.srv.URL)) }

// Calls returns how many GetAccountSettings requests were answered,
// refused ones included.
func (f *LambdaFake) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *LambdaFake) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		lambdaError(w, http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token")
		return
	}
	if r.Method != http.MethodGet || strings.TrimSuffix(r.URL.Path, "/") != "/2016-08-19/account-settings" {
		lambdaError(w, http.StatusNotFound, "ResourceNotFoundException", "the fake implements GetAccountSettings only, not "+r.Method+" "+r.URL.Path)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	switch f.Refuse {
	case "":
	case "AccessDeniedException":
		lambdaError(w, http.StatusForbidden, f.Refuse, "User: arn:aws:iam::"+Account+":user/test is not authorized to perform: lambda:GetAccountSettings on resource: * because no identity-based policy allows the lambda:GetAccountSettings action")
		return
	default:
		lambdaError(w, http.StatusInternalServerError, f.Refuse, "refused by the test")
		return
	}
	// Lambda's numbers are JSON numbers; the code sizes are AWS's
	// defaults (75 GB of storage, 250 MB unzipped, 50 MB zipped).
	json.NewEncoder(w).Encode(map[string]any{
		"AccountLimit": map[string]any{
			"TotalCodeSize":                  int64(80530636800),
			"CodeSizeUnzipped":               262144000,
			"CodeSizeZipped":                 52428800,
			"ConcurrentExecutions":           f.ConcurrentExecutions,
			"UnreservedConcurrentExecutions": f.UnreservedConcurrentExecutions,
		},
		"AccountUsage": map[string]any{"TotalCodeSize": 0, "FunctionCount": 0},
	})
}

// lambdaError answers as Lambda does: the code in X-Amzn-ErrorType, the
// message in the body.
func lambdaError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"Type": "User", "Message": msg})
}
