package runtime

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// CreateStateMachineInput is the input of CreateStateMachine.
type CreateStateMachineInput struct {
	Name               string
	Definition         string
	RoleArn            string
	Type               string // STANDARD (default) or EXPRESS
	Publish            bool
	VersionDescription string
	Tags               map[string]string
	Logging            *LoggingConfiguration
	Tracing            *TracingConfiguration
}

// CreateStateMachineOutput is the output of CreateStateMachine.
type CreateStateMachineOutput struct {
	StateMachineArn        string
	StateMachineVersionArn string
	CreationDate           time.Time
}

// CreateStateMachine validates the definition and creates a state machine.
// Creating one with the same name and definition again returns the existing
// ARN (as AWS does); a different definition returns
// StateMachineAlreadyExists. Errors: InvalidName, InvalidDefinition,
// StateMachineAlreadyExists.
func (r *Runtime) CreateStateMachine(ctx context.Context, in CreateStateMachineInput) (*CreateStateMachineOutput, error) {
	if !nameRE.MatchString(in.Name) {
		return nil, apiErr(CodeInvalidName, "invalid state machine name %q", in.Name)
	}
	typ, err := machineType(in.Type)
	if err != nil {
		return nil, err
	}
	if err := checkLogging(in.Logging); err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	if diags := r.diagnose(in.Definition, typ).Errors(); len(diags) > 0 {
		return nil, definitionError(diags)
	}
	arn := r.arnPrefix("stateMachine") + in.Name
	now := r.clock.Now()
	r.mu.Lock()
	if old, ok := r.machines[arn]; ok {
		r.mu.Unlock()
		if old.Definition == in.Definition && old.RoleArn == in.RoleArn && old.Type == typ {
			return &CreateStateMachineOutput{StateMachineArn: arn, CreationDate: old.CreationDate}, nil
		}
		return nil, apiErr(CodeStateMachineAlreadyExists, "State Machine Already Exists: '%s'", arn)
	}
	sm := &StateMachine{Arn: arn, Name: in.Name, Definition: in.Definition, RoleArn: in.RoleArn, Type: typ,
		RevisionID: newUUID(), CreationDate: now, UpdateDate: now, NextVersion: 1,
		Tags: copyTags(in.Tags), Logging: in.Logging, Tracing: in.Tracing}
	out := &CreateStateMachineOutput{StateMachineArn: arn, CreationDate: now}
	if in.Publish {
		v := publish(sm, in.VersionDescription, now)
		out.StateMachineVersionArn = v.Arn
	}
	r.machines[arn] = sm
	snapshot := cloneMachine(sm)
	r.mu.Unlock()
	if err := r.journal.SaveStateMachine(ctx, snapshot); err != nil {
		return nil, fmt.Errorf("journal state machine %s: %w", arn, err)
	}
	return out, nil
}

func cloneMachine(sm *StateMachine) *StateMachine {
	c := *sm
	c.Versions = append([]*Version(nil), sm.Versions...)
	c.Tags = copyTags(sm.Tags)
	c.Aliases = make([]*Alias, len(sm.Aliases))
	for i, a := range sm.Aliases {
		ac := *a
		ac.Routing = append([]RoutingEntry(nil), a.Routing...)
		c.Aliases[i] = &ac
	}
	return &c
}

func publish(sm *StateMachine, desc string, now time.Time) *Version {
	// Publishing an unchanged revision returns the latest version (AWS).
	if n := len(sm.Versions); n > 0 && sm.Versions[n-1].RevisionID == sm.RevisionID {
		return sm.Versions[n-1]
	}
	v := &Version{Arn: sm.Arn + ":" + strconv.Itoa(sm.NextVersion), Number: sm.NextVersion, Definition: sm.Definition,
		RoleArn: sm.RoleArn, Description: desc, RevisionID: sm.RevisionID, CreationDate: now}
	sm.NextVersion++
	sm.Versions = append(sm.Versions, v)
	return v
}

// UpdateStateMachineInput is the input of UpdateStateMachine.
type UpdateStateMachineInput struct {
	StateMachineArn    string
	Definition         string // "" keeps the current one
	RoleArn            string // "" keeps the current one
	Publish            bool
	VersionDescription string
	Logging            *LoggingConfiguration // nil keeps the current one
	Tracing            *TracingConfiguration // nil keeps the current one
}

// UpdateStateMachine replaces the definition or role of a state machine and
// optionally publishes a version; it returns the new version ARN if one was
// published. Errors: StateMachineDoesNotExist, InvalidDefinition.
func (r *Runtime) UpdateStateMachine(ctx context.Context, in UpdateStateMachineInput) (string, time.Time, error) {
	if err := checkArn(in.StateMachineArn, "stateMachine"); err != nil {
		return "", time.Time{}, err
	}
	if err := checkLogging(in.Logging); err != nil {
		return "", time.Time{}, err
	}
	now := r.clock.Now()
	r.mu.Lock()
	sm, ok := r.machines[in.StateMachineArn]
	if !ok {
		r.mu.Unlock()
		if !validArn(in.StateMachineArn, "stateMachine") {
			return "", time.Time{}, apiErr(CodeInvalidArn, "Invalid Arn: 'Resource type not valid in this context: %s'", in.StateMachineArn)
		}
		return "", time.Time{}, apiErr(CodeStateMachineDoesNotExist, "State Machine Does Not Exist: '%s'", in.StateMachineArn)
	}
	typ := sm.Type
	r.mu.Unlock()
	if in.Definition != "" {
		if diags := r.diagnose(in.Definition, typ).Errors(); len(diags) > 0 {
			return "", time.Time{}, definitionError(diags)
		}
	}
	r.mu.Lock()
	if sm, ok = r.machines[in.StateMachineArn]; !ok {
		r.mu.Unlock()
		return "", time.Time{}, apiErr(CodeStateMachineDoesNotExist, "State Machine Does Not Exist: '%s'", in.StateMachineArn)
	}
	if (in.Definition != "" && in.Definition != sm.Definition) || (in.RoleArn != "" && in.RoleArn != sm.RoleArn) {
		if in.Definition != "" {
			sm.Definition = in.Definition
		}
		if in.RoleArn != "" {
			sm.RoleArn = in.RoleArn
		}
		sm.RevisionID = newUUID()
		sm.UpdateDate = now
		sm.prog = nil
	}
	if in.Logging != nil {
		sm.Logging = in.Logging
		sm.UpdateDate = now
	}
	if in.Tracing != nil {
		sm.Tracing = in.Tracing
		sm.UpdateDate = now
	}
	var vArn string
	if in.Publish {
		vArn = publish(sm, in.VersionDescription, now).Arn
	}
	snapshot := cloneMachine(sm)
	r.mu.Unlock()
	if err := r.journal.SaveStateMachine(ctx, snapshot); err != nil {
		return "", time.Time{}, fmt.Errorf("journal state machine %s: %w", in.StateMachineArn, err)
	}
	return vArn, now, nil
}

// PublishStateMachineVersion publishes the current revision as a version
// and returns its ARN. Errors: StateMachineDoesNotExist.
func (r *Runtime) PublishStateMachineVersion(ctx context.Context, arn, description string) (*Version, error) {
	if err := checkArn(arn, "stateMachine"); err != nil {
		return nil, err
	}
	now := r.clock.Now()
	r.mu.Lock()
	sm, ok := r.machines[arn]
	if !ok {
		r.mu.Unlock()
		return nil, apiErr(CodeStateMachineDoesNotExist, "State Machine Does Not Exist: '%s'", arn)
	}
	v := publish(sm, description, now)
	snapshot := cloneMachine(sm)
	r.mu.Unlock()
	if err := r.journal.SaveStateMachine(ctx, snapshot); err != nil {
		return nil, fmt.Errorf("journal state machine %s: %w", arn, err)
	}
	return v, nil
}

// DescribeStateMachine returns a state machine, or the version a version
// ARN names (as a StateMachine with that definition). Errors:
// StateMachineDoesNotExist.
func (r *Runtime) DescribeStateMachine(_ context.Context, arn string) (*StateMachine, error) {
	if err := checkArn(arn, "stateMachine"); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if sm, ok := r.machines[arn]; ok {
		return cloneMachine(sm), nil
	}
	if sm, v, _ := r.resolveLocked(arn); sm != nil && v != nil {
		c := cloneMachine(sm)
		c.Arn, c.Definition, c.RoleArn, c.Description, c.RevisionID, c.CreationDate = v.Arn, v.Definition, v.RoleArn, v.Description, v.RevisionID, v.CreationDate
		return c, nil
	}
	return nil, apiErr(CodeStateMachineDoesNotExist, "State Machine Does Not Exist: '%s'", arn)
}

// ListStateMachines returns every state machine sorted by name.
func (r *Runtime) ListStateMachines(_ context.Context) []*StateMachine {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*StateMachine, 0, len(r.machines))
	for _, sm := range r.machines {
		out = append(out, cloneMachine(sm))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// DeleteStateMachine deletes a state machine, or one version or alias when
// given a version or alias ARN. Deleting a missing machine succeeds.
// Errors: ConflictException (a version an alias routes to).
func (r *Runtime) DeleteStateMachine(ctx context.Context, arn string) error {
	if err := checkArn(arn, "stateMachine"); err != nil {
		return err
	}
	r.mu.Lock()
	if _, ok := r.machines[arn]; ok {
		delete(r.machines, arn)
		r.mu.Unlock()
		if err := r.journal.DeleteStateMachine(ctx, arn); err != nil {
			return fmt.Errorf("journal delete %s: %w", arn, err)
		}
		return nil
	}
	sm, v, a := r.resolveLocked(arn)
	switch {
	case v != nil:
		for _, al := range sm.Aliases {
			for _, re := range al.Routing {
				if re.StateMachineVersionArn == v.Arn {
					r.mu.Unlock()
					return apiErr(CodeConflict, "version %s is referenced by alias %s", v.Arn, al.Arn)
				}
			}
		}
		sm.Versions = removeVersion(sm.Versions, v)
	case a != nil:
		for i, al := range sm.Aliases {
			if al == a {
				sm.Aliases = append(sm.Aliases[:i:i], sm.Aliases[i+1:]...)
				break
			}
		}
	default:
		r.mu.Unlock()
		return nil
	}
	snapshot := cloneMachine(sm)
	r.mu.Unlock()
	if err := r.journal.SaveStateMachine(ctx, snapshot); err != nil {
		return fmt.Errorf("journal state machine %s: %w", sm.Arn, err)
	}
	return nil
}

func removeVersion(vs []*Version, v *Version) []*Version {
	out := vs[:0:0]
	for _, x := range vs {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

// resolveLocked finds the machine for a machine, version or alias ARN.
func (r *Runtime) resolveLocked(arn string) (*StateMachine, *Version, *Alias) {
	if sm, ok := r.machines[arn]; ok {
		return sm, nil, nil
	}
	i := strings.LastIndexByte(arn, ':')
	if i < 0 {
		return nil, nil, nil
	}
	sm, ok := r.machines[arn[:i]]
	if !ok {
		return nil, nil, nil
	}
	for _, v := range sm.Versions {
		if v.Arn == arn {
			return sm, v, nil
		}
	}
	for _, a := range sm.Aliases {
		if a.Arn == arn {
			return sm, nil, a
		}
	}
	return nil, nil, nil
}
