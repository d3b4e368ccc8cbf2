package status

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/awsx/awsxtest"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	"github.com/getflytrap/flytrap/internal/deploy"
	"github.com/getflytrap/flytrap/internal/deploy/deploytest"
	"github.com/getflytrap/flytrap/internal/ingest"
	"github.com/getflytrap/flytrap/internal/testutil/golden"
)

const region = "eu-west-1"

// fixture is a deployment's outside as status sees it: the state in S3,
// queues in the SQS fake, and a server answering for the dashboard and
// the ingest API.
type fixture struct {
	clients *deploy.Clients
	sqs     *awsxtest.SQSFake
	queue   string
	dlq     string
	site    *httptest.Server
	healthy bool
	alarms  *fakeAlarms
}

// fakeAlarms answers DescribeAlarms from a list, one alarm per page (so
// the paginator's NextToken is exercised), filtering by name prefix.
type fakeAlarms struct{ alarms []cwtypes.MetricAlarm }

func (f *fakeAlarms) DescribeAlarms(_ context.Context, in *cloudwatch.DescribeAlarmsInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error) {
	var match []cwtypes.MetricAlarm
	for _, a := range f.alarms {
		if strings.HasPrefix(aws.ToString(a.AlarmName), aws.ToString(in.AlarmNamePrefix)) {
			match = append(match, a)
		}
	}
	i := 0
	if in.NextToken != nil {
		i, _ = strconv.Atoi(*in.NextToken)
	}
	out := &cloudwatch.DescribeAlarmsOutput{}
	if i < len(match) {
		out.MetricAlarms = match[i : i+1]
	}
	if i+1 < len(match) {
		out.NextToken = aws.String(strconv.Itoa(i + 1))
	}
	return out, nil
}

func alarm(name, ns, metric string, state cwtypes.StateValue, reason string) cwtypes.MetricAlarm {
	return cwtypes.MetricAlarm{AlarmName: aws.String(name), Namespace: aws.String(ns), MetricName: aws.String(metric), StateValue: state, StateReason: aws.String(reason)}
}

func newFixture(t *testing.T, resources int) *fixture {
	t.Helper()
	f := &fixture{healthy: true}
	s3c, _ := deploytest.NewS3(t, region)
	stsc, _ := deploytest.NewSTS(t, region)
	f.sqs = awsxtest.NewSQS(t)
	f.queue = f.sqs.CreateQueue("flytrap-prod-events")
	f.dlq = f.sqs.CreateQueue("flytrap-prod-events-dlq")
	f.alarms = &fakeAlarms{alarms: []cwtypes.MetricAlarm{
		alarm("flytrap-other-ingest-5xx", "AWS/ApiGateway", "5xx", cwtypes.StateValueAlarm, "another deployment"),
		alarm("flytrap-prod-events-backlog", "AWS/SQS", "ApproximateAgeOfOldestMessage", cwtypes.StateValueOk, "fine"),
		alarm("flytrap-prod-ingest-5xx", "AWS/ApiGateway", "5xx", cwtypes.StateValueOk, "fine"),
		// Deployment prod-eu's alarms share prod's name prefix.
		alarm("flytrap-prod-eu-ingest-5xx", "AWS/ApiGateway", "5xx", cwtypes.StateValueAlarm, "deployment prod-eu"),
		alarm("flytrap-prod-made-by-hand", "AWS/EC2", "CPUUtilization", cwtypes.StateValueAlarm, "not Flytrap's"),
	}}
	f.clients = &deploy.Clients{STS: stsc, S3: s3c, SQS: awsxtest.SQSClient(f.sqs.URL()), CloudWatch: f.alarms}
	ih := ingest.New(ingest.Config{RatePerMinute: -1}, ingest.NewKeySet(func(context.Context) (map[string]ingest.Key, error) { return nil, nil }, ingest.KeySetConfig{}), nil, nil)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if !f.healthy {
			http.Error(w, "database unreachable", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	})
	mux.Handle("/api/", ih)
	f.site = httptest.NewServer(mux)
	t.Cleanup(f.site.Close)

	b := awsx.StateBucket{Client: s3c, Name: awsx.StateBucketName(deploytest.Account, region), Region: region, Account: deploytest.Account}
	if _, err := b.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"dashboard_url": f.site.URL, "ingest_url": f.site.URL, "bucket_name": "flytrap-prod-b",
		"queue_url": f.queue, "dlq_url": f.dlq, "alerts_topic_arn": "arn:aws:sns:eu-west-1:1:t",
		"db_endpoint": "db:5432", "db_secret_arn": "arn:s", "dashboard_instance_id": "i-1",
	}
	var outs, res []string
	for k, v := range outputs {
		outs = append(outs, fmt.Sprintf("%q:{\"value\":%q,\"type\":\"string\"}", k, v))
	}
	for i := 0; i < resources; i++ {
		res = append(res, `{"mode":"managed","type":"x","name":"y","instances":[{}]}`)
	}
	state := `{"version":4,"outputs":{` + strings.Join(outs, ",") + `},"resources":[` + strings.Join(res, ",") + `]}`
	if err := b.Put(context.Background(), awsx.StateKey("prod"), []byte(state), "application/json"); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestStatus(t *testing.T) {
	f := newFixture(t, 74)
	f.sqs.Send(f.queue, "a")
	f.sqs.Send(f.queue, "b")
	opts := &Options{
		IO:     &cmdutil.IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}},
		Getenv: func(string) string { return "" },
		AWS:    func(context.Context, string, string) (*deploy.Clients, error) { return f.clients, nil },
		HTTP:   f.site.Client(),
		Target: deploy.Target{PlanPath: "/nonexistent/flytrap.yaml", Name: "prod", Region: region},
	}
	if err := Run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	text := opts.IO.Out.(*bytes.Buffer).String()
	for _, want := range []string{`Deployment "prod" (account ` + deploytest.Account + `, eu-west-1): 74 resources`, "healthy (", "answering", "Queue:      2 waiting, 0 in flight", "DLQ:        0 messages", "Alarms:     2, 0 firing", "OK                flytrap-prod-ingest-5xx", "All checks passed."} {
		if !strings.Contains(text, want) {
			t.Errorf("status lacks %q:\n%s", want, text)
		}
	}

	// Unhealthy dashboard, a message in the DLQ and a firing alarm, as
	// JSON.
	f.alarms.alarms[2] = alarm("flytrap-prod-ingest-5xx", "AWS/ApiGateway", "5xx", cwtypes.StateValueAlarm, "Threshold Crossed: 1 datapoint [12.0] was greater than the threshold (5.0).")
	f.healthy = false
	f.sqs.Send(f.dlq, "poison")
	opts.JSON = true
	opts.IO.Out = &bytes.Buffer{}
	if err := Run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	var st Status
	if err := json.Unmarshal(opts.IO.Out.(*bytes.Buffer).Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	if st.Healthy || !st.Deployed || st.DLQ.Total() != 1 || st.Queue.Visible != 2 || st.Dashboard.OK || !st.Ingest.OK || len(st.Problems) != 3 || len(st.Alarms) != 2 {
		t.Errorf("status %+v", st)
	}
	if p := strings.Join(st.Problems, "\n"); !strings.Contains(p, "dead-letter queue") || !strings.Contains(p, "alarm flytrap-prod-ingest-5xx (AWS/ApiGateway 5xx) is firing: Threshold Crossed") {
		t.Errorf("problems %v", st.Problems)
	}
}

func TestStatusNotDeployed(t *testing.T) {
	f := newFixture(t, 0)
	opts := &Options{
		IO:     &cmdutil.IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}},
		Getenv: func(string) string { return "" },
		AWS:    func(context.Context, string, string) (*deploy.Clients, error) { return f.clients, nil },
		HTTP:   f.site.Client(),
		Target: deploy.Target{PlanPath: "/nonexistent/flytrap.yaml", Name: "prod", Region: region},
	}
	if err := Run(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(opts.IO.Out.(*bytes.Buffer).String(), "not deployed") {
		t.Errorf("output %s", opts.IO.Out)
	}
	opts.Target.Name = "nope"
	err := Run(context.Background(), opts)
	var ce *cmdutil.Error
	if !errors.As(err, &ce) || !strings.Contains(ce.Msg, `no deployment named "nope"`) {
		t.Errorf("unknown deployment: %v", err)
	}
	// Without a plan file and without --name there is nothing to look at.
	opts.Target.Name = ""
	if err := Run(context.Background(), opts); err == nil || !strings.Contains(err.Error(), "no plan file") {
		t.Errorf("no plan: %v", err)
	}
}

// TestStatusJSONOnFailure: with --json, a failure still prints one JSON
// document (error and hint) and returns the error for the exit code.
func TestStatusJSONOnFailure(t *testing.T) {
	f := newFixture(t, 74)
	var docs bytes.Buffer
	for _, c := range []struct {
		name   string
		target deploy.Target
		aws    func(context.Context, string, string) (*deploy.Clients, error)
	}{
		{"unknown deployment", deploy.Target{PlanPath: "/nonexistent/flytrap.yaml", Name: "nope", Region: region},
			func(context.Context, string, string) (*deploy.Clients, error) { return f.clients, nil }},
		{"no credentials", deploy.Target{PlanPath: "/nonexistent/flytrap.yaml", Name: "prod", Region: region},
			func(context.Context, string, string) (*deploy.Clients, error) { return nil, awsx.ErrNoCredentials }},
		{"no plan and no --name", deploy.Target{PlanPath: "/nonexistent/flytrap.yaml"}, nil},
	} {
		out := &bytes.Buffer{}
		opts := &Options{
			IO:     &cmdutil.IOStreams{In: strings.NewReader(""), Out: out, ErrOut: &bytes.Buffer{}},
			Getenv: func(string) string { return "" },
			AWS:    c.aws,
			HTTP:   f.site.Client(),
			Target: c.target,
			JSON:   true,
		}
		if err := Run(context.Background(), opts); err == nil {
			t.Errorf("%s: no error", c.name)
		}
		var st Status
		if err := json.Unmarshal(out.Bytes(), &st); err != nil || st.Error == "" || st.Healthy {
			t.Errorf("%s: stdout is not a failed status document (%v):\n%s", c.name, err, out)
		}
		fmt.Fprintf(&docs, "== %s\n%s\n", c.name, strings.ReplaceAll(out.String(), deploytest.Account, "ACCOUNT"))
	}
	golden.Check(t, "status-json-failures.golden", docs.Bytes())
}
