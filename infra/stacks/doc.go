// Package stacks is the Turbocat CDK app: one typed constructor per stack
// (NewDataStack, NewOrchestrationStack, NewApiStack, NewMigrationsStack,
// NewFunctionsStack, NewOperationsStack, NewConsoleStack) and NewTurbocat,
// which wires them into an app for one stage.
//
// Stacks deploy in this order, each referring only to earlier ones, so there
// are no cross-stack cycles:
//
//	data → orchestration → api → migrations → functions → operations
//
// and, when the web console is built (web/out/index.html), console last: S3
// and CloudFront with /api/*, /hooks/* and /mcp routed to the HTTP API.
//
// Function names are fixed (turbocat-<stage>-<name>), which lets the
// orchestration stack grant Step Functions and EventBridge Scheduler the
// right to invoke exactly the steprunner and trigger functions before they
// exist. API routes are attached to the HTTP API by the functions stack.
//
// DefaultFunctionSpecs is the catalogue of the functions Turbocat knows; a
// stage deploys the subset given as TurbocatProps.Functions (the app passes
// PresentFunctions: those with functions/<name>/main.go) and leaves out
// everything that exists only for the others.
package stacks
