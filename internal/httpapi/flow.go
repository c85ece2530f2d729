package httpapi

import (
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/turbocat/turbocat/internal/service"
	"github.com/turbocat/turbocat/internal/turbocat"
)

// Control flow: approval decisions (by the owner, or by a signed link
// without a login) and compiled definitions.

func (s *Server) approveStep(w http.ResponseWriter, r *http.Request) error {
	return s.decideStep(w, r, true)
}
func (s *Server) rejectStep(w http.ResponseWriter, r *http.Request) error {
	return s.decideStep(w, r, false)
}

func (s *Server) decideStep(w http.ResponseWriter, r *http.Request, approve bool) error {
	if _, err := s.Executions.Get(r.Context(), actor(r), r.PathValue("id")); err != nil {
		return err // another user's run is a 404 before the body is read
	}
	var in service.DecisionInput
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	return read(w, r, func() (*turbocat.ExecutionStep, error) {
		return s.Executions.Decide(r.Context(), actor(r), r.PathValue("id"), r.PathValue("key"), approve, in)
	})
}

func (s *Server) getDefinition(w http.ResponseWriter, r *http.Request) error {
	version := 0
	if v := r.URL.Query().Get("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return turbocat.ValidationError("invalid version", turbocat.FieldError{Field: "version", Message: "must be a version number (1 or more)"})
		}
		version = n
	}
	return read(w, r, func() (*service.Definition, error) {
		return s.Executions.Definition(r.Context(), actor(r), r.PathValue("id"), version)
	})
}

// wantsHTML reports whether a browser asked (a link opened from an e-mail).
func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

var linkPage = template.Must(template.New("link").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Turbocat approval</title></head>
<body style="font-family:sans-serif;max-width:36rem;margin:3rem auto">
<h1>{{if .Approve}}Approve{{else}}Reject{{end}} step {{.StepKey}}</h1>
<p>Run {{.ExecutionID}}: the step is {{.Status}}.</p>
{{if .Message}}<p><strong>{{.Message}}</strong></p>{{end}}
{{if eq .Status "waiting"}}<form method="post">
<label>Comment (optional)<br><textarea name="comment" rows="3" cols="50" maxlength="2000"></textarea></label><br>
<button type="submit">{{if .Approve}}Approve{{else}}Reject{{end}}</button>
</form>{{end}}
</body></html>`))

type linkView struct {
	*service.LinkDecision
	Message string
}

// getApprovalLink says what a signed approval link decides (a browser gets
// a page with a button that posts the decision: opening a link never
// decides, so mail scanners that follow links cannot).
func (s *Server) getApprovalLink(w http.ResponseWriter, r *http.Request) error {
	d, err := s.Executions.InspectLink(r.Context(), r.PathValue("token"))
	if err != nil {
		return err
	}
	if wantsHTML(r) {
		return writeHTML(w, http.StatusOK, linkView{LinkDecision: d})
	}
	writeData(w, r, http.StatusOK, d)
	return nil
}

// postApprovalLink applies a signed approval link's decision, once.
func (s *Server) postApprovalLink(w http.ResponseWriter, r *http.Request) error {
	var in service.DecisionInput
	form := strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded")
	if form {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			return turbocat.ValidationError("invalid form", turbocat.FieldError{Field: "comment", Message: "could not be read"})
		}
		in.Comment = r.PostForm.Get("comment")
	} else if err := decodeOptional(r, &in); err != nil {
		return err
	}
	step, err := s.Executions.DecideByLink(r.Context(), r.PathValue("token"), in)
	if form {
		d, ierr := s.Executions.InspectLink(r.Context(), r.PathValue("token"))
		if ierr != nil {
			return ierr
		}
		msg := "Done: the step is " + d.Status + "."
		if err != nil {
			if e := turbocat.AsError(err); e != nil && e.Code != turbocat.EINTERNAL {
				msg = e.Message
			} else {
				return err
			}
		}
		return writeHTML(w, http.StatusOK, linkView{LinkDecision: d, Message: msg})
	}
	if err != nil {
		return err
	}
	writeData(w, r, http.StatusOK, step)
	return nil
}

func writeHTML(w http.ResponseWriter, status int, v linkView) error {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	w.WriteHeader(status)
	return linkPage.Execute(w, v)
}
