package turbocat

import (
	"context"
	"encoding/json"
	"time"
)

// The store interfaces below are Turbocat's storage, implemented by the
// postgres package; business rules live in the service package, over these
// interfaces. Each method that changes data owns its transaction and writes
// the audit row for the change inside it, taking the actor and request from
// ctx. Every method that reads or writes a user's data is scoped by userID:
// another user's object is ENOTFOUND.

// Session is what register, login and refresh return.
type Session struct {
	User        *User  `json:"user"`
	AccessToken string `json:"accessToken"`
	// RefreshToken is empty when it went into the console's cookie.
	RefreshToken string `json:"refreshToken,omitempty"`
	ExpiresIn    int    `json:"expiresIn"`
}

// RefreshToken is a stored refresh token: the hash of the secret, in a
// rotation family.
type RefreshToken struct {
	UserID   string
	FamilyID string
	Hash     []byte
	Expires  time.Time
}

// UserStore manages accounts and credentials.
type UserStore interface {
	// CreateUser inserts a user with an already hashed password. ECONFLICT
	// when the email is taken.
	CreateUser(ctx context.Context, u *User) error
	// UserByEmail returns ENOTFOUND for an unknown email.
	UserByEmail(ctx context.Context, email string) (*User, error)
	// UserByID returns ENOTFOUND for an unknown or deleted user.
	UserByID(ctx context.Context, id string) (*User, error)
	ListUsers(ctx context.Context, p Page) (*List[*User], error)
	// SetPassword stores a new hash and revokes every refresh token.
	SetPassword(ctx context.Context, userID, hash string) error
	// UpdateProfile sets the email and full name. ECONFLICT when the email
	// is taken.
	UpdateProfile(ctx context.Context, userID, email, fullName string) (*User, error)
	DeleteUser(ctx context.Context, userID string) error
	// SetMonthlyBudget sets or (nil) removes the user's monthly budget
	// for model spend. Audited.
	SetMonthlyBudget(ctx context.Context, userID string, usd *float64) error

	// CreateRefreshToken stores a token hash in its family.
	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	// RotateRefreshToken consumes a live token and stores its successor in
	// the same family, atomically. A token already rotated revokes its whole
	// family (and audits it) and returns EUNAUTHORIZED; so do unknown,
	// expired and revoked tokens.
	RotateRefreshToken(ctx context.Context, oldHash, newHash []byte, expires time.Time) (*User, error)
	// RevokeRefreshFamily revokes the family of the given token, if any.
	RevokeRefreshFamily(ctx context.Context, hash []byte) error
	// EndSessions raises the user's token version, ending every access
	// token issued so far; with allRefresh it also revokes every refresh
	// token (logout everywhere). Audited.
	EndSessions(ctx context.Context, userID string, allRefresh bool) error
}

// APIKeyStore manages API keys.
type APIKeyStore interface {
	CreateAPIKey(ctx context.Context, k *APIKey) error
	// APIKeyByPrefix returns the key with its owner's role; ENOTFOUND if none.
	APIKeyByPrefix(ctx context.Context, prefix string) (*APIKey, string, error)
	TouchAPIKey(ctx context.Context, id string) error
	ListAPIKeys(ctx context.Context, userID string, p Page) (*List[*APIKey], error)
	RevokeAPIKey(ctx context.Context, userID, id string) (*APIKey, error)
}

// AgentFilter narrows an agent listing.
type AgentFilter struct {
	Type   string
	Search string
}

// AgentStore manages agents.
type AgentStore interface {
	// CreateAgent returns ECONFLICT for a taken name and EQUOTA past the
	// per-user limit.
	CreateAgent(ctx context.Context, a *Agent, maxAgents int) error
	Agent(ctx context.Context, userID, id string) (*Agent, error)
	ListAgents(ctx context.Context, userID string, f AgentFilter, p Page) (*List[*Agent], error)
	// UpdateAgent applies fn to the stored agent under a row lock and saves
	// the result; ECONFLICT for a taken name.
	UpdateAgent(ctx context.Context, userID, id string, fn func(*Agent) error) (*Agent, error)
	// DeleteAgent returns ECONFLICT while a workflow uses the agent.
	DeleteAgent(ctx context.Context, userID, id string) error
	// OwnedAgents returns the types of those of ids that exist and
	// belong to userID, by id.
	OwnedAgents(ctx context.Context, userID string, ids []string) (map[string]string, error)
	// AgentsByName returns the agents of userID with the given names, by
	// name (names that match none are absent).
	AgentsByName(ctx context.Context, userID string, names []string) (map[string]*Agent, error)
	// AgentsUsingTool returns the names of userID's llm agents whose tools
	// name the agent called name.
	AgentsUsingTool(ctx context.Context, userID, name string) ([]string, error)
	// AgentsUsingWorkflow returns the names of userID's llm agents whose
	// tools name the workflow called name, or with the id.
	AgentsUsingWorkflow(ctx context.Context, userID, name, id string) ([]string, error)
}

// TemplateStore manages templates. Built-in templates are read-only.
type TemplateStore interface {
	CreateTemplate(ctx context.Context, t *Template) error
	Template(ctx context.Context, userID, id string) (*Template, error)
	ListTemplates(ctx context.Context, userID, kind string, p Page) (*List[*Template], error)
	UpdateTemplate(ctx context.Context, userID, id string, fn func(*Template) error) (*Template, error)
	DeleteTemplate(ctx context.Context, userID, id string) error
	// SeedBuiltinTemplates inserts or updates the built-in catalog.
	SeedBuiltinTemplates(ctx context.Context, ts []*Template) error
}

// WorkflowStore manages workflows and their immutable versions.
type WorkflowStore interface {
	// CreateWorkflow stores the workflow, its steps and version 1 in one
	// transaction. ECONFLICT for a taken name, EQUOTA past the limit.
	CreateWorkflow(ctx context.Context, w *Workflow, maxWorkflows int) error
	Workflow(ctx context.Context, userID, id string) (*Workflow, error)
	// WorkflowVersion returns the workflow as it was at version.
	WorkflowVersion(ctx context.Context, userID, id string, version int) (*Workflow, error)
	ListWorkflows(ctx context.Context, userID, search string, p Page) (*List[*Workflow], error)
	// UpdateWorkflow applies fn under a row lock, bumps the version and
	// replaces the steps. fn may validate and return an *Error.
	UpdateWorkflow(ctx context.Context, userID, id string, fn func(*Workflow) error) (*Workflow, error)
	DeleteWorkflow(ctx context.Context, userID, id string) error
}

// DeploymentFilter narrows a deployment listing.
type DeploymentFilter struct {
	WorkflowID  string
	Environment string
}

// SecretMeta is what the API shows of a secret: never its value.
type SecretMeta struct {
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// AuditStore writes and reads the audit log.
type AuditStore interface {
	// Audit records an action outside any other transaction (logins,
	// failed refresh reuse). Mutations audit inside their own transaction.
	Audit(ctx context.Context, action, resourceType, resourceID string, metadata map[string]any) error
	ListAudit(ctx context.Context, f AuditFilter, p Page) (*List[*AuditEntry], error)
}

// Pinger reports whether the database is reachable (GET /ready).
type Pinger interface {
	Ping(ctx context.Context) error
}

// RawJSON returns v marshalled, or nil for a nil v.
func RawJSON(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

// SecretStore stores users' secrets, encrypted by the caller: it never sees
// a plaintext value.
type SecretStore interface {
	// PutSecret creates or replaces a secret; created reports which.
	PutSecret(ctx context.Context, userID, name string, ciphertext []byte) (meta *SecretMeta, created bool, err error)
	ListSecrets(ctx context.Context, userID string) ([]*SecretMeta, error)
	// DeleteSecret returns ENOTFOUND for an unknown name.
	DeleteSecret(ctx context.Context, userID, name string) error
	// SecretCiphertexts returns the stored ciphertexts of the named secrets
	// that exist.
	SecretCiphertexts(ctx context.Context, userID string, names []string) (map[string][]byte, error)
}

// Pruned counts what a retention pass deleted.
type Pruned struct {
	Logs, Deliveries, Signatures int64
	// Turns are recorded model turns and tool calls of llm steps.
	Turns int64
}

// Pruner deletes what its retention has passed: log lines and recorded
// model turns of runs that ended before before, finished webhook deliveries
// older than before (dispatched events are deleted as they are handed on), and webhook signatures seen before signaturesBefore
// (past the replay window).
type Pruner interface {
	Prune(ctx context.Context, before, signaturesBefore time.Time) (Pruned, error)
}

// Store is all of Turbocat's storage. Services that change several things
// at once (instantiating a template, deploying, finishing a run with its
// events) run them through InTx, so they are recorded whole or not at all.
type Store interface {
	UserStore
	APIKeyStore
	AgentStore
	TemplateStore
	WorkflowStore
	ExecutionStore
	DeploymentStore
	SecretStore
	AuditStore
	WebhookStore
	EventStore
	Pruner
	// InTx runs fn with a Store whose every method joins one transaction,
	// committed when fn returns nil and rolled back when it returns an
	// error (which InTx returns). Nested calls are savepoints.
	InTx(ctx context.Context, fn func(Store) error) error
}
