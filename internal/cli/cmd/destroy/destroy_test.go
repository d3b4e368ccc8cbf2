package destroy

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/awsx/awsxtest"
	"github.com/getflytrap/flytrap/internal/cli/cmdutil"
	"github.com/getflytrap/flytrap/internal/deploy"
	"github.com/getflytrap/flytrap/internal/deploy/deploytest"
	"github.com/getflytrap/flytrap/internal/plan"
	"github.com/getflytrap/flytrap/internal/tf"
)

// TestDestroyCommand destroys a deployment known only from the state
// bucket (no plan file), confirming by typing the name on stdin.
func TestDestroyCommand(t *testing.T) {
	const region = "eu-west-1"
	s3c, _ := deploytest.NewS3(t, region)
	stsc, _ := deploytest.NewSTS(t, region)
	snsc := awsxtest.NewSNS(t).Client()
	b := awsx.StateBucket{Client: s3c, Name: awsx.StateBucketName(deploytest.Account, region), Region: region, Account: deploytest.Account}
	ctx := context.Background()
	if _, err := b.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	b.Put(ctx, awsx.StateKey("prod"), []byte(`{"version":4,"outputs":{},"resources":[{"mode":"managed","instances":[{},{}]}]}`), "application/json")
	p := plan.Default()
	p.Name, p.AdminEmail, p.AWS.Region = "prod", "ops@example.com", region
	v := deploy.BuildVars(p, deploy.Resolved{AccountID: deploytest.Account, AMIID: "ami-0aaaaaaaaaaaaaaaa", AvailabilityZones: []string{"eu-west-1a", "eu-west-1b"}}, "#cloud-config\n")
	raw, _ := v.Marshal()
	b.Put(ctx, awsx.InputsKey("prod"), raw, "application/json")

	runner := &deploytest.Runner{DestroyStream: filepath.Join("..", "..", "..", "deploy", "testdata", "fixture-destroy.jsonl")}
	var out, errOut bytes.Buffer
	opts := &Options{
		IO:     &cmdutil.IOStreams{In: strings.NewReader("prod\n"), Out: &out, ErrOut: &errOut},
		Getenv: func(string) string { return "" },
		Deps: &deploy.Deps{
			AWS: func(context.Context, string, string) (*deploy.Clients, error) {
				return &deploy.Clients{STS: stsc, S3: s3c, SNS: snsc}, nil
			},
			EnsureTerraform: func(context.Context, string) (tf.Installed, error) {
				return tf.Installed{Path: "/t", Source: "path"}, nil
			},
			NewRunner: func(string, string, map[string]string, io.Writer) (tf.Runner, error) {
				return runner, nil
			},
			Now: time.Now,
		},
		Target:    deploy.Target{PlanPath: filepath.Join(t.TempDir(), "flytrap.yaml"), Name: "prod", Region: region},
		JSON:      true,
		Workspace: filepath.Join(t.TempDir(), "ws"),
	}
	if err := Run(ctx, opts); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	var rep deploy.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("stdout: %v\n%s", err, out.String())
	}
	if rep.Operation != "destroy" || !rep.Completed || rep.Applied == nil || rep.Applied.Done != 5 {
		t.Errorf("report %+v", rep)
	}
	if !strings.Contains(errOut.String(), "Type the deployment name (prod)") {
		t.Errorf("no name prompt on stderr:\n%s", errOut.String())
	}
	if got := runner.Calls(); !slices.Equal(got, []string{"init", "apply", "destroy"}) {
		t.Errorf("terraform calls %v", got)
	}
}
