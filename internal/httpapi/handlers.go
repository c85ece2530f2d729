package httpapi

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/turbocat/turbocat/internal/service"
	"github.com/turbocat/turbocat/internal/turbocat"
)

func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	writeData(w, r, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.DB.Ping(ctx); err != nil {
		s.logger.Warn("readiness check failed", "error", err.Error())
		return turbocat.Errorf(turbocat.EUNAVAILABLE, "database unreachable")
	}
	writeData(w, r, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(OpenAPIDocument())
	return nil
}

// Auth.

func (s *Server) register(w http.ResponseWriter, r *http.Request) error {
	var in service.RegisterInput
	if err := decode(r, &in); err != nil {
		return err
	}
	sess, err := s.Auth.Register(r.Context(), in)
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusCreated, sess)
	return nil
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var in service.LoginInput
	if err := decode(r, &in); err != nil {
		return err
	}
	sess, err := s.Auth.Login(r.Context(), in)
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, sess)
	return nil
}

type refreshInput struct {
	RefreshToken string `json:"refreshToken"`
}

func (s *Server) refresh(w http.ResponseWriter, r *http.Request) error {
	var in refreshInput
	if err := decode(r, &in); err != nil {
		return err
	}
	sess, err := s.Auth.Refresh(r.Context(), in.RefreshToken)
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, sess)
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	var in refreshInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.Auth.Logout(r.Context(), in.RefreshToken); err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, map[string]bool{"loggedOut": true})
	return nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	u, err := s.Users.UserByID(r.Context(), actor(r).UserID)
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, u)
	return nil
}

func (s *Server) updateMe(w http.ResponseWriter, r *http.Request) error {
	var in service.ProfileInput
	if err := decode(r, &in); err != nil {
		return err
	}
	u, err := s.Auth.UpdateProfile(r.Context(), actor(r).UserID, in)
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, u)
	return nil
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	var in service.ChangePasswordInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.Auth.ChangePassword(r.Context(), actor(r).UserID, in); err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, map[string]bool{"passwordChanged": true})
	return nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	list, err := s.Users.ListUsers(r.Context(), p)
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, list)
	return nil
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := turbocat.AuditFilter{ResourceType: q.Get("resourceType"), ResourceID: q.Get("resourceId"), Action: q.Get("action")}
	if f.Since, err = timeParam(r, "since"); err != nil {
		return err
	}
	if f.Until, err = timeParam(r, "until"); err != nil {
		return err
	}
	a := actor(r)
	uid := a.UserID
	f.UserID = &uid
	if a.IsAdmin() && a.APIKeyID == "" {
		// Administrators read every user's log, or one user's with ?userId=.
		f.UserID = nil
		if v := q.Get("userId"); v != "" {
			if !turbocat.IsID(v) {
				return turbocat.ValidationError("invalid userId", turbocat.FieldError{Field: "userId", Message: "must be a user id (UUID)"})
			}
			f.UserID = &v
		}
	}
	list, err := s.Audit.ListAudit(r.Context(), f, p)
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, list)
	return nil
}

// API keys.

func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request) error {
	var in service.CreateAPIKeyInput
	if err := decode(r, &in); err != nil {
		return err
	}
	k, err := s.Auth.CreateAPIKey(r.Context(), actor(r), in)
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusCreated, k)
	return nil
}

func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	list, err := s.APIKeys.ListAPIKeys(r.Context(), actor(r).UserID, p)
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, list)
	return nil
}

func (s *Server) revokeAPIKey(w http.ResponseWriter, r *http.Request) error {
	k, err := s.APIKeys.RevokeAPIKey(r.Context(), actor(r).UserID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, k)
	return nil
}

// Secrets: names and timestamps only, never values.

func (s *Server) putSecret(w http.ResponseWriter, r *http.Request) error {
	var in service.SecretInput
	if err := decode(r, &in); err != nil {
		return err
	}
	meta, created, err := s.Secrets.Put(r.Context(), actor(r), in)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeData(w, r, status, meta)
	return nil
}

func (s *Server) listSecrets(w http.ResponseWriter, r *http.Request) error {
	list, err := s.Secrets.Store.ListSecrets(r.Context(), actor(r).UserID)
	if err != nil {
		return err
	}
	if list == nil {
		list = []*turbocat.SecretMeta{}
	}
	writeData(w, r, http.StatusOK, turbocat.List[*turbocat.SecretMeta]{Items: list})
	return nil
}

func (s *Server) deleteSecret(w http.ResponseWriter, r *http.Request) error {
	if err := s.Secrets.Store.DeleteSecret(r.Context(), actor(r).UserID, r.PathValue("name")); err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, map[string]string{"name": r.PathValue("name")})
	return nil
}

// Agents.

func (s *Server) createAgent(w http.ResponseWriter, r *http.Request) error {
	var in service.AgentInput
	if err := decode(r, &in); err != nil {
		return err
	}
	a, err := s.Resources.CreateAgent(r.Context(), actor(r), in)
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusCreated, a)
	return nil
}

func (s *Server) listAgents(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	f := turbocat.AgentFilter{Type: r.URL.Query().Get("type"), Search: r.URL.Query().Get("search")}
	if err := oneOf("type", f.Type, turbocat.AgentCode, turbocat.AgentAPI, turbocat.AgentLLM); err != nil {
		return err
	}
	list, err := s.Agents.ListAgents(r.Context(), actor(r).UserID, f, p)
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, list)
	return nil
}

func (s *Server) getAgent(w http.ResponseWriter, r *http.Request) error {
	a, err := s.Agents.Agent(r.Context(), actor(r).UserID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, a)
	return nil
}

func (s *Server) updateAgent(w http.ResponseWriter, r *http.Request) error {
	var in service.AgentInput
	if err := decode(r, &in); err != nil {
		return err
	}
	a, err := s.Resources.UpdateAgent(r.Context(), actor(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, a)
	return nil
}

func (s *Server) deleteAgent(w http.ResponseWriter, r *http.Request) error {
	if err := s.Agents.DeleteAgent(r.Context(), actor(r).UserID, r.PathValue("id")); err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, map[string]string{"id": r.PathValue("id")})
	return nil
}

// Templates.

func (s *Server) createTemplate(w http.ResponseWriter, r *http.Request) error {
	var in service.TemplateInput
	if err := decode(r, &in); err != nil {
		return err
	}
	t, err := s.Resources.CreateTemplate(r.Context(), actor(r), in)
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusCreated, t)
	return nil
}

func (s *Server) listTemplates(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	kind := r.URL.Query().Get("kind")
	if kind != "" && kind != turbocat.TemplateAgent && kind != turbocat.TemplateWorkflow {
		return turbocat.ValidationError("invalid kind", turbocat.FieldError{Field: "kind", Message: "must be agent or workflow"})
	}
	list, err := s.Templates.ListTemplates(r.Context(), actor(r).UserID, kind, p)
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, list)
	return nil
}

func (s *Server) getTemplate(w http.ResponseWriter, r *http.Request) error {
	t, err := s.Templates.Template(r.Context(), actor(r).UserID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, t)
	return nil
}

func (s *Server) updateTemplate(w http.ResponseWriter, r *http.Request) error {
	var in service.TemplateInput
	if err := decode(r, &in); err != nil {
		return err
	}
	t, err := s.Resources.UpdateTemplate(r.Context(), actor(r), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, t)
	return nil
}

func (s *Server) deleteTemplate(w http.ResponseWriter, r *http.Request) error {
	if err := s.Templates.DeleteTemplate(r.Context(), actor(r).UserID, r.PathValue("id")); err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, map[string]string{"id": r.PathValue("id")})
	return nil
}

func (s *Server) instantiateTemplate(w http.ResponseWriter, r *http.Request) error {
	var in service.InstantiateInput
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	a := actor(r)
	// Instantiating writes agents or workflows: the key needs those scopes.
	if !a.HasScope("agents:write") || !a.HasScope("workflows:write") {
		return turbocat.Errorf(turbocat.EFORBIDDEN, "instantiating a template needs the agents:write and workflows:write scopes")
	}
	out, err := s.Resources.Instantiate(r.Context(), a, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusCreated, out)
	return nil
}

// Workflows.

func (s *Server) createWorkflow(w http.ResponseWriter, r *http.Request) error {
	var in service.WorkflowInput
	if err := decode(r, &in); err != nil {
		return err
	}
	wf, err := s.Resources.CreateWorkflow(r.Context(), actor(r), in)
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusCreated, wf)
	return nil
}

func (s *Server) listWorkflows(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	list, err := s.Workflows.ListWorkflows(r.Context(), actor(r).UserID, r.URL.Query().Get("search"), p)
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, list)
	return nil
}

func (s *Server) getWorkflow(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var wf *turbocat.Workflow
	var err error
	if v := r.URL.Query().Get("version"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 1 {
			return turbocat.ValidationError("invalid version", turbocat.FieldError{Field: "version", Message: "must be a positive integer"})
		}
		wf, err = s.Workflows.WorkflowVersion(r.Context(), actor(r).UserID, id, n)
	} else {
		wf, err = s.Workflows.Workflow(r.Context(), actor(r).UserID, id)
	}
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, wf)
	return nil
}

func (s *Server) replaceWorkflow(w http.ResponseWriter, r *http.Request) error {
	return s.updateWorkflow(w, r, true)
}

func (s *Server) patchWorkflow(w http.ResponseWriter, r *http.Request) error {
	return s.updateWorkflow(w, r, false)
}

func (s *Server) updateWorkflow(w http.ResponseWriter, r *http.Request, full bool) error {
	var in service.WorkflowInput
	if err := decode(r, &in); err != nil {
		return err
	}
	wf, err := s.Resources.UpdateWorkflow(r.Context(), actor(r), r.PathValue("id"), in, full)
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, wf)
	return nil
}

func (s *Server) deleteWorkflow(w http.ResponseWriter, r *http.Request) error {
	if err := s.Workflows.DeleteWorkflow(r.Context(), actor(r).UserID, r.PathValue("id")); err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, map[string]string{"id": r.PathValue("id")})
	return nil
}

// Executions.

func (s *Server) listExecutions(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := turbocat.ExecutionFilter{WorkflowID: q.Get("workflowId"), Status: q.Get("status")}
	if err := oneOf("status", f.Status, turbocat.ExecutionPending, turbocat.ExecutionRunning, turbocat.ExecutionCompleted,
		turbocat.ExecutionFailed, turbocat.ExecutionCancelled, turbocat.ExecutionTimedOut); err != nil {
		return err
	}
	if f.Since, err = timeParam(r, "since"); err != nil {
		return err
	}
	if f.Until, err = timeParam(r, "until"); err != nil {
		return err
	}
	list, err := s.Executions.ListExecutions(r.Context(), actor(r).UserID, f, p)
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, list)
	return nil
}

func (s *Server) getExecution(w http.ResponseWriter, r *http.Request) error {
	e, err := s.Executions.Execution(r.Context(), actor(r).UserID, r.PathValue("id"))
	if err != nil {
		return err
	}
	steps, err := s.Executions.ExecutionSteps(r.Context(), actor(r).UserID, e.ID)
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, struct {
		*turbocat.Execution
		Steps []*turbocat.ExecutionStep `json:"steps"`
	}{e, steps})
	return nil
}

func (s *Server) getExecutionSteps(w http.ResponseWriter, r *http.Request) error {
	steps, err := s.Executions.ExecutionSteps(r.Context(), actor(r).UserID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, map[string]any{"items": steps})
	return nil
}

func (s *Server) getExecutionLogs(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	var after int64
	if p.Cursor != "" {
		if after, err = strconv.ParseInt(p.Cursor, 10, 64); err != nil || after < 0 {
			return turbocat.ValidationError("invalid cursor", turbocat.FieldError{Field: "cursor", Message: "not a cursor returned by this API"})
		}
	}
	if r.URL.Query().Get("follow") == "true" {
		return s.followLogs(w, r, after)
	}
	logs, err := s.Executions.ExecutionLogs(r.Context(), actor(r).UserID, r.PathValue("id"), turbocat.LogRange{After: after, Limit: p.Limit})
	if err != nil {
		return err
	}
	list := turbocat.List[*turbocat.ExecutionLog]{Items: logs}
	if logs == nil {
		list.Items = []*turbocat.ExecutionLog{}
	}
	if len(logs) == p.Limit {
		list.NextCursor = strconv.FormatInt(logs[len(logs)-1].Sequence, 10)
	}
	writeData(w, r, http.StatusOK, list)
	return nil
}

// Deployments.

func (s *Server) listDeployments(w http.ResponseWriter, r *http.Request) error {
	p, err := pageOf(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	list, err := s.Deployments.ListDeployments(r.Context(), actor(r).UserID,
		turbocat.DeploymentFilter{WorkflowID: q.Get("workflowId"), Environment: q.Get("environment")}, p)
	if err != nil {
		return err
	}
	if s.Deploys != nil {
		for _, d := range list.Items {
			s.Deploys.FillNext(d)
		}
	}
	writeData(w, r, http.StatusOK, list)
	return nil
}

func (s *Server) getDeployment(w http.ResponseWriter, r *http.Request) error {
	var d *turbocat.Deployment
	var err error
	if s.Deploys != nil {
		d, err = s.Deploys.Get(r.Context(), actor(r), r.PathValue("id"))
	} else {
		d, err = s.Deployments.Deployment(r.Context(), actor(r).UserID, r.PathValue("id"))
	}
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, d)
	return nil
}

// oneOf checks an optional enum query parameter.
func oneOf(name, v string, allowed ...string) error {
	if v == "" || slices.Contains(allowed, v) {
		return nil
	}
	return turbocat.ValidationError("invalid "+name, turbocat.FieldError{Field: name, Message: "must be one of " + strings.Join(allowed, ", ")})
}
