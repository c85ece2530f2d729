package runtime

import (
	"context"
	"fmt"
	"regexp"
)

// CreateAliasInput is the input of CreateStateMachineAlias.
type CreateAliasInput struct {
	Name        string
	Description string
	Routing     []RoutingEntry
}

func (r *Runtime) validateRouting(routing []RoutingEntry) (*StateMachine, error) {
	if len(routing) == 0 || len(routing) > 2 {
		return nil, apiErr(CodeValidation, "routingConfiguration must have one or two entries")
	}
	var sm *StateMachine
	total := 0
	for _, re := range routing {
		m, v, _ := r.resolveLocked(re.StateMachineVersionArn)
		if v == nil {
			return nil, apiErr(CodeResourceNotFound, "version %s does not exist", re.StateMachineVersionArn)
		}
		if sm != nil && sm != m {
			return nil, apiErr(CodeValidation, "routing versions belong to different state machines")
		}
		if re.Weight < 0 || re.Weight > 100 {
			return nil, apiErr(CodeValidation, "weight must be between 0 and 100")
		}
		sm = m
		total += re.Weight
	}
	if total != 100 {
		return nil, apiErr(CodeValidation, "routing weights must sum to 100")
	}
	if len(routing) == 2 && routing[0].StateMachineVersionArn == routing[1].StateMachineVersionArn {
		return nil, apiErr(CodeValidation, "routing versions must differ")
	}
	return sm, nil
}

// CreateStateMachineAlias creates an alias routing to one or two versions
// of the same machine. Errors: ValidationException, ResourceNotFound,
// ConflictException (alias name taken with a different routing).
func (r *Runtime) CreateStateMachineAlias(ctx context.Context, in CreateAliasInput) (*Alias, error) {
	if !nameRE.MatchString(in.Name) || regexp.MustCompile(`^[0-9]+$`).MatchString(in.Name) {
		return nil, apiErr(CodeValidation, "invalid alias name %q", in.Name)
	}
	now := r.clock.Now()
	r.mu.Lock()
	sm, err := r.validateRouting(in.Routing)
	if err != nil {
		r.mu.Unlock()
		return nil, err
	}
	arn := sm.Arn + ":" + in.Name
	for _, a := range sm.Aliases {
		if a.Arn == arn {
			r.mu.Unlock()
			if routingEqual(a.Routing, in.Routing) && a.Description == in.Description {
				return a, nil
			}
			return nil, apiErr(CodeConflict, "alias %s already exists", arn)
		}
	}
	a := &Alias{Arn: arn, Name: in.Name, Description: in.Description, Routing: append([]RoutingEntry(nil), in.Routing...), CreationDate: now, UpdateDate: now}
	sm.Aliases = append(sm.Aliases, a)
	snapshot := cloneMachine(sm)
	r.mu.Unlock()
	if err := r.journal.SaveStateMachine(ctx, snapshot); err != nil {
		return nil, fmt.Errorf("journal state machine %s: %w", sm.Arn, err)
	}
	c := *a
	return &c, nil
}

func routingEqual(a, b []RoutingEntry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// UpdateStateMachineAlias changes an alias's description and/or routing.
// Errors: ResourceNotFound, ValidationException.
func (r *Runtime) UpdateStateMachineAlias(ctx context.Context, aliasArn, description string, routing []RoutingEntry) (*Alias, error) {
	if err := checkArn(aliasArn, "stateMachine"); err != nil {
		return nil, err
	}
	now := r.clock.Now()
	r.mu.Lock()
	sm, _, a := r.resolveLocked(aliasArn)
	if a == nil {
		r.mu.Unlock()
		return nil, apiErr(CodeResourceNotFound, "alias %s does not exist", aliasArn)
	}
	if routing != nil {
		m, err := r.validateRouting(routing)
		if err != nil {
			r.mu.Unlock()
			return nil, err
		}
		if m != sm {
			r.mu.Unlock()
			return nil, apiErr(CodeValidation, "routing versions belong to a different state machine")
		}
		a.Routing = append([]RoutingEntry(nil), routing...)
	}
	if description != "" {
		a.Description = description
	}
	a.UpdateDate = now
	c := *a
	snapshot := cloneMachine(sm)
	r.mu.Unlock()
	if err := r.journal.SaveStateMachine(ctx, snapshot); err != nil {
		return nil, fmt.Errorf("journal state machine %s: %w", sm.Arn, err)
	}
	return &c, nil
}

// DescribeStateMachineAlias returns an alias. Errors: ResourceNotFound.
func (r *Runtime) DescribeStateMachineAlias(_ context.Context, aliasArn string) (*Alias, error) {
	if err := checkArn(aliasArn, "stateMachine"); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	_, _, a := r.resolveLocked(aliasArn)
	if a == nil {
		return nil, apiErr(CodeResourceNotFound, "alias %s does not exist", aliasArn)
	}
	c := *a
	return &c, nil
}

// route picks an alias's version by weight.
func (r *Runtime) route(sm *StateMachine, a *Alias) *Version {
	pick := a.Routing[0].StateMachineVersionArn
	if len(a.Routing) == 2 {
		r.randMu.Lock()
		n := r.rnd.IntN(100)
		r.randMu.Unlock()
		if n >= a.Routing[0].Weight {
			pick = a.Routing[1].StateMachineVersionArn
		}
	}
	for _, v := range sm.Versions {
		if v.Arn == pick {
			return v
		}
	}
	return nil
}
