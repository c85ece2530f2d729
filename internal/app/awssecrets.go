package app

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/turbocat/turbocat/internal/secrets/kmscipher"
	"github.com/turbocat/turbocat/internal/sfn"
	"github.com/turbocat/turbocat/internal/tracing"

	"github.com/turbocat/turbocat/internal/awsevents"
	"github.com/turbocat/turbocat/internal/config"
)

// resolveAWSSecrets fills the secrets that a Lambda's environment names by
// ARN (never by value): DATABASE_SECRET_ARN (a URL, or the JSON secret RDS
// and Aurora generate), TURBOCAT_JWT_SECRET_ARN and TURBOCAT_SECRETS_KEY_ARN. It reads them once per
// cold start. Values already in the environment win.
func resolveAWSSecrets(ctx context.Context, cfg *config.Config) error {
	dbARN := os.Getenv("DATABASE_SECRET_ARN")
	needDB := dbARN != "" && os.Getenv("DATABASE_URL") == ""
	needJWT := cfg.JWTSecretARN != "" && len(cfg.JWTSecret) == 0
	needKey := cfg.SecretsKeyARN != "" && len(cfg.SecretsKey) == 0
	if !needDB && !needJWT && !needKey {
		return nil
	}
	awsCfg, err := loadAWS(ctx)
	if err != nil {
		return err
	}
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
	if needJWT {
		v, err := get("TURBOCAT_JWT_SECRET_ARN", cfg.JWTSecretARN)
		if err != nil {
			return err
		}
		cfg.JWTSecret = []byte(v)
	}
	if needKey {
		v, err := get("TURBOCAT_SECRETS_KEY_ARN", cfg.SecretsKeyARN)
		if err != nil {
			return err
		}
		if cfg.SecretsKey, err = base64.StdEncoding.DecodeString(strings.TrimSpace(v)); err != nil {
			return fmt.Errorf("TURBOCAT_SECRETS_KEY_ARN: the secret is not base64")
		}
	}
	if needDB {
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

// databaseURLFromSecret accepts a postgres:// URL or the JSON secret that
// RDS generates ({"username","password","host","port","dbname"}).
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

// useKMS makes agent secrets use the KMS key named by
// TURBOCAT_SECRETS_KMS_KEY_ARN (the CDK app's setting), when set.
func (a *App) useKMS(ctx context.Context) error {
	if a.Config.SecretsKMSKey == "" {
		return nil
	}
	awsCfg, err := loadAWS(ctx)
	if err != nil {
		return err
	}
	a.Secrets.Cipher = &kmscipher.KMS{Client: kms.NewFromConfig(awsCfg), KeyID: a.Config.SecretsKMSKey}
	return nil
}

// useEventBridge publishes lifecycle events to TURBOCAT_EVENT_BUS_NAME
// instead of delivering them in process.
func (a *App) useEventBridge(ctx context.Context) error {
	if a.Config.EventBusName == "" {
		return nil
	}
	awsCfg, err := loadAWS(ctx)
	if err != nil {
		return err
	}
	a.Outbox.Publisher = &awsevents.Bus{Client: eventbridge.NewFromConfig(awsCfg), BusName: a.Config.EventBusName, Logger: a.Logger}
	return nil
}

// useStepFunctions connects the run and deployment routes to AWS Step
// Functions when TURBOCAT_ENGINE=sfn (the Lambda default).
func (a *App) useStepFunctions(ctx context.Context) error {
	if a.Config.Engine != "sfn" {
		return nil
	}
	awsCfg, err := loadAWS(ctx)
	if err != nil {
		return err
	}
	opts := sfn.Options{RoleArn: a.Config.SFNRoleARN, Tracing: true, Logger: a.Logger}
	if a.Config.SFNLogGroupARN != "" {
		opts.Logging = &sfn.Logging{LogGroupArn: a.Config.SFNLogGroupARN, Level: "ERROR"}
	}
	a.connectEngine(sfn.New(awsCfg, opts), a.Config.StepRunnerARN)
	if c := a.Config; c.SchedulerGroup != "" && c.TriggerARN != "" && c.SchedulerRole != "" {
		a.Deployments.Schedules = &awsevents.Schedules{Client: scheduler.NewFromConfig(awsCfg), Group: c.SchedulerGroup,
			RoleArn: c.SchedulerRole, TriggerArn: c.TriggerARN, DLQArn: c.SchedulerDLQ}
	}
	return nil
}

// loadAWS loads the AWS SDK configuration, with X-Ray tracing of every call
// when tracing is on (in Lambda).
func loadAWS(ctx context.Context) (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("aws config: %w", err)
	}
	tracing.InstrumentAWS(&cfg.APIOptions)
	return cfg, nil
}
