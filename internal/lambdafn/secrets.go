package lambdafn

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/turbocat/turbocat/internal/config"
	"github.com/turbocat/turbocat/internal/tracing"
)

// resolveSecrets fills the secrets a Lambda's environment names by ARN
// (never by value), once per cold start: DATABASE_SECRET_ARN (a URL, or
// the JSON secret RDS and Aurora generate) and, for functions that verify
// tokens (needJWT), TURBOCAT_JWT_SECRET_ARN. Values already in the
// environment win. Nothing is read, and no AWS configuration loaded, when
// nothing is named.
func resolveSecrets(ctx context.Context, cfg *config.Config, needJWT bool) error {
	dbARN := os.Getenv("DATABASE_SECRET_ARN")
	readDB := dbARN != "" && os.Getenv("DATABASE_URL") == ""
	readJWT := needJWT && cfg.JWTSecretARN != "" && len(cfg.JWTSecret) == 0
	if !readDB && !readJWT {
		return nil
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("aws config: %w", err)
	}
	tracing.InstrumentAWS(&awsCfg.APIOptions)
	sm := secretsmanager.NewFromConfig(awsCfg)
	get := func(name, arn string) (string, error) {
		out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
		if err != nil {
			return "", fmt.Errorf("%s: read %s from Secrets Manager: %w", name, arn, err)
		}
		if out.SecretString == nil {
			return "", fmt.Errorf("%s: secret %s has no string value", name, arn)
		}
		return *out.SecretString, nil
	}
	if readJWT {
		v, err := get("TURBOCAT_JWT_SECRET_ARN", cfg.JWTSecretARN)
		if err != nil {
			return err
		}
		cfg.JWTSecret = []byte(v)
	}
	if readDB {
		v, err := get("DATABASE_SECRET_ARN", dbARN)
		if err != nil {
			return err
		}
		u, err := databaseURLFromSecret(v)
		if err != nil {
			return fmt.Errorf("DATABASE_SECRET_ARN: %w", err)
		}
		cfg.DatabaseURL = u
	}
	return nil
}

func databaseURLFromSecret(v string) (string, error) {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "postgres://") || strings.HasPrefix(v, "postgresql://") {
		return v, nil
	}
	var s struct {
		Username string          `json:"username"`
		Password string          `json:"password"`
		Host     string          `json:"host"`
		Port     json.RawMessage `json:"port"`
		DBName   string          `json:"dbname"`
	}
	if err := json.Unmarshal([]byte(v), &s); err != nil || s.Host == "" || s.Username == "" {
		return "", fmt.Errorf("secret is neither a postgres:// URL nor an RDS JSON secret")
	}
	port := strings.Trim(string(s.Port), `"`)
	if port == "" {
		port = "5432"
	}
	if s.DBName == "" {
		s.DBName = "postgres"
	}
	u := url.URL{Scheme: "postgres", User: url.UserPassword(s.Username, s.Password), Host: s.Host + ":" + port, Path: "/" + s.DBName, RawQuery: "sslmode=require"}
	return u.String(), nil
}
