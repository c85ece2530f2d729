package runtime

import (
	"errors"
	"fmt"
	"strings"

	"github.com/turbocat/turbocat/internal/asl"
)

// Diagnostic is one finding of ValidateStateMachineDefinition.
type Diagnostic struct {
	Severity string // ERROR or WARNING
	Code     string
	Message  string
	Location string // a JSON pointer into the definition, e.g. /States/Fail/ErrorPath
}

// ValidateInput is the input of ValidateStateMachineDefinition.
type ValidateInput struct {
	Definition string
	Type       string // STANDARD (default) or EXPRESS
	// Severity is the minimum level returned: ERROR (default) or WARNING.
	Severity string
	// MaxResults bounds the diagnostics returned; 0 means 100.
	MaxResults int
}

// ValidateOutput is the output of ValidateStateMachineDefinition.
type ValidateOutput struct {
	Result      string // OK or FAIL
	Diagnostics []Diagnostic
	Truncated   bool
}

// ValidateStateMachineDefinition checks a definition without creating a
// state machine, with the checks CreateStateMachine applies. Result is FAIL
// when an ERROR diagnostic is present. Errors: ValidationException.
func (r *Runtime) ValidateStateMachineDefinition(in ValidateInput) (*ValidateOutput, error) {
	typ, err := machineType(in.Type)
	if err != nil {
		return nil, err
	}
	switch in.Severity {
	case "", "ERROR", "WARNING":
	default:
		return nil, apiErr(CodeValidation, "1 validation error detected: Value '%s' at 'severity' failed to satisfy constraint: Member must satisfy enum value set: [ERROR, WARNING]", in.Severity)
	}
	if in.MaxResults < 0 || in.MaxResults > 100 {
		return nil, apiErr(CodeValidation, "1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between 0 and 100", in.MaxResults)
	}
	diags := r.diagnose(in.Definition, typ)
	out := &ValidateOutput{Result: "OK", Diagnostics: []Diagnostic{}}
	limit := in.MaxResults
	if limit == 0 {
		limit = 100
	}
	for _, d := range diags {
		sev := "ERROR"
		if d.Warning {
			sev = "WARNING"
			if in.Severity != "WARNING" {
				continue
			}
		} else {
			out.Result = "FAIL"
		}
		if len(out.Diagnostics) == limit {
			out.Truncated = true
			continue
		}
		out.Diagnostics = append(out.Diagnostics, Diagnostic{Severity: sev, Code: d.Code, Message: d.Error(), Location: d.Location})
	}
	return out, nil
}

func machineType(t string) (string, error) {
	switch t {
	case "":
		return "STANDARD", nil
	case "STANDARD", "EXPRESS":
		return t, nil
	}
	return "", apiErr(CodeValidation, "1 validation error detected: Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]", t)
}

// diagnose returns every diagnostic for a definition run as typ.
func (r *Runtime) diagnose(def, typ string) asl.ValidationErrors {
	prog, err := r.program(def)
	if err != nil {
		var verrs asl.ValidationErrors
		if errors.As(err, &verrs) {
			return verrs
		}
		return asl.ValidationErrors{{Msg: err.Error(), Code: asl.CodeSchema}}
	}
	return prog.typeDiagnostics(typ)
}

// typeDiagnostics reports what the machine type does not support: Express
// workflows run no .sync or .waitForTaskToken integrations.
func (p *program) typeDiagnostics(typ string) asl.ValidationErrors {
	if typ != "EXPRESS" {
		return nil
	}
	var errs asl.ValidationErrors
	var walk func(g *graph, base string)
	walk = func(g *graph, base string) {
		for _, name := range sortedStateNames(p.statesOf(g)) {
			cs := g.states[name]
			loc := base + "/States/" + name
			if cs.st.Type == asl.TypeTask && (cs.token || cs.syncMode != "") {
				errs = append(errs, &asl.ValidationError{State: name, Code: asl.CodeSchema, Location: loc + "/Resource",
					Msg: fmt.Sprintf("Express state machines do not support the %s integration pattern (%s)", integrationPattern(cs), cs.st.Resource)})
			}
			for i, b := range cs.branches {
				walk(b, fmt.Sprintf("%s/Branches/%d", loc, i))
			}
			if cs.processor != nil {
				walk(cs.processor, loc+"/ItemProcessor")
			}
		}
	}
	walk(p.root, "")
	return errs
}

func (p *program) statesOf(g *graph) map[string]*asl.State {
	m := make(map[string]*asl.State, len(g.states))
	for n, cs := range g.states {
		m[n] = cs.st
	}
	return m
}

func integrationPattern(cs *cstate) string {
	if cs.token {
		return ".waitForTaskToken"
	}
	return cs.syncMode
}

// definitionError is the InvalidDefinition error of a failed validation,
// in the shape AWS gives it.
func definitionError(err error) *Error {
	var verrs asl.ValidationErrors
	if !errors.As(err, &verrs) {
		return apiErr(CodeInvalidDefinition, "Invalid State Machine Definition: '%v'", err)
	}
	msgs := make([]string, 0, len(verrs))
	for _, v := range verrs.Errors() {
		m := v.Code + ": " + v.Error()
		if v.Location != "" {
			m += " at " + v.Location
		}
		msgs = append(msgs, m)
	}
	return apiErr(CodeInvalidDefinition, "Invalid State Machine Definition: '%s'", strings.Join(msgs, ", "))
}
