package jsonata

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// tokenKind classifies a lexical token.
type tokenKind int

const (
	tokEnd tokenKind = iota
	tokOperator
	tokName     // field name (plain or `quoted`)
	tokVariable // $name, $ and $$
	tokString
	tokNumber
	tokValue // true, false, null
	tokRegex
)

type token struct {
	kind  tokenKind
	value string  // operator, name, variable name or string text
	num   float64 // tokNumber
	flags string  // tokRegex
	pos   int     // byte offset just after the token, as JSONata reports positions
}

// operators lists every operator and its binding power (left precedence).
var operators = map[string]int{
	".": 75, "[": 80, "]": 0, "{": 70, "}": 0, "(": 80, ")": 0, ",": 0,
	"@": 80, "#": 80, ";": 80, ":": 80, "?": 20, "+": 50, "-": 50, "*": 60,
	"/": 60, "%": 60, "|": 20, "=": 40, "<": 40, ">": 40, "^": 40, "**": 60,
	"..": 20, ":=": 10, "!=": 40, "<=": 40, ">=": 40, "~>": 40, "and": 30,
	"or": 25, "in": 40, "&": 50, "!": 0,
}

var escapes = map[byte]string{'"': "\"", '\\': "\\", '/': "/", 'b': "\b", 'f': "\f", 'n': "\n", 'r': "\r", 't': "\t"}

// lexer splits an expression into tokens on demand; whether a '/' starts a
// regular expression depends on the parser's position, so next takes it.
type lexer struct {
	src string
	pos int
}

func (l *lexer) fail(code string, pos int, tok string) error {
	return newError(code, pos, tok, nil)
}

// next returns the next token. prefix is true when the parser expects an
// operand, where '/' begins a regular expression.
func (l *lexer) next(prefix bool) (token, error) {
	src := l.src
	// Skip white space and comments.
	for l.pos < len(src) {
		c := src[l.pos]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' {
			l.pos++
			continue
		}
		if c == '/' && l.pos+1 < len(src) && src[l.pos+1] == '*' {
			end := strings.Index(src[l.pos+2:], "*/")
			if end < 0 {
				return token{}, l.fail("S0106", l.pos, "")
			}
			l.pos += end + 4
			continue
		}
		break
	}
	if l.pos >= len(src) {
		return token{kind: tokEnd, pos: l.pos}, nil
	}
	c := src[l.pos]
	if prefix && c == '/' {
		return l.regex()
	}
	// Two-character operators.
	if l.pos+1 < len(src) {
		two := src[l.pos : l.pos+2]
		switch two {
		case "..", ":=", "!=", ">=", "<=", "**", "~>":
			l.pos += 2
			return token{kind: tokOperator, value: two, pos: l.pos}, nil
		}
	}
	if c != '"' && c != '\'' && c != '`' && isDelimiter(c) {
		if _, ok := operators[string(c)]; ok {
			l.pos++
			return token{kind: tokOperator, value: string(c), pos: l.pos}, nil
		}
	}
	switch {
	case c == '"' || c == '\'':
		return l.str(c)
	case c >= '0' && c <= '9':
		return l.number()
	case c == '`':
		end := strings.IndexByte(src[l.pos+1:], '`')
		if end < 0 {
			return token{}, l.fail("S0105", l.pos, "")
		}
		name := src[l.pos+1 : l.pos+1+end]
		l.pos += end + 2
		return token{kind: tokName, value: name, pos: l.pos}, nil
	}
	// Names, variables and keyword operators run up to a delimiter.
	start := l.pos
	i := l.pos
	for i < len(src) {
		r, size := utf8.DecodeRuneInString(src[i:])
		if r < utf8.RuneSelf && isDelimiter(byte(r)) {
			break
		}
		i += size
	}
	if i == start {
		return token{}, l.fail("S0204", start, string(c))
	}
	word := src[start:i]
	l.pos = i
	if word[0] == '$' {
		return token{kind: tokVariable, value: word[1:], pos: l.pos}, nil
	}
	switch word {
	case "and", "or", "in":
		return token{kind: tokOperator, value: word, pos: l.pos}, nil
	case "true", "false", "null":
		return token{kind: tokValue, value: word, pos: l.pos}, nil
	}
	return token{kind: tokName, value: word, pos: l.pos}, nil
}

// isDelimiter reports whether c ends a name.
func isDelimiter(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\v', '\f', '.', '[', ']', '{', '}', '(', ')', ',', '@', '#', ';', ':', '?',
		'+', '-', '*', '/', '%', '|', '=', '<', '>', '^', '~', '&', '!', '"', '\'', '`':
		return true
	}
	return false
}

func (l *lexer) str(quote byte) (token, error) {
	src := l.src
	start := l.pos
	l.pos++
	var b strings.Builder
	for l.pos < len(src) {
		c := src[l.pos]
		if c == '\\' {
			l.pos++
			if l.pos >= len(src) {
				break
			}
			e := src[l.pos]
			if s, ok := escapes[e]; ok {
				b.WriteString(s)
				l.pos++
				continue
			}
			if e == 'u' && l.pos+4 < len(src) {
				n, err := strconv.ParseUint(src[l.pos+1:l.pos+5], 16, 32)
				if err != nil {
					return token{}, l.fail("S0104", l.pos, "")
				}
				r := rune(n)
				l.pos += 5
				// A surrogate pair written as two escapes.
				if r >= 0xD800 && r < 0xDC00 && l.pos+5 < len(src) && src[l.pos] == '\\' && src[l.pos+1] == 'u' {
					if m, err := strconv.ParseUint(src[l.pos+2:l.pos+6], 16, 32); err == nil && m >= 0xDC00 && m < 0xE000 {
						r = (r-0xD800)<<10 + (rune(m) - 0xDC00) + 0x10000
						l.pos += 6
					}
				}
				b.WriteRune(r)
				continue
			}
			return token{}, l.fail("S0103", l.pos, string(e))
		}
		if c == quote {
			l.pos++
			return token{kind: tokString, value: b.String(), pos: l.pos}, nil
		}
		b.WriteByte(c)
		l.pos++
	}
	return token{}, l.fail("S0101", start, "")
}

func (l *lexer) number() (token, error) {
	src := l.src
	i := l.pos
	digits := func() {
		for i < len(src) && src[i] >= '0' && src[i] <= '9' {
			i++
		}
	}
	if src[i] == '0' {
		i++
	} else {
		digits()
	}
	if i+1 < len(src) && src[i] == '.' && src[i+1] >= '0' && src[i+1] <= '9' {
		i++
		digits()
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		j := i + 1
		if j < len(src) && (src[j] == '+' || src[j] == '-') {
			j++
		}
		if j < len(src) && src[j] >= '0' && src[j] <= '9' {
			i = j
			digits()
		}
	}
	text := src[l.pos:i]
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || isInf(f) {
		return token{}, l.fail("S0102", l.pos, text)
	}
	l.pos = i
	return token{kind: tokNumber, num: f, value: text, pos: l.pos}, nil
}

func (l *lexer) regex() (token, error) {
	src := l.src
	start := l.pos + 1
	i := start
	depth := 0 // inside a character class [...]
	for i < len(src) {
		c := src[i]
		switch {
		case c == '\\':
			i += 2
			continue
		case c == '[':
			depth = 1
		case c == ']':
			depth = 0
		case c == '/' && depth == 0:
			pattern := src[start:i]
			if pattern == "" {
				return token{}, l.fail("S0301", i, "")
			}
			i++
			fstart := i
			for i < len(src) && (src[i] == 'i' || src[i] == 'm') {
				i++
			}
			l.pos = i
			return token{kind: tokRegex, value: pattern, flags: src[fstart:i], pos: l.pos}, nil
		}
		i++
	}
	return token{}, l.fail("S0302", l.pos, "")
}
