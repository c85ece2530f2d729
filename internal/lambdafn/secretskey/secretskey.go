// Package secretskey is the secrets-key and secrets-reader components of
// the Lambda wiring: user and signing secrets encrypted with the stage's KMS
// key (TURBOCAT_SECRETS_KMS_KEY_ARN).
package secretskey

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/turbocat/turbocat/internal/awsperm"
	"github.com/turbocat/turbocat/internal/lambdafn"
	"github.com/turbocat/turbocat/internal/secrets/kmscipher"
)

// SecretsKey encrypts and decrypts user secrets and webhook signing
// secrets with the KMS key TURBOCAT_SECRETS_KMS_KEY_ARN.
func SecretsKey() lambdafn.Option { return lambdafn.NewOption(awsperm.SecretsKey, wireCipher) }

// SecretsReader is SecretsKey for functions that only decrypt (the
// steprunner resolves agent secrets, the deliverer signs with webhook
// secrets).
func SecretsReader() lambdafn.Option { return lambdafn.NewOption(awsperm.SecretsReader, wireCipher) }

func wireCipher(ctx context.Context, f *lambdafn.Function) error {
	key := f.App.Config.SecretsKMSKey
	if key == "" {
		if f.App.Secrets.Cipher != nil {
			return nil // TURBOCAT_SECRETS_KEY: a local key (the emulator tests)
		}
		_, err := lambdafn.RequireEnv(awsperm.SecretsKey, "TURBOCAT_SECRETS_KMS_KEY_ARN")
		return err
	}
	cfg, err := f.AWS(ctx)
	if err != nil {
		return err
	}
	f.App.Secrets.Cipher = &kmscipher.KMS{Client: kms.NewFromConfig(cfg), KeyID: key}
	return nil
}
