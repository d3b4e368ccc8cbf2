package awsxtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// SecretsFake is an in-memory Secrets Manager speaking AWS JSON 1.1
// (X-Amz-Target: secretsmanager.<Action>). It implements GetSecretValue
// by ARN or name; other actions answer an error.
type SecretsFake struct {
	srv *httptest.Server

	mu      sync.Mutex
	secrets map[string]string // ARN → SecretString
	calls   int
}

// NewSecretsManager starts the fake; it stops when the test ends.
func NewSecretsManager(t testing.TB) *SecretsFake {
	t.Helper()
	f := &SecretsFake{secrets: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the endpoint (BaseEndpoint or AWS_ENDPOINT_URL_SECRETS_MANAGER).
func (f *SecretsFake) URL() string { return f.srv.URL }

// Put stores value as the current version of secret name and returns the
// secret's ARN. Putting again replaces the value, like a rotation.
func (f *SecretsFake) Put(name, value string) (arn string) {
	arn = "arn:aws:secretsmanager:" + Region + ":" + Account + ":secret:" + name + "-AbCdEf"
	f.mu.Lock()
	f.secrets[arn] = value
	f.mu.Unlock()
	return arn
}

// Calls returns how many GetSecretValue requests were answered.
func (f *SecretsFake) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

func (f *SecretsFake) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	fail := func(status int, code, msg string) {
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"__type": code, "Message": msg})
	}
	if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" {
		fail(400, "InvalidRequestException", "the fake implements GetSecretValue only")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		fail(400, "UnrecognizedClientException", "the request is not signed")
		return
	}
	var in struct{ SecretId string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.SecretId == "" {
		fail(400, "InvalidParameterException", "SecretId is required")
		return
	}
	f.mu.Lock()
	f.calls++
	arn, value := "", ""
	for a, v := range f.secrets {
		if a == in.SecretId || strings.TrimSuffix(a[strings.LastIndex(a, ":")+1:], "-AbCdEf") == in.SecretId {
			arn, value = a, v
		}
	}
	f.mu.Unlock()
	if arn == "" {
		fail(400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		return
	}
	json.NewEncoder(w).Encode(map[string]any{
		"ARN":           arn,
		"Name":          strings.TrimSuffix(arn[strings.LastIndex(arn, ":")+1:], "-AbCdEf"),
		"SecretString":  value,
		"VersionId":     uuid.NewString(),
		"VersionStages": []string{"AWSCURRENT"},
		"CreatedDate":   float64(time.Now().Unix()),
	})
}
