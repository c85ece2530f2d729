// Package asl defines Go types for the Amazon States Language, in both of
// its query languages (JSONPath and JSONata), and parses and structurally
// validates state machine definitions. Checks that need to evaluate
// expressions (JSONPath syntax, JSONata syntax, variable flow) are the
// runtime's; this package only recognises a JSONata value by its
// "{% ... %}" shape.
//
// Marshalling a StateMachine produces deterministic JSON: optional fields are
// omitted when unset and map keys (state names) are sorted by encoding/json.
// The package uses the standard library only.
package asl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
)

// State type names.
const (
	TypePass     = "Pass"
	TypeTask     = "Task"
	TypeChoice   = "Choice"
	TypeWait     = "Wait"
	TypeSucceed  = "Succeed"
	TypeFail     = "Fail"
	TypeParallel = "Parallel"
	TypeMap      = "Map"
)

// Query language names.
const (
	QueryLanguageJSONPath = "JSONPath"
	QueryLanguageJSONata  = "JSONata"
)

// StateMachine is a complete ASL definition. It is also used for the
// branches of a Parallel state and for a Map state's legacy Iterator, where
// only Comment, StartAt and States are meaningful.
type StateMachine struct {
	Comment        string            `json:"Comment,omitempty"`
	QueryLanguage  string            `json:"QueryLanguage,omitempty"`
	StartAt        string            `json:"StartAt"`
	States         map[string]*State `json:"States"`
	TimeoutSeconds *int              `json:"TimeoutSeconds,omitempty"`
	Version        string            `json:"Version,omitempty"`
}

// IsJSONata reports whether s is a JSONata expression string: "{%"
// followed by the expression and "%}", with nothing around them.
func IsJSONata(s string) bool {
	return len(s) >= 4 && s[:2] == "{%" && s[len(s)-2:] == "%}"
}

// JSONataExpr returns the expression inside a "{% ... %}" string.
func JSONataExpr(s string) string { return s[2 : len(s)-2] }

// ProcessorConfig is the ProcessorConfig of a Map state's ItemProcessor.
type ProcessorConfig struct {
	Mode          string `json:"Mode,omitempty"`
	ExecutionType string `json:"ExecutionType,omitempty"`
}

// ItemProcessor is the ItemProcessor of a Map state.
type ItemProcessor struct {
	Comment         string            `json:"Comment,omitempty"`
	ProcessorConfig *ProcessorConfig  `json:"ProcessorConfig,omitempty"`
	StartAt         string            `json:"StartAt"`
	States          map[string]*State `json:"States"`
}

// State is one state of any type. Fields that do not apply to a state's Type
// must be left unset; Validate reports the ones that are set anyway.
type State struct {
	Type          string `json:"Type"`
	Comment       string `json:"Comment,omitempty"`
	QueryLanguage string `json:"QueryLanguage,omitempty"`

	// Input and output processing.
	InputPath      Path            `json:"InputPath,omitzero"`
	Parameters     json.RawMessage `json:"Parameters,omitempty"`
	ResultSelector json.RawMessage `json:"ResultSelector,omitempty"`
	ResultPath     Path            `json:"ResultPath,omitzero"`
	OutputPath     Path            `json:"OutputPath,omitzero"`
	Result         json.RawMessage `json:"Result,omitempty"`
	Assign         json.RawMessage `json:"Assign,omitempty"`

	// JSONata input and output processing.
	Arguments json.RawMessage `json:"Arguments,omitempty"`
	Output    json.RawMessage `json:"Output,omitempty"`
	Items     json.RawMessage `json:"Items,omitempty"`

	// Task.
	Resource             string          `json:"Resource,omitempty"`
	TimeoutSeconds       *int            `json:"TimeoutSeconds,omitempty"`
	TimeoutSecondsPath   string          `json:"TimeoutSecondsPath,omitempty"`
	HeartbeatSeconds     *int            `json:"HeartbeatSeconds,omitempty"`
	HeartbeatSecondsPath string          `json:"HeartbeatSecondsPath,omitempty"`
	Credentials          json.RawMessage `json:"Credentials,omitempty"`

	// Choice.
	Choices []*ChoiceRule `json:"Choices,omitempty"`
	Default string        `json:"Default,omitempty"`

	// Wait.
	Seconds       *int   `json:"Seconds,omitempty"`
	SecondsPath   string `json:"SecondsPath,omitempty"`
	Timestamp     string `json:"Timestamp,omitempty"`
	TimestampPath string `json:"TimestampPath,omitempty"`

	// Fail.
	Error     string `json:"Error,omitempty"`
	ErrorPath string `json:"ErrorPath,omitempty"`
	Cause     string `json:"Cause,omitempty"`
	CausePath string `json:"CausePath,omitempty"`

	// Parallel.
	Branches []*StateMachine `json:"Branches,omitempty"`

	// Map.
	ItemsPath                      string          `json:"ItemsPath,omitempty"`
	ItemSelector                   json.RawMessage `json:"ItemSelector,omitempty"`
	ItemProcessor                  *ItemProcessor  `json:"ItemProcessor,omitempty"`
	Iterator                       *StateMachine   `json:"Iterator,omitempty"`
	MaxConcurrency                 *int            `json:"MaxConcurrency,omitempty"`
	MaxConcurrencyPath             string          `json:"MaxConcurrencyPath,omitempty"`
	ItemReader                     json.RawMessage `json:"ItemReader,omitempty"`
	ItemBatcher                    json.RawMessage `json:"ItemBatcher,omitempty"`
	ResultWriter                   json.RawMessage `json:"ResultWriter,omitempty"`
	ToleratedFailureCount          *int            `json:"ToleratedFailureCount,omitempty"`
	ToleratedFailureCountPath      string          `json:"ToleratedFailureCountPath,omitempty"`
	ToleratedFailurePercentage     *float64        `json:"ToleratedFailurePercentage,omitempty"`
	ToleratedFailurePercentagePath string          `json:"ToleratedFailurePercentagePath,omitempty"`
	Label                          string          `json:"Label,omitempty"`

	// Error handling (Task, Parallel, Map).
	Retry []*Retrier `json:"Retry,omitempty"`
	Catch []*Catcher `json:"Catch,omitempty"`

	// Transition.
	Next string `json:"Next,omitempty"`
	End  bool   `json:"End,omitempty"`

	// Exprs holds the JSONata expressions ("{% ... %}") JSONata states give
	// in place of a number: TimeoutSeconds, HeartbeatSeconds, Seconds,
	// MaxConcurrency, ToleratedFailureCount and ToleratedFailurePercentage,
	// keyed by field name. The numeric field is then nil.
	Exprs map[string]string `json:"-"`
}

// numericFields are the State fields a JSONata state may give as an
// expression instead of a number.
var numericFields = []string{"TimeoutSeconds", "HeartbeatSeconds", "Seconds", "MaxConcurrency", "ToleratedFailureCount", "ToleratedFailurePercentage"}

// UnmarshalJSON implements json.Unmarshaler: the numeric fields also take
// JSONata expression strings (kept in Exprs).
func (s *State) UnmarshalJSON(b []byte) error {
	type plain State
	var aux struct {
		*plain
		TimeoutSeconds             json.RawMessage `json:"TimeoutSeconds"`
		HeartbeatSeconds           json.RawMessage `json:"HeartbeatSeconds"`
		Seconds                    json.RawMessage `json:"Seconds"`
		MaxConcurrency             json.RawMessage `json:"MaxConcurrency"`
		ToleratedFailureCount      json.RawMessage `json:"ToleratedFailureCount"`
		ToleratedFailurePercentage json.RawMessage `json:"ToleratedFailurePercentage"`
	}
	aux.plain = (*plain)(s)
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	raws := map[string]json.RawMessage{"TimeoutSeconds": aux.TimeoutSeconds, "HeartbeatSeconds": aux.HeartbeatSeconds,
		"Seconds": aux.Seconds, "MaxConcurrency": aux.MaxConcurrency, "ToleratedFailureCount": aux.ToleratedFailureCount,
		"ToleratedFailurePercentage": aux.ToleratedFailurePercentage}
	ints := map[string]**int{"TimeoutSeconds": &s.TimeoutSeconds, "HeartbeatSeconds": &s.HeartbeatSeconds, "Seconds": &s.Seconds,
		"MaxConcurrency": &s.MaxConcurrency, "ToleratedFailureCount": &s.ToleratedFailureCount}
	for _, field := range numericFields {
		raw := bytes.TrimSpace(raws[field])
		if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
			continue
		}
		if raw[0] == '"' {
			var expr string
			if err := json.Unmarshal(raw, &expr); err != nil {
				return err
			}
			if s.Exprs == nil {
				s.Exprs = map[string]string{}
			}
			s.Exprs[field] = expr
			continue
		}
		var err error
		if dst, ok := ints[field]; ok {
			err = json.Unmarshal(raw, dst)
		} else {
			err = json.Unmarshal(raw, &s.ToleratedFailurePercentage)
		}
		if err != nil {
			return &json.UnmarshalTypeError{Value: "number " + string(raw), Type: reflect.TypeOf(0), Field: field}
		}
	}
	return nil
}

// MarshalJSON implements json.Marshaler. A state without expressions in
// numeric fields marshals exactly as its plain struct; expressions are
// added as string fields.
func (s State) MarshalJSON() ([]byte, error) {
	type plain State
	b, err := json.Marshal(plain(s))
	if err != nil || len(s.Exprs) == 0 {
		return b, err
	}
	var extra bytes.Buffer
	for _, field := range numericFields {
		expr, ok := s.Exprs[field]
		if !ok {
			continue
		}
		v, err := json.Marshal(expr)
		if err != nil {
			return nil, err
		}
		extra.WriteString(`,"` + field + `":`)
		extra.Write(v)
	}
	return append(append(b[:len(b)-1], extra.Bytes()...), '}'), nil
}

// Processor returns the Map state's item processor as a StateMachine,
// whether it was declared as ItemProcessor or as the legacy Iterator. It
// returns nil for other states.
func (s *State) Processor() *StateMachine {
	switch {
	case s.ItemProcessor != nil:
		return &StateMachine{Comment: s.ItemProcessor.Comment, StartAt: s.ItemProcessor.StartAt, States: s.ItemProcessor.States}
	case s.Iterator != nil:
		return s.Iterator
	}
	return nil
}

// Retrier is one element of a Retry array.
type Retrier struct {
	Comment         string   `json:"Comment,omitempty"`
	ErrorEquals     []string `json:"ErrorEquals"`
	IntervalSeconds *int     `json:"IntervalSeconds,omitempty"`
	MaxAttempts     *int     `json:"MaxAttempts,omitempty"`
	BackoffRate     *float64 `json:"BackoffRate,omitempty"`
	MaxDelaySeconds *int     `json:"MaxDelaySeconds,omitempty"`
	JitterStrategy  string   `json:"JitterStrategy,omitempty"`
}

// Retrier defaults as documented by AWS.
const (
	DefaultIntervalSeconds = 1
	DefaultMaxAttempts     = 3
	DefaultBackoffRate     = 2.0
)

// Interval returns IntervalSeconds or its default.
func (r *Retrier) Interval() int {
	if r.IntervalSeconds == nil {
		return DefaultIntervalSeconds
	}
	return *r.IntervalSeconds
}

// Attempts returns MaxAttempts or its default.
func (r *Retrier) Attempts() int {
	if r.MaxAttempts == nil {
		return DefaultMaxAttempts
	}
	return *r.MaxAttempts
}

// Backoff returns BackoffRate or its default.
func (r *Retrier) Backoff() float64 {
	if r.BackoffRate == nil {
		return DefaultBackoffRate
	}
	return *r.BackoffRate
}

// Catcher is one element of a Catch array.
type Catcher struct {
	Comment     string          `json:"Comment,omitempty"`
	ErrorEquals []string        `json:"ErrorEquals"`
	ResultPath  Path            `json:"ResultPath,omitzero"`
	Output      json.RawMessage `json:"Output,omitempty"`
	Assign      json.RawMessage `json:"Assign,omitempty"`
	Next        string          `json:"Next"`
}

// ChoiceRule is a Choice rule: a top-level rule has Next, nested rules (in
// And, Or, Not) do not. Exactly one comparison operator or one of And, Or,
// Not is set.
type ChoiceRule struct {
	Comment  string `json:"Comment,omitempty"`
	Variable string `json:"Variable,omitempty"`

	// Condition is a JSONata rule's test: a "{% ... %}" expression or a
	// boolean, kept as raw JSON.
	Condition json.RawMessage `json:"Condition,omitempty"`

	And []*ChoiceRule `json:"And,omitempty"`
	Or  []*ChoiceRule `json:"Or,omitempty"`
	Not *ChoiceRule   `json:"Not,omitempty"`

	StringEquals                *string `json:"StringEquals,omitempty"`
	StringEqualsPath            string  `json:"StringEqualsPath,omitempty"`
	StringLessThan              *string `json:"StringLessThan,omitempty"`
	StringLessThanPath          string  `json:"StringLessThanPath,omitempty"`
	StringGreaterThan           *string `json:"StringGreaterThan,omitempty"`
	StringGreaterThanPath       string  `json:"StringGreaterThanPath,omitempty"`
	StringLessThanEquals        *string `json:"StringLessThanEquals,omitempty"`
	StringLessThanEqualsPath    string  `json:"StringLessThanEqualsPath,omitempty"`
	StringGreaterThanEquals     *string `json:"StringGreaterThanEquals,omitempty"`
	StringGreaterThanEqualsPath string  `json:"StringGreaterThanEqualsPath,omitempty"`
	StringMatches               *string `json:"StringMatches,omitempty"`

	NumericEquals                *float64 `json:"NumericEquals,omitempty"`
	NumericEqualsPath            string   `json:"NumericEqualsPath,omitempty"`
	NumericLessThan              *float64 `json:"NumericLessThan,omitempty"`
	NumericLessThanPath          string   `json:"NumericLessThanPath,omitempty"`
	NumericGreaterThan           *float64 `json:"NumericGreaterThan,omitempty"`
	NumericGreaterThanPath       string   `json:"NumericGreaterThanPath,omitempty"`
	NumericLessThanEquals        *float64 `json:"NumericLessThanEquals,omitempty"`
	NumericLessThanEqualsPath    string   `json:"NumericLessThanEqualsPath,omitempty"`
	NumericGreaterThanEquals     *float64 `json:"NumericGreaterThanEquals,omitempty"`
	NumericGreaterThanEqualsPath string   `json:"NumericGreaterThanEqualsPath,omitempty"`

	BooleanEquals     *bool  `json:"BooleanEquals,omitempty"`
	BooleanEqualsPath string `json:"BooleanEqualsPath,omitempty"`

	TimestampEquals                *string `json:"TimestampEquals,omitempty"`
	TimestampEqualsPath            string  `json:"TimestampEqualsPath,omitempty"`
	TimestampLessThan              *string `json:"TimestampLessThan,omitempty"`
	TimestampLessThanPath          string  `json:"TimestampLessThanPath,omitempty"`
	TimestampGreaterThan           *string `json:"TimestampGreaterThan,omitempty"`
	TimestampGreaterThanPath       string  `json:"TimestampGreaterThanPath,omitempty"`
	TimestampLessThanEquals        *string `json:"TimestampLessThanEquals,omitempty"`
	TimestampLessThanEqualsPath    string  `json:"TimestampLessThanEqualsPath,omitempty"`
	TimestampGreaterThanEquals     *string `json:"TimestampGreaterThanEquals,omitempty"`
	TimestampGreaterThanEqualsPath string  `json:"TimestampGreaterThanEqualsPath,omitempty"`

	IsNull      *bool `json:"IsNull,omitempty"`
	IsPresent   *bool `json:"IsPresent,omitempty"`
	IsNumeric   *bool `json:"IsNumeric,omitempty"`
	IsString    *bool `json:"IsString,omitempty"`
	IsBoolean   *bool `json:"IsBoolean,omitempty"`
	IsTimestamp *bool `json:"IsTimestamp,omitempty"`

	Output json.RawMessage `json:"Output,omitempty"`
	Assign json.RawMessage `json:"Assign,omitempty"`
	Next   string          `json:"Next,omitempty"`
}

// Path is an optional reference path that distinguishes "absent" (the zero
// value, omitted when marshalled) from JSON null (marshalled as null) and
// from a path string.
type Path struct {
	set  bool
	null bool
	path string
}

// PathOf returns a Path holding p.
func PathOf(p string) Path { return Path{set: true, path: p} }

// NullPath returns a Path that marshals as JSON null.
func NullPath() Path { return Path{set: true, null: true} }

// IsZero reports whether the path is absent.
func (p Path) IsZero() bool { return !p.set }

// IsNull reports whether the path is JSON null.
func (p Path) IsNull() bool { return p.set && p.null }

// String returns the path string; it is "" when absent or null.
func (p Path) String() string { return p.path }

// Or returns the path string, or def when the path is absent. It returns ""
// for a null path; callers check IsNull first.
func (p Path) Or(def string) string {
	if !p.set {
		return def
	}
	return p.path
}

// MarshalJSON implements json.Marshaler.
func (p Path) MarshalJSON() ([]byte, error) {
	if !p.set || p.null {
		return []byte("null"), nil
	}
	return json.Marshal(p.path)
}

// UnmarshalJSON implements json.Unmarshaler.
func (p *Path) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*p = NullPath()
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("path must be a string or null: %w", err)
	}
	*p = PathOf(s)
	return nil
}
