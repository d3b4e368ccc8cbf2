// Package lite calls the three AWS operations the dashboard binary needs
// (S3 GetObject and PutObject, Secrets Manager GetSecretValue) as plain
// SigV4-signed HTTP requests, with the SDK's request and response types so
// that awsx's helpers (LoadRuntimeConfig, PublishKeySet, KeySetLoader,
// PutInitialAdmin, GetDBCredentials, SecretPassword) take a *Client as
// they take the SDK's clients.
//
// Why not the SDK clients: the dashboard also renders html/template pages,
// and a binary that reaches text/template's reflective method lookup keeps
// every exported method of every type it links, so each SDK service client
// costs megabytes there (about 6 MB for S3 and Secrets Manager). The Lambda
// functions have no templates and use the SDK clients directly.
//
// Only the request fields listed on each method are sent; the SDK option
// functions are ignored.
package lite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/encoding/httpbinding"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Client signs requests with the credentials and region of an aws.Config.
// It is safe for concurrent use.
type Client struct {
	cfg      aws.Config
	http     *http.Client
	s3Signer *v4.Signer
	signer   *v4.Signer
	attempts int
	// s3Endpoint and smEndpoint are set when overridden (tests, S3
	// compatible stores); S3 is then addressed path-style.
	s3Endpoint, smEndpoint string
}

// New returns a client for cfg. Endpoint overrides come from
// AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_SECRETS_MANAGER, and
// AWS_ENDPOINT_URL or cfg.BaseEndpoint for both, like the SDK clients.
func New(cfg aws.Config) *Client {
	base := aws.ToString(cfg.BaseEndpoint)
	if v := os.Getenv("AWS_ENDPOINT_URL"); v != "" && base == "" {
		base = v
	}
	or := func(v, def string) string {
		if v != "" {
			return v
		}
		return def
	}
	attempts := cfg.RetryMaxAttempts
	if attempts <= 0 {
		attempts = 3 // the SDK's standard retryer
	}
	return &Client{
		cfg:  cfg,
		http: &http.Client{Timeout: time.Minute},
		// S3 signs the path exactly as sent, without escaping it again.
		s3Signer:   v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }),
		signer:     v4.NewSigner(),
		attempts:   attempts,
		s3Endpoint: strings.TrimRight(or(os.Getenv("AWS_ENDPOINT_URL_S3"), base), "/"),
		smEndpoint: strings.TrimRight(or(os.Getenv("AWS_ENDPOINT_URL_SECRETS_MANAGER"), base), "/"),
	}
}

// dnsSuffix is the AWS domain of the client's region.
func (c *Client) dnsSuffix() string {
	if strings.HasPrefix(c.cfg.Region, "cn-") {
		return "amazonaws.com.cn"
	}
	return "amazonaws.com"
}

// objectURL addresses an object virtual-hosted style on AWS (Flytrap's
// bucket names have no dots, so the wildcard certificate covers them) and
// path-style on an override. The path goes on the wire escaped as S3's
// canonical request expects, everything but unreserved characters, so the
// signature covers exactly what S3 receives.
func (c *Client) objectURL(bucket, key string) (*url.URL, error) {
	if bucket == "" || key == "" {
		return nil, errors.New("lite: bucket and key are required")
	}
	path, raw := "/"+key, "/"+httpbinding.EscapePath(key, false)
	var u *url.URL
	if c.s3Endpoint != "" {
		var err error
		if u, err = url.Parse(c.s3Endpoint); err != nil {
			return nil, fmt.Errorf("lite: S3 endpoint: %w", err)
		}
		prefix := strings.TrimRight(u.Path, "/") + "/" + bucket
		path, raw = prefix+path, strings.TrimRight(u.EscapedPath(), "/")+"/"+httpbinding.EscapePath(bucket, false)+raw
	} else {
		u = &url.URL{Scheme: "https", Host: bucket + ".s3." + c.cfg.Region + "." + c.dnsSuffix()}
	}
	u.Path, u.RawPath = path, raw
	return u, nil
}

// do signs and sends a request built by build (called once per attempt),
// retrying network errors, throttling and 5xx answers with backoff.
func (c *Client) do(ctx context.Context, signer *v4.Signer, service string, body []byte, build func() (*http.Request, error)) (*http.Response, error) {
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	var lastErr error
	for attempt := range c.attempts {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Duration(100<<attempt) * time.Millisecond):
			}
		}
		req, err := build()
		if err != nil {
			return nil, err
		}
		req = req.WithContext(ctx)
		req.ContentLength = int64(len(body))
		req.Body = io.NopCloser(bytes.NewReader(body))
		if service == "s3" {
			req.Header.Set("X-Amz-Content-Sha256", payloadHash)
		}
		creds, err := c.cfg.Credentials.Retrieve(ctx)
		if err != nil {
			return nil, fmt.Errorf("lite: credentials: %w", err)
		}
		if err := signer.SignHTTP(ctx, creds, req, payloadHash, service, c.cfg.Region, time.Now().UTC()); err != nil {
			return nil, fmt.Errorf("lite: sign: %w", err)
		}
		resp, err := c.http.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			lastErr = err
			continue
		}
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			lastErr = responseError(resp, apiError(resp.StatusCode, b))
			continue
		}
		return resp, nil
	}
	return nil, lastErr
}

// responseError wraps err like the SDK does, so callers can read the HTTP
// status with errors.As(err, **smithyhttp.ResponseError).
func responseError(resp *http.Response, err error) error {
	return &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: resp}, Err: err}
}

// apiError decodes an S3 XML or a JSON error body into a generic API
// error; the callers map the codes they care about to the SDK's types.
func apiError(status int, body []byte) *smithy.GenericAPIError {
	e := &smithy.GenericAPIError{Code: http.StatusText(status), Message: strings.TrimSpace(string(body))}
	var x struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	var j struct {
		Type     string `json:"__type"`
		Message  string `json:"Message"`
		Message2 string `json:"message"`
	}
	switch {
	case xml.Unmarshal(body, &x) == nil && x.Code != "":
		e.Code, e.Message = x.Code, x.Message
	case json.Unmarshal(body, &j) == nil && j.Type != "":
		e.Code = j.Type[strings.LastIndexAny(j.Type, "#:")+1:]
		e.Message = j.Message + j.Message2
	}
	if status < 500 {
		e.Fault = smithy.FaultClient
	} else {
		e.Fault = smithy.FaultServer
	}
	return e
}

// GetObject downloads an object. It sends Bucket, Key and IfNoneMatch; a
// missing key or bucket is *types.NoSuchKey or *types.NoSuchBucket, an
// unchanged object (IfNoneMatch) an error with HTTP status 304.
func (c *Client) GetObject(ctx context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	u, err := c.objectURL(aws.ToString(in.Bucket), aws.ToString(in.Key))
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, c.s3Signer, "s3", nil, func() (*http.Request, error) {
		req, err := http.NewRequest(http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, err
		}
		if in.IfNoneMatch != nil {
			req.Header.Set("If-None-Match", *in.IfNoneMatch)
		}
		return req, nil
	})
	if err != nil {
		return nil, fmt.Errorf("s3 GetObject: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusNotModified:
		resp.Body.Close()
		return nil, fmt.Errorf("s3 GetObject: %w", responseError(resp, &smithy.GenericAPIError{Code: "NotModified", Message: "Not Modified"}))
	default:
		return nil, fmt.Errorf("s3 GetObject: %w", s3Error(resp))
	}
	out := &s3.GetObjectOutput{Body: resp.Body, ContentLength: aws.Int64(resp.ContentLength)}
	if v := resp.Header.Get("ETag"); v != "" {
		out.ETag = aws.String(v)
	}
	if v := resp.Header.Get("X-Amz-Version-Id"); v != "" {
		out.VersionId = aws.String(v)
	}
	if v := resp.Header.Get("Content-Type"); v != "" {
		out.ContentType = aws.String(v)
	}
	return out, nil
}

// PutObject uploads an object. It sends Bucket, Key, Body, ContentType,
// CacheControl and ServerSideEncryption; bodies are read into memory (the
// dashboard writes small JSON objects).
func (c *Client) PutObject(ctx context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	u, err := c.objectURL(aws.ToString(in.Bucket), aws.ToString(in.Key))
	if err != nil {
		return nil, err
	}
	var body []byte
	if in.Body != nil {
		if body, err = io.ReadAll(in.Body); err != nil {
			return nil, fmt.Errorf("s3 PutObject: read body: %w", err)
		}
	}
	resp, err := c.do(ctx, c.s3Signer, "s3", body, func() (*http.Request, error) {
		req, err := http.NewRequest(http.MethodPut, u.String(), nil)
		if err != nil {
			return nil, err
		}
		for k, v := range map[string]string{
			"Content-Type":                 aws.ToString(in.ContentType),
			"Cache-Control":                aws.ToString(in.CacheControl),
			"X-Amz-Server-Side-Encryption": string(in.ServerSideEncryption),
		} {
			if v != "" {
				req.Header.Set(k, v)
			}
		}
		return req, nil
	})
	if err != nil {
		return nil, fmt.Errorf("s3 PutObject: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("s3 PutObject: %w", s3Error(resp))
	}
	resp.Body.Close()
	out := &s3.PutObjectOutput{}
	if v := resp.Header.Get("ETag"); v != "" {
		out.ETag = aws.String(v)
	}
	if v := resp.Header.Get("X-Amz-Version-Id"); v != "" {
		out.VersionId = aws.String(v)
	}
	return out, nil
}

// s3Error reads an S3 error response into the SDK's error types where
// awsx distinguishes them.
func s3Error(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	e := apiError(resp.StatusCode, b)
	var err error = e
	switch e.Code {
	case "NoSuchKey":
		err = &s3types.NoSuchKey{Message: aws.String(e.Message)}
	case "NoSuchBucket":
		err = &s3types.NoSuchBucket{Message: aws.String(e.Message)}
	}
	return responseError(resp, err)
}

// GetSecretValue reads a secret's current version. It sends SecretId,
// VersionId and VersionStage; a missing secret is
// *types.ResourceNotFoundException.
func (c *Client) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	endpoint := c.smEndpoint
	if endpoint == "" {
		endpoint = "https://secretsmanager." + c.cfg.Region + "." + c.dnsSuffix()
	}
	body, err := json.Marshal(struct {
		SecretID     *string `json:"SecretId"`
		VersionID    *string `json:"VersionId,omitempty"`
		VersionStage *string `json:"VersionStage,omitempty"`
	}{in.SecretId, in.VersionId, in.VersionStage})
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, c.signer, "secretsmanager", body, func() (*http.Request, error) {
		req, err := http.NewRequest(http.MethodPost, endpoint+"/", nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
		return req, nil
	})
	if err != nil {
		return nil, fmt.Errorf("secretsmanager GetSecretValue: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("secretsmanager GetSecretValue: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		e := apiError(resp.StatusCode, b)
		var err error = e
		if e.Code == "ResourceNotFoundException" {
			err = &smtypes.ResourceNotFoundException{Message: aws.String(e.Message)}
		}
		return nil, fmt.Errorf("secretsmanager GetSecretValue: %w", responseError(resp, err))
	}
	var out struct {
		ARN, Name, SecretString, VersionID string
		VersionStages                      []string
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("secretsmanager GetSecretValue: response: %w", err)
	}
	res := &secretsmanager.GetSecretValueOutput{ARN: aws.String(out.ARN), Name: aws.String(out.Name), VersionStages: out.VersionStages}
	if out.SecretString != "" {
		res.SecretString = aws.String(out.SecretString)
	}
	if out.VersionID != "" {
		res.VersionId = aws.String(out.VersionID)
	}
	return res, nil
}
