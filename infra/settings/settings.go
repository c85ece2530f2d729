// Package settings reads the CDK context of the Turbocat app (the -c key=value
// flags and cdk.json "context") into a typed, validated Config. It is pure Go
// so that defaults and validation are tested without the CDK.
package settings

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// DataMode selects where the database lives.
type DataMode string

// Data modes.
const (
	// DataAurora creates a VPC, Aurora Serverless v2 PostgreSQL and an RDS
	// Proxy; the functions run in private subnets.
	DataAurora DataMode = "aurora"
	// DataExternal uses an existing database (Supabase, an existing RDS)
	// whose URL is kept in a Secrets Manager secret; the functions run
	// outside any VPC.
	DataExternal DataMode = "external"
)

// Context keys, as given to `cdk -c key=value` or in cdk.json.
const (
	KeyStage                     = "stage"
	KeyDataMode                  = "dataMode"
	KeyDatabaseSecretARN         = "databaseSecretArn"
	KeyAllowedOrigins            = "allowedOrigins"
	KeyDomainName                = "domainName"
	KeyCertificateARN            = "certificateArn"
	KeyPublicURL                 = "publicUrl"
	KeyAlarmEmail                = "alarmEmail"
	KeyLogRetentionDays          = "logRetentionDays"
	KeyThrottleRateLimit         = "throttleRateLimit"
	KeyThrottleBurstLimit        = "throttleBurstLimit"
	KeyNATGateways               = "natGateways"
	KeyVPCEndpoints              = "vpcEndpoints"
	KeyAuroraMinCapacity         = "auroraMinCapacity"
	KeyAuroraMaxCapacity         = "auroraMaxCapacity"
	KeyExecutionFailureThreshold = "executionFailureThreshold"
	KeyRetainData                = "retainData"
	KeyDeployNonce               = "deployNonce"
	KeyDistDir                   = "distDir"
	KeyOpenAPIPath               = "openapiPath"
	KeyNag                       = "nag"
	KeyArchitecture              = "architecture"
	KeyConsole                   = "console"
)

// Architectures of the functions.
const (
	ArchARM64 = "arm64"
	ArchAMD64 = "amd64"
)

// Config is the validated configuration of one stage.
type Config struct {
	// Stage names the deployment (dev, staging, prod); it prefixes every
	// stack and resource name.
	Stage string
	// DataMode is DataAurora or DataExternal.
	DataMode DataMode
	// DatabaseSecretARN is the existing secret holding the database URL
	// (DataExternal only, required there).
	DatabaseSecretARN string
	// AllowedOrigins are the CORS origins of the HTTP API; empty disables CORS.
	AllowedOrigins []string
	// DomainName and CertificateARN attach an optional custom domain (both
	// or neither).
	DomainName     string
	CertificateARN string
	// PublicURL is the URL the functions put in links (TURBOCAT_PUBLIC_URL).
	// Empty means https://DomainName, or the API endpoint without a domain.
	PublicURL string
	// AlarmEmail subscribes an address to the alarm topic when set.
	AlarmEmail string
	// LogRetentionDays applies to every log group.
	LogRetentionDays int
	// ThrottleRateLimit (requests/s) and ThrottleBurstLimit throttle the
	// HTTP API stage.
	ThrottleRateLimit  float64
	ThrottleBurstLimit int
	// NATGateways is the number of NAT gateways of the VPC (DataAurora).
	NATGateways int
	// VPCEndpoints adds interface endpoints for Step Functions, EventBridge,
	// Scheduler, Secrets Manager, KMS and Lambda (DataAurora).
	VPCEndpoints bool
	// AuroraMinCapacity and AuroraMaxCapacity bound Aurora Serverless v2 ACUs.
	AuroraMinCapacity float64
	AuroraMaxCapacity float64
	// ExecutionFailureThreshold is the number of failed or timed-out
	// executions in 5 minutes that raises the alarm.
	ExecutionFailureThreshold int
	// RetainData keeps the database, secrets and key when the stack is
	// deleted and turns on deletion protection. Defaults to true for "prod".
	RetainData bool
	// DeployNonce changes on every deploy (make deploy sets it) so the
	// migrations custom resource runs each time.
	DeployNonce string
	// DistDir holds <function>/bootstrap, relative to the repository root
	// unless absolute.
	DistDir string
	// OpenAPIPath is the OpenAPI document the routes come from, relative to
	// the repository root unless absolute.
	OpenAPIPath string
	// Nag applies the cdk-nag AwsSolutions checks during synth.
	Nag bool
	// Architecture is the functions' CPU architecture, ArchARM64 (AWS's
	// cheaper Graviton, the default) or ArchAMD64 (LocalStack on an x86
	// host without emulation); dist/ must hold binaries built for it
	// (make build ARCH=...).
	Architecture string
	// Console deploys the web console stack (S3 + CloudFront) when it is
	// built; false leaves it out (LocalStack, whose free plan has no
	// CloudFront).
	Console bool
}

// Getter returns the context value of key and whether it was set.
type Getter func(key string) (string, bool)

var (
	stageRE       = regexp.MustCompile(`^[a-z][a-z0-9-]{0,15}$`)
	arnRE         = regexp.MustCompile(`^arn:aws[a-zA-Z-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]{12}:.+$`)
	domainRE      = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$`)
	retentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)

// FromContext reads every key through get, applies defaults and validates.
// Errors name the context key.
func FromContext(get Getter) (Config, error) {
	p := parser{get: get}
	c := Config{
		Stage:                     p.str(KeyStage, "dev"),
		DataMode:                  DataMode(p.str(KeyDataMode, string(DataAurora))),
		DatabaseSecretARN:         p.str(KeyDatabaseSecretARN, ""),
		AllowedOrigins:            p.list(KeyAllowedOrigins),
		DomainName:                p.str(KeyDomainName, ""),
		CertificateARN:            p.str(KeyCertificateARN, ""),
		PublicURL:                 p.str(KeyPublicURL, ""),
		AlarmEmail:                p.str(KeyAlarmEmail, ""),
		LogRetentionDays:          p.int(KeyLogRetentionDays, 30),
		ThrottleRateLimit:         p.float(KeyThrottleRateLimit, 50),
		ThrottleBurstLimit:        p.int(KeyThrottleBurstLimit, 100),
		NATGateways:               p.int(KeyNATGateways, 1),
		VPCEndpoints:              p.bool(KeyVPCEndpoints, false),
		AuroraMinCapacity:         p.float(KeyAuroraMinCapacity, 0.5),
		AuroraMaxCapacity:         p.float(KeyAuroraMaxCapacity, 4),
		ExecutionFailureThreshold: p.int(KeyExecutionFailureThreshold, 5),
		DeployNonce:               p.str(KeyDeployNonce, ""),
		DistDir:                   p.str(KeyDistDir, "dist"),
		OpenAPIPath:               p.str(KeyOpenAPIPath, "internal/httpapi/openapi.json"),
		Nag:                       p.bool(KeyNag, true),
		Architecture:              p.str(KeyArchitecture, ArchARM64),
		Console:                   p.bool(KeyConsole, true),
	}
	c.RetainData = p.bool(KeyRetainData, c.Stage == "prod")
	if err := errors.Join(p.errs...); err != nil {
		return Config{}, err
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate checks every field and returns all problems at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("context %s: %s", key, fmt.Sprintf(format, args...)))
	}
	if !stageRE.MatchString(c.Stage) {
		bad(KeyStage, "%q must be 1-16 characters of a-z, 0-9 and -, starting with a letter", c.Stage)
	}
	switch c.DataMode {
	case DataAurora:
		if c.DatabaseSecretARN != "" {
			bad(KeyDatabaseSecretARN, "is only used with dataMode=external (aurora creates its own secret)")
		}
	case DataExternal:
		if c.DatabaseSecretARN == "" {
			bad(KeyDatabaseSecretARN, "is required with dataMode=external: the ARN of a Secrets Manager secret whose value is the postgres:// URL")
		} else if !arnRE.MatchString(c.DatabaseSecretARN) || !strings.Contains(c.DatabaseSecretARN, ":secretsmanager:") {
			bad(KeyDatabaseSecretARN, "%q is not a Secrets Manager secret ARN", c.DatabaseSecretARN)
		}
	default:
		bad(KeyDataMode, "%q must be %q or %q", c.DataMode, DataAurora, DataExternal)
	}
	for _, o := range c.AllowedOrigins {
		u, err := url.Parse(o)
		if o == "*" {
			continue
		}
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			bad(KeyAllowedOrigins, "%q is not an origin like https://console.example.com", o)
		}
	}
	if (c.DomainName == "") != (c.CertificateARN == "") {
		bad(KeyDomainName, "domainName and certificateArn go together (set both or neither)")
	}
	if c.DomainName != "" && !domainRE.MatchString(c.DomainName) {
		bad(KeyDomainName, "%q is not a lower-case DNS name", c.DomainName)
	}
	if c.CertificateARN != "" && (!arnRE.MatchString(c.CertificateARN) || !strings.Contains(c.CertificateARN, ":acm:")) {
		bad(KeyCertificateARN, "%q is not an ACM certificate ARN", c.CertificateARN)
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || u.Scheme != "https" || u.Host == "" {
			bad(KeyPublicURL, "%q must be an https:// URL", c.PublicURL)
		}
	}
	if c.AlarmEmail != "" {
		if _, err := mail.ParseAddress(c.AlarmEmail); err != nil {
			bad(KeyAlarmEmail, "%q is not an email address", c.AlarmEmail)
		}
	}
	if !slices.Contains(retentionDays, c.LogRetentionDays) {
		bad(KeyLogRetentionDays, "%d is not a CloudWatch Logs retention (one of %v)", c.LogRetentionDays, retentionDays)
	}
	if c.ThrottleRateLimit <= 0 {
		bad(KeyThrottleRateLimit, "must be positive")
	}
	if c.ThrottleBurstLimit <= 0 {
		bad(KeyThrottleBurstLimit, "must be positive")
	}
	if c.NATGateways < 1 || c.NATGateways > 3 {
		bad(KeyNATGateways, "%d must be 1..3 (functions reach LLM providers through NAT)", c.NATGateways)
	}
	if c.AuroraMinCapacity < 0 || c.AuroraMaxCapacity < 1 || c.AuroraMaxCapacity > 256 || c.AuroraMinCapacity > c.AuroraMaxCapacity {
		bad(KeyAuroraMinCapacity, "need 0 <= auroraMinCapacity <= auroraMaxCapacity, 1 <= auroraMaxCapacity <= 256 (got %g..%g)", c.AuroraMinCapacity, c.AuroraMaxCapacity)
	}
	if !isHalfStep(c.AuroraMinCapacity) || !isHalfStep(c.AuroraMaxCapacity) {
		bad(KeyAuroraMaxCapacity, "Aurora capacities are multiples of 0.5 ACU (got %g..%g)", c.AuroraMinCapacity, c.AuroraMaxCapacity)
	}
	if c.ExecutionFailureThreshold < 1 {
		bad(KeyExecutionFailureThreshold, "must be at least 1")
	}
	if c.DistDir == "" {
		bad(KeyDistDir, "must not be empty")
	}
	if c.OpenAPIPath == "" {
		bad(KeyOpenAPIPath, "must not be empty")
	}
	if c.Architecture != ArchARM64 && c.Architecture != ArchAMD64 {
		bad(KeyArchitecture, "%q must be %q or %q (the ARCH of make build)", c.Architecture, ArchARM64, ArchAMD64)
	}
	return errors.Join(errs...)
}

func isHalfStep(f float64) bool { return f*2 == float64(int(f*2)) }

// StateMachinePrefix is the name prefix of the state machines the stage
// creates at run time ("turbocat-<stage>_"); IAM grants and the
// status-change rules are scoped to it, so stages sharing an account never
// touch each other's machines. The "_", which stage names cannot hold,
// keeps stage "dev" from matching the machines of stage "dev-2".
func (c Config) StateMachinePrefix() string { return c.Name("") + "_" }

// Name returns the resource name prefix of the stage plus suffix, e.g.
// "turbocat-dev-steprunner".
func (c Config) Name(suffix string) string {
	if suffix == "" {
		return "turbocat-" + c.Stage
	}
	return "turbocat-" + c.Stage + "-" + suffix
}

type parser struct {
	get  Getter
	errs []error
}

func (p *parser) str(key, def string) string {
	v, ok := p.get(key)
	v = strings.TrimSpace(v)
	if !ok || v == "" {
		return def
	}
	return v
}

func (p *parser) list(key string) []string {
	var out []string
	for _, s := range strings.Split(p.str(key, ""), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, strings.TrimSuffix(s, "/"))
		}
	}
	return out
}

func (p *parser) int(key string, def int) int {
	v := p.str(key, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("context %s: %q is not an integer", key, v))
		return def
	}
	return n
}

func (p *parser) float(key string, def float64) float64 {
	v := p.str(key, "")
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("context %s: %q is not a number", key, v))
		return def
	}
	return f
}

func (p *parser) bool(key string, def bool) bool {
	v := p.str(key, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("context %s: %q is not true or false", key, v))
		return def
	}
	return b
}
