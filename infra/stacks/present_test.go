package stacks_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/infra/internal/cdkassert"
	"github.com/turbocat/turbocat/infra/settings"
	"github.com/turbocat/turbocat/infra/stacks"
)

// repoTree creates a repository root whose functions/ holds files (paths
// relative to functions/, "" content) and returns the root.
func repoTree(t *testing.T, files []string) string {
	t.Helper()
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "functions"), 0o755))
	for _, f := range files {
		p := filepath.Join(root, "functions", f)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte("package main\n"), 0o644))
	}
	return root
}

func mains(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n + "/main.go"
	}
	return out
}

func TestPresentFunctions(t *testing.T) {
	t.Parallel()
	ten := withoutLater()
	tests := []struct {
		name    string
		files   []string // relative to functions/
		noDir   bool
		want    []string
		wantErr []string // substrings of the error; nil means no error
	}{
		{name: "today's ten", files: mains(ten), want: ten},
		{name: "all twelve", files: mains(stacks.FunctionNames()), want: stacks.FunctionNames()},
		{name: "known directory without main.go is absent", files: append(mains(ten), "trigger/README.md", "deliverer/doc.go"), want: ten},
		{name: "files directly under functions/ are ignored", files: append(mains(ten), "README.md"), want: ten},
		{name: "unknown directory is named", files: append(mains(ten), "billing/main.go", "zz/handler.go"), wantErr: []string{"functions/billing", "functions/zz", "DefaultFunctionSpecs"}},
		{name: "no functions directory", noDir: true, wantErr: []string{"functions"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			if !tc.noDir {
				root = repoTree(t, tc.files)
			}
			got, err := stacks.PresentFunctions(root)
			if tc.wantErr != nil {
				require.Error(t, err)
				for _, s := range tc.wantErr {
					require.ErrorContains(t, err, s)
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
	t.Run("unknown directory wraps ErrUnknownFunction", func(t *testing.T) {
		t.Parallel()
		_, err := stacks.PresentFunctions(repoTree(t, append(mains(ten), "billing/main.go")))
		require.ErrorIs(t, err, stacks.ErrUnknownFunction)
	})
}

func TestRepositoryFunctionsAreAllKnownAndIncludeTheRequiredOnes(t *testing.T) {
	t.Parallel()
	got, err := stacks.PresentFunctions(repoRoot)
	require.NoError(t, err, "every functions/<name> of the repository needs a spec in DefaultFunctionSpecs")
	require.Subset(t, got, stacks.RequiredFunctions())
}

func TestCheckDistChecksOnlyTheGivenFunctions(t *testing.T) {
	t.Parallel()
	dist := fakeDist(t, withoutLater())
	require.NoError(t, stacks.CheckDist(dist, withoutLater(), "arm64"), "absent functions need no code")
	err := stacks.CheckDist(dist, stacks.FunctionNames(), "arm64")
	require.ErrorContains(t, err, "make build")
	require.ErrorContains(t, err, filepath.Join(stacks.TriggerFn, "bootstrap"))
	require.ErrorContains(t, err, filepath.Join(stacks.Deliverer, "bootstrap"))
	require.NotContains(t, err.Error(), filepath.Join(stacks.StepRunner, "bootstrap"))
}

// newAppErr runs NewTurbocat on a fresh app and returns the number of
// constructs it left in the app and its error.
func newAppErr(t *testing.T, doc string, dist string, functions []string) (int, error) {
	t.Helper()
	cfg, err := settings.FromContext(func(key string) (string, bool) {
		switch key {
		case settings.KeyOpenAPIPath:
			return doc, true
		case settings.KeyDistDir:
			return dist, true
		}
		return "", false
	})
	require.NoError(t, err)
	children := -1
	cdkassert.Do(t, "new app", func() {
		app := awscdk.NewApp(nil)
		_, err = stacks.NewTurbocat(app, stacks.TurbocatProps{Config: cfg, Root: repoRoot, Functions: functions})
		children = len(*app.Node().Children())
	})
	return children, err
}

func TestFunctionsPropIsValidatedBeforeAnythingIsCreated(t *testing.T) {
	t.Parallel()
	dist := fakeDist(t, stacks.FunctionNames())
	noReconciler := []string{}
	for _, n := range withoutLater() {
		if n != stacks.Reconciler {
			noReconciler = append(noReconciler, n)
		}
	}
	tests := []struct {
		name      string
		functions []string
		is        error
		contains  string
	}{
		{name: "none given", functions: nil, is: stacks.ErrFunctionAbsent, contains: stacks.Migrate},
		{name: "required one missing", functions: noReconciler, is: stacks.ErrFunctionAbsent, contains: stacks.Reconciler},
		{name: "unknown name", functions: append(withoutLater(), "billing"), is: stacks.ErrUnknownFunction, contains: `"billing"`},
		{name: "listed twice", functions: append(withoutLater(), stacks.StepRunner), contains: `"steprunner" listed twice`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			children, err := newAppErr(t, fixtureDoc, dist, tc.functions)
			require.Error(t, err)
			if tc.is != nil {
				require.ErrorIs(t, err, tc.is)
			}
			require.ErrorContains(t, err, tc.contains)
			require.Zero(t, children, "nothing is created")
		})
	}
}

func TestDocumentedRouteOfAbsentFunctionFailsSynthNamingIt(t *testing.T) {
	t.Parallel()
	// The fixture document has /hooks/{deploymentId}, served by the trigger.
	children, err := newAppErr(t, fixtureDoc, fakeDist(t, withoutLater()), withoutLater())
	require.ErrorIs(t, err, stacks.ErrFunctionAbsent)
	require.ErrorContains(t, err, `function "trigger"`)
	require.ErrorContains(t, err, "/hooks/{deploymentId}")
	require.ErrorContains(t, err, "functions/trigger/main.go")
	require.Zero(t, children, "nothing is created")
}

// laterRef matches what belongs only to trigger and deliverer: their names
// (in logical ids, function names, ARNs, env keys, descriptions) and the
// /hooks/ routes.
var laterRef = regexp.MustCompile(`(?i)trigger|deliverer|/hooks/`)

func TestWithoutTriggerAndDelivererNothingRefersToThem(t *testing.T) {
	t.Parallel()
	present, all := presentApp(t), defaultApp(t)
	for _, kind := range []string{"data", "orchestration", "api", "migrations", "functions", "operations"} {
		raw, err := json.Marshal(present.tpl(t, kind).JSON)
		require.NoError(t, err)
		require.Empty(t, laterRef.FindAllString(string(raw), 5), "%s stack refers to trigger, deliverer or /hooks routes", kind)
	}
	// The same search finds them when they are deployed, so it can fail.
	for _, kind := range []string{"orchestration", "functions", "operations"} {
		raw, err := json.Marshal(all.tpl(t, kind).JSON)
		require.NoError(t, err)
		require.Regexp(t, laterRef, string(raw), "%s stack of the 12-function app", kind)
	}
}

func TestSynthNamesTheFunctionsLeftOut(t *testing.T) {
	t.Parallel()
	present, all := presentApp(t), defaultApp(t)
	require.Len(t, present.notDeployed, 1, "one info message")
	require.Contains(t, present.notDeployed[0], "/"+present.cfg.Name("functions")+": ", "on the functions stack")
	require.Contains(t, present.notDeployed[0], "[deliverer trigger]")
	require.Empty(t, all.notDeployed, "nothing to say when every function is deployed")
}

func TestWithoutTriggerAndDelivererTheRestIsUnchanged(t *testing.T) {
	t.Parallel()
	present, all := presentApp(t), defaultApp(t)
	for _, kind := range []string{"data", "orchestration", "api", "migrations", "functions", "operations"} {
		p, a := present.tpl(t, kind), all.tpl(t, kind)
		byID := map[string]cdkassert.Resource{}
		for _, r := range a.Resources("") {
			byID[r.ID] = r
		}
		kept := map[string]bool{}
		var changed []string
		for _, r := range p.Resources("") {
			full, ok := byID[r.ID]
			require.True(t, ok, "%s stack: resource %s (%s) is new", kind, r.ID, r.Type)
			require.Equal(t, full.Type, r.Type, "%s stack: %s", kind, r.ID)
			kept[r.ID] = true
			rawFull, err := json.Marshal(full)
			require.NoError(t, err)
			if laterRef.Match(rawFull) {
				changed = append(changed, r.ID)
			} else {
				require.Equal(t, full, r, "%s stack: %s has nothing to do with trigger or deliverer and is unchanged", kind, r.ID)
			}
		}
		var removed []string
		for id := range byID {
			if !kept[id] {
				require.Regexp(t, `(?i)trigger|deliver|hooks`, id, "%s stack: only resources of trigger, deliverer and /hooks routes are left out", kind)
				removed = append(removed, id)
			}
		}
		t.Logf("%s stack: %d resources kept (%d identical), %d left out %v; changed: %v", kind, len(kept), len(kept)-len(changed), len(removed), removed, changed)
	}

	// Functions, routes, queues, rules and alarms: the counts drop by
	// exactly what trigger and deliverer had.
	count := func(fx *fixture, kind, typ string) int { return len(fx.tpl(t, kind).Resources(typ)) }
	require.Len(t, allFunctions(t, present), 10)
	require.Len(t, allFunctions(t, all), 12)
	require.Equal(t, count(all, "functions", "AWS::Lambda::Function")-2, count(present, "functions", "AWS::Lambda::Function"))
	require.Equal(t, count(all, "functions", "AWS::SQS::Queue")-2, count(present, "functions", "AWS::SQS::Queue"), "trigger and deliverer dead-letter queues")
	require.Equal(t, count(all, "functions", "AWS::Events::Rule")-1, count(present, "functions", "AWS::Events::Rule"), "bus rule to the deliverer")
	require.Equal(t, count(all, "orchestration", "AWS::SQS::Queue"), count(present, "orchestration", "AWS::SQS::Queue"), "the Scheduler dead-letter queue stays")

	hooks := 0
	for _, r := range all.routes {
		if strings.HasPrefix(r.Path, "/hooks/") {
			require.Equal(t, stacks.TriggerFn, r.Function)
			hooks++
		}
	}
	require.Positive(t, hooks)
	require.Len(t, present.routes, len(all.routes)-hooks)
	require.Equal(t, count(all, "functions", "AWS::ApiGatewayV2::Route")-hooks, count(present, "functions", "AWS::ApiGatewayV2::Route"))
	require.Equal(t, count(all, "functions", "AWS::ApiGatewayV2::Integration")-1, count(present, "functions", "AWS::ApiGatewayV2::Integration"), "the trigger's integration")

	alarmNames := func(fx *fixture) []string {
		var out []string
		for _, a := range fx.tpl(t, "operations").Resources("AWS::CloudWatch::Alarm") {
			out = append(out, a.Properties["AlarmName"].(string))
		}
		return out
	}
	var want []string
	dropped := map[string]bool{}
	for _, n := range []string{"TriggerErrors", "TriggerThrottles", "TriggerDeadLetters", "DelivererErrors", "DelivererThrottles", "DelivererDeadLetters"} {
		dropped[all.cfg.Name(n)] = true
	}
	for _, n := range alarmNames(all) {
		if !dropped[n] {
			want = append(want, n)
		}
	}
	require.Len(t, want, len(alarmNames(all))-6, "the 12-function app alarms on trigger and deliverer")
	require.ElementsMatch(t, want, alarmNames(present))
}
