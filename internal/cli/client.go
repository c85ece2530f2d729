package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// APIError is an error answer of the API: its code and message are what
// the user sees.
type APIError struct {
	Status    int
	Code      string
	Message   string
	RequestID string
	// Details are the API's field errors: what to fix, and where.
	Details []FieldDetail
}

// FieldDetail is one field error of an API answer.
type FieldDetail struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("%s: %s", e.Code, e.Message)
	switch {
	case len(e.Details) == 1:
		msg += ": " + e.Details[0].String()
	case len(e.Details) > 1:
		for _, d := range e.Details {
			msg += "\n  " + d.String()
		}
	}
	if e.RequestID != "" {
		msg += " (request " + e.RequestID + ")"
	}
	return msg
}

func (d FieldDetail) String() string {
	if d.Field == "" {
		return d.Message
	}
	return d.Field + ": " + d.Message
}

// client calls the API with the credentials in force.
type client struct {
	env   *Env
	base  string
	creds Credentials
	key   string // API key in force (environment or stored)
	http  *http.Client
}

func (e *Env) client() (*client, error) {
	c, err := e.loadCreds()
	if err != nil {
		return nil, err
	}
	cl := &client{env: e, base: e.apiURL(c), creds: c, key: c.APIKey, http: &http.Client{}}
	if k := e.getenv("TURBOCAT_API_KEY"); k != "" {
		cl.key = k
	}
	return cl, nil
}

func (c *client) authorized() bool { return c.key != "" || c.creds.AccessToken != "" }

func (c *client) request(ctx context.Context, method, path string, body any) (*http.Request, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("User-Agent", "turbocat-cli")
	switch {
	case c.key != "":
		req.Header.Set("X-API-Key", c.key)
	case c.creds.AccessToken != "":
		req.Header.Set("Authorization", "Bearer "+c.creds.AccessToken)
	}
	return req, nil
}

// send does one request and returns the response, turning error answers
// into *APIError. It refreshes an expired session once.
func (c *client) send(ctx context.Context, method, path string, body any) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		req, err := c.request(ctx, method, path, body)
		if err != nil {
			return nil, err
		}
		res, err := c.http.Do(req)
		if err != nil {
			return nil, c.unreachable(method, path, err)
		}
		if res.StatusCode < 400 {
			return res, nil
		}
		apiErr := decodeError(res)
		res.Body.Close()
		if attempt == 0 && apiErr.Code == "TOKEN_EXPIRED" && c.key == "" && c.creds.RefreshToken != "" {
			if err := c.refresh(ctx); err != nil {
				return nil, err
			}
			continue
		}
		return nil, apiErr
	}
}

func decodeError(res *http.Response) *APIError {
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	var env struct {
		Error struct {
			Code, Message string
			Details       []FieldDetail
		}
		Meta struct{ RequestID string }
	}
	e := &APIError{Status: res.StatusCode}
	if json.Unmarshal(raw, &env) == nil && env.Error.Code != "" {
		e.Code, e.Message, e.RequestID, e.Details = env.Error.Code, env.Error.Message, env.Meta.RequestID, env.Error.Details
		return e
	}
	e.Code = fmt.Sprintf("HTTP_%d", res.StatusCode)
	e.Message = strings.TrimSpace(string(raw))
	if e.Message == "" {
		e.Message = http.StatusText(res.StatusCode)
	}
	return e
}

func (c *client) refresh(ctx context.Context) error {
	var s session
	saved := c.creds.AccessToken
	c.creds.AccessToken = ""
	err := c.do(ctx, "POST", "/api/v1/auth/refresh", map[string]string{"refreshToken": c.creds.RefreshToken}, &s)
	if err != nil {
		c.creds.AccessToken = saved
		return fmt.Errorf("refresh the session (run turbocat login again): %w", err)
	}
	c.creds.AccessToken, c.creds.RefreshToken = s.AccessToken, s.RefreshToken
	return c.env.saveCreds(c.creds)
}

// do calls the API and decodes the envelope's data into out (if not nil).
// unreachable explains a failed connection and what to try.
func (c *client) unreachable(method, path string, err error) error {
	if errors.Is(err, syscall.ECONNREFUSED) {
		hint := "is it running? (start one with `make dev` or `turbocat dev`)"
		if c.base != DefaultAPIURL {
			hint = "check TURBOCAT_API_URL, or log in again with --api-url"
		}
		return fmt.Errorf("cannot reach the Turbocat API at %s: %s", c.base, hint)
	}
	return fmt.Errorf("%s %s: %w", method, path, err)
}

func (c *client) do(ctx context.Context, method, path string, body, out any) error {
	res, err := c.send(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, res.Body)
		return nil
	}
	var env struct{ Data json.RawMessage }
	if err := json.NewDecoder(res.Body).Decode(&env); err != nil {
		return fmt.Errorf("decode %s %s: %w", method, path, err)
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return fmt.Errorf("decode %s %s: %w", method, path, err)
	}
	return nil
}

// list reads every page of a list route.
func (c *client) list(ctx context.Context, path string, q url.Values) ([]map[string]any, error) {
	var all []map[string]any
	if q == nil {
		q = url.Values{}
	}
	q.Set("limit", "100")
	for {
		var page struct {
			Items      []map[string]any
			NextCursor string
		}
		if err := c.do(ctx, "GET", path+"?"+q.Encode(), nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all, nil
		}
		q.Set("cursor", page.NextCursor)
	}
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// resolve turns a name or id of a resource (agents, workflows, templates)
// into its id.
func (c *client) resolve(ctx context.Context, plural, ref string) (string, error) {
	if uuidRE.MatchString(ref) {
		return ref, nil
	}
	items, err := c.list(ctx, "/api/v1/"+plural, url.Values{"search": {ref}})
	if err != nil {
		return "", err
	}
	for _, it := range items {
		if it["name"] == ref {
			return str(it["id"]), nil
		}
	}
	return "", &APIError{Status: 404, Code: "NOT_FOUND", Message: fmt.Sprintf("no %s named %q", strings.TrimSuffix(plural, "s"), ref)}
}

type session struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
	User         struct {
		ID    string `json:"id"`
		Email string `json:"email"`
		Role  string `json:"role"`
	} `json:"user"`
}

var errNotLoggedIn = errors.New("not logged in: run `turbocat login` or set TURBOCAT_API_KEY")

// withClient returns a command's RunE that checks its -o value (when the
// command has one), builds the signed-in client and runs fn with it.
func withClient(env *Env, output *string, fn func(cmd *cobra.Command, c *client, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if output != nil {
			if err := checkOutput(*output); err != nil {
				return err
			}
		}
		c, err := authedClient(env)
		if err != nil {
			return err
		}
		return fn(cmd, c, args)
	}
}
