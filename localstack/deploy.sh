#!/usr/bin/env bash
# Deploys Turbocat's CDK app to LocalStack with cdklocal (external data mode,
# the database secret created by init/10-database-secret.sh, no console
# stack), and prints the API URL for `make test-localstack`.
#
# ARCH (default: this host's, amd64 or arm64) is the functions'
# architecture: LocalStack runs them in containers of the host's
# architecture, so arm64 binaries on an x86 host would need emulation.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v docker >/dev/null && docker info >/dev/null 2>&1 || { echo "localstack-deploy: Docker is not available on this machine; LocalStack needs a Docker engine" >&2; exit 2; }
case "$(uname -m)" in x86_64 | amd64) host=amd64 ;; aarch64 | arm64) host=arm64 ;; *) host=amd64 ;; esac
ARCH=${ARCH:-$host}
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
secret=$(aws --endpoint-url http://127.0.0.1:4566 secretsmanager describe-secret --secret-id turbocat/local/database-url --query ARN --output text)
make functions ARCH="$ARCH"
cdklocal() { npx --yes --package aws-cdk-local@3.0.4 --package aws-cdk@2.1148.1 cdklocal "$@"; }
cdklocal bootstrap
cdklocal deploy --all --require-approval never -c stage=local -c dataMode=external -c databaseSecretArn="$secret" \
  -c architecture="$ARCH" -c console=false -c deployNonce="$(date +%s)"
aws --endpoint-url http://127.0.0.1:4566 cloudformation describe-stacks --stack-name turbocat-local-api \
  --query "Stacks[0].Outputs[?OutputKey=='ApiUrl'].OutputValue" --output text
