// Package deploytest holds fakes for testing deploy, destroy and status
// without AWS or Terraform: S3 (gofakes3 behind a small layer for the
// bucket settings gofakes3 lacks), STS (the Query protocol over httptest),
// SSM and EC2 stand-ins, init's account checks (AccountFake: STS, EC2 and
// RDS over HTTP), and a Terraform runner that replays recorded JSON
// streams. The SDK clients are real and talk HTTP to the fakes.
package deploytest

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/getflytrap/flytrap/internal/tf"
)

// Account is the account the fakes belong to.
const Account = "111122223333"

// Config is an SDK configuration for a fake at endpoint: static
// credentials, one attempt per call.
func Config(endpoint, region string) aws.Config {
	return aws.Config{
		Region:           region,
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDDEPLOYTEST", "deploytest-secret", ""),
		RetryMaxAttempts: 1,
		BaseEndpoint:     aws.String(endpoint),
	}
}

// S3Fake is gofakes3 plus the bucket settings it does not implement
// (encryption, public access block, policy) and S3's owner check.
type S3Fake struct {
	URL string
	// Owner is the account owning every bucket; a request with another
	// x-amz-expected-bucket-owner gets 403 like on S3.
	Owner string

	mu       sync.Mutex
	settings map[string]map[string]string // bucket -> subresource -> body
	requests []string
}

// NewS3 starts the fake and returns a path-style client for it.
func NewS3(t testing.TB, region string) (*s3.Client, *S3Fake) {
	t.Helper()
	f := &S3Fake{Owner: Account, settings: map[string]map[string]string{}}
	backend := gofakes3.New(s3mem.New(), gofakes3.WithLogger(gofakes3.DiscardLog())).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.serve(backend, w, r)
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	c := s3.NewFromConfig(Config(srv.URL, region), func(o *s3.Options) { o.UsePathStyle = true })
	return c, f
}

var bucketSettings = []string{"encryption", "publicAccessBlock", "policy"}

func (f *S3Fake) serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	bucket, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
	f.mu.Unlock()
	if o := r.Header.Get("x-amz-expected-bucket-owner"); o != "" && o != f.Owner {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
		return
	}
	q := r.URL.Query()
	if r.Method == http.MethodPut && bucket != "" && !strings.Contains(strings.TrimPrefix(r.URL.Path, "/"), "/") && r.URL.RawQuery == "" {
		// CreateBucket: keep its configuration (LocationConstraint).
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.mu.Lock()
		if f.settings[bucket] == nil {
			f.settings[bucket] = map[string]string{}
		}
		f.settings[bucket]["create"] = string(body)
		f.mu.Unlock()
	}
	if _, ok := q["policy"]; ok && r.Method == http.MethodGet {
		f.mu.Lock()
		policy := f.settings[bucket]["policy"]
		f.mu.Unlock()
		if policy == "" {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchBucketPolicy</Code><Message>The bucket policy does not exist</Message></Error>`)
			return
		}
		io.WriteString(w, policy)
		return
	}
	for _, sub := range bucketSettings {
		if _, ok := q[sub]; !ok {
			continue
		}
		if r.Method != http.MethodPut {
			break
		}
		// The bucket must exist, as on S3.
		head := httptest.NewRecorder()
		next.ServeHTTP(head, httptest.NewRequest(http.MethodHead, "/"+bucket, nil))
		if head.Code != http.StatusOK {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>`)
			return
		}
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		if f.settings[bucket] == nil {
			f.settings[bucket] = map[string]string{}
		}
		f.settings[bucket][sub] = string(body)
		f.mu.Unlock()
		if sub == "policy" {
			w.WriteHeader(http.StatusNoContent)
		}
		return
	}
	next.ServeHTTP(w, r)
}

// Setting returns the body last PUT to a bucket's subresource
// ("encryption", "publicAccessBlock", "policy"; "create" for CreateBucket),
// "" if none.
// DeleteSetting forgets a recorded bucket setting (e.g. its policy).
func (f *S3Fake) DeleteSetting(bucket, sub string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.settings[bucket], sub)
}

func (f *S3Fake) Setting(bucket, sub string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.settings[bucket][sub]
}

// Requests lists the requests seen, as "METHOD /path?query".
func (f *S3Fake) Requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

// STSFake answers GetCallerIdentity in the Query protocol (form in, XML
// out), like STS.
type STSFake struct {
	URL     string
	Account string
	ARN     string
	// ErrorCode, when set, is returned as an STS error with HTTP 403.
	ErrorCode string

	mu    sync.Mutex
	calls int
}

// NewSTS starts the fake and returns a client for it.
func NewSTS(t testing.TB, region string) (*sts.Client, *STSFake) {
	t.Helper()
	f := &STSFake{Account: Account, ARN: "arn:aws:iam::" + Account + ":user/deployer"}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return sts.NewFromConfig(Config(srv.URL, region)), f
}

func (f *STSFake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.calls++
	code, account, arn := f.ErrorCode, f.Account, f.ARN
	f.mu.Unlock()
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		code = "MissingAuthenticationToken"
	}
	if r.Form.Get("Action") != "GetCallerIdentity" {
		code = "InvalidAction"
	}
	if code != "" {
		w.WriteHeader(http.StatusForbidden)
		type errXML struct {
			XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ ErrorResponse"`
			Error   struct {
				Type    string `xml:"Type"`
				Code    string `xml:"Code"`
				Message string `xml:"Message"`
			} `xml:"Error"`
			RequestID string `xml:"RequestId"`
		}
		var e errXML
		e.Error.Type, e.Error.Code, e.Error.Message, e.RequestID = "Sender", code, "fake STS error "+code, "req-1"
		_ = xml.NewEncoder(w).Encode(e)
		return
	}
	fmt.Fprintf(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>%s</Arn>
    <UserId>AIDAFAKEUSERID</UserId>
    <Account>%s</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>`, arn, account)
}

// Calls counts the requests served.
func (f *STSFake) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// SSM stands in for the SSM client: the AMI parameter and SendCommand.
type SSM struct {
	AMI string
	Err error
	// CommandStatus is every command's final status ("" means Success);
	// CommandOutput its standard output. The first GetCommandInvocation
	// of a command answers InvocationDoesNotExist, as SSM does right after
	// SendCommand.
	CommandStatus ssmtypes.CommandInvocationStatus
	CommandOutput string
	// Results, when they hold a command's text, override CommandStatus
	// and CommandOutput for it.
	Results map[string]CommandResult

	mu       sync.Mutex
	Commands []ssm.SendCommandInput
	polled   map[string]bool
}

// GetParameter implements deploy.SSMAPI.
func (s *SSM) GetParameter(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	if s.Err != nil {
		return nil, s.Err
	}
	return &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{Name: in.Name, Value: aws.String(s.AMI)}}, nil
}

// SendCommand implements deploy.SSMAPI.
func (s *SSM) SendCommand(_ context.Context, in *ssm.SendCommandInput, _ ...func(*ssm.Options)) (*ssm.SendCommandOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Commands = append(s.Commands, *in)
	id := fmt.Sprintf("cmd-%d", len(s.Commands))
	return &ssm.SendCommandOutput{Command: &ssmtypes.Command{CommandId: aws.String(id)}}, nil
}

// CommandResult is one command's final status and standard output.
type CommandResult struct {
	Status ssmtypes.CommandInvocationStatus
	Output string
}

// Polled reports whether the result of the i-th command (from 1) was read.
func (s *SSM) Polled(i int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.polled[fmt.Sprintf("cmd-%d", i)]
}

// GetCommandInvocation implements deploy.SSMAPI.
func (s *SSM) GetCommandInvocation(_ context.Context, in *ssm.GetCommandInvocationInput, _ ...func(*ssm.Options)) (*ssm.GetCommandInvocationOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := aws.ToString(in.CommandId)
	if !s.polled[id] {
		if s.polled == nil {
			s.polled = map[string]bool{}
		}
		s.polled[id] = true
		return nil, &ssmtypes.InvocationDoesNotExist{Message: aws.String("not yet")}
	}
	status, stdout := s.CommandStatus, s.CommandOutput
	var n int
	if _, err := fmt.Sscanf(id, "cmd-%d", &n); err == nil && n >= 1 && n <= len(s.Commands) {
		if r, ok := s.Results[s.Commands[n-1].Parameters["commands"][0]]; ok {
			status, stdout = r.Status, r.Output
		}
	}
	if status == "" {
		status = ssmtypes.CommandInvocationStatusSuccess
	}
	out := &ssm.GetCommandInvocationOutput{Status: status, StandardOutputContent: aws.String(stdout)}
	if status != ssmtypes.CommandInvocationStatusSuccess {
		out.StandardErrorContent = aws.String("store: migrate: 0042_example.sql: syntax error")
	}
	return out, nil
}

// EC2 stands in for the EC2 zone queries.
type EC2 struct {
	// Zones of the region; Offered are those offering the instance type
	// (nil: all).
	Zones   []string
	Offered []string
	// ENIs is how many Lambda network interfaces each
	// DescribeNetworkInterfaces call finds, in turn (then none).
	ENIs []int
	// ENIFilters records the filters of each call.
	ENIFilters [][]ec2types.Filter
	// PrefixLists maps managed prefix list names to their IDs.
	PrefixLists map[string]string
}

// DescribeManagedPrefixLists implements deploy.PrefixListsAPI, honouring
// the prefix-list-name filter.
func (e *EC2) DescribeManagedPrefixLists(_ context.Context, in *ec2.DescribeManagedPrefixListsInput, _ ...func(*ec2.Options)) (*ec2.DescribeManagedPrefixListsOutput, error) {
	out := &ec2.DescribeManagedPrefixListsOutput{}
	for name, id := range e.PrefixLists {
		keep := true
		for _, f := range in.Filters {
			if aws.ToString(f.Name) == "prefix-list-name" && !slices.Contains(f.Values, name) {
				keep = false
			}
		}
		if keep {
			out.PrefixLists = append(out.PrefixLists, ec2types.ManagedPrefixList{PrefixListName: aws.String(name), PrefixListId: aws.String(id)})
		}
	}
	return out, nil
}

// DescribeNetworkInterfaces implements deploy.ENIAPI.
func (e *EC2) DescribeNetworkInterfaces(_ context.Context, in *ec2.DescribeNetworkInterfacesInput, _ ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error) {
	e.ENIFilters = append(e.ENIFilters, in.Filters)
	n := 0
	if len(e.ENIs) > 0 {
		n, e.ENIs = e.ENIs[0], e.ENIs[1:]
	}
	out := &ec2.DescribeNetworkInterfacesOutput{}
	for i := range n {
		out.NetworkInterfaces = append(out.NetworkInterfaces, ec2types.NetworkInterface{NetworkInterfaceId: aws.String(fmt.Sprintf("eni-%d", i))})
	}
	return out, nil
}

// DescribeAvailabilityZones implements deploy.ZonesAPI.
func (e *EC2) DescribeAvailabilityZones(context.Context, *ec2.DescribeAvailabilityZonesInput, ...func(*ec2.Options)) (*ec2.DescribeAvailabilityZonesOutput, error) {
	out := &ec2.DescribeAvailabilityZonesOutput{}
	for _, z := range e.Zones {
		out.AvailabilityZones = append(out.AvailabilityZones, ec2types.AvailabilityZone{ZoneName: aws.String(z)})
	}
	return out, nil
}

// DescribeInstanceTypeOfferings implements deploy.ZonesAPI.
func (e *EC2) DescribeInstanceTypeOfferings(context.Context, *ec2.DescribeInstanceTypeOfferingsInput, ...func(*ec2.Options)) (*ec2.DescribeInstanceTypeOfferingsOutput, error) {
	offered := e.Offered
	if offered == nil {
		offered = e.Zones
	}
	out := &ec2.DescribeInstanceTypeOfferingsOutput{}
	for _, z := range offered {
		out.InstanceTypeOfferings = append(out.InstanceTypeOfferings, ec2types.InstanceTypeOffering{Location: aws.String(z)})
	}
	return out, nil
}

// Runner is a Terraform runner that replays recorded JSON streams and
// records its calls.
type Runner struct {
	// Stream files (paths) replayed by Plan, Apply and Destroy; "" writes
	// nothing.
	PlanStream, ApplyStream, DestroyStream string
	// Errors returned by each command (after replaying its stream).
	InitErr, PlanErr, ApplyErr, DestroyErr error
	// DestroyErrs, when set, are returned by successive Destroy calls
	// instead of DestroyErr (then nil).
	DestroyErrs []error
	// OutputValues are returned by Outputs (string values).
	OutputValues map[string]string
	// OnApply, when set, runs on every Apply before its stream, as the
	// resources the apply would change (e.g. objects it uploads).
	OnApply func(tf.ApplyOptions) error

	mu    sync.Mutex
	calls []string
	Inits []tf.InitOptions
	Plans []tf.PlanOptions
	// Applies records the apply calls in order.
	Applies []tf.ApplyOptions
}

// Calls lists the commands run, in order.
func (r *Runner) Calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

func (r *Runner) record(c string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
}

func replay(path string, w io.Writer) error {
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Init implements tf.Runner.
func (r *Runner) Init(_ context.Context, o tf.InitOptions) error {
	r.record("init")
	r.mu.Lock()
	r.Inits = append(r.Inits, o)
	r.mu.Unlock()
	return r.InitErr
}

// Plan implements tf.Runner.
func (r *Runner) Plan(_ context.Context, o tf.PlanOptions, w io.Writer) (bool, error) {
	r.record("plan")
	r.mu.Lock()
	r.Plans = append(r.Plans, o)
	r.mu.Unlock()
	if err := replay(r.PlanStream, w); err != nil {
		return false, err
	}
	return r.PlanErr == nil, r.PlanErr
}

// Apply implements tf.Runner.
func (r *Runner) Apply(_ context.Context, o tf.ApplyOptions, w io.Writer) error {
	r.record("apply")
	r.mu.Lock()
	r.Applies = append(r.Applies, o)
	onApply := r.OnApply
	r.mu.Unlock()
	if onApply != nil {
		if err := onApply(o); err != nil {
			return err
		}
	}
	stream := r.ApplyStream
	if len(o.Targets) > 0 {
		stream = "" // the targeted unprotect apply of destroy
	}
	if err := replay(stream, w); err != nil {
		return err
	}
	return r.ApplyErr
}

// Destroy implements tf.Runner.
func (r *Runner) Destroy(_ context.Context, _ tf.DestroyOptions, w io.Writer) error {
	r.record("destroy")
	if err := replay(r.DestroyStream, w); err != nil {
		return err
	}
	if r.DestroyErrs != nil {
		if len(r.DestroyErrs) == 0 {
			return nil
		}
		err := r.DestroyErrs[0]
		r.DestroyErrs = r.DestroyErrs[1:]
		return err
	}
	return r.DestroyErr
}

// Outputs implements tf.Runner.
func (r *Runner) Outputs(context.Context) (map[string]tf.Output, error) {
	r.record("output")
	if r.OutputValues == nil {
		return nil, errors.New("no outputs")
	}
	out := map[string]tf.Output{}
	for k, v := range r.OutputValues {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		out[k] = tf.Output{Value: b}
	}
	return out, nil
}
