// Package kmscipher is the AWS KMS implementation of secrets.Cipher, used by
// the Lambda functions (TURBOCAT_SECRETS_KMS_KEY_ARN).
package kmscipher

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/turbocat/turbocat/internal/secrets"
)

// KMSAPI is the part of the AWS KMS client KMS needs.
type KMSAPI interface {
	Encrypt(ctx context.Context, in *kms.EncryptInput, opts ...func(*kms.Options)) (*kms.EncryptOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, opts ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// KMS is the secrets.Cipher used on AWS: every secret value is encrypted by the KMS
// key directly (KMS Encrypt takes up to 4,096 bytes, so longer values are
// refused). The associated data becomes the KMS encryption context, so a
// ciphertext opens only for its owner and name, and every decryption is in
// CloudTrail.
type KMS struct {
	Client KMSAPI
	KeyID  string
}

// MaxKMSPlaintext is the largest value KMS Encrypt accepts.
const MaxKMSPlaintext = 4096

func kmsContext(associatedData []byte) map[string]string {
	return map[string]string{"turbocat": base64.StdEncoding.EncodeToString(associatedData)}
}

// Encrypt implements secrets.Cipher.
func (k *KMS) Encrypt(ctx context.Context, plaintext, associatedData []byte) ([]byte, error) {
	if len(plaintext) > MaxKMSPlaintext {
		return nil, fmt.Errorf("secret value is %d bytes; KMS encrypts at most %d", len(plaintext), MaxKMSPlaintext)
	}
	out, err := k.Client.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(k.KeyID), Plaintext: plaintext, EncryptionContext: kmsContext(associatedData)})
	if err != nil {
		return nil, fmt.Errorf("kms encrypt: %w", err)
	}
	return out.CiphertextBlob, nil
}

// Decrypt implements secrets.Cipher.
func (k *KMS) Decrypt(ctx context.Context, ciphertext, associatedData []byte) ([]byte, error) {
	out, err := k.Client.Decrypt(ctx, &kms.DecryptInput{KeyId: aws.String(k.KeyID), CiphertextBlob: ciphertext, EncryptionContext: kmsContext(associatedData)})
	if err != nil {
		var ice interface{ ErrorCode() string }
		if errors.As(err, &ice) && (ice.ErrorCode() == "InvalidCiphertextException" || ice.ErrorCode() == "IncorrectKeyException") {
			return nil, fmt.Errorf("%w: %v", secrets.ErrDecrypt, err)
		}
		return nil, fmt.Errorf("kms decrypt: %w", err)
	}
	return out.Plaintext, nil
}
