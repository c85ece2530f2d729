package runtime

import (
	"context"
	"fmt"
	"sort"
	"unicode/utf8"
)

// Tag limits, as Step Functions applies them.
const (
	maxTags           = 50
	maxTagKeyLength   = 128
	maxTagValueLength = 256
)

func copyTags(t map[string]string) map[string]string {
	if len(t) == 0 {
		return nil
	}
	c := make(map[string]string, len(t))
	for k, v := range t {
		c[k] = v
	}
	return c
}

func checkTags(t map[string]string) error {
	if len(t) > maxTags {
		return apiErr(CodeTooManyTags, "Too many tags: a resource has at most %d tags", maxTags)
	}
	for k, v := range t {
		if k == "" || utf8.RuneCountInString(k) > maxTagKeyLength {
			return apiErr(CodeValidation, "1 validation error detected: Value '%s' at 'tags.key' failed to satisfy constraint: Member must have length between 1 and %d", k, maxTagKeyLength)
		}
		if utf8.RuneCountInString(v) > maxTagValueLength {
			return apiErr(CodeValidation, "1 validation error detected: Value at 'tags.value' failed to satisfy constraint: Member must have length less than or equal to %d", maxTagValueLength)
		}
	}
	return nil
}

func checkLogging(l *LoggingConfiguration) error {
	if l == nil {
		return nil
	}
	switch l.Level {
	case "", "OFF":
	case "ALL", "ERROR", "FATAL":
		if len(l.Destinations) == 0 {
			return apiErr(CodeInvalidLoggingConfiguration, "Invalid Logging Configuration: Must specify exactly one Log Destination if logging level is not OFF.")
		}
	default:
		return apiErr(CodeValidation, "1 validation error detected: Value '%s' at 'loggingConfiguration.level' failed to satisfy constraint: Member must satisfy enum value set: [ALL, ERROR, FATAL, OFF]", l.Level)
	}
	if len(l.Destinations) > 1 {
		return apiErr(CodeInvalidLoggingConfiguration, "Invalid Logging Configuration: Must specify exactly one Log Destination if logging level is not OFF.")
	}
	return nil
}

// Tag is one tag of a resource.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// tagsOf returns where a resource's tags live: a state machine (not a
// version or alias) or an activity.
func (r *Runtime) tagsOf(arn string) (*map[string]string, func() error, error) {
	if err := checkArn(arn, "stateMachine", "activity"); err != nil {
		return nil, nil, err
	}
	if sm, ok := r.machines[arn]; ok {
		return &sm.Tags, func() error {
			snap := cloneMachine(sm)
			return r.journal.SaveStateMachine(context.Background(), snap)
		}, nil
	}
	if a, ok := r.activities[arn]; ok {
		return &a.Tags, func() error { return nil }, nil
	}
	return nil, nil, apiErr(CodeResourceNotFound, "Resource not found: '%s'", arn)
}

// TagResource adds or replaces tags of a state machine or activity.
// Errors: InvalidArn, ResourceNotFound, TooManyTags, ValidationException.
func (r *Runtime) TagResource(_ context.Context, arn string, tags []Tag) error {
	r.mu.Lock()
	dst, save, err := r.tagsOf(arn)
	if err != nil {
		r.mu.Unlock()
		return err
	}
	merged := copyTags(*dst)
	if merged == nil {
		merged = map[string]string{}
	}
	for _, t := range tags {
		merged[t.Key] = t.Value
	}
	if err := checkTags(merged); err != nil {
		r.mu.Unlock()
		return err
	}
	*dst = merged
	r.mu.Unlock()
	if err := save(); err != nil {
		return fmt.Errorf("journal tags of %s: %w", arn, err)
	}
	return nil
}

// UntagResource removes tags by key. Errors: InvalidArn, ResourceNotFound.
func (r *Runtime) UntagResource(_ context.Context, arn string, keys []string) error {
	r.mu.Lock()
	dst, save, err := r.tagsOf(arn)
	if err != nil {
		r.mu.Unlock()
		return err
	}
	kept := copyTags(*dst)
	for _, k := range keys {
		delete(kept, k)
	}
	*dst = copyTags(kept)
	r.mu.Unlock()
	if err := save(); err != nil {
		return fmt.Errorf("journal tags of %s: %w", arn, err)
	}
	return nil
}

// ListTagsForResource returns a resource's tags sorted by key. Errors:
// InvalidArn, ResourceNotFound.
func (r *Runtime) ListTagsForResource(_ context.Context, arn string) ([]Tag, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	dst, _, err := r.tagsOf(arn)
	if err != nil {
		return nil, err
	}
	out := make([]Tag, 0, len(*dst))
	for k, v := range *dst {
		out = append(out, Tag{Key: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}
