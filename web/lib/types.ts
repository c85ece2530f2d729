// Shapes of the Turbocat API (internal/httpapi/openapi.json), as the console uses them.

export type FieldError = { field: string; message: string };

export type User = {
  id: string;
  email: string;
  fullName: string;
  role: "user" | "admin";
  createdAt: string;
  updatedAt: string;
};

/** Session is what register, login and refresh answer; refreshToken is absent when it went into the cookie. */
export type Session = { user: User; accessToken: string; refreshToken?: string; expiresIn: number };

export type Page<T> = { items: T[]; nextCursor?: string };

export type AgentType = "code" | "api" | "llm";

export type Agent = {
  id: string;
  templateId: string | null;
  name: string;
  description: string;
  type: AgentType;
  config: Record<string, unknown> | null;
  status: "active" | "disabled";
  createdAt: string;
  updatedAt: string;
};

export type RetryPolicy = {
  maxAttempts?: number;
  intervalSeconds: number;
  backoffRate: number;
  maxDelaySeconds?: number;
  errors?: string[];
};

/** StepType: what a step does (agent when absent). */
export type StepType = "agent" | "wait" | "approval" | "workflow";

export type WorkflowStep = {
  key: string;
  /** type is agent when absent. */
  type?: StepType;
  /** agentId: the agent an agent step runs (agent steps only). */
  agentId?: string;
  dependsOn: string[] | null;
  inputs: Record<string, unknown> | null;
  retry?: RetryPolicy;
  timeoutSeconds?: number;
  /** when: a CEL condition; false records the step skipped. */
  when?: string;
  /** forEach: one template giving a list; the step runs once per item. */
  forEach?: string;
  maxConcurrency?: number;
  /** seconds or until (an RFC 3339 template): how long a wait step waits. */
  seconds?: number;
  until?: string;
  /** workflow: the workflow (name or id) a workflow step runs as a child run. */
  workflow?: string;
  /** onError: fail (the default) or continue. */
  onError?: "fail" | "continue";
};

export type Workflow = {
  id: string;
  name: string;
  description: string;
  inputSchema?: Record<string, unknown>;
  output?: unknown;
  schedule: string | null;
  version: number;
  steps: WorkflowStep[];
  createdAt: string;
  updatedAt: string;
};

export type ExecutionStatus = "queued" | "pending" | "running" | "waiting" | "completed" | "failed" | "cancelled" | "timed_out";
export type StepStatus = "pending" | "running" | "waiting" | "completed" | "failed" | "skipped" | "cancelled";

export type Execution = {
  id: string;
  workflowId: string;
  workflowVersion: number;
  deploymentId: string | null;
  status: ExecutionStatus;
  trigger: "api" | "webhook" | "schedule" | "retry" | "workflow" | "replay" | "mcp";
  inputData: unknown;
  outputData: unknown;
  error: unknown;
  retryOf?: string;
  /** The run a replay replayed (its recorded responses stood in for the calls). */
  replayOf?: string;
  /** The run (and its workflow step) that started this one as a child. */
  parentExecutionId?: string;
  parentStepKey?: string;
  startedAt: string | null;
  completedAt: string | null;
  durationMs: number | null;
  createdAt: string;
};

export type ExecutionStep = {
  executionId: string;
  stepKey: string;
  agentId: string | null;
  status: StepStatus;
  attempt: number;
  input: unknown;
  output: unknown;
  error: unknown;
  startedAt: string | null;
  completedAt: string | null;
  durationMs: number | null;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  /** wakeAt: when a waiting wait step goes on (or an approval times out). */
  wakeAt?: string;
  /** childExecutionId: the run a workflow step started. */
  childExecutionId?: string;
  /** index: the item index of a forEach iteration. */
  index?: number;
  /** iterations: a forEach step's per-item records, in item order. */
  iterations?: ExecutionStep[];
};

/** Definition is the compiled state machine of a workflow version (Amazon States Language). */
export type Definition = { workflowId: string; version: number; stateMachineName: string; definition: unknown };

export type ExecutionDetail = Execution & { steps: ExecutionStep[] };

export type ExecutionLog = {
  sequence: number;
  stepKey: string | null;
  level: "debug" | "info" | "warn" | "error";
  message: string;
  data?: unknown;
  createdAt: string;
};

/** LiveText is a piece of the text a model generates while its step runs (a preview, not stored). */
export type LiveText = {
  executionId: string;
  stepKey: string;
  turn: number;
  text: string;
  time: string;
  /** snapshot: the turn's whole text so far (sent first to a new watcher): replaces, not adds. */
  snapshot?: boolean;
};

/** StepTurn is one recorded model turn or tool call of an llm step's loop. */
export type StepTurn = {
  stepKey: string;
  attempt: number;
  turn: number;
  seq: number;
  kind: "model" | "tool";
  toolCallId?: string;
  toolName?: string;
  model?: string;
  input: unknown;
  output: unknown;
  error: unknown;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  durationMs: number;
  createdAt: string;
};

export type RunResult = { executionId: string; status: ExecutionStatus };

export type AgentTestResult = {
  ok: boolean;
  output?: unknown;
  error?: { error: string; cause: string; retryable?: boolean };
  logs: { time: string; level: string; message: string; data?: unknown }[];
  usage?: { inputTokens?: number; outputTokens?: number; costUsd?: number; model?: string };
  durationMs: number;
};

export type Template = {
  id: string;
  builtIn: boolean;
  kind: "agent" | "workflow";
  name: string;
  description: string;
  category: string;
  agentType?: AgentType;
  definition: unknown;
  createdAt: string;
  updatedAt: string;
};

export type Instantiated = { kind: "agent" | "workflow"; agent?: Agent; workflow?: Workflow; agents?: Agent[] };

export type Deployment = {
  id: string;
  workflowId: string;
  environment: string;
  status: "pending" | "active" | "failed" | "inactive";
  version: number;
  endpointUrl: string | null;
  schedule: string | null;
  timezone: string | null;
  error?: string;
  createdAt: string;
  updatedAt: string;
  activatedAt: string | null;
  /** The version a rollback returns to. */
  previousVersion?: number | null;
  /** The next three scheduled runs (active scheduled deployments, GET by id and deploy only). */
  nextFires?: string[];
};

/** CreatedDeployment is the answer to a deploy: the webhook signing secret, shown this once. */
/** signingSecret is present on the first deployment to an environment (and
 * on rotation); a redeploy keeps the environment's secret and URL. */
export type CreatedDeployment = Deployment & { signingSecret?: string; signingSecretKept?: boolean };

export const SCOPES = [
  "agents:read",
  "agents:write",
  "templates:read",
  "templates:write",
  "workflows:read",
  "workflows:write",
  "workflows:execute",
  "executions:read",
  "executions:write",
  "deployments:read",
  "deployments:write",
  "secrets:read",
  "secrets:write",
  "webhooks:read",
  "webhooks:write",
  "audit:read",
] as const;

export type APIKey = {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt?: string;
  createdAt: string;
};

export type CreatedAPIKey = APIKey & { key: string };

export type SecretMeta = { name: string; createdAt: string; updatedAt: string };

export const WEBHOOK_EVENTS = [
  "execution.started",
  "execution.succeeded",
  "execution.failed",
  "execution.cancelled",
  "step.failed",
  "deployment.activated",
] as const;

export type Webhook = { id: string; url: string; events: string[]; createdAt: string };
export type CreatedWebhook = Webhook & { secret: string };

export type WebhookDelivery = {
  id: string;
  eventId: string;
  eventType: string;
  status: "pending" | "succeeded" | "failed";
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
};

export type AuditEntry = {
  id: number;
  userId: string | null;
  action: string;
  resourceType: string;
  resourceId: string;
  metadata: unknown;
  ip: string;
  userAgent: string;
  requestId: string;
  createdAt: string;
};

/** Spend is model spend over some runs (GET /api/v1/usage). */
export type Spend = { runs: number; costUsd: number; inputTokens: number; outputTokens: number };

/** UsageReport is GET /api/v1/usage: spend by day (UTC) and by workflow. */
export type UsageReport = {
  monthToDate: Spend;
  monthlyBudgetUsd: number | null;
  since: string;
  byDay: (Spend & { day: string })[];
  byWorkflow: (Spend & { workflowId: string; name: string })[];
};
