package awsx_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/getflytrap/flytrap/internal/awsbase"
	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/awsx/awsxtest"
)

// runtimeConfig is the configuration a runtime binary builds from its
// environment: static credentials as on Lambda, plus env.
func runtimeConfig(t *testing.T, env map[string]string) aws.Config {
	t.Helper()
	base := map[string]string{
		"AWS_REGION":            awsxtest.Region,
		"AWS_ACCESS_KEY_ID":     awsxtest.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY": awsxtest.SecretAccessKey,
	}
	cfg, err := awsbase.AWSConfig("", func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return base[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestS3ClientObjectKeys writes and reads objects whose keys need escaping
// through the client the runtime binaries build (NewS3Client with
// AWS_ENDPOINT_URL_S3), including the conditional GET the key set loader
// repeats.
func TestS3ClientObjectKeys(t *testing.T) {
	ctx := context.Background()
	const bucket = "flytrap-keys"
	t.Setenv("AWS_ENDPOINT_URL_S3", awsxtest.NewS3(t))
	c := awsbase.NewS3Client(runtimeConfig(t, map[string]string{"AWS_MAX_ATTEMPTS": "1"}))
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{
		"keyset/ingest-keys.json",
		"odd keys/a+b=c&d;e,f@g:h!i*j'(k)~l.json",
		"unicode/été-🐛.json",
	} {
		t.Run(key, func(t *testing.T) {
			want := map[string]int64{"key-" + key: 7}
			if err := awsx.PublishKeySet(ctx, c, bucket, key, awsx.KeySet{Keys: want, IPSalt: "s"}); err != nil {
				t.Fatalf("PublishKeySet: %v", err)
			}
			loader := awsx.NewKeySetLoader(c, bucket, key)
			for range 2 { // the second read is a conditional GET
				ks, err := loader.Load(ctx)
				if err != nil || ks.Keys["key-"+key] != 7 {
					t.Fatalf("Load = %v, %v", ks.Keys, err)
				}
			}
		})
	}
	for _, tt := range []struct{ name, bucket, key string }{
		{"missing key", bucket, "deploy/dashboard/config.json"},
		{"missing bucket", "no-such-bucket", "deploy/dashboard/config.json"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := awsx.LoadRuntimeConfig(ctx, c, tt.bucket, tt.key); !errors.Is(err, awsbase.ErrObjectNotFound) {
				t.Errorf("LoadRuntimeConfig = %v, want ErrObjectNotFound", err)
			}
		})
	}
}

// verifySigV4 recomputes a request's SigV4 signature from what the server
// received, following the specification independently of the SDK's
// signer: a signature over anything other than the bytes on the wire, or
// with other credentials, fails here as it would on AWS.
func verifySigV4(r *http.Request, body []byte, secret string) error {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return errors.New("not SigV4: " + auth)
	}
	fields := map[string]string{}
	for _, f := range strings.Split(rest, ", ") {
		k, v, _ := strings.Cut(f, "=")
		fields[k] = v
	}
	scope := strings.SplitN(fields["Credential"], "/", 2)[1] // date/region/service/aws4_request
	parts := strings.Split(scope, "/")
	signed := strings.Split(fields["SignedHeaders"], ";")
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != payloadHash {
		return errors.New("x-amz-content-sha256 does not match the body")
	}
	var canonHeaders strings.Builder
	for _, h := range signed {
		v := r.Header.Get(h)
		if h == "host" {
			v = r.Host
		}
		canonHeaders.WriteString(h + ":" + strings.TrimSpace(v) + "\n")
	}
	path, _, _ := strings.Cut(r.RequestURI, "?") // exactly as received
	q := r.URL.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var cq []string
	for _, k := range keys {
		cq = append(cq, k+"="+q.Get(k))
	}
	canonical := strings.Join([]string{r.Method, path, strings.Join(cq, "&"), canonHeaders.String(), fields["SignedHeaders"], payloadHash}, "\n")
	csum := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + r.Header.Get("X-Amz-Date") + "\n" + scope + "\n" + hex.EncodeToString(csum[:])
	mac := func(key []byte, s string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(s))
		return h.Sum(nil)
	}
	k := mac([]byte("AWS4"+secret), parts[0])
	for _, p := range parts[1:] {
		k = mac(k, p)
	}
	if got := hex.EncodeToString(mac(k, toSign)); got != fields["Signature"] {
		return errors.New("signature mismatch; canonical request:\n" + canonical)
	}
	return nil
}

// TestClientsSignTheWire points the S3 and Secrets Manager clients the
// dashboard builds at a server that verifies every signature with the
// configured secret key: the endpoint overrides and path-style addressing
// must leave requests AWS would accept.
func TestClientsSignTheWire(t *testing.T) {
	var (
		mu       sync.Mutex
		errs     []error
		requests int
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		err := verifySigV4(r, body, awsxtest.SecretAccessKey)
		mu.Lock()
		requests++
		if err != nil {
			errs = append(errs, err)
		}
		mu.Unlock()
		switch {
		case r.Header.Get("X-Amz-Target") == "secretsmanager.GetSecretValue":
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.Write([]byte(`{"SecretString":"{\"username\":\"u\",\"password\":\"p\"}","ARN":"a","Name":"n"}`))
		case r.Method == http.MethodPut:
			w.Header().Set("ETag", `"e"`)
		default:
			w.Header().Set("ETag", `"e"`)
			w.Write([]byte(`{"version":1,"keys":{},"ip_salt":"s"}`))
		}
	}))
	defer srv.Close()
	t.Setenv("AWS_ENDPOINT_URL_S3", srv.URL)
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", srv.URL)
	cfg := runtimeConfig(t, map[string]string{"AWS_MAX_ATTEMPTS": "1"})
	ctx := context.Background()
	s3c := awsbase.NewS3Client(cfg)
	for _, key := range []string{"plain.json", "sp ace/plus+eq=amp&.json", "ünï/🐛"} {
		if err := awsx.PublishKeySet(ctx, s3c, "b-1", key, awsx.KeySet{Keys: map[string]int64{"k": 1}, IPSalt: "s"}); err != nil {
			t.Fatalf("PublishKeySet %q: %v", key, err)
		}
		if _, err := awsx.NewKeySetLoader(s3c, "b-1", key).Load(ctx); err != nil {
			t.Fatalf("Load %q: %v", key, err)
		}
	}
	if _, err := awsx.GetDBCredentials(ctx, awsx.NewSecretsManagerClient(cfg), "arn:aws:secretsmanager:us-east-1:000000000000:secret:x"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if requests != 7 {
		t.Errorf("the server saw %d requests, want 7", requests)
	}
	for _, err := range errs {
		t.Error(err)
	}
}

// TestS3ClientRetries checks that AWS_MAX_ATTEMPTS reaches the SDK's
// retryer and that a throttled read fails with S3's answer once the
// attempts are spent.
func TestS3ClientRetries(t *testing.T) {
	tests := []struct {
		name      string
		failures  int32 // 503 SlowDown answers before success
		attempts  string
		wantErr   bool
		wantCalls int32
	}{
		{"recovers", 2, "3", false, 3},
		{"gives up", 5, "3", true, 3},
		{"single attempt", 1, "1", true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) <= tt.failures {
					w.WriteHeader(http.StatusServiceUnavailable)
					w.Write([]byte("<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"))
					return
				}
				w.Write([]byte(`{"region":"x"}`))
			}))
			defer srv.Close()
			t.Setenv("AWS_ENDPOINT_URL_S3", srv.URL)
			c := awsbase.NewS3Client(runtimeConfig(t, map[string]string{"AWS_MAX_ATTEMPTS": tt.attempts}), func(o *s3.Options) {
				// The SDK's backoff waits seconds; the attempt count under
				// test is applied on top of this retryer.
				o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
					so.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
				})
			})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("b-1"), Key: aws.String("k")})
			if (err != nil) != tt.wantErr || calls.Load() != tt.wantCalls {
				t.Errorf("err %v after %d calls; want error %v after %d", err, calls.Load(), tt.wantErr, tt.wantCalls)
			}
			var re *smithyhttp.ResponseError
			if tt.wantErr && (!errors.As(err, &re) || re.HTTPStatusCode() != 503 || !strings.Contains(err.Error(), "SlowDown")) {
				t.Errorf("err = %v, want the 503 SlowDown", err)
			}
		})
	}
}
