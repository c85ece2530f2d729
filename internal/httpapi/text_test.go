package httpapi

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/turbocat/turbocat/internal/turbocat"
)

func TestCheckText(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		body  string
		field string // "" when valid
		msg   string
	}{
		{`{"name":"ok ✓ \ufffd"}`, "", ""},
		{`{"name":"a\u0000b"}`, "name", "NUL"},
		{`{"input":{"url":"x","deep":[1,{"k":"\u0000"}]}}`, "input.deep[1].k", "NUL"},
		{`{"steps":[{"key":"a"},{"key":"b","inputs":{"t":"\u0000"}}]}`, "steps[1].inputs.t", "NUL"},
		{`{"a\u0000":1}`, "a\x00", "NUL"},
		{"{\"name\":\"bad \xff byte\"}", "name", "UTF-8"},
		{"{\"input\":{\"list\":[\"ok\",\"\xc3\x28\"]}}", "input.list[1]", "UTF-8"},
		{`["x","\u0000"]`, "[1]", "NUL"},
		{`"\u0000"`, "body", "NUL"},
		{`{"text":"\\u0000 is spelled like this"}`, "", ""},
	} {
		err := checkText([]byte(tt.body))
		if tt.field == "" {
			require.NoError(t, err, tt.body)
			continue
		}
		e := turbocat.AsError(err)
		require.NotNil(t, e, tt.body)
		require.Equal(t, turbocat.EVALIDATION, e.Code)
		require.Len(t, e.Details, 1)
		require.Equal(t, tt.field, e.Details[0].Field, tt.body)
		require.Contains(t, e.Details[0].Message, tt.msg)
	}
}
