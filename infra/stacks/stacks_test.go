package stacks_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/infra/internal/cdkassert"
	"github.com/turbocat/turbocat/infra/routes"
	"github.com/turbocat/turbocat/infra/settings"
	"github.com/turbocat/turbocat/infra/stacks"
	"github.com/turbocat/turbocat/internal/awsperm"
	"github.com/turbocat/turbocat/internal/corspolicy"
)

func TestNagAwsSolutionsHasNoUnsuppressedErrors(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, fx *fixture) {
		require.Empty(t, fx.nagErrors, "cdk-nag AwsSolutions errors (fix them or suppress with a reason)")
		if len(fx.nagWarns) > 0 {
			t.Logf("cdk-nag warnings: %v", fx.nagWarns)
		}
	})
}

func TestEveryNagSuppressionCarriesAReason(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, fx *fixture) {
		n := 0
		for _, tpl := range fx.templates {
			for _, r := range tpl.Resources("") {
				nag, _ := r.Metadata["cdk_nag"].(map[string]any)
				rules, _ := nag["rules_to_suppress"].([]any)
				for _, x := range rules {
					rule := x.(map[string]any)
					reason, _ := rule["reason"].(string)
					require.GreaterOrEqual(t, len(reason), 30, "suppression %v on %s needs a real reason", rule["id"], r.ID)
					n++
				}
			}
		}
		require.Positive(t, n, "suppressions are recorded in template metadata")
	})
}

func TestEveryDocumentedRouteHasExactlyOneRouteToItsFunction(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, fx *fixture) {
		tpl := fx.tpl(t, "functions")
		apiRoutes := tpl.Resources("AWS::ApiGatewayV2::Route")
		require.Len(t, apiRoutes, len(fx.routes), "one API Gateway route per documented operation of %s, nothing more", fx.docPath)

		integrations := map[string]integrationProps{}
		for _, r := range tpl.Resources("AWS::ApiGatewayV2::Integration") {
			integrations[r.ID] = integrationProps{props: r.Properties}
		}
		fnByID := map[string]string{}
		for name, fn := range functionsByName(t, tpl) {
			fnByID[fn.ID] = name
		}
		for _, want := range fx.routes {
			var matches []string
			for _, r := range apiRoutes {
				if r.Properties["RouteKey"] == want.Key() {
					matches = append(matches, flat(r.Properties["Target"]))
				}
			}
			require.Len(t, matches, 1, "route %s", want.Key())
			target := matches[0]
			require.True(t, strings.HasPrefix(target, "integrations/<Ref:"), "route %s target %s", want.Key(), target)
			integID := strings.TrimSuffix(strings.TrimPrefix(target, "integrations/<Ref:"), ">")
			integ, ok := integrations[integID]
			require.True(t, ok, "route %s integration %s", want.Key(), integID)
			require.Equal(t, "AWS_PROXY", integ.props["IntegrationType"])
			require.Equal(t, "2.0", integ.props["PayloadFormatVersion"])
			uri := flat(integ.props["IntegrationUri"])
			fnID := strings.TrimSuffix(strings.TrimPrefix(uri, "<"), ".Arn>")
			require.Equal(t, fx.cfg.Name(want.Function), fnByID[fnID], "route %s goes to the %s function", want.Key(), want.Function)
		}
	})
}

// integrationProps keeps only the properties of an integration.
type integrationProps struct{ props map[string]any }

func TestUnmappedPathFailsSynthWithClearMessage(t *testing.T) {
	dir := t.TempDir()
	doc := filepath.Join(dir, "openapi.json")
	require.NoError(t, os.WriteFile(doc, []byte(`{"openapi":"3.0.3","paths":{"/health":{"get":{}},"/api/v1/billing/{id}":{"get":{}}}}`), 0o644))
	cfg, err := settings.FromContext(func(key string) (string, bool) {
		switch key {
		case settings.KeyOpenAPIPath:
			return doc, true
		case settings.KeyDistDir:
			return fakeDist(t, stacks.FunctionNames()), true
		}
		return "", false
	})
	require.NoError(t, err)
	children := -1
	cdkassert.Do(t, "new app", func() {
		app := awscdk.NewApp(nil)
		_, err = stacks.NewTurbocat(app, stacks.TurbocatProps{Config: cfg, Root: repoRoot, Functions: stacks.FunctionNames()})
		children = len(*app.Node().Children())
	})
	require.ErrorIs(t, err, routes.ErrUnmapped)
	require.ErrorContains(t, err, `"/api/v1/billing/{id}"`)
	require.Zero(t, children, "nothing is created when the document is wrong")
}

func TestMissingFunctionCodeFailsWithBuildHint(t *testing.T) {
	dist := fakeDist(t, stacks.FunctionNames())
	require.NoError(t, os.Remove(filepath.Join(dist, stacks.StepRunner, "bootstrap")))
	cfg, err := settings.FromContext(func(key string) (string, bool) {
		switch key {
		case settings.KeyOpenAPIPath:
			return fixtureDoc, true
		case settings.KeyDistDir:
			return dist, true
		}
		return "", false
	})
	require.NoError(t, err)
	cdkassert.Do(t, "new app", func() {
		_, err = stacks.NewTurbocat(awscdk.NewApp(nil), stacks.TurbocatProps{Config: cfg, Root: repoRoot, Functions: stacks.FunctionNames()})
	})
	require.ErrorContains(t, err, "make build")
	require.ErrorContains(t, err, filepath.Join(stacks.StepRunner, "bootstrap"))
}

func TestStacksAndDeploymentOrder(t *testing.T) {
	t.Parallel()
	fx := externalApp(t)
	require.Equal(t, []string{"turbocat-dev-data", "turbocat-dev-orchestration", "turbocat-dev-api", "turbocat-dev-migrations", "turbocat-dev-functions", "turbocat-dev-operations"}, fx.stackOrder)
	require.Contains(t, fx.deps["turbocat-dev-functions"], "turbocat-dev-migrations", "code rolls out after its migrations")
	require.Contains(t, fx.deps["turbocat-dev-operations"], "turbocat-dev-functions")
	require.Empty(t, fx.deps["turbocat-dev-data"], "data depends on nothing")
}

func TestEveryFunctionIsArm64ProvidedAL2023WithTracingAndLogs(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, fx *fixture) {
		fns := allFunctions(t, fx)
		require.ElementsMatch(t, namesOf(fx.cfg, fx.functions), sortedKeys(fns), "exactly the functions the app was given")
		specs := stacks.DefaultFunctionSpecs()
		for _, n := range fx.functions {
			p := fns[fx.cfg.Name(n)].Properties
			require.Equal(t, "provided.al2023", p["Runtime"], n)
			require.Equal(t, []any{"arm64"}, p["Architectures"], n)
			require.Equal(t, "bootstrap", p["Handler"], n)
			require.Equal(t, map[string]any{"Mode": "Active"}, p["TracingConfig"], n)
			require.EqualValues(t, specs[n].MemoryMB, p["MemorySize"], n)
			require.EqualValues(t, specs[n].Timeout.Seconds(), p["Timeout"], n)
			logging, _ := p["LoggingConfig"].(map[string]any)
			require.Equal(t, "JSON", logging["LogFormat"], n)
			require.NotEmpty(t, logging["LogGroup"], "%s logs to its own log group", n)
			if specs[n].Async {
				require.NotNil(t, p["DeadLetterConfig"], "%s is invoked asynchronously and needs a DLQ", n)
			}
			if fx.cfg.DataMode == settings.DataAurora {
				require.NotNil(t, p["VpcConfig"], "%s runs in the VPC in aurora mode", n)
			} else {
				require.Nil(t, p["VpcConfig"], "%s runs outside any VPC in external mode", n)
			}
		}
	})
}

func namesOf(cfg settings.Config, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = cfg.Name(n)
	}
	return out
}

// secretLooking matches values that must never be in an environment.
var secretLooking = regexp.MustCompile(`(?i)postgres(ql)?://|resolve:secretsmanager|SecretString|password|BEGIN [A-Z ]*PRIVATE KEY|^[A-Za-z0-9+/=_-]{40,}$`)

func TestEnvironmentsHoldNoSecretValues(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, fx *fixture) {
		// Each function is told only of what its components use.
		componentVars := map[awsperm.Component][]string{
			awsperm.JWTSecret: {"TURBOCAT_JWT_SECRET_ARN"}, awsperm.SecretsKey: {"TURBOCAT_SECRETS_KMS_KEY_ARN"},
			awsperm.SecretsReader: {"TURBOCAT_SECRETS_KMS_KEY_ARN"}, awsperm.EventBus: {"TURBOCAT_EVENT_BUS_NAME"},
			awsperm.StepFunctions:  {"TURBOCAT_ENGINE", "TURBOCAT_SFN_LOG_GROUP_ARN", "TURBOCAT_SFN_ROLE_ARN", "TURBOCAT_STATE_MACHINE_PREFIX", "TURBOCAT_STEPRUNNER_ARN"},
			awsperm.ChildWorkflows: {"TURBOCAT_ENGINE", "TURBOCAT_SFN_LOG_GROUP_ARN", "TURBOCAT_SFN_ROLE_ARN", "TURBOCAT_STATE_MACHINE_PREFIX", "TURBOCAT_STEPRUNNER_ARN"},
			awsperm.Schedules:      {"TURBOCAT_SCHEDULER_DLQ_ARN", "TURBOCAT_SCHEDULER_GROUP", "TURBOCAT_SCHEDULER_ROLE_ARN"},
			awsperm.AgentTests:     {"TURBOCAT_STEPRUNNER_ARN"},
		}
		for name, fn := range allFunctions(t, fx) {
			short := strings.TrimPrefix(name, fx.cfg.Name("")+"-")
			wantKeys := []string{"DATABASE_SECRET_ARN", "TURBOCAT_PUBLIC_URL", "TURBOCAT_STAGE"}
			if len(fx.cfg.AllowedOrigins) > 0 {
				wantKeys = append(wantKeys, "TURBOCAT_ALLOWED_ORIGINS")
			}
			comps, err := awsperm.Components(short)
			require.NoError(t, err)
			for _, c := range comps {
				for _, k := range componentVars[c] {
					if !slices.Contains(wantKeys, k) {
						wantKeys = append(wantKeys, k)
					}
				}
				if c == awsperm.Schedules && fx.has(stacks.TriggerFn) {
					wantKeys = append(wantKeys, "TURBOCAT_TRIGGER_ARN")
				}
			}
			env, _ := fn.Properties["Environment"].(map[string]any)
			vars, _ := env["Variables"].(map[string]any)
			require.ElementsMatch(t, wantKeys, sortedKeys(vars), name)
			for k, v := range vars {
				s := flat(v)
				require.NotRegexp(t, secretLooking, s, "%s %s", name, k)
				if strings.HasSuffix(k, "_ARN") {
					require.True(t, strings.Contains(s, "arn:") || strings.HasPrefix(s, "<import:") || strings.HasPrefix(s, "<Ref:"), "%s %s=%s is an ARN or a reference to one", name, k, s)
				}
			}
			if awsperm.Has(short, awsperm.StepFunctions) || awsperm.Has(short, awsperm.ChildWorkflows) {
				require.Equal(t, "sfn", vars["TURBOCAT_ENGINE"])
				require.Equal(t, fx.cfg.StateMachinePrefix(), vars["TURBOCAT_STATE_MACHINE_PREFIX"])
			}
			if short == stacks.StepRunner {
				// It adds the version it runs as (it cannot be told its own).
				require.Equal(t, "arn:<Ref:AWS::Partition>:lambda:<Ref:AWS::Region>:<Ref:AWS::AccountId>:function:"+name,
					flat(vars["TURBOCAT_STEPRUNNER_ARN"]), "%s: told its own unqualified ARN", name)
			} else if _, ok := vars["TURBOCAT_STEPRUNNER_ARN"]; ok {
				require.Regexp(t, `^<Ref:SteprunnerCurrentVersion[0-9A-F]{8}`, flat(vars["TURBOCAT_STEPRUNNER_ARN"]), "%s: machines invoke the published version", name)
			}
			require.Equal(t, fx.cfg.Stage, vars["TURBOCAT_STAGE"])
			if len(fx.cfg.AllowedOrigins) > 0 {
				require.Equal(t, strings.Join(fx.cfg.AllowedOrigins, ","), vars["TURBOCAT_ALLOWED_ORIGINS"])
			}
			if fx.cfg.DataMode == settings.DataExternal {
				require.Equal(t, externalSecretARN, vars["DATABASE_SECRET_ARN"], name)
			} else {
				require.Equal(t, "<import:turbocat-"+fx.cfg.Stage+"-data:ExportsOutputRefDatabaseUrl", flat(vars["DATABASE_SECRET_ARN"])[:len("<import:turbocat-"+fx.cfg.Stage+"-data:ExportsOutputRefDatabaseUrl")], name)
			}
			if fx.cfg.DomainName != "" {
				require.Equal(t, "https://"+fx.cfg.DomainName, vars["TURBOCAT_PUBLIC_URL"])
			} else {
				require.Contains(t, flat(vars["TURBOCAT_PUBLIC_URL"]), "ApiEndpoint", "without a domain the functions link to the API endpoint")
			}
		}
	})
}

func TestStateMachinePermissionsAreScopedByName(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, fx *fixture) {
		tpl := fx.tpl(t, "functions")
		managers := map[string]bool{}
		for name, fn := range functionsByName(t, tpl) {
			for _, st := range roleStatements(tpl, roleID(t, fn)) {
				for _, a := range st.Actions {
					require.NotContains(t, []string{"*", "states:*", "iam:*", "lambda:*", "events:*", "scheduler:*"}, a, "%s: no service-wide actions", name)
					if strings.HasPrefix(a, "states:") {
						for _, r := range st.Resources {
							if a == "states:ListStateMachines" || a == "states:SendTaskSuccess" || a == "states:SendTaskFailure" {
								require.Equal(t, "*", r, "listing and answering task tokens take no resource")
								continue
							}
							require.Regexp(t, `:states:<Ref:AWS::Region>:<Ref:AWS::AccountId>:(stateMachine|execution):`+regexp.QuoteMeta(fx.cfg.StateMachinePrefix())+`\*(:\*)?$`, r, "%s %s", name, a)
						}
					}
					if a == "states:CreateStateMachine" {
						managers[name] = true
					}
					if a == "iam:PassRole" {
						require.Len(t, st.Resources, 1, "%s passes exactly one role per statement", name)
						require.NotEqual(t, "*", st.Resources[0])
						require.Contains(t, st.Resources[0], "<import:", "%s passes a role of the orchestration stack", name)
						svc := st.Conditions["StringEquals"].(map[string]any)["iam:PassedToService"]
						require.Contains(t, []any{"states.amazonaws.com", "scheduler.amazonaws.com"}, svc, name)
					}
					if strings.HasPrefix(a, "scheduler:") {
						require.Equal(t, []string{"arn:<Ref:AWS::Partition>:scheduler:<Ref:AWS::Region>:<Ref:AWS::AccountId>:schedule/" + fx.cfg.Name("") + "/*"}, st.Resources, name)
					}
				}
			}
		}
		want := map[string]bool{}
		for _, n := range fx.functions {
			if awsperm.Has(n, awsperm.StepFunctions) || awsperm.Has(n, awsperm.ChildWorkflows) {
				want[fx.cfg.Name(n)] = true
			}
		}
		require.Equal(t, want, managers, "exactly the functions that wire Step Functions publish state machines")
	})
}

func TestStateMachineRoleInvokesOnlyTheStepRunner(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, fx *fixture) {
		tpl := fx.tpl(t, "orchestration")
		roles := tpl.Resources("AWS::IAM::Role")
		var sfnRole, schedRole string
		for _, r := range roles {
			require.Nil(t, r.Properties["RoleName"], "roles are global: generated names let a stage live in two regions")
			trust := flat(r.Properties["AssumeRolePolicyDocument"])
			switch {
			case strings.Contains(trust, "states.amazonaws.com"):
				sfnRole = r.ID
				require.Contains(t, trust, "aws:SourceAccount")
			case strings.Contains(trust, "scheduler.amazonaws.com"):
				schedRole = r.ID
			}
		}
		require.NotEmpty(t, sfnRole)
		require.NotEmpty(t, schedRole)
		check := func(role, fn string) {
			t.Helper()
			invokes := 0
			for _, st := range roleStatements(tpl, role) {
				for _, a := range st.Actions {
					if strings.HasPrefix(a, "lambda:") {
						invokes++
						require.Equal(t, "lambda:InvokeFunction", a)
						base := "arn:<Ref:AWS::Partition>:lambda:<Ref:AWS::Region>:<Ref:AWS::AccountId>:function:" + fx.cfg.Name(fn)
						require.ElementsMatch(t, []string{base, base + ":*"}, st.Resources)
					}
				}
			}
			want := 0
			if fx.has(fn) {
				want = 1
			}
			require.Equal(t, want, invokes, "role %s invokes %s exactly when it is deployed", role, fn)
		}
		check(sfnRole, stacks.StepRunner)
		check(schedRole, stacks.TriggerFn)
	})
}

func TestLogRetentionFollowsContext(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, fx *fixture) {
		n := 0
		for stack, tpl := range fx.templates {
			for _, lg := range tpl.Resources("AWS::Logs::LogGroup") {
				require.EqualValues(t, fx.cfg.LogRetentionDays, lg.Properties["RetentionInDays"], "%s %s", stack, lg.ID)
				n++
			}
			require.Empty(t, tpl.Resources("Custom::LogRetention"), "no log-retention Lambda: log groups are created explicitly")
		}
		require.GreaterOrEqual(t, n, len(fx.functions)+2, "a log group per function, API access logs and state machines")
	})
}

func TestApiThrottlingCorsAccessLogsAndDomain(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, fx *fixture) {
		tpl := fx.tpl(t, "api")
		tpl.ResourceCountIs("AWS::ApiGatewayV2::Api", 1)
		stage := tpl.Resources("AWS::ApiGatewayV2::Stage")
		require.Len(t, stage, 1)
		p := stage[0].Properties
		require.Equal(t, "$default", p["StageName"])
		require.Equal(t, true, p["AutoDeploy"])
		rs := p["DefaultRouteSettings"].(map[string]any)
		require.EqualValues(t, fx.cfg.ThrottleRateLimit, rs["ThrottlingRateLimit"])
		require.EqualValues(t, fx.cfg.ThrottleBurstLimit, rs["ThrottlingBurstLimit"])
		logs := p["AccessLogSettings"].(map[string]any)
		require.Contains(t, logs["Format"], "$context.requestId")
		require.Contains(t, flat(logs["DestinationArn"]), "AccessLogs")

		api := tpl.Resources("AWS::ApiGatewayV2::Api")[0].Properties
		if len(fx.cfg.AllowedOrigins) == 0 {
			require.Nil(t, api["CorsConfiguration"], "no CORS without allowedOrigins")
		} else {
			cors := api["CorsConfiguration"].(map[string]any)
			require.ElementsMatch(t, fx.cfg.AllowedOrigins, list(cors["AllowOrigins"]))
			// The same headers as the HTTP layer's own preflight answer:
			// API keys and MCP clients work from the browser on AWS too.
			require.ElementsMatch(t, corspolicy.AllowHeaders, list(cors["AllowHeaders"]))
			require.ElementsMatch(t, corspolicy.ExposeHeaders, list(cors["ExposeHeaders"]))
		}
		if fx.cfg.DomainName == "" {
			tpl.ResourceCountIs("AWS::ApiGatewayV2::DomainName", 0)
		} else {
			tpl.HasResourceProperties("AWS::ApiGatewayV2::DomainName", map[string]any{"DomainName": fx.cfg.DomainName})
			tpl.ResourceCountIs("AWS::ApiGatewayV2::ApiMapping", 1)
		}
	})
}

func TestDataModes(t *testing.T) {
	t.Parallel()
	t.Run("aurora", func(t *testing.T) {
		t.Parallel()
		fx := auroraApp(t)
		tpl := fx.tpl(t, "data")
		tpl.ResourceCountIs("AWS::RDS::DBCluster", 1)
		tpl.ResourceCountIs("AWS::RDS::DBProxy", 1)
		tpl.ResourceCountIs("AWS::EC2::NatGateway", fx.cfg.NATGateways)
		tpl.ResourceCountIs("AWS::EC2::FlowLog", 1)
		endpoints := map[string]bool{}
		for _, e := range tpl.Resources("AWS::EC2::VPCEndpoint") {
			endpoints[flat(e.Properties["ServiceName"])] = true
		}
		for _, svc := range []string{"states", "events", "secretsmanager", "kms", "lambda", "scheduler"} {
			found := false
			for name := range endpoints {
				found = found || strings.HasSuffix(name, "."+svc)
			}
			require.True(t, found, "vpcEndpoints=true adds an interface endpoint for %s (have %v)", svc, endpoints)
		}
		cluster := tpl.Resources("AWS::RDS::DBCluster")[0].Properties
		require.Equal(t, "aurora-postgresql", cluster["Engine"])
		require.Equal(t, true, cluster["StorageEncrypted"])
		require.Equal(t, true, cluster["DeletionProtection"], "prod retains data")
		scaling := cluster["ServerlessV2ScalingConfiguration"].(map[string]any)
		require.EqualValues(t, fx.cfg.AuroraMinCapacity, scaling["MinCapacity"])
		require.EqualValues(t, fx.cfg.AuroraMaxCapacity, scaling["MaxCapacity"])
		proxy := tpl.Resources("AWS::RDS::DBProxy")[0].Properties
		require.Equal(t, true, proxy["RequireTLS"])
		// The URL secret is assembled from a dynamic reference: no password
		// in the template.
		var url string
		for _, s := range tpl.Resources("AWS::SecretsManager::Secret") {
			if v := flat(s.Properties["SecretString"]); strings.HasPrefix(v, "postgres://") {
				require.Empty(t, url, "one URL secret")
				url = v
			}
		}
		require.Contains(t, url, "postgres://turbocat:{{resolve:secretsmanager:")
		require.Contains(t, url, ":SecretString:password::}}@")
		require.Contains(t, url, "/turbocat?sslmode=require")
	})
	t.Run("external", func(t *testing.T) {
		t.Parallel()
		fx := externalApp(t)
		tpl := fx.tpl(t, "data")
		for _, typ := range []string{"AWS::EC2::VPC", "AWS::RDS::DBCluster", "AWS::RDS::DBProxy", "AWS::EC2::NatGateway"} {
			tpl.ResourceCountIs(typ, 0)
		}
		// Only the generated JWT key; the database URL secret is the user's.
		tpl.ResourceCountIs("AWS::SecretsManager::Secret", 1)
		tpl.ResourceCountIs("AWS::KMS::Key", 1)
		// Every function may read exactly the given secret.
		fns := fx.tpl(t, "functions")
		for name, fn := range functionsByName(t, fns) {
			var readable []string
			for _, st := range roleStatements(fns, roleID(t, fn)) {
				for _, a := range st.Actions {
					if a == "secretsmanager:GetSecretValue" {
						readable = append(readable, st.Resources...)
					}
				}
			}
			require.Contains(t, readable, externalSecretARN, name)
		}
	})
}

func TestOrchestrationRulesAndSchedules(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, fx *fixture) {
		orch := fx.tpl(t, "orchestration")
		orch.HasResourceProperties("AWS::Events::EventBus", map[string]any{"Name": fx.cfg.Name("")})
		orch.HasResourceProperties("AWS::Scheduler::ScheduleGroup", map[string]any{"Name": fx.cfg.Name("")})
		orch.HasResourceProperties("AWS::Logs::LogGroup", map[string]any{"LogGroupName": "/aws/vendedlogs/states/" + fx.cfg.Name("")})

		tpl := fx.tpl(t, "functions")
		fnByID := map[string]string{}
		for name, fn := range functionsByName(t, tpl) {
			fnByID[fn.ID] = name
		}
		statuses := map[string]bool{}
		delivery := 0
		sweeps := 0
		for _, r := range tpl.Resources("AWS::Events::Rule") {
			if r.Properties["ScheduleExpression"] != nil {
				sweeps++
				require.Equal(t, "rate(1 minute)", r.Properties["ScheduleExpression"])
				require.Equal(t, fx.cfg.Name("reconciler-sweep"), r.Properties["Name"])
				target := r.Properties["Targets"].([]any)[0].(map[string]any)
				require.Equal(t, fx.cfg.Name(stacks.Reconciler), fnByID[strings.TrimSuffix(strings.TrimPrefix(flat(target["Arn"]), "<"), ".Arn>")])
				continue
			}
			pattern := r.Properties["EventPattern"].(map[string]any)
			targets := r.Properties["Targets"].([]any)
			require.Len(t, targets, 1)
			target := targets[0].(map[string]any)
			require.NotNil(t, target["DeadLetterConfig"], "rule %s keeps undeliverable events", r.ID)
			fn := fnByID[strings.TrimSuffix(strings.TrimPrefix(flat(target["Arn"]), "<"), ".Arn>")]
			if src, _ := pattern["source"].([]any); len(src) == 1 && src[0] == "aws.states" {
				require.Equal(t, fx.cfg.Name(stacks.Reconciler), fn)
				require.Equal(t, []any{"Step Functions Execution Status Change"}, pattern["detail-type"])
				detail := pattern["detail"].(map[string]any)
				for _, s := range detail["status"].([]any) {
					statuses[s.(string)] = true
				}
				prefix := detail["stateMachineArn"].([]any)[0].(map[string]any)["prefix"]
				require.True(t, strings.HasSuffix(flat(prefix), ":stateMachine:"+fx.cfg.StateMachinePrefix()), "only the stage's state machines: %s", flat(prefix))
				continue
			}
			delivery++
			require.Equal(t, fx.cfg.Name(stacks.Deliverer), fn)
			require.Contains(t, flat(r.Properties["EventBusName"]), "<import:")
		}
		require.Equal(t, map[string]bool{"FAILED": true, "TIMED_OUT": true, "ABORTED": true}, statuses)
		require.Equal(t, 1, sweeps, "the reconciler sweeps every minute")
		if fx.has(stacks.Deliverer) {
			require.Equal(t, 1, delivery, "the bus feeds the deliverer")
		} else {
			require.Zero(t, delivery, "no bus rule without the deliverer")
		}
	})
}

func TestMigrationsRunOnEveryDeploy(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, fx *fixture) {
		tpl := fx.tpl(t, "migrations")
		crs := tpl.Resources(stacks.MigrationResourceType)
		require.Len(t, crs, 1)
		p := crs[0].Properties
		require.Equal(t, fx.migrateSHA, p["CodeSha256"], "new migrations (a new binary) trigger an update")
		require.Equal(t, fx.cfg.DeployNonce, p["DeployNonce"], "make deploy passes a fresh nonce")
		require.Contains(t, flat(p["ServiceToken"]), "framework")
	})
}

func TestAlarmsDashboardAndTopic(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, fx *fixture) {
		tpl := fx.tpl(t, "operations")
		tpl.ResourceCountIs("AWS::CloudWatch::Dashboard", 1)
		tpl.HasResourceProperties("AWS::SNS::Topic", map[string]any{"TopicName": fx.cfg.Name("alarms")})
		names := map[string]map[string]any{}
		for _, a := range tpl.Resources("AWS::CloudWatch::Alarm") {
			names[a.Properties["AlarmName"].(string)] = a.Properties
			require.Len(t, a.Properties["AlarmActions"], 1, "every alarm notifies the topic")
		}
		want := []string{fx.cfg.Name("Api5xxRate"), fx.cfg.Name("ExecutionsFailed"), fx.cfg.Name("SchedulerDeadLetters")}
		for _, n := range fx.functions {
			id := strings.ToUpper(n[:1]) + n[1:]
			want = append(want, fx.cfg.Name(id+"Errors"), fx.cfg.Name(id+"Throttles"))
			if stacks.DefaultFunctionSpecs()[n].Async {
				want = append(want, fx.cfg.Name(id+"DeadLetters"))
			}
		}
		require.ElementsMatch(t, want, sortedKeys(names))
		require.EqualValues(t, fx.cfg.ExecutionFailureThreshold, names[fx.cfg.Name("ExecutionsFailed")]["Threshold"])
		if fx.cfg.AlarmEmail != "" {
			tpl.HasResourceProperties("AWS::SNS::Subscription", map[string]any{"Protocol": "email", "Endpoint": fx.cfg.AlarmEmail})
		} else {
			tpl.ResourceCountIs("AWS::SNS::Subscription", 0)
		}
	})
}
