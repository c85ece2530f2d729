// Package codeperm derives from the code the AWS actions each Lambda
// function can perform, so that infra's tests can hold every function's IAM
// role to them: a role that lacks an action the code can call fails on
// AWS (AccessDenied), one that holds an action the code never calls is a
// grant nobody needs.
//
// "Can call" is reachability in the call graph of the function's main
// (rapid type analysis over SSA, golang.org/x/tools): starting from main
// and the package initializers, following static calls, calls through
// interfaces to the concrete types the program creates, and calls of
// function values, including the Lambda runtime's reflective call of the
// handler. An AWS SDK v2 client method reached this way (for example
// (*scheduler.Client).CreateSchedule) is an action the function can
// perform (scheduler:CreateSchedule), plus the actions AWS authorizes with
// it (iam:PassRole for the role a state machine or schedule runs as, the
// vended-log delivery of a state machine's logging). Methods that RTA
// deems reachable only through reflection are not followed: no code calls
// SDK clients by reflection.
package codeperm

import (
	"fmt"
	"go/types"
	"slices"
	"sort"
	"strings"

	"golang.org/x/tools/go/callgraph"
	"golang.org/x/tools/go/callgraph/rta"
	"golang.org/x/tools/go/packages"
	"golang.org/x/tools/go/ssa"
	"golang.org/x/tools/go/ssa/ssautil"
)

// BuildTags are the tags the functions are built with (make build).
const BuildTags = "lambda.norpc,turbocat_nojs"

// sdkPrefix is the import path prefix of aws-sdk-go-v2's service clients.
const sdkPrefix = "github.com/aws/aws-sdk-go-v2/service/"

// iamPrefix maps an SDK service package to its IAM service prefix. Packages
// absent here and not in credentialServices fail the analysis, so a new
// client is never silently ignored.
var iamPrefix = map[string]string{
	"sfn":            "states",
	"eventbridge":    "events",
	"scheduler":      "scheduler",
	"secretsmanager": "secretsmanager",
	"kms":            "kms",
	"bedrockruntime": "bedrock",
	"lambda":         "lambda",
	"sqs":            "sqs",
	"s3":             "s3",
}

// credentialServices are the clients the SDK's credential chain uses
// (assume role, SSO, web identity, console sign-in). In Lambda the role's
// credentials come from the environment and these are never called; they
// need no permission on the function's own role.
var credentialServices = map[string]bool{"sts": true, "sso": true, "ssooidc": true, "signin": true}

// renamed are SDK operations whose IAM action has another name.
var renamed = map[string]string{
	"bedrock:Converse":       "bedrock:InvokeModel",
	"bedrock:ConverseStream": "bedrock:InvokeModelWithResponseStream",
	"lambda:Invoke":          "lambda:InvokeFunction",
}

// Roles passed by an action, written as PassRole(service) in results.
const (
	PassRoleStates    = "iam:PassRole(states.amazonaws.com)"
	PassRoleScheduler = "iam:PassRole(scheduler.amazonaws.com)"
)

// dependent are the actions AWS also authorizes when an action is called
// with the arguments Turbocat's code gives it (the "dependent actions" of
// the Service Authorization Reference): a state machine's role is passed
// and its CloudWatch Logs delivery set up; a schedule's role is passed.
var dependent = map[string][]string{
	"states:CreateStateMachine": {PassRoleStates, "logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeLogGroups",
		"logs:DescribeResourcePolicies", "logs:GetLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:UpdateLogDelivery"},
	"states:UpdateStateMachine": {PassRoleStates, "logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeLogGroups",
		"logs:DescribeResourcePolicies", "logs:GetLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:UpdateLogDelivery"},
	"scheduler:CreateSchedule": {PassRoleScheduler},
	"scheduler:UpdateSchedule": {PassRoleScheduler},
}

// Analyze loads functions/<name> of the repository at root for each of
// functions and returns, per function, the sorted IAM actions its code can
// perform (iam:PassRole as PassRoleStates or PassRoleScheduler).
func Analyze(root string, functions []string) (map[string][]string, error) {
	patterns := make([]string, len(functions))
	for i, f := range functions {
		patterns[i] = "./functions/" + f
	}
	cfg := &packages.Config{Mode: packages.LoadAllSyntax, Dir: root, BuildFlags: []string{"-tags=" + BuildTags}}
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		return nil, fmt.Errorf("load functions: %w", err)
	}
	var errs []string
	packages.Visit(pkgs, nil, func(p *packages.Package) {
		for _, e := range p.Errors {
			errs = append(errs, e.Error())
		}
	})
	if len(errs) > 0 {
		return nil, fmt.Errorf("load functions: %s", strings.Join(errs, "; "))
	}
	prog, spkgs := ssautil.AllPackages(pkgs, ssa.InstantiateGenerics)
	prog.Build()
	out := map[string][]string{}
	for i, sp := range spkgs {
		if sp == nil {
			return nil, fmt.Errorf("functions/%s: no SSA package", functions[i])
		}
		actions, err := reachableActions(sp)
		if err != nil {
			return nil, fmt.Errorf("functions/%s: %w", functions[i], err)
		}
		out[functions[i]] = actions
	}
	return out, nil
}

// reachableActions runs RTA from the package's main and initializers.
func reachableActions(p *ssa.Package) ([]string, error) {
	roots := []*ssa.Function{p.Func("main"), p.Func("init")}
	if roots[0] == nil {
		return nil, fmt.Errorf("no main function")
	}
	res := rta.Analyze(roots, true)
	seen := map[*ssa.Function]bool{}
	var queue []*callgraph.Node
	for _, r := range roots {
		if n := res.CallGraph.Nodes[r]; n != nil && !seen[r] {
			seen[r] = true
			queue = append(queue, n)
		}
	}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, e := range n.Out {
			if !seen[e.Callee.Func] {
				seen[e.Callee.Func] = true
				queue = append(queue, e.Callee)
			}
		}
	}
	set := map[string]bool{}
	for fn := range seen {
		action, ok, err := sdkAction(fn)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		set[action] = true
		for _, d := range dependent[action] {
			set[d] = true
		}
	}
	out := make([]string, 0, len(set))
	for a := range set {
		out = append(out, a)
	}
	sort.Strings(out)
	return out, nil
}

// sdkAction maps an exported method of an aws-sdk-go-v2 service *Client to
// its IAM action.
func sdkAction(fn *ssa.Function) (string, bool, error) {
	recv := fn.Signature.Recv()
	if recv == nil || fn.Package() == nil || fn.Object() == nil || !fn.Object().Exported() {
		return "", false, nil
	}
	path := fn.Package().Pkg.Path()
	svc, ok := strings.CutPrefix(path, sdkPrefix)
	if !ok || strings.Contains(svc, "/") {
		return "", false, nil
	}
	ptr, ok := recv.Type().(*types.Pointer)
	if !ok {
		return "", false, nil
	}
	named, ok := ptr.Elem().(*types.Named)
	if !ok || named.Obj().Name() != "Client" {
		return "", false, nil
	}
	if credentialServices[svc] || slices.Contains([]string{"Options"}, fn.Name()) {
		return "", false, nil
	}
	prefix, ok := iamPrefix[svc]
	if !ok {
		return "", false, fmt.Errorf("calls %s.(*Client).%s, a service codeperm does not map to IAM (add it to iamPrefix)", path, fn.Name())
	}
	action := prefix + ":" + fn.Name()
	if r, ok := renamed[action]; ok {
		action = r
	}
	return action, true, nil
}
