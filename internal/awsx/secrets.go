package awsx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// SecretGetter is the part of Secrets Manager the dashboard uses;
// *secretsmanager.Client implements it.
type SecretGetter interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// DBCredentials is the JSON of the master-user secret that RDS manages
// (manage_master_user_password): {"username": ..., "password": ...}.
type DBCredentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// GetDBCredentials reads the RDS-managed master secret secretID (its ARN)
// in its current version.
func GetDBCredentials(ctx context.Context, c SecretGetter, secretID string) (DBCredentials, error) {
	out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)})
	if err != nil {
		return DBCredentials{}, fmt.Errorf("read database secret %s: %w", secretID, err)
	}
	if out.SecretString == nil {
		return DBCredentials{}, fmt.Errorf("database secret %s has no string value", secretID)
	}
	var cred DBCredentials
	if err := json.Unmarshal([]byte(*out.SecretString), &cred); err != nil {
		// The error would quote the secret; say only what is wrong.
		return DBCredentials{}, fmt.Errorf("database secret %s is not a JSON object with username and password", secretID)
	}
	if cred.Username == "" || cred.Password == "" {
		return DBCredentials{}, fmt.Errorf("database secret %s lacks a username or password", secretID)
	}
	return cred, nil
}

// SecretPassword returns a password function for store.OpenPostgres that
// reads the master secret at most once per maxAge. RDS rotates a managed
// master password (every 7 days by default) while the dashboard runs, so
// reading it once at start would make every connection opened after a
// rotation fail; the pool asks for a password only when it opens one.
func SecretPassword(c SecretGetter, secretID string, maxAge time.Duration) func(context.Context) (string, error) {
	var (
		mu      sync.Mutex
		cached  string
		fetched time.Time
	)
	return func(ctx context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if cached != "" && time.Since(fetched) < maxAge {
			return cached, nil
		}
		cred, err := GetDBCredentials(ctx, c, secretID)
		if err != nil {
			if cached != "" {
				// A stale password still works unless a rotation
				// happened; trying it beats failing for certain.
				return cached, nil
			}
			return "", err
		}
		cached, fetched = cred.Password, time.Now()
		return cached, nil
	}
}

// GetSecretJSON reads secretID's current value as JSON into v. A secret
// that does not exist, or has no value yet, is found false and no error:
// optional settings (alert SMTP) live in secrets an operator fills in.
func GetSecretJSON(ctx context.Context, c SecretGetter, secretID string, v any) (found bool, err error) {
	out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)})
	var nf *smtypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read secret %s: %w", secretID, err)
	}
	if out.SecretString == nil {
		return false, fmt.Errorf("secret %s has no string value", secretID)
	}
	if err := json.Unmarshal([]byte(*out.SecretString), v); err != nil {
		// The error would quote the secret; say only what is wrong.
		return false, fmt.Errorf("secret %s is not the JSON object expected", secretID)
	}
	return true, nil
}
