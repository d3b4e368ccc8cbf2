package lite_test

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
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/awsx/awsxtest"
	"github.com/getflytrap/flytrap/internal/awsx/lite"
)

// newS3 starts the S3 fake with a bucket and returns a lite client and an
// SDK client for it.
func newS3(t *testing.T, bucket string) (*lite.Client, *s3.Client) {
	t.Helper()
	endpoint := awsxtest.NewS3(t)
	sdk := awsxtest.S3Client(endpoint)
	if _, err := sdk.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	return lite.New(awsxtest.Config(endpoint)), sdk
}

func TestS3RoundTrip(t *testing.T) {
	ctx := context.Background()
	c, sdk := newS3(t, "flytrap-lite")
	for _, key := range []string{
		"keyset/ingest-keys.json",
		"deploy/initial-admin-password",
		"odd keys/a+b=c&d;e,f@g:h!i*j'(k)~l.json",
		"unicode/été-🐛.json",
	} {
		t.Run(key, func(t *testing.T) {
			body := `{"key":"` + key + `"}`
			put, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("flytrap-lite"), Key: aws.String(key),
				Body: strings.NewReader(body), ContentType: aws.String("application/json"), ServerSideEncryption: s3types.ServerSideEncryptionAes256})
			if err != nil {
				t.Fatalf("PutObject: %v", err)
			}
			// The SDK finds the object under the same key.
			got, err := sdk.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("flytrap-lite"), Key: aws.String(key)})
			if err != nil {
				t.Fatalf("SDK GetObject: %v", err)
			}
			b, _ := io.ReadAll(got.Body)
			if string(b) != body || aws.ToString(got.ContentType) != "application/json" {
				t.Errorf("SDK read %q (%s)", b, aws.ToString(got.ContentType))
			}
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("flytrap-lite"), Key: aws.String(key)})
			if err != nil {
				t.Fatalf("GetObject: %v", err)
			}
			b, _ = io.ReadAll(out.Body)
			out.Body.Close()
			if string(b) != body || aws.ToString(out.ETag) != aws.ToString(put.ETag) || aws.ToString(out.ETag) == "" {
				t.Errorf("read %q etag %s, want %q etag %s", b, aws.ToString(out.ETag), body, aws.ToString(put.ETag))
			}
			_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("flytrap-lite"), Key: aws.String(key), IfNoneMatch: put.ETag})
			var re *smithyhttp.ResponseError
			if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusNotModified {
				t.Errorf("conditional GET: %v, want 304", err)
			}
		})
	}
}

func TestS3Errors(t *testing.T) {
	ctx := context.Background()
	c, _ := newS3(t, "flytrap-lite")
	_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("flytrap-lite"), Key: aws.String("missing")})
	var noKey *s3types.NoSuchKey
	if !errors.As(err, &noKey) {
		t.Errorf("missing key: %v, want *types.NoSuchKey", err)
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("no-such-bucket"), Key: aws.String("k")})
	var noBucket *s3types.NoSuchBucket
	if !errors.As(err, &noBucket) {
		t.Errorf("missing bucket: %v, want *types.NoSuchBucket", err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("flytrap-lite")}); err == nil {
		t.Error("PutObject without a key succeeded")
	}
}

// TestAwsxHelpersWithLite runs the awsx helpers the dashboard uses over
// the lite client.
func TestAwsxHelpersWithLite(t *testing.T) {
	ctx := context.Background()
	c, sdk := newS3(t, "flytrap-lite")
	if err := awsx.PublishKeySet(ctx, c, "flytrap-lite", "keyset/ingest-keys.json", awsx.KeySet{Keys: map[string]int64{"k": 7}, IPSalt: "s"}); err != nil {
		t.Fatal(err)
	}
	loader := awsx.NewKeySetLoader(c, "flytrap-lite", "keyset/ingest-keys.json")
	for range 2 {
		keys, err := loader.Keys(ctx)
		if err != nil || keys["k"] != 7 {
			t.Fatalf("Keys = %v, %v", keys, err)
		}
	}
	if _, err := awsx.LoadRuntimeConfig(ctx, c, "flytrap-lite", "deploy/dashboard/config.json"); !errors.Is(err, awsx.ErrObjectNotFound) {
		t.Errorf("LoadRuntimeConfig of a missing object: %v", err)
	}
	if err := awsx.PutInitialAdmin(ctx, c, "flytrap-lite", awsx.InitialAdmin{Email: "a@example.com", Password: "pw"}); err != nil {
		t.Fatal(err)
	}
	if a, ok, err := awsx.TakeInitialAdmin(ctx, sdk, "flytrap-lite"); !ok || err != nil || a.Password != "pw" {
		t.Errorf("TakeInitialAdmin = %+v, %v, %v", a, ok, err)
	}

	secrets := awsxtest.NewSecretsManager(t)
	arn := secrets.Put("rds!db-lite", `{"username":"flytrap","password":"pw"}`)
	sm := lite.New(awsxtest.Config(secrets.URL()))
	cred, err := awsx.GetDBCredentials(ctx, sm, arn)
	if err != nil || cred.Username != "flytrap" || cred.Password != "pw" {
		t.Fatalf("GetDBCredentials = %+v, %v", cred, err)
	}
	_, err = sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("nope")})
	var notFound *smtypes.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		t.Errorf("missing secret: %v, want *types.ResourceNotFoundException", err)
	}
}

// verifySigV4 recomputes a request's SigV4 signature from what the server
// received, following the specification independently of the SDK's
// signer: a signature over anything other than the bytes on the wire
// fails here as it would on AWS.
func verifySigV4(r *http.Request, body []byte, secret string, s3Style bool) error {
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
	payload := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(payload[:])
	if s3Style && r.Header.Get("X-Amz-Content-Sha256") != payloadHash {
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
	path := r.URL.EscapedPath()
	if raw, _, ok := strings.Cut(r.RequestURI, "?"); ok || raw != "" {
		path = raw // exactly as received
	}
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
	sum := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + r.Header.Get("X-Amz-Date") + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
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

func TestSignaturesCoverTheWire(t *testing.T) {
	var (
		mu   sync.Mutex
		errs []error
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		isS3 := r.Header.Get("X-Amz-Target") == ""
		if err := verifySigV4(r, body, awsxtest.SecretAccessKey, isS3); err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
		switch {
		case !isS3:
			w.Write([]byte(`{"SecretString":"{}","ARN":"a","Name":"n"}`))
		case r.Method == http.MethodPut:
			w.Header().Set("ETag", `"e"`)
		default:
			w.Header().Set("ETag", `"e"`)
			w.Write([]byte("x"))
		}
	}))
	defer srv.Close()
	c := lite.New(awsxtest.Config(srv.URL))
	ctx := context.Background()
	for _, key := range []string{"plain.json", "sp ace/plus+eq=amp&.json", "ünï/🐛"} {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("b-1"), Key: aws.String(key), Body: strings.NewReader("body " + key),
			ContentType: aws.String("application/json"), CacheControl: aws.String("no-store"), ServerSideEncryption: s3types.ServerSideEncryptionAes256}); err != nil {
			t.Fatal(err)
		}
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("b-1"), Key: aws.String(key), IfNoneMatch: aws.String(`"old"`)})
		if err != nil {
			t.Fatal(err)
		}
		out.Body.Close()
	}
	if _, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("arn:aws:secretsmanager:us-east-1:000000000000:secret:x")}); err != nil {
		t.Fatal(err)
	}
	for _, err := range errs {
		t.Error(err)
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name      string
		failures  int32 // 503s before success
		attempts  int
		wantErr   bool
		wantCalls int32
	}{
		{"recovers", 2, 3, false, 3},
		{"gives up", 5, 3, true, 3},
		{"single attempt", 1, 1, true, 1},
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
				w.Write([]byte("ok"))
			}))
			defer srv.Close()
			cfg := awsxtest.Config(srv.URL)
			cfg.RetryMaxAttempts = tt.attempts
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := lite.New(cfg).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("b-1"), Key: aws.String("k")})
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
