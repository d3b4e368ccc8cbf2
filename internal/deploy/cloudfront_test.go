package deploy

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/awsx/awsxtest"
	"github.com/getflytrap/flytrap/internal/deploy/deploytest"
	"github.com/getflytrap/flytrap/internal/plan"
)

// TestResolveCloudFront: without a domain, resolve finds the region's
// CloudFront origin-facing prefix list and makes the origin secret once,
// keeping the last deploy's (a new one would redeploy the distribution
// and lock the dashboard out until the instance restarts); with a domain
// or plain_http it asks for neither. Both reach the Terraform variables.
func TestResolveCloudFront(t *testing.T) {
	const kept = "kept-from-the-last-deploy-0123456789abcdef"
	lists := map[string]string{CloudFrontPrefixListName: "pl-4fa04526", "com.amazonaws.eu-west-1.s3": "pl-6da54004"}
	for _, tc := range []struct {
		name       string
		edit       func(p *plan.Plan)
		prev       *Vars
		lists      map[string]string
		wantList   string
		wantSecret string // "new": freshly made
		wantErr    string
	}{
		{name: "first deploy", lists: lists, wantList: "pl-4fa04526", wantSecret: "new"},
		{name: "redeploy keeps the secret", prev: &Vars{Region: "eu-west-1", OriginSecret: kept}, lists: lists, wantList: "pl-4fa04526", wantSecret: kept},
		{name: "redeploy from plain HTTP", prev: &Vars{Region: "eu-west-1", PlainHTTP: true}, lists: lists, wantList: "pl-4fa04526", wantSecret: "new"},
		{name: "domain", edit: func(p *plan.Plan) { p.Domain = "errors.example.com" }, lists: lists},
		{name: "plain http", edit: func(p *plan.Plan) { p.PlainHTTP = true }, lists: lists},
		{name: "no prefix list in the region", lists: map[string]string{"com.amazonaws.eu-west-1.s3": "pl-6da54004"}, wantErr: "has no prefix list " + CloudFrontPrefixListName},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := plan.Default()
			p.Name, p.AdminEmail, p.AWS.Region = "prod", "ops@example.com", "eu-west-1"
			if tc.edit != nil {
				tc.edit(&p)
			}
			ec2f := &deploytest.EC2{Zones: []string{"eu-west-1a", "eu-west-1b"}, PrefixLists: tc.lists}
			var log bytes.Buffer
			s := NewState(p, Options{}, Deps{}, &log)
			s.Identity = awsx.Identity{Account: "111122223333"}
			s.Clients = &Clients{EC2: ec2f, SSM: &deploytest.SSM{AMI: "ami-0aaaaaaaaaaaaaaaa"}, PrefixLists: ec2f, Lambda: awsxtest.NewLambda(t).Client()}
			s.Previous = tc.prev
			if tc.prev != nil {
				s.Previous.AvailabilityZones = []string{"eu-west-1a", "eu-west-1b"}
				s.Previous.AMIID = "ami-0aaaaaaaaaaaaaaaa"
			}
			err := resolveStep{}.Run(context.Background(), s)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r := s.Resolved
			if r.CloudFrontPrefixList != tc.wantList {
				t.Errorf("prefix list %q, want %q", r.CloudFrontPrefixList, tc.wantList)
			}
			switch tc.wantSecret {
			case "":
				if r.OriginSecret != "" {
					t.Errorf("origin secret %q, want none", r.OriginSecret)
				}
			case "new":
				if len(r.OriginSecret) != 43 || r.OriginSecret == kept || strings.ContainsAny(r.OriginSecret, "+/=") {
					t.Errorf("origin secret %q, want 32 fresh random bytes, base64url", r.OriginSecret)
				}
			default:
				if r.OriginSecret != tc.wantSecret {
					t.Errorf("origin secret %q, want %q", r.OriginSecret, tc.wantSecret)
				}
			}
			v := BuildVars(p, r, "#cloud-config\n")
			if v.CloudFrontPrefixList != r.CloudFrontPrefixList || v.OriginSecret != r.OriginSecret || v.PlainHTTP != p.PlainHTTP {
				t.Errorf("variables %q %q %v do not carry the resolved values", v.CloudFrontPrefixList, v.OriginSecret, v.PlainHTTP)
			}
		})
	}
}

// deniedPrefixLists answers every lookup with access denied.
type deniedPrefixLists struct{}

func (deniedPrefixLists) DescribeManagedPrefixLists(context.Context, *ec2.DescribeManagedPrefixListsInput, ...func(*ec2.Options)) (*ec2.DescribeManagedPrefixListsOutput, error) {
	return nil, errors.New("api error UnauthorizedOperation: You are not authorized to perform this operation")
}

// TestResolveCloudFrontDenied names the permission a user lacks.
func TestResolveCloudFrontDenied(t *testing.T) {
	p := plan.Default()
	p.Name, p.AdminEmail, p.AWS.Region = "prod", "ops@example.com", "eu-west-1"
	s := NewState(p, Options{}, Deps{}, &bytes.Buffer{})
	s.Clients = &Clients{PrefixLists: deniedPrefixLists{}}
	err := resolveStep{}.Run(context.Background(), s)
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(e.Hint, "ec2:DescribeManagedPrefixLists") {
		t.Fatalf("err %#v, want one whose hint names ec2:DescribeManagedPrefixLists", err)
	}
}
