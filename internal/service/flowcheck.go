package service

import (
	"context"
	"fmt"
	"strings"

	"github.com/turbocat/turbocat/internal/turbocat"
)

// WorkflowResolver finds a user's workflow by id or name.
type WorkflowResolver interface {
	Workflow(ctx context.Context, userID, id string) (*turbocat.Workflow, error)
	WorkflowByName(ctx context.Context, userID, name string) (*turbocat.Workflow, error)
}

// resolveWorkflow finds the workflow a workflow step names (an id, or a
// name). ENOTFOUND when there is none.
func resolveWorkflow(ctx context.Context, r WorkflowResolver, userID, ref string) (*turbocat.Workflow, error) {
	if looksLikeUUID(ref) {
		w, err := r.Workflow(ctx, userID, ref)
		if err == nil || turbocat.ErrorCodeOf(err) != turbocat.ENOTFOUND {
			return w, err
		}
	}
	return r.WorkflowByName(ctx, userID, ref)
}

func looksLikeUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
		} else if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// checkSubWorkflows checks that every workflow step names an existing
// workflow of the user and that no chain of workflows calling each other
// comes back to w (a cycle would run forever).
func checkSubWorkflows(ctx context.Context, r WorkflowResolver, userID string, w *turbocat.Workflow, add func(field, format string, args ...any)) error {
	same := func(x *turbocat.Workflow) bool {
		return (w.ID != "" && x.ID == w.ID) || x.Name == w.Name
	}
	for i, st := range w.Steps {
		if st.StepType() != turbocat.StepTypeWorkflow || strings.TrimSpace(st.Workflow) == "" {
			continue
		}
		field := fmt.Sprintf("steps[%d].workflow", i)
		if st.Workflow == w.Name || (w.ID != "" && st.Workflow == w.ID) {
			add(field, "workflow cycle: %s calls itself", w.Name)
			continue
		}
		child, err := resolveWorkflow(ctx, r, userID, st.Workflow)
		if turbocat.ErrorCodeOf(err) == turbocat.ENOTFOUND {
			add(field, "no workflow %q: create it first (a workflow step runs another workflow of yours, by name or id)", st.Workflow)
			continue
		}
		if err != nil {
			return err
		}
		// Depth-first over the workflows child calls, current versions.
		path := []string{w.Name, child.Name}
		seen := map[string]bool{child.ID: true}
		var walk func(x *turbocat.Workflow) (bool, error)
		walk = func(x *turbocat.Workflow) (bool, error) {
			for _, s := range x.Steps {
				if s.StepType() != turbocat.StepTypeWorkflow {
					continue
				}
				next, err := resolveWorkflow(ctx, r, userID, s.Workflow)
				if turbocat.ErrorCodeOf(err) == turbocat.ENOTFOUND {
					continue
				}
				if err != nil {
					return false, err
				}
				path = append(path, next.Name)
				if same(next) {
					return true, nil
				}
				if !seen[next.ID] {
					seen[next.ID] = true
					if found, err := walk(next); found || err != nil {
						return found, err
					}
				}
				path = path[:len(path)-1]
			}
			return false, nil
		}
		found, err := walk(child)
		if err != nil {
			return err
		}
		if found {
			add(field, "workflow cycle: %s (workflows may not call each other in a loop)", strings.Join(path, " → "))
		}
	}
	return nil
}
