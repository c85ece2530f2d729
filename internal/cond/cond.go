// Package cond evaluates the `when` conditions of workflow steps: boolean
// expressions in CEL (the Common Expression Language, cel.dev/cel-go), which
// is safe to run on user input: no loops, no I/O, bounded cost.
//
// A condition sees three variables:
//
//   - inputs: the execution's input (an object);
//   - steps: every step of the workflow by key, each an object with
//     output (null unless the step completed), status (completed, failed,
//     skipped, or pending for a step that has not run) and error (null, or
//     {error, cause} for a failed step);
//   - execution: {id, startedAt}.
//
// For example `steps.classify.output.label == "invoice"` or
// `steps.fetch.status == "failed"`. A condition must type-check to a
// boolean; one that fails at run time (a missing key) fails the step with
// Step.ConditionError. CEL's && and || absorb errors on the side that does
// not matter, so `steps.a.status == "completed" && steps.a.output.x > 1`
// is safe when a was skipped.
//
// The package is pure (no I/O).
package cond

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
)

// MaxLength bounds the text of a condition.
const MaxLength = 2000

// costLimit bounds the work of one evaluation (CEL's cost units).
const costLimit = 100000

// Step is what a condition sees of one step.
type Step struct {
	Output any    `json:"output"`
	Status string `json:"status"`
	Error  any    `json:"error"`
}

// Vars are the variables a condition is evaluated against. Values are as
// encoding/json decodes into any.
type Vars struct {
	Inputs    map[string]any
	Steps     map[string]Step
	Execution map[string]any
}

var (
	envOnce sync.Once
	env     *cel.Env
	envErr  error
	progs   sync.Map // expression → cel.Program
)

func celEnv() (*cel.Env, error) {
	envOnce.Do(func() {
		env, envErr = cel.NewEnv(
			cel.Variable("inputs", cel.MapType(cel.StringType, cel.DynType)),
			cel.Variable("steps", cel.MapType(cel.StringType, cel.DynType)),
			cel.Variable("execution", cel.MapType(cel.StringType, cel.DynType)),
		)
	})
	return env, envErr
}

// Error is a condition that does not compile, with CEL's message.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

// Check compiles a condition and returns the step keys it reads
// (steps.<key>...), sorted and without duplicates. A condition that does
// not parse, uses an unknown variable or is not a boolean is an *Error.
func Check(expr string) ([]string, error) {
	a, err := compile(expr)
	if err != nil {
		return nil, err
	}
	var keys []string
	celast.PreOrderVisit(a.NativeRep().Expr(), celast.NewExprVisitor(func(e celast.Expr) {
		switch e.Kind() {
		case celast.SelectKind:
			s := e.AsSelect()
			if op := s.Operand(); op.Kind() == celast.IdentKind && op.AsIdent() == "steps" {
				keys = append(keys, s.FieldName())
			}
		case celast.CallKind:
			c := e.AsCall()
			if c.FunctionName() == "_[_]" && len(c.Args()) == 2 {
				if op := c.Args()[0]; op.Kind() == celast.IdentKind && op.AsIdent() == "steps" {
					if lit := c.Args()[1]; lit.Kind() == celast.LiteralKind {
						if k, ok := lit.AsLiteral().Value().(string); ok {
							keys = append(keys, k)
						}
					}
				}
			}
		}
	}))
	slices.Sort(keys)
	return slices.Compact(keys), nil
}

func compile(expr string) (*cel.Ast, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, &Error{Msg: "the condition is empty"}
	}
	if len(expr) > MaxLength {
		return nil, &Error{Msg: fmt.Sprintf("the condition is longer than %d characters", MaxLength)}
	}
	e, err := celEnv()
	if err != nil {
		return nil, err
	}
	a, iss := e.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return nil, &Error{Msg: "invalid CEL: " + strings.ReplaceAll(iss.Err().Error(), "\n", " ")}
	}
	if t := a.OutputType(); !t.IsExactType(cel.BoolType) && !t.IsExactType(cel.DynType) {
		return nil, &Error{Msg: fmt.Sprintf("the condition must be a boolean expression; this one is of type %s", t)}
	}
	return a, nil
}

func program(expr string) (cel.Program, error) {
	if p, ok := progs.Load(expr); ok {
		return p.(cel.Program), nil
	}
	a, err := compile(expr)
	if err != nil {
		return nil, err
	}
	e, _ := celEnv()
	p, err := e.Program(a, cel.CostLimit(costLimit))
	if err != nil {
		return nil, &Error{Msg: "invalid CEL: " + err.Error()}
	}
	progs.Store(expr, p)
	return p, nil
}

// Eval evaluates a condition. An error says why it could not be decided
// (it does not compile, a key is missing, the result is not a boolean).
func Eval(expr string, v Vars) (bool, error) {
	p, err := program(expr)
	if err != nil {
		return false, err
	}
	steps := make(map[string]any, len(v.Steps))
	for k, s := range v.Steps {
		steps[k] = map[string]any{"output": s.Output, "status": s.Status, "error": s.Error}
	}
	inputs := v.Inputs
	if inputs == nil {
		inputs = map[string]any{}
	}
	execution := v.Execution
	if execution == nil {
		execution = map[string]any{}
	}
	out, _, err := p.Eval(map[string]any{"inputs": inputs, "steps": steps, "execution": execution})
	if err != nil {
		return false, fmt.Errorf("evaluate %q: %w", expr, err)
	}
	b, ok := out.Value().(bool)
	if !ok {
		return false, errors.New("the condition gave " + fmt.Sprint(out.Value()) + ", not true or false")
	}
	return b, nil
}
