#!/usr/bin/env bash
# Runs inside LocalStack when it is ready: stores the database URL the
# stack's functions read by ARN (dataMode=external).
set -euo pipefail
awslocal secretsmanager create-secret --name turbocat/local/database-url \
  --secret-string 'postgres://turbocat:turbocat@postgres:5432/turbocat?sslmode=disable' >/dev/null || true
echo "turbocat: database secret ready"
