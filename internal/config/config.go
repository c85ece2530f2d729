// Package config turns the environment into Turbocat's typed configuration,
// once, at start-up. Every error names the environment variable at fault, and
// secrets never appear in the String or slog form of a Config.
package config

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is the whole configuration of a Turbocat process.
type Config struct {
	Port            int           // PORT
	Listen          string        // TURBOCAT_LISTEN: the API's bind address
	DatabaseURL     string        // DATABASE_URL
	DBMaxConns      int           // TURBOCAT_DB_MAX_CONNS
	JWTSecret       []byte        // TURBOCAT_JWT_SECRET
	JWTSecretARN    string        // TURBOCAT_JWT_SECRET_ARN (Lambda: read from Secrets Manager)
	AccessTokenTTL  time.Duration // TURBOCAT_ACCESS_TOKEN_TTL
	RefreshTokenTTL time.Duration // TURBOCAT_REFRESH_TOKEN_TTL
	SecretsKey      []byte        // TURBOCAT_SECRETS_KEY (32 bytes, base64)
	SecretsKeyARN   string        // TURBOCAT_SECRETS_KEY_ARN (Lambda: read from Secrets Manager)
	AllowedOrigins  []string      // TURBOCAT_ALLOWED_ORIGINS
	PublicURL       string        // TURBOCAT_PUBLIC_URL
	SFNAddr         string        // TURBOCAT_SFN_ADDR
	SFNAccessKeyID  string        // TURBOCAT_SFN_ACCESS_KEY_ID
	SFNSecretKey    string        // TURBOCAT_SFN_SECRET_ACCESS_KEY
	SFNToken        string        // TURBOCAT_SFN_TOKEN
	RuntimeMemoryMB int           // TURBOCAT_RUNTIME_MEMORY_MB
	LogLevel        slog.Level    // TURBOCAT_LOG_LEVEL
	LogFormat       string        // TURBOCAT_LOG_FORMAT: json or text
	MaxAgents       int           // TURBOCAT_MAX_AGENTS
	MaxWorkflows    int           // TURBOCAT_MAX_WORKFLOWS
	RateLimit       float64       // TURBOCAT_RATE_LIMIT: requests per second per user/key
	RateBurst       int           // TURBOCAT_RATE_BURST
	AuthRateLimit   float64       // TURBOCAT_AUTH_RATE_LIMIT: login/register per minute per IP
	IPRateLimit     float64       // TURBOCAT_IP_RATE_LIMIT: requests per second per IP
	HTTPAllowCIDRs  []string      // TURBOCAT_HTTP_ALLOW_CIDRS
	OpenAIBaseURL   string        // TURBOCAT_OPENAI_BASE_URL
	AnthropicBase   string        // TURBOCAT_ANTHROPIC_BASE_URL
	SecretsKMSKey   string        // TURBOCAT_SECRETS_KMS_KEY_ARN
	CodeWorkers     int           // TURBOCAT_CODE_WORKERS
	// CodeWorkersPerUser caps the code workers one user holds at once
	// (TURBOCAT_CODE_WORKERS_PER_USER; 0: all but one).
	CodeWorkersPerUser int
	// Pprof serves Go's profiler at /debug/pprof on turbocat dev
	// (TURBOCAT_PPROF).
	Pprof bool
	// ReconcileInterval is how often unfinished runs are checked against
	// the engine (TURBOCAT_RECONCILE_INTERVAL).
	ReconcileInterval time.Duration
	// LLMPrices overrides and extends the model price table
	// (TURBOCAT_LLM_PRICES: JSON {"model-prefix": {"inputPerMTok": 1,
	// "outputPerMTok": 2}}, USD per million tokens).
	LLMPrices map[string]LLMPrice
	// RetentionDays is how long run logs, the engine journal of finished
	// runs and dispatched events are kept (TURBOCAT_RETENTION_DAYS).
	RetentionDays  int
	Engine         string // TURBOCAT_ENGINE: local or sfn
	SFNRoleARN     string // TURBOCAT_SFN_ROLE_ARN
	SFNLogGroupARN string // TURBOCAT_SFN_LOG_GROUP_ARN
	StepRunnerARN  string // TURBOCAT_STEPRUNNER_ARN
	EventBusName   string // TURBOCAT_EVENT_BUS_NAME
	SchedulerGroup string // TURBOCAT_SCHEDULER_GROUP
	SchedulerRole  string // TURBOCAT_SCHEDULER_ROLE_ARN
	SchedulerDLQ   string // TURBOCAT_SCHEDULER_DLQ_ARN
	TriggerARN     string // TURBOCAT_TRIGGER_ARN
}

// LLMPrice is a model's price in USD per million tokens.
type LLMPrice struct {
	InputPerMTok  float64 `json:"inputPerMTok"`
	OutputPerMTok float64 `json:"outputPerMTok"`
}

// Var documents one environment variable; Vars is the table the README shows.
type Var struct {
	Name, Default, Meaning string
}

// Vars lists every environment variable Turbocat reads.
var Vars = []Var{
	{"PORT", "3001", "HTTP port of `turbocat dev`."},
	{"TURBOCAT_LISTEN", "127.0.0.1", "Address `turbocat dev` binds the API to (`0.0.0.0` to serve other machines; the Step Functions endpoint has its own, TURBOCAT_SFN_ADDR)."},
	{"DATABASE_URL", "postgres://postgres@127.0.0.1:5432/turbocat?sslmode=disable", "Postgres connection URL."},
	{"TURBOCAT_DB_MAX_CONNS", "16 (2 in Lambda)", "Maximum connections in the pool."},
	{"TURBOCAT_JWT_SECRET", "(required; `make dev` creates one)", "HMAC key for access tokens, at least 32 bytes."},
	{"TURBOCAT_JWT_SECRET_ARN", "", "In Lambda: Secrets Manager ARN holding the JWT key instead of TURBOCAT_JWT_SECRET."},
	{"TURBOCAT_ACCESS_TOKEN_TTL", "15m", "Lifetime of access tokens."},
	{"TURBOCAT_REFRESH_TOKEN_TTL", "720h", "Lifetime of refresh tokens."},
	{"TURBOCAT_SECRETS_KEY", "(`make dev` creates one)", "Base64 of 32 bytes: the AES-256-GCM key for agent secrets and webhook signing secrets."},
	{"TURBOCAT_SECRETS_KEY_ARN", "", "In Lambda: Secrets Manager ARN holding TURBOCAT_SECRETS_KEY's value."},
	{"TURBOCAT_ALLOWED_ORIGINS", "http://localhost:3001,http://localhost:3000", "Comma-separated CORS origins allowed to call the API with credentials."},
	{"TURBOCAT_PUBLIC_URL", "http://localhost:<PORT>", "Absolute base URL used in deployment endpoint URLs."},
	{"TURBOCAT_SFN_ADDR", "127.0.0.1:8083", "Address of the local Step Functions-compatible endpoint."},
	{"TURBOCAT_SFN_ACCESS_KEY_ID", "(`make dev` creates one)", "Access key id the local Step Functions endpoint accepts in SigV4-signed requests (with TURBOCAT_SFN_SECRET_ACCESS_KEY)."},
	{"TURBOCAT_SFN_SECRET_ACCESS_KEY", "(`make dev` creates one)", "Secret of that access key, at least 16 characters. Without a key (or TURBOCAT_SFN_TOKEN) the endpoint refuses every request."},
	{"TURBOCAT_SFN_TOKEN", "(empty)", "Bearer token the local Step Functions endpoint also accepts (`Authorization: Bearer ...`), at least 16 characters."},
	{"TURBOCAT_RUNTIME_MEMORY_MB", "256", "Memory the local runtime keeps for closed executions' history, in MiB; older ones are then read from the journal."},
	{"TURBOCAT_LOG_LEVEL", "info", "debug, info, warn or error."},
	{"TURBOCAT_LOG_FORMAT", "text (json in Lambda)", "Log format: json or text."},
	{"TURBOCAT_MAX_AGENTS", "100", "Agents a user may own."},
	{"TURBOCAT_MAX_WORKFLOWS", "100", "Workflows a user may own."},
	{"TURBOCAT_RATE_LIMIT", "50", "Requests per second per user or API key."},
	{"TURBOCAT_RATE_BURST", "100", "Burst size of the per-user limit."},
	{"TURBOCAT_IP_RATE_LIMIT", "100", "Requests per second per client IP."},
	{"TURBOCAT_AUTH_RATE_LIMIT", "20", "Login/register/refresh attempts per minute per client IP."},
	{"TURBOCAT_HTTP_ALLOW_CIDRS", "", "CIDRs API agents may reach despite SSRF protection (local development only), e.g. 127.0.0.0/8,::1/128."},
	{"TURBOCAT_OPENAI_BASE_URL", "https://api.openai.com/v1", "Default base URL of `openai` LLM agents (any OpenAI-compatible server: Ollama, vLLM, a gateway); an agent's baseUrl wins."},
	{"TURBOCAT_ANTHROPIC_BASE_URL", "https://api.anthropic.com", "Default base URL of `anthropic` LLM agents."},
	{"TURBOCAT_SECRETS_KMS_KEY_ARN", "", "On AWS: KMS key that encrypts agent secrets (instead of TURBOCAT_SECRETS_KEY)."},
	{"TURBOCAT_CODE_WORKERS", "2 (1 in Lambda)", "Sandboxed worker processes for code agents (concurrent code runs)."},
	{"TURBOCAT_RECONCILE_INTERVAL", "10s", "How often `turbocat dev` checks every unfinished run against the engine."},
	{"TURBOCAT_CODE_WORKERS_PER_USER", "0 (all but one)", "Code workers one user's runs may hold at once; waiting runs are served round robin between users, so one user's long scripts never hold every worker."},
	{"TURBOCAT_RETENTION_DAYS", "90", "Days run log lines, recorded model turns and tool calls, the engine journal of finished runs, dispatched events and webhook deliveries are kept (AWS keeps Step Functions history 90 days); pruned hourly."},
	{"TURBOCAT_LLM_PRICES", "(built in)", "JSON object overriding and extending the model price table, USD per million tokens by model name prefix, e.g. {\"gpt-4o\": {\"inputPerMTok\": 2.5, \"outputPerMTok\": 10}}; costs and budgets use it."},
	{"TURBOCAT_PPROF", "false", "true serves Go's profiler at /debug/pprof on `turbocat dev` (for measuring it under load)."},
	{"TURBOCAT_ENGINE", "local (sfn in Lambda)", "Workflow engine: `local` (the built-in Step Functions runtime) or `sfn` (AWS Step Functions)."},
	{"TURBOCAT_SFN_ROLE_ARN", "", "sfn: the IAM role state machines run as (the CDK app sets it)."},
	{"TURBOCAT_SFN_LOG_GROUP_ARN", "", "sfn: CloudWatch log group of the state machines."},
	{"TURBOCAT_STEPRUNNER_ARN", "", "sfn: the steprunner function's ARN, placed in compiled Task states."},
	{"TURBOCAT_SCHEDULER_GROUP", "", "On AWS: the EventBridge Scheduler group deployments' schedules are created in (with the next three; the CDK app sets them)."},
	{"TURBOCAT_SCHEDULER_ROLE_ARN", "", "On AWS: the role EventBridge Scheduler assumes to invoke the trigger function."},
	{"TURBOCAT_SCHEDULER_DLQ_ARN", "", "On AWS: dead-letter queue of schedule fires that could not be delivered."},
	{"TURBOCAT_TRIGGER_ARN", "", "On AWS: the trigger function's ARN, the schedules' target."},
	{"TURBOCAT_EVENT_BUS_NAME", "", "On AWS: the EventBridge bus lifecycle events are published to (the deliverer function sends the webhooks); empty: delivered in process."},
}

// InLambda reports whether the process runs in AWS Lambda.
func InLambda() bool { return os.Getenv("AWS_LAMBDA_FUNCTION_NAME") != "" }

// Load reads the environment. It does not validate; call Validate.
func Load() (*Config, error) { return load(os.Getenv) }

func load(getenv func(string) string) (*Config, error) {
	p := parser{getenv: getenv}
	c := &Config{
		Port:            p.int("PORT", 3001),
		Listen:          p.str("TURBOCAT_LISTEN", "127.0.0.1"),
		DatabaseURL:     p.str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/turbocat?sslmode=disable"),
		JWTSecret:       []byte(getenv("TURBOCAT_JWT_SECRET")),
		JWTSecretARN:    getenv("TURBOCAT_JWT_SECRET_ARN"),
		SecretsKeyARN:   getenv("TURBOCAT_SECRETS_KEY_ARN"),
		AccessTokenTTL:  p.duration("TURBOCAT_ACCESS_TOKEN_TTL", 15*time.Minute),
		RefreshTokenTTL: p.duration("TURBOCAT_REFRESH_TOKEN_TTL", 30*24*time.Hour),
		AllowedOrigins:  p.list("TURBOCAT_ALLOWED_ORIGINS", "http://localhost:3001,http://localhost:3000"),
		SFNAddr:         p.str("TURBOCAT_SFN_ADDR", "127.0.0.1:8083"),
		SFNAccessKeyID:  getenv("TURBOCAT_SFN_ACCESS_KEY_ID"),
		SFNSecretKey:    getenv("TURBOCAT_SFN_SECRET_ACCESS_KEY"),
		SFNToken:        getenv("TURBOCAT_SFN_TOKEN"),
		RuntimeMemoryMB: p.int("TURBOCAT_RUNTIME_MEMORY_MB", 256),
		MaxAgents:       p.int("TURBOCAT_MAX_AGENTS", 100),
		MaxWorkflows:    p.int("TURBOCAT_MAX_WORKFLOWS", 100),
		RateLimit:       p.float("TURBOCAT_RATE_LIMIT", 50),
		RateBurst:       p.int("TURBOCAT_RATE_BURST", 100),
		IPRateLimit:     p.float("TURBOCAT_IP_RATE_LIMIT", 100),
		AuthRateLimit:   p.float("TURBOCAT_AUTH_RATE_LIMIT", 20),
		HTTPAllowCIDRs:  p.list("TURBOCAT_HTTP_ALLOW_CIDRS", ""),
		OpenAIBaseURL:   getenv("TURBOCAT_OPENAI_BASE_URL"),
		AnthropicBase:   getenv("TURBOCAT_ANTHROPIC_BASE_URL"),
		SecretsKMSKey:   getenv("TURBOCAT_SECRETS_KMS_KEY_ARN"),
		SFNRoleARN:      getenv("TURBOCAT_SFN_ROLE_ARN"),
		SFNLogGroupARN:  getenv("TURBOCAT_SFN_LOG_GROUP_ARN"),
		StepRunnerARN:   getenv("TURBOCAT_STEPRUNNER_ARN"),
		EventBusName:    getenv("TURBOCAT_EVENT_BUS_NAME"),
		SchedulerGroup:  getenv("TURBOCAT_SCHEDULER_GROUP"),
		SchedulerRole:   getenv("TURBOCAT_SCHEDULER_ROLE_ARN"),
		SchedulerDLQ:    getenv("TURBOCAT_SCHEDULER_DLQ_ARN"),
		TriggerARN:      getenv("TURBOCAT_TRIGGER_ARN"),
	}
	defConns, defFormat := 16, "text"
	if InLambda() {
		defConns, defFormat = 2, "json"
	}
	c.DBMaxConns = p.int("TURBOCAT_DB_MAX_CONNS", defConns)
	defWorkers := 2
	if InLambda() {
		defWorkers = 1
	}
	c.CodeWorkers = p.int("TURBOCAT_CODE_WORKERS", defWorkers)
	c.CodeWorkersPerUser = p.int("TURBOCAT_CODE_WORKERS_PER_USER", 0)
	c.ReconcileInterval = p.duration("TURBOCAT_RECONCILE_INTERVAL", 10*time.Second)
	c.Pprof = p.str("TURBOCAT_PPROF", "false") == "true"
	c.RetentionDays = p.int("TURBOCAT_RETENTION_DAYS", 90)
	if v := p.str("TURBOCAT_LLM_PRICES", ""); v != "" {
		if err := json.Unmarshal([]byte(v), &c.LLMPrices); err != nil {
			p.errs = append(p.errs, fmt.Errorf("TURBOCAT_LLM_PRICES: not a JSON object of {\"model\": {\"inputPerMTok\": n, \"outputPerMTok\": n}}: %w", err))
		}
	}
	defEngine := "local"
	if InLambda() {
		defEngine = "sfn"
	}
	c.Engine = p.str("TURBOCAT_ENGINE", defEngine)
	c.LogFormat = p.str("TURBOCAT_LOG_FORMAT", defFormat)
	c.PublicURL = strings.TrimRight(p.str("TURBOCAT_PUBLIC_URL", fmt.Sprintf("http://localhost:%d", c.Port)), "/")
	if err := c.LogLevel.UnmarshalText([]byte(p.str("TURBOCAT_LOG_LEVEL", "info"))); err != nil {
		p.errs = append(p.errs, fmt.Errorf("TURBOCAT_LOG_LEVEL: %w", err))
	}
	if k := getenv("TURBOCAT_SECRETS_KEY"); k != "" {
		b, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			p.errs = append(p.errs, fmt.Errorf("TURBOCAT_SECRETS_KEY: not valid base64: %w", err))
		}
		c.SecretsKey = b
	}
	return c, errors.Join(p.errs...)
}

// Validate checks the configuration hard. needJWT is false for processes
// that never verify tokens (the steprunner, migrate).
func (c *Config) Validate(needJWT bool) error {
	var errs []error
	if _, err := netip.ParseAddr(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("TURBOCAT_LISTEN: %q is not an IP address (127.0.0.1, 0.0.0.0, ::)", c.Listen))
	}
	if c.Port < 1 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("PORT: %d is not a TCP port", c.Port))
	}
	if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		errs = append(errs, errors.New("DATABASE_URL: must be a postgres:// URL"))
	}
	if c.DBMaxConns < 1 {
		errs = append(errs, errors.New("TURBOCAT_DB_MAX_CONNS: must be at least 1"))
	}
	if needJWT && c.JWTSecretARN == "" && len(c.JWTSecret) < 32 {
		errs = append(errs, fmt.Errorf("TURBOCAT_JWT_SECRET: must be at least 32 bytes (got %d); `make dev` creates one in .turbocat/dev.env", len(c.JWTSecret)))
	}
	if c.SecretsKey != nil && len(c.SecretsKey) != 32 {
		errs = append(errs, fmt.Errorf("TURBOCAT_SECRETS_KEY: must decode to 32 bytes (got %d)", len(c.SecretsKey)))
	}
	if c.AccessTokenTTL < time.Minute || c.AccessTokenTTL > 24*time.Hour {
		errs = append(errs, errors.New("TURBOCAT_ACCESS_TOKEN_TTL: must be between 1m and 24h"))
	}
	if c.RefreshTokenTTL < time.Hour {
		errs = append(errs, errors.New("TURBOCAT_REFRESH_TOKEN_TTL: must be at least 1h"))
	}
	for _, o := range c.AllowedOrigins {
		if o == "*" {
			errs = append(errs, errors.New("TURBOCAT_ALLOWED_ORIGINS: '*' is not allowed with credentials; list the origins"))
		} else if u, err := url.Parse(o); err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" {
			errs = append(errs, fmt.Errorf("TURBOCAT_ALLOWED_ORIGINS: %q is not an origin like https://app.example.com", o))
		}
	}
	if u, err := url.Parse(c.PublicURL); err != nil || u.Scheme == "" || u.Host == "" {
		errs = append(errs, fmt.Errorf("TURBOCAT_PUBLIC_URL: %q is not an absolute URL", c.PublicURL))
	}
	for _, v := range []struct{ name, val string }{{"TURBOCAT_OPENAI_BASE_URL", c.OpenAIBaseURL}, {"TURBOCAT_ANTHROPIC_BASE_URL", c.AnthropicBase}} {
		if v.val == "" {
			continue
		}
		if u, err := url.Parse(v.val); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s: %q is not an http(s) URL", v.name, v.val))
		}
	}
	switch c.Engine {
	case "local":
	case "sfn":
		if c.StepRunnerARN == "" || c.SFNRoleARN == "" {
			errs = append(errs, errors.New("TURBOCAT_ENGINE=sfn: TURBOCAT_STEPRUNNER_ARN and TURBOCAT_SFN_ROLE_ARN must be set"))
		}
	default:
		errs = append(errs, fmt.Errorf("TURBOCAT_ENGINE: %q is not local or sfn", c.Engine))
	}
	if c.CodeWorkers < 1 || c.CodeWorkers > 64 {
		errs = append(errs, errors.New("TURBOCAT_CODE_WORKERS: must be 1 to 64"))
	}
	if c.CodeWorkersPerUser < 0 || c.CodeWorkersPerUser > c.CodeWorkers {
		errs = append(errs, errors.New("TURBOCAT_CODE_WORKERS_PER_USER: must be 0 (all workers but one) to TURBOCAT_CODE_WORKERS"))
	}
	if c.RetentionDays < 1 || c.RetentionDays > 3650 {
		errs = append(errs, errors.New("TURBOCAT_RETENTION_DAYS: must be 1 to 3650"))
	}
	if c.ReconcileInterval < time.Second || c.ReconcileInterval > time.Hour {
		errs = append(errs, errors.New("TURBOCAT_RECONCILE_INTERVAL: must be 1s to 1h"))
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("TURBOCAT_LOG_FORMAT: %q is not json or text", c.LogFormat))
	}
	if c.MaxAgents < 1 || c.MaxWorkflows < 1 {
		errs = append(errs, errors.New("TURBOCAT_MAX_AGENTS, TURBOCAT_MAX_WORKFLOWS: must be at least 1"))
	}
	if (c.SFNAccessKeyID == "") != (c.SFNSecretKey == "") {
		errs = append(errs, errors.New("TURBOCAT_SFN_ACCESS_KEY_ID, TURBOCAT_SFN_SECRET_ACCESS_KEY: set both or neither"))
	} else if c.SFNSecretKey != "" && len(c.SFNSecretKey) < 16 {
		errs = append(errs, errors.New("TURBOCAT_SFN_SECRET_ACCESS_KEY: must be at least 16 characters"))
	}
	if c.SFNToken != "" && len(c.SFNToken) < 16 {
		errs = append(errs, errors.New("TURBOCAT_SFN_TOKEN: must be at least 16 characters"))
	}
	if c.RuntimeMemoryMB < 16 || c.RuntimeMemoryMB > 1<<20 {
		errs = append(errs, fmt.Errorf("TURBOCAT_RUNTIME_MEMORY_MB: %d is not between 16 and 1048576", c.RuntimeMemoryMB))
	}
	if c.RateLimit <= 0 || c.RateBurst < 1 || c.IPRateLimit <= 0 || c.AuthRateLimit <= 0 {
		errs = append(errs, errors.New("TURBOCAT_RATE_LIMIT, TURBOCAT_RATE_BURST, TURBOCAT_IP_RATE_LIMIT, TURBOCAT_AUTH_RATE_LIMIT: must be positive"))
	}
	return errors.Join(errs...)
}

// LogValue implements slog.LogValuer without the secrets.
func (c *Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("port", c.Port),
		slog.String("listen", c.Listen),
		slog.String("database", redactURL(c.DatabaseURL)),
		slog.String("public_url", c.PublicURL),
		slog.String("sfn_addr", c.SFNAddr),
		slog.Bool("sfn_credentials_set", c.SFNSecretKey != "" || c.SFNToken != ""),
		slog.Int("runtime_memory_mb", c.RuntimeMemoryMB),
		slog.Any("allowed_origins", c.AllowedOrigins),
		slog.Bool("jwt_secret_set", len(c.JWTSecret) > 0 || c.JWTSecretARN != ""),
		slog.Bool("secrets_key_set", len(c.SecretsKey) > 0),
	)
}

// String implements fmt.Stringer without the secrets.
func (c *Config) String() string { return c.LogValue().String() }

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "REDACTED")
	}
	return u.String()
}

type parser struct {
	getenv func(string) string
	errs   []error
}

func (p *parser) str(name, def string) string {
	if v := p.getenv(name); v != "" {
		return v
	}
	return def
}

func (p *parser) int(name string, def int) int {
	v := p.getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("%s: %q is not an integer", name, v))
		return def
	}
	return n
}

func (p *parser) float(name string, def float64) float64 {
	v := p.getenv(name)
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("%s: %q is not a number", name, v))
		return def
	}
	return f
}

func (p *parser) duration(name string, def time.Duration) time.Duration {
	v := p.getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		p.errs = append(p.errs, fmt.Errorf("%s: %q is not a duration like 15m", name, v))
		return def
	}
	return d
}

func (p *parser) list(name, def string) []string {
	v := p.str(name, def)
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
