package deploy_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/getflytrap/flytrap/internal/deploy"
	"github.com/getflytrap/flytrap/internal/deploy/deploytest"
)

// TestClientsHoldOperationsNotSDKClients keeps the SDK clients out of the
// interfaces deploy stores them in. The `flytrap` binary renders
// templates, so a client in an interface links every operation of its
// service (awsx.Call says why): 47 of its 112 MB, before.
func TestClientsHoldOperationsNotSDKClients(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDX")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "s")
	c, err := deploy.LoadClients(context.Background(), "", "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	check := deploy.NewCheckClients(deploytest.Config("http://127.0.0.1:1", "eu-west-1"))
	for _, v := range []any{*c, *check} {
		rv := reflect.ValueOf(v)
		for i := range rv.NumField() {
			field := rv.Type().Field(i).Name
			got := reflect.TypeOf(rv.Field(i).Interface())
			if got == nil {
				t.Errorf("%T.%s is nil", v, field)
				continue
			}
			// S3's own client stores itself in an interface (its S3 Express
			// credentials), so it is linked whole whatever deploy does.
			if got.Kind() == reflect.Pointer && got.Elem().Name() == "Client" &&
				strings.HasPrefix(got.Elem().PkgPath(), "github.com/aws/aws-sdk-go-v2/service/") && got.String() != "*s3.Client" {
				t.Errorf("%T.%s holds a %v; hold its operations (deploy/calls.go)", v, field, got)
			}
		}
	}
}
