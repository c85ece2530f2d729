package secrets

import (
	"encoding/json"
	"strings"
	"testing"
)

// BenchmarkScrubJSON scrubs a 16 KiB step output with three secrets registered.
func BenchmarkScrubJSON(b *testing.B) {
	s := NewScrubber("sk-live-abcdef123456", "hunter2-password", "tok-98765")
	doc, _ := json.Marshal(map[string]any{"items": strings.Split(strings.Repeat("some ordinary text ", 800), " "), "token": "Bearer tok-98765"})
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = s.JSON(doc)
	}
}

// BenchmarkScrubString scrubs a 1 KiB log line.
func BenchmarkScrubString(b *testing.B) {
	s := NewScrubber("sk-live-abcdef123456", "hunter2-password", "tok-98765")
	line := strings.Repeat("GET https://api.example.com/x?y=1 → 200 ", 25)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = s.String(line)
	}
}

// BenchmarkScrubJSONClean scrubs a 16 KiB step output holding no secret
// (the common case: one scan, no copy).
func BenchmarkScrubJSONClean(b *testing.B) {
	s := NewScrubber("sk-live-abcdef123456", "hunter2-password", "tok-98765")
	doc, _ := json.Marshal(map[string]any{"items": strings.Split(strings.Repeat("some ordinary text ", 800), " ")})
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = s.JSON(doc)
	}
}
