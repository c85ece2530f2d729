package service

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/turbocat/turbocat/internal/schedule"
	"github.com/turbocat/turbocat/internal/secrets"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// Deployments puts workflow versions into environments: one engine alias per
// environment pointing at a published version, a signed webhook to start
// runs, and an optional schedule.
type Deployments struct {
	Store      turbocat.Store
	Workflows  turbocat.WorkflowStore
	Executions *Executions
	Secrets    *Secrets
	// PublicURL is the base of endpoint URLs (TURBOCAT_PUBLIC_URL).
	PublicURL string
	// Schedules, on AWS, keeps EventBridge Scheduler schedules in step with
	// deployments; nil where the in-process Scheduler fires them.
	Schedules ScheduleSync
	Now       func() time.Time
}

// ScheduleSync creates, updates and deletes the external schedule of a
// (workflow, environment).
type ScheduleSync interface {
	Put(ctx context.Context, workflowID, environment, expr, timezone, deploymentID string) error
	Delete(ctx context.Context, workflowID, environment string) error
}

func (s *Deployments) now() time.Time { return nowOr(s.Now) }

// DeployInput is the body of POST /workflows/{id}/deployments.
type DeployInput struct {
	Environment string  `json:"environment"`
	Schedule    *string `json:"schedule"`
	Timezone    *string `json:"timezone"`
	// Version pins an earlier version of the workflow; nil deploys the
	// current one.
	Version *int `json:"version"`
	Canary  *struct {
		Weight int `json:"weight"`
	} `json:"canary"`
	// Input is the input of the runs the deployment starts without one:
	// schedule fires, webhook calls with an empty body, and API runs of
	// the environment with no input. It must satisfy the deployed
	// version's inputSchema.
	Input json.RawMessage `json:"input"`
}

// CreatedDeployment carries the webhook signing secret, shown this once: a
// new environment's, or a rotated one. A redeploy keeps the environment's
// secret (SigningSecretKept) and does not show it again.
type CreatedDeployment struct {
	*turbocat.Deployment
	SigningSecret     string `json:"signingSecret,omitempty"`
	SigningSecretKept bool   `json:"signingSecretKept,omitempty"`
}

// EndpointURL is the stable webhook URL of a workflow's environment: every
// deployment to it answers there, with the environment's signing secret.
func EndpointURL(publicURL, workflowID, environment string) string {
	return publicURL + "/hooks/" + workflowID + "/" + environment
}

var environmentName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// WebhookTolerance is how far a webhook's signed timestamp may be from now.
const WebhookTolerance = 5 * time.Minute

func signingAD(userID string) []byte {
	return secrets.AssociatedData(userID, "deployment-signing-secret")
}

// Deploy publishes the workflow's current version (or the one in.Version
// pins) and points the environment's alias at it; the previous active deployment of that
// environment becomes inactive and its version is kept for rollback.
func (s *Deployments) Deploy(ctx context.Context, actor *turbocat.Actor, workflowID string, in DeployInput) (*CreatedDeployment, error) {
	w, err := s.Workflows.Workflow(ctx, actor.UserID, workflowID)
	if err != nil {
		return nil, err
	}
	if _, err := s.Executions.engine(); err != nil {
		return nil, err
	}
	var details []turbocat.FieldError
	if !environmentName.MatchString(in.Environment) {
		details = append(details, turbocat.FieldError{Field: "environment", Message: "must be 1 to 32 lowercase letters, digits or hyphens, starting with a letter (e.g. prod)"})
	}
	if in.Version != nil && *in.Version != w.Version {
		if *in.Version < 1 || *in.Version > w.Version {
			return nil, turbocat.ValidationError("invalid deployment", turbocat.FieldError{Field: "version",
				Message: fmt.Sprintf("must be a version of the workflow, 1 to %d (omit it for the current one)", w.Version)})
		}
		if w, err = s.Workflows.WorkflowVersion(ctx, actor.UserID, workflowID, *in.Version); err != nil {
			return nil, err
		}
	}
	sched := w.Schedule
	if in.Schedule != nil {
		sched = in.Schedule
		if *sched == "" {
			sched = nil
		}
	}
	tz := "UTC"
	if in.Timezone != nil && *in.Timezone != "" {
		tz = *in.Timezone
	}
	if sched != nil {
		if _, err := schedule.Parse(*sched, tz); err != nil {
			msg := err.Error()
			if e := turbocat.AsError(err); e != nil {
				msg = e.Message
			}
			details = append(details, turbocat.FieldError{Field: "schedule", Message: msg})
		}
	}
	input := nullToNil(in.Input)
	if input != nil {
		if err := validateInput(w.InputSchema, input); err != nil {
			details = append(details, inputProblems(err)...)
		}
	} else if sched != nil {
		// Without an input, every fire would start with {scheduledTime}
		// alone: refuse a schedule whose runs could never start.
		if err := validateInput(w.InputSchema, fireInput(w.InputSchema, nil, s.now())); err != nil {
			details = append(details, turbocat.FieldError{Field: "input", Message: fmt.Sprintf(
				"is required: the scheduled runs need an input that matches the workflow's inputSchema (%s); give the deployment an input", problemsText(err))})
		}
	}
	var stable *turbocat.Deployment // the deployment a canary splits with
	if in.Canary != nil {
		if in.Canary.Weight < 1 || in.Canary.Weight > 99 {
			details = append(details, turbocat.FieldError{Field: "canary.weight", Message: "must be 1 to 99 (the percentage of runs on the new version)"})
		} else if stable, err = activeDeployment(ctx, s.Store, actor.UserID, w.ID, in.Environment); err != nil {
			return nil, err
		} else if stable == nil {
			details = append(details, turbocat.FieldError{Field: "canary", Message: "a canary needs an active deployment in this environment to split with; deploy without one first"})
		}
	}
	if len(details) > 0 {
		return nil, turbocat.ValidationError("invalid deployment", details...)
	}
	if s.Secrets == nil || s.Secrets.Cipher == nil {
		return nil, turbocat.Errorf(turbocat.EUNAVAILABLE, "deployments need webhook signing secrets: set TURBOCAT_SECRETS_KEY")
	}
	secret, enc, err := s.newSigningSecret(ctx, actor.UserID)
	if err != nil {
		return nil, err
	}
	endpoint := EndpointURL(s.PublicURL, w.ID, in.Environment)
	d := &turbocat.Deployment{WorkflowID: w.ID, UserID: actor.UserID, Environment: in.Environment, Version: w.Version,
		MayExecute: actor.HasScope("workflows:execute"),
		Schedule:   sched, Timezone: &tz, EndpointURL: &endpoint, Status: turbocat.DeploymentActive, Input: input}
	versionRef, err := s.Executions.Publish(ctx, w)
	routing := []turbocat.AliasRoute{{VersionRef: versionRef, Weight: 100}}
	versions := []int{w.Version} // of routing's entries
	if err == nil && stable != nil {
		var stableRef string
		if stableRef, err = s.versionRef(ctx, actor.UserID, w.ID, stable.Version); err == nil && stable.Version != w.Version {
			routing = []turbocat.AliasRoute{{VersionRef: versionRef, Weight: in.Canary.Weight}, {VersionRef: stableRef, Weight: 100 - in.Canary.Weight}}
			versions = append(versions, stable.Version)
			weight := in.Canary.Weight
			d.CanaryWeight = &weight
		}
	}
	if err == nil {
		var alias string
		alias, err = s.Executions.Engine.SetAlias(ctx, in.Environment, routing)
		if turbocat.ErrorCodeOf(err) == turbocat.ENOTFOUND {
			// A version the engine pruned (an earlier one pinned, or the
			// canary's stable one): publish them again, once.
			err = nil
			for i := 0; err == nil && i < len(routing); i++ {
				routing[i].VersionRef, err = s.republish(ctx, actor.UserID, w.ID, versions[i], routing[i].VersionRef)
			}
			if err == nil {
				versionRef = routing[0].VersionRef
				alias, err = s.Executions.Engine.SetAlias(ctx, in.Environment, routing)
			}
		}
		d.VersionRef, d.AliasRef = &versionRef, &alias
		machine := s.Executions.StateMachineName(w.ID)
		d.StateMachineRef = &machine
	}
	if err != nil {
		// Recorded as failed, with the reason, so the user sees what happened.
		msg := "the workflow engine refused the deployment"
		if e := turbocat.AsError(err); e != nil && e.Code != turbocat.EINTERNAL {
			msg = e.Message
		}
		d.Status, d.Error, d.EndpointURL = turbocat.DeploymentFailed, &msg, nil
		if _, cerr := s.Store.CreateDeployment(ctx, d, nil); cerr != nil {
			return nil, cerr
		}
		return &CreatedDeployment{Deployment: d}, nil
	}
	var kept bool
	err = s.Store.InTx(ctx, func(st turbocat.Store) error {
		var err error
		if kept, err = st.CreateDeployment(ctx, d, enc); err != nil {
			return err
		}
		return st.AddEvents(ctx, turbocat.NewEvent(d.UserID, turbocat.EventDeploymentActivated, map[string]any{"deploymentId": d.ID,
			"workflowId": d.WorkflowID, "environment": d.Environment, "version": d.Version, "endpointUrl": d.EndpointURL}))
	})
	if err != nil {
		return nil, err
	}
	if kept {
		secret = ""
	}
	if s.Schedules != nil {
		var err error
		if d.Schedule != nil {
			err = s.Schedules.Put(ctx, d.WorkflowID, d.Environment, *d.Schedule, tz, d.ID)
		} else {
			err = s.Schedules.Delete(ctx, d.WorkflowID, d.Environment)
		}
		if err != nil {
			return nil, fmt.Errorf("deployment %s is active but its schedule could not be updated (deploy again): %w", d.ID, err)
		}
	}
	s.FillNext(d)
	return &CreatedDeployment{Deployment: d, SigningSecret: secret, SigningSecretKept: kept}, nil
}

// activeDeployment returns the user's active deployment of a (workflow,
// environment), or nil when there is none (another user's counts as none).
func activeDeployment(ctx context.Context, store turbocat.DeploymentStore, userID, workflowID, env string) (*turbocat.Deployment, error) {
	d, _, err := store.ActiveDeployment(ctx, workflowID, env)
	if turbocat.ErrorCodeOf(err) == turbocat.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if d.UserID != userID {
		return nil, nil
	}
	return d, nil
}

// versionRef returns the engine reference of a workflow version,
// publishing it if needed.
func (s *Deployments) versionRef(ctx context.Context, userID, workflowID string, version int) (string, error) {
	w, err := s.Workflows.WorkflowVersion(ctx, userID, workflowID, version)
	if err != nil {
		return "", err
	}
	return s.Executions.Publish(ctx, w)
}

// republish publishes a workflow version the engine lost (its reference
// lost) again and returns its new reference.
func (s *Deployments) republish(ctx context.Context, userID, workflowID string, version int, lost string) (string, error) {
	w, err := s.Workflows.WorkflowVersion(ctx, userID, workflowID, version)
	if err != nil {
		return "", err
	}
	return s.Executions.republish(ctx, w, lost)
}

// newSigningSecret makes a webhook signing secret and its ciphertext.
func (s *Deployments) newSigningSecret(ctx context.Context, userID string) (string, []byte, error) {
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	secret := "whsec_" + hex.EncodeToString(raw[:])
	enc, err := s.Secrets.Cipher.Encrypt(ctx, []byte(secret), signingAD(userID))
	if err != nil {
		return "", nil, fmt.Errorf("encrypt signing secret: %w", err)
	}
	return secret, enc, nil
}

// RotateSecret gives an active deployment a new webhook signing secret,
// returned this once; calls signed with the old one are refused at once.
func (s *Deployments) RotateSecret(ctx context.Context, actor *turbocat.Actor, id string) (*CreatedDeployment, error) {
	if s.Secrets == nil || s.Secrets.Cipher == nil {
		return nil, turbocat.Errorf(turbocat.EUNAVAILABLE, "deployments need webhook signing secrets: set TURBOCAT_SECRETS_KEY")
	}
	secret, enc, err := s.newSigningSecret(ctx, actor.UserID)
	if err != nil {
		return nil, err
	}
	d, err := s.Store.SetSigningSecret(ctx, actor.UserID, id, enc)
	if err != nil {
		return nil, err
	}
	s.FillNext(d)
	return &CreatedDeployment{Deployment: d, SigningSecret: secret}, nil
}

// List returns a page of the actor's deployments, each with its next three
// fire times.
func (s *Deployments) List(ctx context.Context, actor *turbocat.Actor, f turbocat.DeploymentFilter, p turbocat.Page) (*turbocat.List[*turbocat.Deployment], error) {
	list, err := s.Store.ListDeployments(ctx, actor.UserID, f, p)
	if err != nil {
		return nil, err
	}
	for _, d := range list.Items {
		s.FillNext(d)
	}
	return list, nil
}

// Get returns a deployment with its next three fire times.
func (s *Deployments) Get(ctx context.Context, actor *turbocat.Actor, id string) (*turbocat.Deployment, error) {
	d, err := s.Store.Deployment(ctx, actor.UserID, id)
	if err != nil {
		return nil, err
	}
	s.FillNext(d)
	return d, nil
}

// MaxActiveWorkflows bounds ActiveWorkflows: the tools one MCP client is
// offered.
const MaxActiveWorkflows = 500

// ActiveWorkflows lists the actor's active deployments (at most
// MaxActiveWorkflows, by workflow name and environment), each with the
// description and inputSchema of the version it runs.
func (s *Deployments) ActiveWorkflows(ctx context.Context, actor *turbocat.Actor) ([]*turbocat.DeployedWorkflow, error) {
	return s.Store.ActiveWorkflows(ctx, actor.UserID, MaxActiveWorkflows)
}

// FillNext sets the next three fire times of an active scheduled deployment.
func (s *Deployments) FillNext(d *turbocat.Deployment) {
	if d.Schedule == nil || d.Status != turbocat.DeploymentActive {
		return
	}
	tz := "UTC"
	if d.Timezone != nil {
		tz = *d.Timezone
	}
	if sc, err := schedule.Parse(*d.Schedule, tz); err == nil {
		d.NextFires = sc.NextN(s.now(), 3)
	}
}

// Rollback points the environment's alias back at the previous version.
func (s *Deployments) Rollback(ctx context.Context, actor *turbocat.Actor, id string) (*turbocat.Deployment, error) {
	d, err := s.Store.Deployment(ctx, actor.UserID, id)
	if err != nil {
		return nil, err
	}
	if _, err := s.Executions.engine(); err != nil {
		return nil, err
	}
	if d.Status != turbocat.DeploymentActive || d.PreviousVersion == nil || *d.PreviousVersion == d.Version {
		return nil, turbocat.Errorf(turbocat.ECONFLICT, "this deployment has no previous version to roll back to")
	}
	ref, err := s.versionRef(ctx, actor.UserID, d.WorkflowID, *d.PreviousVersion)
	if err != nil {
		return nil, err
	}
	_, err = s.Executions.Engine.SetAlias(ctx, d.Environment, []turbocat.AliasRoute{{VersionRef: ref, Weight: 100}})
	if turbocat.ErrorCodeOf(err) == turbocat.ENOTFOUND {
		// The engine no longer has the version (pruned past the versions
		// each machine keeps): publish its definition again, once.
		if ref, err = s.republish(ctx, actor.UserID, d.WorkflowID, *d.PreviousVersion, ref); err == nil {
			_, err = s.Executions.Engine.SetAlias(ctx, d.Environment, []turbocat.AliasRoute{{VersionRef: ref, Weight: 100}})
		}
	}
	if err != nil {
		return nil, fmt.Errorf("roll back alias %s: %w", d.Environment, err)
	}
	out, err := s.Store.RollbackDeployment(ctx, actor.UserID, id, turbocat.Rollback{Version: *d.PreviousVersion, Previous: d.Version, VersionRef: ref})
	if err != nil {
		return nil, err
	}
	s.FillNext(out)
	return out, nil
}

// Deactivate stops a deployment: its webhook answers 404 and its schedule
// no longer fires.
func (s *Deployments) Deactivate(ctx context.Context, actor *turbocat.Actor, id string) (*turbocat.Deployment, error) {
	d, err := s.Store.DeactivateDeployment(ctx, actor.UserID, id)
	if err != nil {
		return nil, err
	}
	if s.Schedules != nil {
		if err := s.Schedules.Delete(ctx, d.WorkflowID, d.Environment); err != nil {
			return nil, fmt.Errorf("deployment %s is inactive but its schedule could not be deleted: %w", d.ID, err)
		}
	}
	return d, nil
}

var errMayNotExecute = turbocat.Errorf(turbocat.EFORBIDDEN, "this deployment was made with an API key without workflows:execute, so its webhook and schedule cannot start runs: deploy it again from a signed-in session or with a key that has workflows:execute")

var errBadSignature = turbocat.Errorf(turbocat.EUNAUTHORIZED, "missing or invalid X-Turbocat-Signature: sign \"<t>.<body>\" with HMAC-SHA256 and the deployment's signing secret, send t=<unix seconds>,v1=<hex>")

// staleSignature answers a signature whose timestamp is outside the
// tolerance window.
func staleSignature(skew time.Duration) error {
	when := "old"
	if skew < 0 {
		when, skew = "in the future", -skew
	}
	return turbocat.Errorf(turbocat.EUNAUTHORIZED, "the X-Turbocat-Signature timestamp t is %s %s: requests are accepted within %s of t; sign each request when you send it (and check the sender's clock)",
		skew.Round(time.Second), when, WebhookTolerance)
}

// Sign returns the X-Turbocat-Signature value for body at t.
func Sign(secret string, t time.Time, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%d.", t.Unix())
	mac.Write(body)
	return fmt.Sprintf("t=%d,v1=%s", t.Unix(), hex.EncodeToString(mac.Sum(nil)))
}

// Hook starts a run from a signed webhook call. The same Idempotency-Key
// returns the first run instead of starting another.
func (s *Deployments) Hook(ctx context.Context, id, signature, idempotencyKey string, body []byte) (*turbocat.Execution, error) {
	d, enc, err := s.Store.DeploymentByID(ctx, id)
	return s.hook(ctx, d, enc, err, signature, idempotencyKey, body)
}

// HookEnvironment is Hook for the stable URL of a workflow's environment:
// the run goes to whichever deployment is active there.
func (s *Deployments) HookEnvironment(ctx context.Context, workflowID, environment, signature, idempotencyKey string, body []byte) (*turbocat.Execution, error) {
	d, enc, err := s.Store.ActiveDeployment(ctx, workflowID, environment)
	return s.hook(ctx, d, enc, err, signature, idempotencyKey, body)
}

func (s *Deployments) hook(ctx context.Context, d *turbocat.Deployment, enc []byte, err error, signature, idempotencyKey string, body []byte) (*turbocat.Execution, error) {
	if err != nil || d.Status != turbocat.DeploymentActive || len(enc) == 0 {
		return nil, turbocat.NotFound("active deployment")
	}
	secret, err := s.Secrets.Cipher.Decrypt(ctx, enc, signingAD(d.UserID))
	if err != nil {
		return nil, fmt.Errorf("decrypt signing secret of deployment %s: %w", d.ID, err)
	}
	if err := s.checkSignature(string(secret), signature, body); err != nil {
		return nil, err
	}
	if err := checkIdempotencyKey("Idempotency-Key", idempotencyKey); err != nil {
		return nil, err
	}
	if !d.MayExecute {
		return nil, errMayNotExecute
	}
	// A signed request is accepted once; a deliberate retry carries the
	// same Idempotency-Key and gets the first run.
	sum := sha256.Sum256([]byte(signature))
	first, firstKey, err := s.Store.RecordWebhookSignature(ctx, d.ID, sum[:], idempotencyKey)
	if err != nil {
		return nil, err
	}
	if !first && (idempotencyKey == "" || idempotencyKey != firstKey) {
		return nil, turbocat.Errorf(turbocat.EREPLAYED, "this signed request was accepted before: sign each new request anew (a new t), or resend it with the Idempotency-Key it first carried to get its run")
	}
	key := ""
	if idempotencyKey != "" {
		key = "webhook:" + idempotencyKey
	}
	var input json.RawMessage
	if len(strings.TrimSpace(string(body))) > 0 {
		if !json.Valid(body) {
			return nil, turbocat.ValidationError("the webhook body must be JSON (the run's input)")
		}
		input = body
	}
	ctx = turbocat.WithActor(ctx, &turbocat.Actor{UserID: d.UserID})
	return s.Executions.StartDeployed(ctx, d, input, turbocat.TriggerWebhook, key)
}

// checkSignature verifies a webhook's X-Turbocat-Signature: errBadSignature,
// or a message naming the tolerance window for a stale timestamp.
func (s *Deployments) checkSignature(secret, header string, body []byte) error {
	var ts, v1 string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			v1 = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || v1 == "" {
		return errBadSignature
	}
	t := time.Unix(sec, 0)
	want := Sign(secret, t, body)
	_, wantV1, _ := strings.Cut(want, "v1=")
	if !hmac.Equal([]byte(wantV1), []byte(v1)) {
		return errBadSignature
	}
	// Only a correctly signed request learns that its time was the fault.
	if d := s.now().Sub(t); d > WebhookTolerance || d < -WebhookTolerance {
		return staleSignature(d)
	}
	return nil
}

// Fire starts the run a schedule fire asks for. Fires are delivered at
// least once: the same (deployment, scheduled time) starts one run. A fire
// that cannot start (its input does not match the inputSchema, the
// deployment may not start runs, ...) is recorded as a failed run of the
// deployment, trigger schedule, with the reason, and returned with the
// error.
func (s *Deployments) Fire(ctx context.Context, id string, scheduled time.Time) (*turbocat.Execution, error) {
	d, _, err := s.Store.DeploymentByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if d.Status != turbocat.DeploymentActive || d.Schedule == nil {
		return nil, turbocat.Errorf(turbocat.ECONFLICT, "deployment %s is not active with a schedule", id)
	}
	key := "schedule:" + scheduled.UTC().Format(time.RFC3339)
	ctx = turbocat.WithActor(ctx, &turbocat.Actor{UserID: d.UserID})
	w, err := s.Workflows.WorkflowVersion(ctx, d.UserID, d.WorkflowID, d.Version)
	if err != nil {
		return nil, err
	}
	input := fireInput(w.InputSchema, d.Input, scheduled)
	if !d.MayExecute {
		return s.failedFire(ctx, d, input, key, errMayNotExecute)
	}
	e, err := s.Executions.StartDeployed(ctx, d, input, turbocat.TriggerSchedule, key)
	switch turbocat.ErrorCodeOf(err) {
	case turbocat.EVALIDATION, turbocat.EFORBIDDEN, turbocat.ENOTFOUND, turbocat.EQUOTA:
		return s.failedFire(ctx, d, input, key, err)
	}
	return e, err
}

// fireInput is the input of a schedule fire: the deployment's input (or
// {}) with scheduledTime added when the inputSchema accepts it (and the
// input has no scheduledTime of its own).
func fireInput(schema, input json.RawMessage, scheduled time.Time) json.RawMessage {
	base := map[string]any{}
	if len(input) > 0 {
		if json.Unmarshal(input, &base) != nil {
			return input
		}
	}
	if _, ok := base["scheduledTime"]; !ok {
		base["scheduledTime"] = scheduled.UTC().Format(time.RFC3339)
		with, _ := json.Marshal(base)
		if len(schema) == 0 || validateInput(schema, with) == nil {
			return with
		}
		delete(base, "scheduledTime")
	}
	out, _ := json.Marshal(base)
	return out
}

// failedFire records a schedule fire that could not start as a failed run
// of the deployment (once per fire), with the reason as its error, so the
// deployment, the console and the CLI show it and execution.failed
// webhooks hear of it.
func (s *Deployments) failedFire(ctx context.Context, d *turbocat.Deployment, input json.RawMessage, key string, cause error) (*turbocat.Execution, error) {
	id := d.ID
	ne := turbocat.NewExecution{WorkflowID: d.WorkflowID, WorkflowVersion: d.Version, UserID: d.UserID, DeploymentID: &id,
		Trigger: turbocat.TriggerSchedule, Input: input, IdempotencyKey: &key}
	ne.RequestHash = requestHash(ne)
	e, created, err := s.Executions.Store.CreateExecution(ctx, ne)
	if err != nil {
		return nil, errors.Join(cause, err)
	}
	if created || e.Status == turbocat.ExecutionPending || e.Status == turbocat.ExecutionQueued {
		msg := problemsText(cause)
		errJSON, _ := json.Marshal(map[string]string{"error": "Schedule.StartFailed", "cause": "the scheduled run could not start: " + msg})
		ev := turbocat.NewEvent(e.UserID, turbocat.EventExecutionFailed, map[string]any{"executionId": e.ID, "workflowId": e.WorkflowID,
			"deploymentId": d.ID, "status": turbocat.ExecutionFailed, "error": "Schedule.StartFailed", "cause": msg})
		if _, err := s.Executions.Store.FinishExecution(ctx, e.ID, turbocat.Outcome{Status: turbocat.ExecutionFailed, Error: errJSON,
			Events: []turbocat.Event{ev}}); err != nil {
			return nil, errors.Join(cause, err)
		}
		if e, err = s.Executions.Store.ExecutionByID(ctx, e.ID); err != nil {
			return nil, errors.Join(cause, err)
		}
	}
	return e, cause
}

// inputProblems are the field errors of an input validation error.
func inputProblems(err error) []turbocat.FieldError {
	if e := turbocat.AsError(err); e != nil && len(e.Details) > 0 {
		return e.Details
	}
	return []turbocat.FieldError{{Field: "input", Message: problemsText(err)}}
}

// problemsText is an error as one line: its message, or its field errors
// ("input.url: is required; ...").
func problemsText(err error) string {
	e := turbocat.AsError(err)
	if e == nil {
		return err.Error()
	}
	if len(e.Details) == 0 {
		return e.Message
	}
	parts := make([]string, len(e.Details))
	for i, d := range e.Details {
		parts[i] = d.Field + ": " + d.Message
	}
	return e.Message + ": " + strings.Join(parts, "; ")
}
