package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// Activities: a Task whose Resource is an activity ARN waits until a
// worker takes its input with GetActivityTask and answers with
// SendTaskSuccess, SendTaskFailure or SendTaskHeartbeat and the task token
// it was given. Activities live in memory: they are not journaled, so they
// must be created again after a restart (tasks waiting on them are
// dispatched again when their execution resumes).

// Activity is an activity.
type Activity struct {
	Arn          string
	Name         string
	CreationDate time.Time
	Tags         map[string]string
}

type activityState struct {
	Activity
	queue []activityTask
	wake  chan struct{} // closed and replaced when a task is queued
}

type activityTask struct {
	token string
	input json.RawMessage
	// started reports the worker that took the task to the waiting Task.
	started func(worker string)
}

// activityPollTimeout is how long GetActivityTask waits for a task (AWS
// answers after 60 seconds without one).
const activityPollTimeout = 60 * time.Second

// CreateActivity creates an activity, or returns the existing one of that
// name. Errors: InvalidName, TooManyTags, ValidationException.
func (r *Runtime) CreateActivity(_ context.Context, name string, tags map[string]string) (*Activity, error) {
	if !nameRE.MatchString(name) {
		return nil, apiErr(CodeInvalidName, "Invalid Name: '%s'", name)
	}
	if err := checkTags(tags); err != nil {
		return nil, err
	}
	arn := r.arnPrefix("activity") + name
	r.mu.Lock()
	defer r.mu.Unlock()
	if a, ok := r.activities[arn]; ok {
		c := a.Activity
		return &c, nil
	}
	a := &activityState{Activity: Activity{Arn: arn, Name: name, CreationDate: r.clock.Now(), Tags: copyTags(tags)}, wake: make(chan struct{})}
	r.activities[arn] = a
	c := a.Activity
	return &c, nil
}

// DescribeActivity returns an activity. Errors: InvalidArn,
// ActivityDoesNotExist.
func (r *Runtime) DescribeActivity(_ context.Context, arn string) (*Activity, error) {
	if err := checkArn(arn, "activity"); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	a, ok := r.activities[arn]
	if !ok {
		return nil, apiErr(CodeActivityDoesNotExist, "Activity Does Not Exist: '%s'", arn)
	}
	c := a.Activity
	return &c, nil
}

// DeleteActivity deletes an activity; deleting a missing one succeeds.
// Errors: InvalidArn.
func (r *Runtime) DeleteActivity(_ context.Context, arn string) error {
	if err := checkArn(arn, "activity"); err != nil {
		return err
	}
	r.mu.Lock()
	delete(r.activities, arn)
	r.mu.Unlock()
	return nil
}

// ListActivities returns every activity sorted by name.
func (r *Runtime) ListActivities(_ context.Context) []*Activity {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Activity, 0, len(r.activities))
	for _, a := range r.activities {
		c := a.Activity
		out = append(out, &c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// GetActivityTask waits up to 60 seconds (or until ctx ends) for a task of
// the activity and returns its token and input; both are empty when none
// came. Errors: InvalidArn, ActivityDoesNotExist.
func (r *Runtime) GetActivityTask(ctx context.Context, arn, worker string) (string, string, error) {
	if err := checkArn(arn, "activity"); err != nil {
		return "", "", err
	}
	timeout := r.clock.After(activityPollTimeout)
	for {
		r.mu.Lock()
		a, ok := r.activities[arn]
		if !ok {
			r.mu.Unlock()
			return "", "", apiErr(CodeActivityDoesNotExist, "Activity Does Not Exist: '%s'", arn)
		}
		for len(a.queue) > 0 {
			t := a.queue[0]
			a.queue = a.queue[1:]
			if _, live := r.tokens[t.token]; !live {
				continue // the Task ended (timed out, stopped) while queued
			}
			r.mu.Unlock()
			t.started(worker)
			return t.token, string(t.input), nil
		}
		wake := a.wake
		r.mu.Unlock()
		select {
		case <-wake:
		case <-timeout:
			return "", "", nil
		case <-ctx.Done():
			return "", "", nil
		}
	}
}

// activityFunction returns the Function an activity Task calls: it queues
// the task for a worker and returns at once; the Task then waits on its
// token, and hears through it which worker took the task.
func (ru *run) activityFunction(cs *cstate, token string) Function {
	arn := cs.st.Resource
	r := ru.r
	started := func(worker string) {
		r.mu.Lock()
		tw := r.tokens[token]
		r.mu.Unlock()
		if tw != nil {
			select {
			case tw.started <- worker:
			default:
			}
		}
	}
	return func(_ context.Context, payload json.RawMessage) (json.RawMessage, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		a, ok := r.activities[arn]
		if !ok {
			return nil, &TaskError{Name: ErrRuntime, Cause: fmt.Sprintf("Activity Does Not Exist: '%s'", arn)}
		}
		a.queue = append(a.queue, activityTask{token: token, input: payload, started: started})
		close(a.wake)
		a.wake = make(chan struct{})
		return nil, nil
	}
}
