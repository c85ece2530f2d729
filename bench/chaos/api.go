package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// api is a small client of Turbocat's HTTP API.
type api struct {
	base  string // http://127.0.0.1:PORT/api/v1
	token string
	http  *http.Client
}

func newAPI(port int) *api {
	return &api{base: fmt.Sprintf("http://127.0.0.1:%d/api/v1", port), http: &http.Client{Timeout: 30 * time.Second}}
}

// apiError is an answer other than 2xx.
type apiError struct {
	Status int
	Body   string
}

func (e *apiError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Status, e.Body) }

// do sends one request and decodes the envelope's data into out.
func (a *api) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		if len(b) > 500 {
			b = b[:500]
		}
		return fmt.Errorf("%s %s: %w", method, path, &apiError{Status: resp.StatusCode, Body: string(b)})
	}
	if out == nil {
		return nil
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return fmt.Errorf("%s %s: decode: %w", method, path, err)
	}
	return json.Unmarshal(env.Data, out)
}

// get is do for reads, tried up to three times (the API may be coming
// back from a fault).
func (a *api) get(ctx context.Context, path string, out any) error {
	var err error
	for i := 0; i < 3; i++ {
		if err = a.do(ctx, http.MethodGet, path, nil, out); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(i+1) * 500 * time.Millisecond):
		}
	}
	return err
}

// run is an execution as the API shows it.
type run struct {
	ID     string          `json:"id"`
	Status string          `json:"status"`
	Error  json.RawMessage `json:"error"`
	Steps  []runStep       `json:"steps"`
}

type runStep struct {
	StepKey string `json:"stepKey"`
	Status  string `json:"status"`
	Attempt int    `json:"attempt"`
}

// listRuns returns every execution of workflow wf.
func (a *api) listRuns(ctx context.Context, wf string) ([]run, error) {
	var all []run
	cursor := ""
	for {
		q := url.Values{"workflowId": {wf}, "limit": {"100"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page struct {
			Items      []run  `json:"items"`
			NextCursor string `json:"nextCursor"`
		}
		if err := a.get(ctx, "/executions?"+q.Encode(), &page); err != nil {
			return all, err
		}
		all = append(all, page.Items...)
		if page.NextCursor == "" || len(page.Items) == 0 {
			return all, nil
		}
		cursor = page.NextCursor
	}
}

// describeExecution asks the local Step Functions endpoint for the status
// of execution arn; "" when it cannot tell (it is a diagnostic only: the
// endpoint may come to require credentials).
func describeExecution(ctx context.Context, sfnPort int, arn string) string {
	if arn == "" {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	b, _ := json.Marshal(map[string]string{"executionArn": arn})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/", sfnPort), bytes.NewReader(b))
	if err != nil {
		return ""
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "AWSStepFunctions.DescribeExecution")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var out struct {
		Status string `json:"status"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out) != nil {
		return ""
	}
	return out.Status
}
