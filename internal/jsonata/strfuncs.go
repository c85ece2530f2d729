package jsonata

import (
	"math"
	"strconv"
	"strings"
)

func limitArg(v any, code string) (int, error) {
	if v == undefined {
		return -1, nil
	}
	f, _ := toNumber(v)
	if f < 0 {
		return 0, newError(code, 0, "", nil)
	}
	return toInt(math.Floor(f)), nil
}

func fnMatch(_ *call, a []any) (any, error) {
	if a[0] == undefined {
		return undefined, nil
	}
	limit, err := limitArg(a[2], "D3040")
	if err != nil {
		return nil, err
	}
	re, ok := regexOf(a[1])
	if !ok {
		return nil, newError("T0410", 0, "match", map[string]any{"index": 2})
	}
	out := &sequence{}
	if limit == 0 {
		return out, nil
	}
	ms, err := re.all(a[0].(string), limit)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		groups := make([]any, len(m.groups))
		copy(groups, m.groups)
		out.push(map[string]any{"match": m.text, "index": float64(m.start), "groups": groups})
	}
	return out, nil
}

func fnContains(_ *call, a []any) (any, error) {
	if a[0] == undefined {
		return undefined, nil
	}
	s := a[0].(string)
	if p, ok := a[1].(string); ok {
		return strings.Contains(s, p), nil
	}
	re, ok := regexOf(a[1])
	if !ok {
		return nil, newError("T0410", 0, "contains", map[string]any{"index": 2})
	}
	m, err := re.find(s, 0)
	if err != nil {
		return nil, err
	}
	return m != nil, nil
}

func fnSplit(_ *call, a []any) (any, error) {
	if a[0] == undefined {
		return undefined, nil
	}
	limit, err := limitArg(a[2], "D3020")
	if err != nil {
		return nil, err
	}
	s := a[0].(string)
	out := []any{}
	if limit == 0 {
		return out, nil
	}
	if sep, ok := a[1].(string); ok {
		var parts []string
		if sep == "" {
			for _, r := range s {
				parts = append(parts, string(r))
			}
		} else {
			parts = strings.Split(s, sep)
		}
		for _, p := range parts {
			if limit >= 0 && len(out) >= limit {
				break
			}
			out = append(out, p)
		}
		return out, nil
	}
	re, ok := regexOf(a[1])
	if !ok {
		return nil, newError("T0410", 0, "split", map[string]any{"index": 2})
	}
	ms, err := re.all(s, limit)
	if err != nil {
		return nil, err
	}
	runes := []rune(s)
	start := 0
	for _, m := range ms {
		out = append(out, string(runes[start:m.start]))
		start = m.end
	}
	if limit < 0 || len(ms) < limit {
		out = append(out, string(runes[start:]))
	}
	return out, nil
}

// expandReplacement substitutes $0, $1... and $$ in a replacement string.
func expandReplacement(repl string, m *match) string {
	var b strings.Builder
	pos := 0
	for {
		idx := strings.IndexByte(repl[pos:], '$')
		if idx < 0 {
			break
		}
		idx += pos
		b.WriteString(repl[pos:idx])
		pos = idx + 1
		if pos >= len(repl) {
			b.WriteByte('$')
			break
		}
		switch c := repl[pos]; {
		case c == '$':
			b.WriteByte('$')
			pos++
		case c == '0':
			b.WriteString(m.text)
			pos++
		default:
			maxDigits := 1
			if len(m.groups) > 0 {
				maxDigits = int(math.Floor(math.Log10(float64(len(m.groups))))) + 1
			}
			digits := func(n int) (int, bool) {
				end := min(pos+n, len(repl))
				j := pos
				for j < end && repl[j] >= '0' && repl[j] <= '9' {
					j++
				}
				if j == pos {
					return 0, false
				}
				v, err := strconv.Atoi(repl[pos:j])
				return v, err == nil
			}
			index, ok := digits(maxDigits)
			if ok && maxDigits > 1 && index > len(m.groups) {
				index, ok = digits(maxDigits - 1)
			}
			if !ok {
				b.WriteByte('$')
				continue
			}
			if index >= 1 && index <= len(m.groups) {
				if g, ok := m.groups[index-1].(string); ok {
					b.WriteString(g)
				}
			}
			pos += len(strconv.Itoa(index))
		}
	}
	if pos < len(repl) {
		b.WriteString(repl[pos:])
	}
	return b.String()
}

func fnReplace(c *call, a []any) (any, error) {
	if a[0] == undefined {
		return undefined, nil
	}
	s := a[0].(string)
	if p, ok := a[1].(string); ok && p == "" {
		return nil, newError("D3010", 0, "replace", nil)
	}
	limit, err := limitArg(a[3], "D3011")
	if err != nil {
		return nil, err
	}
	if limit == 0 {
		return s, nil
	}
	if p, ok := a[1].(string); ok {
		repl, ok := a[2].(string)
		if !ok {
			return nil, newError("D3012", 0, "replace", nil)
		}
		if limit < 0 {
			return strings.ReplaceAll(s, p, repl), nil
		}
		return strings.Replace(s, p, repl, limit), nil
	}
	re, ok := regexOf(a[1])
	if !ok {
		return nil, newError("T0410", 0, "replace", map[string]any{"index": 2})
	}
	ms, err := re.all(s, limit)
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 {
		return s, nil
	}
	runes := []rune(s)
	var b strings.Builder
	pos := 0
	for _, m := range ms {
		b.WriteString(string(runes[pos:m.start]))
		switch r := a[2].(type) {
		case string:
			b.WriteString(expandReplacement(r, m))
		default:
			if !isFunc(r) {
				return nil, newError("D3012", 0, "replace", nil)
			}
			v, err := c.ev.apply(r, []any{matchObject(m)}, c.input, c.env, 0)
			if err != nil {
				return nil, err
			}
			str, ok := v.(string)
			if !ok {
				return nil, newError("D3012", 0, "replace", nil)
			}
			b.WriteString(str)
		}
		pos = m.end
	}
	b.WriteString(string(runes[pos:]))
	return b.String(), nil
}
