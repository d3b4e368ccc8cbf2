package awsx_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/getflytrap/flytrap/internal/awsbase"
	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/deploy/deploytest"
)

// TestStateBucket creates and reuses the state bucket in gofakes3 with the
// real S3 client, then uses it for small objects.
func TestStateBucket(t *testing.T) {
	for _, region := range []string{"eu-west-1", "us-east-1"} {
		t.Run(region, func(t *testing.T) {
			ctx := context.Background()
			c, fake := deploytest.NewS3(t, region)
			b := awsx.StateBucket{Client: c, Name: awsx.StateBucketName(deploytest.Account, region), Region: region, Account: deploytest.Account}
			if b.Name != "flytrap-tfstate-"+deploytest.Account+"-"+region {
				t.Errorf("name %s", b.Name)
			}
			if ok, err := b.Exists(ctx); err != nil || ok {
				t.Fatalf("Exists before creation = %v, %v", ok, err)
			}
			created, err := b.Ensure(ctx)
			if err != nil || !created {
				t.Fatalf("Ensure = %v, %v", created, err)
			}
			// Versioning (gofakes3 implements it), encryption, public access
			// block and policy (recorded by the fake's layer).
			v, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(b.Name)})
			if err != nil || v.Status != "Enabled" {
				t.Errorf("versioning = %+v, %v", v, err)
			}
			if enc := fake.Setting(b.Name, "encryption"); !strings.Contains(enc, "<SSEAlgorithm>AES256</SSEAlgorithm>") {
				t.Errorf("encryption = %s", enc)
			}
			pab := fake.Setting(b.Name, "publicAccessBlock")
			for _, f := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
				if !strings.Contains(pab, "<"+f+">true</"+f+">") {
					t.Errorf("public access block lacks %s: %s", f, pab)
				}
			}
			var policy map[string]any
			if err := json.Unmarshal([]byte(fake.Setting(b.Name, "policy")), &policy); err != nil {
				t.Errorf("policy: %v", err)
			} else if !strings.Contains(fake.Setting(b.Name, "policy"), `"aws:SecureTransport":"false"`) {
				t.Errorf("policy does not deny plain HTTP: %v", policy)
			}
			// The location constraint is sent outside us-east-1 only (S3
			// refuses us-east-1 as a constraint).
			hasConstraint := strings.Contains(fake.Setting(b.Name, "create"), "<LocationConstraint>"+region+"</LocationConstraint>")
			if hasConstraint != (region != "us-east-1") {
				t.Errorf("CreateBucket body %q", fake.Setting(b.Name, "create"))
			}

			// Reuse: nothing created, settings applied again, policy kept.
			fake.DeleteSetting(b.Name, "encryption")
			created, err = b.Ensure(ctx)
			if err != nil || created {
				t.Fatalf("second Ensure = %v, %v", created, err)
			}
			if fake.Setting(b.Name, "encryption") == "" {
				t.Error("encryption not applied again")
			}
			// A bucket left without its policy (a run stopped after
			// creating it) gets it on the next run.
			fake.DeleteSetting(b.Name, "policy")
			if _, err := b.Ensure(ctx); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(fake.Setting(b.Name, "policy"), `"aws:SecureTransport":"false"`) {
				t.Errorf("policy not restored: %q", fake.Setting(b.Name, "policy"))
			}
			// Someone's own policy is kept.
			if _, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(b.Name), Policy: aws.String(`{"custom":true}`)}); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Ensure(ctx); err != nil || fake.Setting(b.Name, "policy") != `{"custom":true}` {
				t.Errorf("Ensure replaced an existing policy: %q, %v", fake.Setting(b.Name, "policy"), err)
			}

			if err := b.Put(ctx, "prod/terraform.tfvars.json", []byte(`{"name":"prod"}`), "application/json"); err != nil {
				t.Fatal(err)
			}
			got, err := b.Get(ctx, "prod/terraform.tfvars.json")
			if err != nil || string(got) != `{"name":"prod"}` {
				t.Errorf("Get = %q, %v", got, err)
			}
			if _, err := b.Get(ctx, "nope"); !errors.Is(err, awsbase.ErrObjectNotFound) {
				t.Errorf("Get of a missing key = %v", err)
			}
			if err := b.Delete(ctx, "prod/terraform.tfvars.json"); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Get(ctx, "prod/terraform.tfvars.json"); !errors.Is(err, awsbase.ErrObjectNotFound) {
				t.Errorf("Get after Delete = %v", err)
			}
		})
	}
}

// TestStateBucketOwnedByAnother: a bucket of the predictable name that
// another account owns is refused, not written to.
func TestStateBucketOwnedByAnother(t *testing.T) {
	ctx := context.Background()
	c, fake := deploytest.NewS3(t, "eu-west-1")
	name := awsx.StateBucketName(deploytest.Account, "eu-west-1")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	fake.Owner = "999999999999"
	b := awsx.StateBucket{Client: c, Name: name, Region: "eu-west-1", Account: deploytest.Account}
	if _, err := b.Ensure(ctx); !errors.Is(err, awsx.ErrBucketNotOwned) {
		t.Errorf("Ensure of another account's bucket = %v", err)
	}
	if fake.Setting(name, "encryption") != "" {
		t.Error("settings were written to another account's bucket")
	}
}

// TestTLSOnlyPolicyPartition: the policy's ARNs are in the region's
// partition; init offers China and GovCloud regions, where an arn:aws:
// resource makes PutBucketPolicy fail with MalformedPolicy.
func TestTLSOnlyPolicyPartition(t *testing.T) {
	for region, want := range map[string]string{
		"eu-west-1": "arn:aws:s3:::b", "us-east-1": "arn:aws:s3:::b",
		"cn-north-1": "arn:aws-cn:s3:::b", "cn-northwest-1": "arn:aws-cn:s3:::b",
		"us-gov-west-1": "arn:aws-us-gov:s3:::b", "us-gov-east-1": "arn:aws-us-gov:s3:::b",
		"us-iso-east-1": "arn:aws-iso:s3:::b", "us-isob-east-1": "arn:aws-iso-b:s3:::b",
	} {
		var p struct{ Statement []struct{ Resource []string } }
		if err := json.Unmarshal([]byte(awsx.TLSOnlyPolicy("b", region)), &p); err != nil || len(p.Statement) != 1 {
			t.Fatalf("%s: %v", region, err)
		}
		if r := p.Statement[0].Resource; len(r) != 2 || r[0] != want || r[1] != want+"/*" {
			t.Errorf("%s: resources %v, want %s and %s/*", region, r, want, want)
		}
	}
}

func TestKeys(t *testing.T) {
	if awsx.StateKey("prod") != "prod/terraform.tfstate" || awsx.InputsKey("prod") != "prod/terraform.tfvars.json" {
		t.Error("keys changed: existing deployments would not be found")
	}
	if p := awsx.TLSOnlyPolicy("b", "eu-west-1"); !json.Valid([]byte(p)) {
		t.Errorf("policy is not JSON: %s", p)
	}
}
