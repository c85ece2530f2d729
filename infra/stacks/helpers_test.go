package stacks_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/infra/internal/cdkassert"
	"github.com/turbocat/turbocat/infra/routes"
	"github.com/turbocat/turbocat/infra/settings"
	"github.com/turbocat/turbocat/infra/stacks"
)

// repoRoot is the repository root seen from infra/stacks.
const repoRoot = "../.."

// fixtureDoc is the OpenAPI document used until the real one exists.
const fixtureDoc = "infra/testdata/openapi.json"

// realDoc is the lead's OpenAPI document.
const realDoc = "internal/httpapi/openapi.json"

func TestMain(m *testing.M) {
	code := m.Run()
	jsii.Close()
	os.Exit(code)
}

// fakeDist writes an empty-ish bootstrap for each of functions into a new
// temporary directory and returns it.
func fakeDist(t testing.TB, functions []string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range functions {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, n), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, n, "bootstrap"), []byte("#!/bin/false "+n+"\n"), 0o755))
		if stacks.DefaultFunctionSpecs()[n].CodeWorker {
			require.NoError(t, os.WriteFile(filepath.Join(dir, n, "codeworker"), []byte("#!/bin/false codeworker\n"), 0o755))
		}
	}
	return dir
}

// fakeConsole writes a small built console (index.html, 404.html, a page
// and a hashed script) into a new temporary directory and returns it.
func fakeConsole(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"index.html":                       "<!doctype html><title>Dashboard</title>",
		"404.html":                         "<!doctype html><title>Not found</title>",
		"agents.html":                      "<!doctype html><title>Agents</title>",
		"_next/static/chunks/main-abc1.js": "console.log(1)",
		".keep":                            "",
	} {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	return dir
}

// cdkJSONContext returns the "context" of the repository's cdk.json, so
// the tests synthesize with the same feature flags as make synth.
func cdkJSONContext(t testing.TB) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "cdk.json"))
	require.NoError(t, err)
	var c struct {
		Context map[string]any `json:"context"`
	}
	require.NoError(t, json.Unmarshal(raw, &c))
	return c.Context
}

// fixture is one synthesized app with its config, the route list it was
// built from, its templates by stack and cdk-nag findings.
type fixture struct {
	cfg     settings.Config
	docPath string
	routes  []routes.Route
	distDir string
	// functions are the functions the app deploys (TurbocatProps.Functions).
	functions []string
	// migrateSHA is the SHA-256 of the fake migrate/bootstrap.
	migrateSHA string
	templates  map[string]*cdkassert.Template
	nagErrors  []string
	nagWarns   []string
	// notDeployed are the info annotations naming functions left out.
	notDeployed []string
	// consoleInfo are the info annotations saying the console is left out.
	consoleInfo []string
	// consoleDir is the built console the app was given ("" for none).
	consoleDir string
	// stackOrder lists stack names in deployment order; deps maps a stack
	// name to the names of the stacks it depends on.
	stackOrder []string
	deps       map[string][]string
}

// tpl returns the template of the stack of that kind ("data", "api", ...)
// bound to t.
func (f *fixture) tpl(t testing.TB, kind string) *cdkassert.Template {
	tpl, ok := f.templates[f.cfg.Name(kind)]
	if !ok {
		t.Fatalf("no %s stack", kind)
	}
	return tpl.For(t)
}

// has reports whether the app deploys function name.
func (f *fixture) has(name string) bool { return slices.Contains(f.functions, name) }

// build synthesizes an app deploying functions for context overrides ctx,
// with dist/ holding the code of those functions only. It uses t only for
// setup; the fixture is shared by the tests of one data mode.
func build(t testing.TB, ctx map[string]string, doc string, functions []string) *fixture {
	t.Helper()
	return buildWithConsole(t, ctx, doc, functions, "")
}

// buildWithConsole is build with the console built in consoleDir ("" for
// no console).
func buildWithConsole(t testing.TB, ctx map[string]string, doc string, functions []string, consoleDir string) *fixture {
	t.Helper()
	context := cdkJSONContext(t)
	for k, v := range ctx {
		context[k] = v
	}
	dist := fakeDist(t, functions)
	context[settings.KeyDistDir] = dist
	context[settings.KeyOpenAPIPath] = doc
	cfg, err := settings.FromContext(func(key string) (string, bool) {
		v, ok := context[key]
		if !ok {
			return "", false
		}
		return fmt.Sprint(v), true
	})
	require.NoError(t, err)
	docFile := doc
	if !filepath.IsAbs(docFile) {
		docFile = filepath.Join(repoRoot, doc)
	}
	rs, err := routes.Load(docFile)
	require.NoError(t, err)

	f := &fixture{cfg: cfg, docPath: doc, routes: rs, distDir: dist, functions: functions, templates: map[string]*cdkassert.Template{}, deps: map[string][]string{}, consoleDir: consoleDir}
	f.migrateSHA = sha256File(t, filepath.Join(dist, stacks.Migrate, "bootstrap"))
	var app *stacks.Turbocat
	cdkassert.Do(t, "build app", func() {
		app, err = stacks.NewTurbocat(awscdk.NewApp(&awscdk.AppProps{Context: &context}), stacks.TurbocatProps{Config: cfg, Root: repoRoot, Functions: functions, ConsoleDir: consoleDir})
	})
	require.NoError(t, err)
	for _, s := range app.Stacks() {
		var name string
		cdkassert.Do(t, "stack names", func() {
			name = *s.StackName()
			f.stackOrder = append(f.stackOrder, name)
			for _, d := range *s.Dependencies() {
				f.deps[name] = append(f.deps[name], *d.StackName())
			}
		})
		f.templates[name] = cdkassert.FromStack(t, s)
		cdkassert.Do(t, "nag findings of "+name, func() {
			ann := assertions.Annotations_FromStack(s)
			nag := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
			for _, m := range *ann.FindError(jsii.String("*"), nag) {
				f.nagErrors = append(f.nagErrors, fmt.Sprintf("%s: %v", *m.Id, m.Entry.Data))
			}
			for _, m := range *ann.FindWarning(jsii.String("*"), nag) {
				f.nagWarns = append(f.nagWarns, fmt.Sprintf("%s: %v", *m.Id, m.Entry.Data))
			}
			for _, m := range *ann.FindInfo(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("Not deployed.*"))) {
				f.notDeployed = append(f.notDeployed, fmt.Sprintf("%s: %v", *m.Id, m.Entry.Data))
			}
			for _, m := range *ann.FindInfo(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("Console not deployed.*"))) {
				f.consoleInfo = append(f.consoleInfo, fmt.Sprintf("%s: %v", *m.Id, m.Entry.Data))
			}
		})
	}
	return f
}

var (
	auroraOnce, externalOnce, defaultOnce, presentOnce sync.Once
	auroraFix, externalFix, defaultFix, presentFix     *fixture
)

// withoutLater are the functions of the catalogue minus trigger and
// deliverer, which arrive with a later issue: what the repository has today.
func withoutLater() []string {
	var out []string
	for _, n := range stacks.FunctionNames() {
		if n != stacks.TriggerFn && n != stacks.Deliverer {
			out = append(out, n)
		}
	}
	return out
}

// defaultApp is what `make synth` builds once every function exists:
// cdk.json's context only (a dev stage in aurora mode), all 12 functions.
func defaultApp(t *testing.T) *fixture {
	t.Helper()
	defaultOnce.Do(func() { defaultFix = build(t, nil, fixtureDoc, stacks.FunctionNames()) })
	if defaultFix == nil {
		t.Fatal("building the default app failed (see the first test that built it)")
	}
	return defaultFix
}

// auroraApp is a production stage in aurora mode with every option set.
// It is built from the real OpenAPI document when it exists.
func auroraApp(t *testing.T) *fixture {
	t.Helper()
	auroraOnce.Do(func() {
		doc := fixtureDoc
		if _, err := os.Stat(filepath.Join(repoRoot, realDoc)); err == nil {
			doc = realDoc
			if _, err := routes.Load(filepath.Join(repoRoot, realDoc)); errors.Is(err, routes.ErrNoPaths) {
				t.Logf("%s documents no paths yet: checking routes against %s", realDoc, fixtureDoc)
				doc = fixtureDoc
			}
		}
		auroraFix = buildWithConsole(t, map[string]string{
			"stage":          "prod",
			"dataMode":       "aurora",
			"allowedOrigins": "https://console.example.com,http://localhost:3000",
			"domainName":     "api.example.com",
			"certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/0f7e0a4b",
			"alarmEmail":     "ops@example.com",
			"deployNonce":    "20261126T101500Z",
			"vpcEndpoints":   "true",
		}, doc, stacks.FunctionNames(), fakeConsole(t))
	})
	if auroraFix == nil {
		t.Fatal("building the aurora app failed (see the first test that built it)")
	}
	return auroraFix
}

// externalApp is a dev stage on an external database, without CORS,
// domain or alarm email, with 90-day logs.
func externalApp(t *testing.T) *fixture {
	t.Helper()
	externalOnce.Do(func() {
		externalFix = build(t, map[string]string{
			"stage":             "dev",
			"dataMode":          "external",
			"databaseSecretArn": externalSecretARN,
			"logRetentionDays":  "90",
		}, fixtureDoc, stacks.FunctionNames())
	})
	if externalFix == nil {
		t.Fatal("building the external app failed (see the first test that built it)")
	}
	return externalFix
}

// presentApp is defaultApp without trigger and deliverer, as `make synth`
// builds it before they exist: same context, only the 10 other functions in
// dist/, and the fixture document without its /hooks routes (their function
// is absent).
func presentApp(t *testing.T) *fixture {
	t.Helper()
	presentOnce.Do(func() {
		presentFix = build(t, nil, docWithoutHooks(t), withoutLater())
	})
	if presentFix == nil {
		t.Fatal("building the app without trigger and deliverer failed (see the first test that built it)")
	}
	return presentFix
}

// docWithoutHooks writes the fixture document minus its /hooks/ paths to a
// temporary file and returns its path; it fails when there was no such path
// to remove.
func docWithoutHooks(t testing.TB) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, fixtureDoc))
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(raw, &doc))
	paths := doc["paths"].(map[string]any)
	removed := 0
	for p := range paths {
		if strings.HasPrefix(p, "/hooks/") {
			delete(paths, p)
			removed++
		}
	}
	require.Positive(t, removed, "%s documents /hooks routes", fixtureDoc)
	out, err := json.Marshal(doc)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "openapi-without-hooks.json")
	require.NoError(t, os.WriteFile(path, out, 0o644))
	return path
}

const externalSecretARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:turbocat/dev/database-url-AbCdEf"

// eachApp runs f against each fixture app as subtests.
func eachApp(t *testing.T, f func(t *testing.T, fx *fixture)) {
	t.Helper()
	for name, get := range map[string]func(*testing.T) *fixture{"aurora-prod": auroraApp, "external-dev": externalApp, "default": defaultApp, "without-trigger-deliverer": presentApp} {
		t.Run(name, func(t *testing.T) {
			f(t, get(t))
		})
	}
}

// flat renders a CloudFormation value (literal or intrinsic) as a string
// for matching: Fn::Join is joined, Ref becomes <Ref:Id>, Fn::GetAtt
// <Id.Attr>, Fn::ImportValue <import:Name>.
func flat(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if j, ok := x["Fn::Join"].([]any); ok && len(j) == 2 {
			sep, _ := j[0].(string)
			parts, _ := j[1].([]any)
			ss := make([]string, len(parts))
			for i, p := range parts {
				ss[i] = flat(p)
			}
			return strings.Join(ss, sep)
		}
		if r, ok := x["Ref"].(string); ok {
			return "<Ref:" + r + ">"
		}
		if g, ok := x["Fn::GetAtt"].([]any); ok && len(g) == 2 {
			return fmt.Sprintf("<%v.%v>", g[0], g[1])
		}
		if i, ok := x["Fn::ImportValue"]; ok {
			return "<import:" + flat(i) + ">"
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// list turns a string-or-list IAM field into a list of flat strings.
func list(v any) []string {
	if l, ok := v.([]any); ok {
		out := make([]string, 0, len(l))
		for _, x := range l {
			out = append(out, flat(x))
		}
		return out
	}
	if v == nil {
		return nil
	}
	return []string{flat(v)}
}

// statement is one IAM policy statement, flattened.
type statement struct {
	Sid        string
	Actions    []string
	Resources  []string
	Conditions map[string]any
}

// roleStatements returns the statements of every AWS::IAM::Policy attached
// to the role with logical id roleID.
func roleStatements(tpl *cdkassert.Template, roleID string) []statement {
	var out []statement
	for _, p := range tpl.Resources("AWS::IAM::Policy") {
		attached := false
		for _, r := range list(p.Properties["Roles"]) {
			if r == "<Ref:"+roleID+">" {
				attached = true
			}
		}
		if !attached {
			continue
		}
		doc, _ := p.Properties["PolicyDocument"].(map[string]any)
		sts, _ := doc["Statement"].([]any)
		for _, s := range sts {
			m, _ := s.(map[string]any)
			st := statement{Actions: list(m["Action"]), Resources: list(m["Resource"])}
			st.Sid, _ = m["Sid"].(string)
			st.Conditions, _ = m["Condition"].(map[string]any)
			out = append(out, st)
		}
	}
	return out
}

// functionsByName maps FunctionName to the function resource.
func functionsByName(t *testing.T, tpl *cdkassert.Template) map[string]cdkassert.Resource {
	t.Helper()
	out := map[string]cdkassert.Resource{}
	for _, r := range tpl.Resources("AWS::Lambda::Function") {
		name, ok := r.Properties["FunctionName"].(string)
		if !ok {
			continue // CDK's provider-framework function has a generated name
		}
		out[name] = r
	}
	return out
}

// roleID is the logical id of the role of a function resource.
func roleID(t *testing.T, fn cdkassert.Resource) string {
	t.Helper()
	g, ok := fn.Properties["Role"].(map[string]any)["Fn::GetAtt"].([]any)
	require.True(t, ok, "function %s role is not a GetAtt", fn.ID)
	return g[0].(string)
}

// allFunctions merges the functions of the migrations and functions stacks.
func allFunctions(t *testing.T, fx *fixture) map[string]cdkassert.Resource {
	t.Helper()
	out := functionsByName(t, fx.tpl(t, "functions"))
	for k, v := range functionsByName(t, fx.tpl(t, "migrations")) {
		out[k] = v
	}
	return out
}

func sha256File(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
