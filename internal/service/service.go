package service

import (
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/turbocat/turbocat/internal/turbocat"
)

// Limits are the per-user quotas and size bounds.
type Limits struct {
	MaxAgents    int
	MaxWorkflows int
	MaxSteps     int // default dag.DefaultMaxNodes
}

func checkName(field string, s string, details *[]turbocat.FieldError) string {
	s = strings.TrimSpace(s)
	if s == "" || utf8.RuneCountInString(s) > 100 {
		*details = append(*details, turbocat.FieldError{Field: field, Message: "must be 1 to 100 characters"})
	}
	return s
}

func checkDescription(s string, details *[]turbocat.FieldError) string {
	if utf8.RuneCountInString(s) > 2000 {
		*details = append(*details, turbocat.FieldError{Field: "description", Message: "must be at most 2000 characters"})
	}
	return s
}

func nullToNil(b json.RawMessage) json.RawMessage {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	return b
}

func firstNonSpace(b []byte) byte {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c
		}
	}
	return 0
}

// nowOr returns now(), or the current time when now is nil (services take
// an optional clock for tests).
func nowOr(now func() time.Time) time.Time {
	if now != nil {
		return now()
	}
	return time.Now()
}
