package jsonata

import "strings"

// signature is a parsed function signature such as "<s-nn?:s>".
type signature struct {
	params []sigParam
	src    string
}

type sigParam struct {
	types    string // accepted symbols: s n b l a o f, and m for undefined
	typ      byte   // declared type letter ('(' for a choice)
	optional bool
	variadic bool
	context  bool   // '-': the context value stands in when the argument is missing
	subtype  string // a<n>: the array's item type
}

// symbol is the one-letter type of an argument value.
func symbol(v any) byte {
	switch v.(type) {
	case undefinedType:
		return 'm'
	case nil:
		return 'l'
	case string:
		return 's'
	case bool:
		return 'b'
	case map[string]any:
		return 'o'
	case []any, *sequence:
		return 'a'
	case *lambda, *builtin:
		return 'f'
	}
	if isNumber(v) {
		return 'n'
	}
	return 'm'
}

func parseSignature(src string) (*signature, error) {
	s := &signature{src: src}
	body := strings.TrimSuffix(strings.TrimPrefix(src, "<"), ">")
	depth := 0
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '<':
			depth++
		case '>':
			depth--
		case ':':
			if depth == 0 {
				body = body[:i] // the return type is not checked
			}
		}
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		var last *sigParam
		if n := len(s.params); n > 0 {
			last = &s.params[n-1]
		}
		switch c {
		case 's', 'n', 'b', 'l', 'o':
			s.params = append(s.params, sigParam{types: string(c) + "m", typ: c})
		case 'a':
			s.params = append(s.params, sigParam{types: "asnblfom", typ: 'a'})
		case 'f':
			s.params = append(s.params, sigParam{types: "f", typ: 'f'})
		case 'j':
			s.params = append(s.params, sigParam{types: "asnblom", typ: 'j'})
		case 'x':
			s.params = append(s.params, sigParam{types: "asnblfom", typ: 'x'})
		case '(':
			end := strings.IndexByte(body[i:], ')')
			if end < 0 {
				return nil, newError("S0401", i, src, nil)
			}
			choice := body[i+1 : i+end]
			if strings.Contains(choice, "<") {
				return nil, newError("S0402", i, src, nil)
			}
			s.params = append(s.params, sigParam{types: choice + "m", typ: '('})
			i += end
		case '-', '?', '+':
			if last == nil {
				return nil, newError("S0401", i, src, nil)
			}
			switch c {
			case '-':
				last.context = true
			case '?':
				last.optional = true
			case '+':
				last.variadic = true
			}
		case '<':
			if last == nil || (last.typ != 'a' && last.typ != 'f') {
				return nil, newError("S0401", i, src, nil)
			}
			depth, j := 0, i
			for ; j < len(body); j++ {
				if body[j] == '<' {
					depth++
				} else if body[j] == '>' {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			if j >= len(body) {
				return nil, newError("S0401", i, src, nil)
			}
			if last.typ == 'a' {
				last.subtype = body[i+1 : j]
			}
			i = j
		default:
			return nil, newError("S0401", i, src, nil)
		}
	}
	return s, nil
}

// arity is how many arguments a function with this signature takes.
func (s *signature) arity() int { return len(s.params) }

// validate checks args against the signature and returns the arguments the
// function receives: the context inserted for a missing '-' argument,
// singletons wrapped for array parameters.
func (s *signature) validate(args []any, context any, name string) ([]any, error) {
	counts := make([]int, len(s.params))
	if !s.match(args, 0, 0, counts) {
		return nil, s.mismatch(args, name)
	}
	out := make([]any, 0, len(s.params))
	ai := 0
	for pi, p := range s.params {
		n := counts[pi]
		if n == 0 {
			if p.context {
				if !strings.ContainsRune(p.types, rune(symbol(context))) {
					return nil, newError("T0411", 0, name, map[string]any{"index": ai + 1})
				}
				out = append(out, context)
				continue
			}
			out = append(out, undefined)
			continue
		}
		for k := 0; k < n; k++ {
			arg := args[ai]
			if p.typ == 'a' && arg != undefined {
				items, isArr := asArray(arg)
				if p.subtype != "" {
					want := p.subtype[0]
					if isArr {
						for _, it := range items {
							if symbol(it) != want {
								return nil, newError("T0412", 0, name, map[string]any{"index": ai + 1, "type": arrayTypeName(want)})
							}
						}
					} else if symbol(arg) != want {
						return nil, newError("T0412", 0, name, map[string]any{"index": ai + 1, "type": arrayTypeName(want)})
					}
				}
				if !isArr {
					arg = []any{arg}
				}
			}
			out = append(out, arg)
			ai++
		}
	}
	return out, nil
}

func arrayTypeName(c byte) string {
	switch c {
	case 's':
		return "strings"
	case 'n':
		return "numbers"
	case 'b':
		return "booleans"
	case 'l':
		return "nulls"
	case 'o':
		return "objects"
	case 'a':
		return "arrays"
	case 'f':
		return "functions"
	}
	return "values"
}

// match assigns args[ai:] to params[pi:], greedily, recording how many
// arguments each parameter takes.
func (s *signature) match(args []any, pi, ai int, counts []int) bool {
	if pi == len(s.params) {
		return ai == len(args)
	}
	p := s.params[pi]
	accepts := func(i int) bool { return i < len(args) && strings.IndexByte(p.types, symbol(args[i])) >= 0 }
	if p.variadic {
		n := 0
		for accepts(ai + n) {
			n++
		}
		min := 1
		if p.optional {
			min = 0
		}
		for ; n >= min; n-- {
			counts[pi] = n
			if s.match(args, pi+1, ai+n, counts) {
				return true
			}
		}
		return false
	}
	if accepts(ai) {
		counts[pi] = 1
		if s.match(args, pi+1, ai+1, counts) {
			return true
		}
	}
	if p.optional || p.context {
		counts[pi] = 0
		return s.match(args, pi+1, ai, counts)
	}
	return false
}

func (s *signature) mismatch(args []any, name string) error {
	// Name the first argument that does not fit its parameter.
	for i, a := range args {
		if i >= len(s.params) {
			return newError("T0410", 0, name, map[string]any{"index": i + 1})
		}
		if strings.IndexByte(s.params[i].types, symbol(a)) < 0 {
			return newError("T0410", 0, name, map[string]any{"index": i + 1})
		}
	}
	return newError("T0410", 0, name, map[string]any{"index": len(args) + 1})
}
