package runtime

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestJSONCodecMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	tests := []string{
		`null`, `true`, `false`, `0`, `-1.5e+10`, `12345678901234567890`, `""`, `"a\"b\\c\n\t\u0001 \u00e9 \ud83d\ude00 <&>"`,
		`[]`, `{}`, `[1,[2,[3]]]`, `{"b":1,"a":{"d":[true,null],"c":"x"}}`, ` { "sp" : [ 1 , 2 ] } `, "\"\u2028\"",
	}
	for _, src := range tests {
		t.Run(src, func(t *testing.T) {
			t.Parallel()
			v, err := decodeJSON([]byte(src))
			require.NoError(t, err)
			dec := json.NewDecoder(bytes.NewReader([]byte(src)))
			dec.UseNumber()
			var want any
			require.NoError(t, dec.Decode(&want))
			require.Equal(t, want, v)
			got, err := encodeJSON(v)
			require.NoError(t, err)
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			require.NoError(t, enc.Encode(want))
			require.Equal(t, bytes.TrimSuffix(buf.Bytes(), []byte("\n")), got)
		})
	}
}

func TestJSONCodecRejects(t *testing.T) {
	t.Parallel()
	for _, src := range []string{``, `{`, `[1,]`, `{"a":}`, `01`, `1.`, `-`, `"\x"`, "\"a\x01\"", `tru`, `{} x`, `{"a" 1}`, `[1 2]`, `.5`, `+1`} {
		_, err := decodeJSON([]byte(src))
		require.Error(t, err, "%q", src)
		require.False(t, json.Valid([]byte(src)), "%q is valid JSON; the test is wrong", src)
	}
}

// FuzzJSONCodec checks the hot-path codec against encoding/json: it
// accepts exactly the valid documents and re-encodes them identically.
func FuzzJSONCodec(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,"x"],"b":null}`, `"\u00e9\ud800"`, `[true,false]`, `-0.0e-0`, `{"a":{"a":{}}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decodeJSON(b)
		if !json.Valid(b) {
			if err == nil {
				t.Fatalf("accepted invalid JSON %q", b)
			}
			return
		}
		if err != nil {
			t.Fatalf("rejected valid JSON %q: %v", b, err)
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var want any
		if err := dec.Decode(&want); err != nil {
			t.Fatal(err)
		}
		got, err := encodeJSON(v)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(want); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), got) {
			t.Fatalf("encode mismatch for %q:\n got %s\nwant %s", b, got, buf.Bytes())
		}
	})
}
