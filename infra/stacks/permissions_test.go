package stacks_test

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/infra/codeperm"
	"github.com/turbocat/turbocat/infra/stacks"
)

var (
	analysisOnce sync.Once
	analysis     map[string][]string
	analysisErr  error
)

// codeActions is what each function's code can call (infra/codeperm),
// computed once: it loads and analyses every function of the repository.
func codeActions(t *testing.T) map[string][]string {
	t.Helper()
	analysisOnce.Do(func() { analysis, analysisErr = codeperm.Analyze(repoRoot, stacks.FunctionNames()) })
	require.NoError(t, analysisErr)
	return analysis
}

// platform are the grants Lambda itself needs, not the code: writing the
// function's own log group, X-Ray upload by Lambda's tracing, and sending
// failed asynchronous events to the function's dead-letter queue.
var platform = map[string]bool{
	"logs:CreateLogStream": true, "logs:PutLogEvents": true,
	"xray:PutTraceSegments": true, "xray:PutTelemetryRecords": true, "sqs:SendMessage": true,
}

// roleActions returns, per function (short name), the actions its role
// grants beyond the platform's, iam:PassRole written with the service the
// role may be passed to, as codeperm does.
func roleActions(t *testing.T, fx *fixture) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, kind := range []string{"functions", "migrations"} {
		tpl := fx.tpl(t, kind)
		for name, fn := range functionsByName(t, tpl) {
			short := strings.TrimPrefix(name, fx.cfg.Name("")+"-")
			set := map[string]bool{}
			for _, st := range roleStatements(tpl, roleID(t, fn)) {
				for _, a := range st.Actions {
					if platform[a] {
						continue
					}
					if a == "iam:PassRole" {
						svc := st.Conditions["StringEquals"].(map[string]any)["iam:PassedToService"]
						a = fmt.Sprintf("iam:PassRole(%s)", svc)
					}
					set[a] = true
				}
			}
			actions := make([]string, 0, len(set))
			for a := range set {
				actions = append(actions, a)
			}
			sort.Strings(actions)
			out[short] = actions
		}
	}
	return out
}

// mismatches compares what the code can call with what the roles grant.
func mismatches(code, roles map[string][]string) []string {
	var out []string
	names := make([]string, 0, len(roles))
	for n := range roles {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		var lacks, unused []string
		for _, a := range code[n] {
			if !slices.Contains(roles[n], a) {
				lacks = append(lacks, a)
			}
		}
		for _, a := range roles[n] {
			if !slices.Contains(code[n], a) {
				unused = append(unused, a)
			}
		}
		if len(lacks) > 0 {
			out = append(out, fmt.Sprintf("%s: the code can call %v, the role lacks it (AccessDenied on AWS): add the component to internal/awsperm", n, lacks))
		}
		if len(unused) > 0 {
			out = append(out, fmt.Sprintf("%s: the role holds %v, which the code never calls: remove it from internal/awsperm", n, unused))
		}
	}
	return out
}

// TestEveryRoleHoldsExactlyWhatItsCodeCalls: for every function, the
// actions its IAM role grants (built from internal/awsperm) are exactly the
// actions its code can reach (infra/codeperm) — in both data modes, with
// and without the optional functions.
func TestEveryRoleHoldsExactlyWhatItsCodeCalls(t *testing.T) {
	t.Parallel()
	code := codeActions(t)
	eachApp(t, func(t *testing.T, fx *fixture) {
		roles := roleActions(t, fx)
		require.Len(t, roles, len(fx.functions), "every deployed function has a role")
		require.Empty(t, mismatches(code, roles))
	})
}

// TestPermissionCheckCatchesTheDeployDefect: before the table, the
// workflows function deployed workflows (EventBridge Scheduler and passing
// the scheduler role) with a role that could do neither; every deploy with
// a schedule failed on AWS. The same roles fail this check, naming it.
func TestPermissionCheckCatchesTheDeployDefect(t *testing.T) {
	t.Parallel()
	code := codeActions(t)
	require.Contains(t, code["workflows"], "scheduler:CreateSchedule", "POST /workflows/{id}/deployments schedules runs")
	require.Contains(t, code["workflows"], codeperm.PassRoleScheduler)
	roles := roleActions(t, defaultApp(t))
	var old []string // the workflows role as it was: no scheduler grants
	for _, a := range roles["workflows"] {
		if !strings.HasPrefix(a, "scheduler:") && a != codeperm.PassRoleScheduler {
			old = append(old, a)
		}
	}
	roles["workflows"] = old
	require.Equal(t, []string{"workflows: the code can call [iam:PassRole(scheduler.amazonaws.com) scheduler:CreateSchedule scheduler:DeleteSchedule scheduler:UpdateSchedule], the role lacks it (AccessDenied on AWS): add the component to internal/awsperm"},
		mismatches(code, roles))

	// And a grant nobody uses, as the reconciler's states:StopExecution was.
	roles = roleActions(t, defaultApp(t))
	roles["reconciler"] = append(roles["reconciler"], "states:StopExecution")
	require.Equal(t, []string{"reconciler: the role holds [states:StopExecution], which the code never calls: remove it from internal/awsperm"},
		mismatches(code, roles))
}

// TestCodeReachesWhatEachFunctionIsFor pins a few facts of the analysis,
// so that it cannot pass by finding nothing.
func TestCodeReachesWhatEachFunctionIsFor(t *testing.T) {
	t.Parallel()
	code := codeActions(t)
	require.Equal(t, []string{"secretsmanager:GetSecretValue"}, code["auth"], "auth reads its secrets and calls nothing else")
	require.Contains(t, code["reconciler"], "events:PutEvents", "the reconciler's sweep dispatches the event outbox")
	require.Contains(t, code["reconciler"], "states:StartExecution", "the sweep starts runs recorded but never started")
	require.NotContains(t, code["reconciler"], "states:StopExecution")
	for _, fn := range []string{"workflows", "executions", "deployments", "trigger", "steprunner"} {
		require.NotContains(t, code[fn], "events:PutEvents", "%s writes events to the outbox only", fn)
	}
	require.Contains(t, code["steprunner"], "bedrock:InvokeModel")
	require.Contains(t, code["steprunner"], "kms:Decrypt")
	require.NotContains(t, code["steprunner"], "kms:Encrypt", "the step runner only decrypts secrets")
	require.Contains(t, code["executions"], "states:StartExecution")
	require.Contains(t, code["trigger"], "states:CreateStateMachine", "a webhook run of an unpublished version publishes it")
	require.Contains(t, code["workflows"], "states:DeleteStateMachine", "deleting a workflow deletes its machine")
	require.Equal(t, []string{"lambda:InvokeFunction", "secretsmanager:GetSecretValue"}, code["agents"],
		"agent test runs run in the steprunner: the agents function links no executor")
	for fn, actions := range code {
		require.NotContains(t, actions, "states:StartSyncExecution", fn)
		require.NotContains(t, actions, "kms:GenerateDataKey", fn)
	}
}
