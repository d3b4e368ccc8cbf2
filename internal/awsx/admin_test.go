package awsx_test

import (
	"context"
	"testing"

	"github.com/getflytrap/flytrap/internal/awsx"
)

func TestInitialAdminHandOver(t *testing.T) {
	ctx := context.Background()
	const bucket = "flytrap-admin"
	client := newBucket(t, bucket)

	if _, ok, err := awsx.TakeInitialAdmin(ctx, client, bucket); ok || err != nil {
		t.Fatalf("Take before Put = %v, %v; want nothing", ok, err)
	}
	if err := awsx.PutInitialAdmin(ctx, client, bucket, awsx.InitialAdmin{Email: "ops@example.com", Password: "first"}); err != nil {
		t.Fatal(err)
	}
	// A start that crashed before creating the user leaves a password the
	// next start replaces.
	if err := awsx.PutInitialAdmin(ctx, client, bucket, awsx.InitialAdmin{Email: "ops@example.com", Password: "second"}); err != nil {
		t.Fatal(err)
	}
	a, ok, err := awsx.TakeInitialAdmin(ctx, client, bucket)
	if err != nil || !ok || a.Password != "second" || a.Email != "ops@example.com" || a.CreatedAt.IsZero() {
		t.Fatalf("Take = %+v, %v, %v", a, ok, err)
	}
	if _, ok, err := awsx.TakeInitialAdmin(ctx, client, bucket); ok || err != nil {
		t.Fatalf("second Take = %v, %v; want nothing, the object is deleted", ok, err)
	}
}
