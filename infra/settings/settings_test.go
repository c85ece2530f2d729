package settings_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/infra/settings"
)

func ctx(kv map[string]string) settings.Getter {
	return func(key string) (string, bool) {
		v, ok := kv[key]
		return v, ok
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := settings.FromContext(ctx(nil))
	require.NoError(t, err)
	require.Equal(t, "dev", c.Stage)
	require.Equal(t, settings.DataAurora, c.DataMode)
	require.Empty(t, c.AllowedOrigins, "CORS is off unless origins are given")
	require.Equal(t, 30, c.LogRetentionDays)
	require.False(t, c.RetainData, "non-prod stages are disposable by default")
	require.True(t, c.Nag)
	require.Equal(t, "dist", c.DistDir)
	require.Equal(t, "internal/httpapi/openapi.json", c.OpenAPIPath)
	require.Equal(t, "turbocat-dev-auth", c.Name("auth"))
	require.Equal(t, "turbocat-dev", c.Name(""))
}

func TestProdRetainsDataByDefault(t *testing.T) {
	t.Parallel()
	c, err := settings.FromContext(ctx(map[string]string{"stage": "prod"}))
	require.NoError(t, err)
	require.True(t, c.RetainData)

	c, err = settings.FromContext(ctx(map[string]string{"stage": "prod", "retainData": "false"}))
	require.NoError(t, err)
	require.False(t, c.RetainData)
}

func TestParsesValues(t *testing.T) {
	t.Parallel()
	c, err := settings.FromContext(ctx(map[string]string{
		"stage":             "staging",
		"dataMode":          "external",
		"databaseSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:turbocat/db-AbCdEf",
		"allowedOrigins":    " https://console.example.com/, http://localhost:3000 ,",
		"domainName":        "api.example.com",
		"certificateArn":    "arn:aws:acm:eu-west-1:123456789012:certificate/abc",
		"alarmEmail":        "ops@example.com",
		"logRetentionDays":  "90",
		"throttleRateLimit": "12.5",
		"vpcEndpoints":      "true",
	}))
	require.NoError(t, err)
	require.Equal(t, settings.DataExternal, c.DataMode)
	require.Equal(t, []string{"https://console.example.com", "http://localhost:3000"}, c.AllowedOrigins)
	require.Equal(t, 90, c.LogRetentionDays)
	require.InDelta(t, 12.5, c.ThrottleRateLimit, 0)
	require.True(t, c.VPCEndpoints)
	require.Equal(t, "api.example.com", c.DomainName)
}

func TestRejectsBadContext(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		kv   map[string]string
		want string
	}{
		{"upper-case stage", map[string]string{"stage": "Prod"}, "context stage"},
		{"long stage", map[string]string{"stage": "a-very-long-stage-name"}, "context stage"},
		{"unknown data mode", map[string]string{"dataMode": "dynamo"}, "context dataMode"},
		{"external without secret", map[string]string{"dataMode": "external"}, "context databaseSecretArn: is required"},
		{"external with non-secret arn", map[string]string{"dataMode": "external", "databaseSecretArn": "arn:aws:ssm:eu-west-1:123456789012:parameter/x"}, "not a Secrets Manager secret ARN"},
		{"aurora with secret", map[string]string{"databaseSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:x"}, "only used with dataMode=external"},
		{"origin with path", map[string]string{"allowedOrigins": "https://example.com/app"}, "context allowedOrigins"},
		{"domain without certificate", map[string]string{"domainName": "api.example.com"}, "set both or neither"},
		{"certificate not acm", map[string]string{"domainName": "api.example.com", "certificateArn": "arn:aws:iam::123456789012:server-certificate/x"}, "not an ACM certificate ARN"},
		{"public url http", map[string]string{"publicUrl": "http://api.example.com"}, "context publicUrl"},
		{"bad email", map[string]string{"alarmEmail": "ops"}, "context alarmEmail"},
		{"bad retention", map[string]string{"logRetentionDays": "10"}, "context logRetentionDays"},
		{"retention not a number", map[string]string{"logRetentionDays": "ten"}, "not an integer"},
		{"negative throttle", map[string]string{"throttleRateLimit": "-1"}, "context throttleRateLimit"},
		{"no nat", map[string]string{"natGateways": "0"}, "context natGateways"},
		{"min above max", map[string]string{"auroraMinCapacity": "8", "auroraMaxCapacity": "4"}, "context auroraMinCapacity"},
		{"capacity not half step", map[string]string{"auroraMaxCapacity": "2.3"}, "multiples of 0.5"},
		{"bad bool", map[string]string{"vpcEndpoints": "yes please"}, "not true or false"},
		{"zero failure threshold", map[string]string{"executionFailureThreshold": "0"}, "context executionFailureThreshold"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := settings.FromContext(ctx(tt.kv))
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestReportsAllProblemsAtOnce(t *testing.T) {
	t.Parallel()
	_, err := settings.FromContext(ctx(map[string]string{"stage": "BAD", "logRetentionDays": "2", "alarmEmail": "x"}))
	require.ErrorContains(t, err, "context stage")
	require.ErrorContains(t, err, "context logRetentionDays")
	require.ErrorContains(t, err, "context alarmEmail")
}
