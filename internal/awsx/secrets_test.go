package awsx_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/getflytrap/flytrap/internal/awsx"
	"github.com/getflytrap/flytrap/internal/awsx/awsxtest"
)

func TestGetDBCredentials(t *testing.T) {
	fake := awsxtest.NewSecretsManager(t)
	client := awsx.NewSecretsCalls(awsxtest.SecretsManagerClient(fake.URL()))
	tests := []struct {
		name, value    string
		wantUser       string
		wantErr        string
		secretNotFound bool
	}{
		// The shape RDS writes for manage_master_user_password.
		{name: "rds managed", value: `{"username":"flytrap","password":"p@ss:w/rd"}`, wantUser: "flytrap"},
		{name: "extra fields", value: `{"username":"u","password":"p","engine":"postgres","host":"h"}`, wantUser: "u"},
		{name: "no password", value: `{"username":"u"}`, wantErr: "lacks a username or password"},
		{name: "not JSON", value: `hunter2`, wantErr: "not a JSON object"},
		{name: "missing", secretNotFound: true, wantErr: "ResourceNotFoundException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "rds!db-" + strings.ReplaceAll(tt.name, " ", "-")
			if !tt.secretNotFound {
				id = fake.Put(id, tt.value)
			}
			cred, err := awsx.GetDBCredentials(context.Background(), client, id)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("the error quotes the secret: %v", err)
				}
				return
			}
			if err != nil || cred.Username != tt.wantUser || cred.Password == "" {
				t.Fatalf("GetDBCredentials = %+v, %v", cred, err)
			}
		})
	}
}

func TestSecretPasswordFollowsRotation(t *testing.T) {
	ctx := context.Background()
	fake := awsxtest.NewSecretsManager(t)
	arn := fake.Put("rds!db-rotating", `{"username":"flytrap","password":"first"}`)
	client := awsx.NewSecretsCalls(awsxtest.SecretsManagerClient(fake.URL()))

	cached := awsx.SecretPassword(client, arn, time.Hour)
	for range 3 {
		if p, err := cached(ctx); err != nil || p != "first" {
			t.Fatalf("password = %q, %v", p, err)
		}
	}
	if n := fake.Calls(); n != 1 {
		t.Errorf("%d GetSecretValue calls within maxAge, want 1", n)
	}

	fresh := awsx.SecretPassword(client, arn, 0)
	fake.Put("rds!db-rotating", `{"username":"flytrap","password":"second"}`)
	if p, err := fresh(ctx); err != nil || p != "second" {
		t.Fatalf("after rotation: %q, %v; want the new password", p, err)
	}

	// Secrets Manager unreachable: the last password is still offered.
	gone := awsx.SecretPassword(awsxtest.SecretsManagerClient("http://127.0.0.1:1"), arn, 0)
	if _, err := gone(ctx); err == nil {
		t.Fatal("no error without a reachable Secrets Manager and no cached password")
	}
}
