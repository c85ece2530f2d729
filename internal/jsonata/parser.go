package jsonata

import (
	"strconv"
)

// nodeType is the kind of an expression node.
type nodeType int

const (
	nPath nodeType = iota
	nName
	nString
	nNumber
	nValue
	nRegex
	nVariable
	nWildcard
	nDescendant
	nParent
	nBinary
	nNegate
	nArray
	nObject
	nCondition
	nBlock
	nBind
	nFunction
	nPartial
	nPlaceholder
	nLambda
	nApply
	nTransform
	nSort
	// Raw operators the parser produces and process rewrites.
	rawFilter // lhs[rhs], lhs[]
	rawGroup  // lhs{pairs}
	rawSort   // lhs^(terms)
	rawFocus  // lhs@$v
	rawIndex  // lhs#$v
)

// node is an expression node. The parser produces a raw tree; process turns
// it into the tree the evaluator walks (paths with steps, stages, tuples).
type node struct {
	typ  nodeType
	op   string // operator; name; variable name; string literal text
	num  float64
	lit  any // nValue
	pos  int
	lhs  *node
	rhs  *node
	args []*node // block expressions, array items, call arguments, path steps

	pairs [][2]*node // object constructor and group-by
	proc  *node      // function call: the procedure

	cond, then, els *node

	// Lambda.
	params []string
	body   *node
	sig    *signature

	// Path and step annotations.
	predicate          []*node // filters on a non-step expression
	stages             []stage // filters and index bindings on a path step
	group              *node   // group-by object applied to this expression's result
	focus              string  // @$name
	index              string  // #$name
	hasIndex           bool
	ancestor           *slot // this step binds its input for a % further on
	slot               *slot // nParent
	tuple              bool
	keepArray          bool
	consArray          bool
	keepSingletonArray bool
	seekingParent      []*slot

	terms []sortTerm // nSort and rawSort
	re    *regex     // nRegex

	// Transform.
	pattern, update, del *node
}

type stage struct {
	filter   *node  // nil for an index binding
	index    string // #$name
	position int
}

type sortTerm struct {
	desc bool
	expr *node
}

// slot is the label a % parent reference reads its value from.
type slot struct {
	label string
	level int
	index int
}

// Limits that keep hostile expressions from exhausting the stack.
const (
	maxParseDepth = 500
)

type parser struct {
	lex   lexer
	tok   token // current token
	prev  token
	depth int

	ancestorLabel int
	ancestry      []*node
}

// parse parses src into a processed expression tree.
func parse(src string) (n *node, err error) {
	p := &parser{lex: lexer{src: src}}
	if err := p.advance("", false); err != nil {
		return nil, err
	}
	raw, err := p.expression(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEnd {
		return nil, newError("S0201", p.tok.pos, p.tok.value, nil)
	}
	return p.process(raw)
}

// lbp returns the left binding power of the current token.
func (p *parser) lbp() int {
	if p.tok.kind == tokOperator {
		switch p.tok.value {
		case ":", ";", ",", ")", "]", "}", "|", "..", "**", "!":
			return 0 // separators, and operators used only in prefix position
		}
		return operators[p.tok.value]
	}
	return 0
}

// advance checks that the current token is the operator want (if not "")
// and reads the next one. infix is false when an operand is expected next.
func (p *parser) advance(want string, infix bool) error {
	if want != "" && (p.tok.kind != tokOperator || p.tok.value != want) {
		if p.tok.kind == tokEnd {
			return newError("S0203", p.tok.pos, want, nil)
		}
		return newError("S0202", p.tok.pos, want, map[string]any{"token": p.tok.value})
	}
	p.prev = p.tok
	t, err := p.lex.next(!infix)
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) is(op string) bool { return p.tok.kind == tokOperator && p.tok.value == op }

// expression parses an expression whose operators bind tighter than rbp.
func (p *parser) expression(rbp int) (*node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxParseDepth {
		return nil, newError("U1001", p.tok.pos, "", nil)
	}
	t := p.tok
	if err := p.advance("", true); err != nil {
		return nil, err
	}
	left, err := p.nud(t)
	if err != nil {
		return nil, err
	}
	for rbp < p.lbp() {
		t = p.tok
		if err := p.advance("", false); err != nil {
			return nil, err
		}
		if left, err = p.led(t, left); err != nil {
			return nil, err
		}
	}
	return left, nil
}

// nud parses a token in operand position.
func (p *parser) nud(t token) (*node, error) {
	switch t.kind {
	case tokEnd:
		return nil, newError("S0207", t.pos, "", nil)
	case tokString:
		return &node{typ: nString, op: t.value, pos: t.pos}, nil
	case tokNumber:
		return &node{typ: nNumber, num: t.num, pos: t.pos}, nil
	case tokValue:
		var v any
		switch t.value {
		case "true":
			v = true
		case "false":
			v = false
		}
		return &node{typ: nValue, lit: v, op: t.value, pos: t.pos}, nil
	case tokName:
		return &node{typ: nName, op: t.value, pos: t.pos}, nil
	case tokVariable:
		return &node{typ: nVariable, op: t.value, pos: t.pos}, nil
	case tokRegex:
		re, err := compileRegex(t.value, t.flags)
		if err != nil {
			return nil, newError("S0303", t.pos, t.value, nil)
		}
		return &node{typ: nRegex, re: re, op: t.value, pos: t.pos}, nil
	}
	switch t.value {
	case "and", "or", "in":
		return &node{typ: nName, op: t.value, pos: t.pos}, nil
	case "-":
		e, err := p.expression(70)
		if err != nil {
			return nil, err
		}
		return &node{typ: nNegate, lhs: e, pos: t.pos}, nil
	case "*":
		return &node{typ: nWildcard, pos: t.pos}, nil
	case "**":
		return &node{typ: nDescendant, pos: t.pos}, nil
	case "%":
		return &node{typ: nParent, pos: t.pos}, nil
	case "(":
		n := &node{typ: nBlock, pos: t.pos}
		for !p.is(")") {
			e, err := p.expression(0)
			if err != nil {
				return nil, err
			}
			n.args = append(n.args, e)
			if !p.is(";") {
				break
			}
			if err := p.advance(";", false); err != nil {
				return nil, err
			}
		}
		return n, p.advance(")", true)
	case "[":
		n := &node{typ: nArray, pos: t.pos}
		if !p.is("]") {
			for {
				item, err := p.expression(0)
				if err != nil {
					return nil, err
				}
				if p.is("..") {
					pos := p.tok.pos
					if err := p.advance("..", false); err != nil {
						return nil, err
					}
					rhs, err := p.expression(0)
					if err != nil {
						return nil, err
					}
					item = &node{typ: nBinary, op: "..", lhs: item, rhs: rhs, pos: pos}
				}
				n.args = append(n.args, item)
				if !p.is(",") {
					break
				}
				if err := p.advance(",", false); err != nil {
					return nil, err
				}
			}
		}
		return n, p.advance("]", true)
	case "{":
		pairs, err := p.objectPairs()
		if err != nil {
			return nil, err
		}
		return &node{typ: nObject, pairs: pairs, pos: t.pos}, nil
	case "|":
		n := &node{typ: nTransform, pos: t.pos}
		var err error
		if n.pattern, err = p.expression(0); err != nil {
			return nil, err
		}
		if err := p.advance("|", false); err != nil {
			return nil, err
		}
		if n.update, err = p.expression(0); err != nil {
			return nil, err
		}
		if p.is(",") {
			if err := p.advance(",", false); err != nil {
				return nil, err
			}
			if n.del, err = p.expression(0); err != nil {
				return nil, err
			}
		}
		return n, p.advance("|", true)
	}
	return nil, newError("S0211", t.pos, t.value, nil)
}

func (p *parser) objectPairs() ([][2]*node, error) {
	var pairs [][2]*node
	if !p.is("}") {
		for {
			k, err := p.expression(0)
			if err != nil {
				return nil, err
			}
			if err := p.advance(":", false); err != nil {
				return nil, err
			}
			v, err := p.expression(0)
			if err != nil {
				return nil, err
			}
			pairs = append(pairs, [2]*node{k, v})
			if !p.is(",") {
				break
			}
			if err := p.advance(",", false); err != nil {
				return nil, err
			}
		}
	}
	return pairs, p.advance("}", true)
}

// led parses the operator t with left operand left.
func (p *parser) led(t token, left *node) (*node, error) {
	op := t.value
	bp := operators[op]
	switch op {
	case ".", "+", "-", "*", "/", "%", "=", "<", ">", "!=", "<=", ">=", "&", "and", "or", "in":
		rhs, err := p.expression(bp)
		if err != nil {
			return nil, err
		}
		return &node{typ: nBinary, op: op, lhs: left, rhs: rhs, pos: t.pos}, nil
	case "~>":
		rhs, err := p.expression(bp)
		if err != nil {
			return nil, err
		}
		return &node{typ: nApply, op: op, lhs: left, rhs: rhs, pos: t.pos}, nil
	case ":=":
		if left.typ != nVariable {
			return nil, newError("S0212", t.pos, left.op, nil)
		}
		rhs, err := p.expression(bp - 1) // right associative
		if err != nil {
			return nil, err
		}
		return &node{typ: nBind, lhs: left, rhs: rhs, pos: t.pos}, nil
	case "?":
		n := &node{typ: nCondition, cond: left, pos: t.pos}
		var err error
		if n.then, err = p.expression(0); err != nil {
			return nil, err
		}
		if p.is(":") {
			if err := p.advance(":", false); err != nil {
				return nil, err
			}
			if n.els, err = p.expression(0); err != nil {
				return nil, err
			}
		}
		return n, nil
	case "(":
		return p.call(t, left)
	case "[":
		if p.is("]") {
			step := left
			for step.typ == rawFilter {
				step = step.lhs
			}
			step.keepArray = true
			return left, p.advance("]", true)
		}
		rhs, err := p.expression(operators["]"])
		if err != nil {
			return nil, err
		}
		return &node{typ: rawFilter, lhs: left, rhs: rhs, pos: t.pos}, p.advance("]", true)
	case "{":
		pairs, err := p.objectPairs()
		if err != nil {
			return nil, err
		}
		return &node{typ: rawGroup, lhs: left, pairs: pairs, pos: t.pos}, nil
	case "^":
		if err := p.advance("(", false); err != nil {
			return nil, err
		}
		n := &node{typ: rawSort, lhs: left, pos: t.pos}
		for {
			desc := false
			if p.is("<") {
				if err := p.advance("<", false); err != nil {
					return nil, err
				}
			} else if p.is(">") {
				desc = true
				if err := p.advance(">", false); err != nil {
					return nil, err
				}
			}
			e, err := p.expression(0)
			if err != nil {
				return nil, err
			}
			n.terms = append(n.terms, sortTerm{desc: desc, expr: e})
			if !p.is(",") {
				break
			}
			if err := p.advance(",", false); err != nil {
				return nil, err
			}
		}
		return n, p.advance(")", true)
	case "@", "#":
		rhs, err := p.expression(bp)
		if err != nil {
			return nil, err
		}
		if rhs.typ != nVariable {
			code := "S0214"
			return nil, newError(code, rhs.pos, op, nil)
		}
		typ := rawFocus
		if op == "#" {
			typ = rawIndex
		}
		return &node{typ: typ, lhs: left, rhs: rhs, pos: t.pos}, nil
	}
	return nil, newError("S0201", t.pos, op, nil)
}

// call parses a function call or a lambda definition after '('.
func (p *parser) call(t token, left *node) (*node, error) {
	n := &node{typ: nFunction, proc: left, pos: t.pos}
	for !p.is(")") {
		if p.is("?") {
			n.typ = nPartial
			n.args = append(n.args, &node{typ: nPlaceholder, pos: p.tok.pos})
			if err := p.advance("?", true); err != nil {
				return nil, err
			}
		} else {
			e, err := p.expression(0)
			if err != nil {
				return nil, err
			}
			n.args = append(n.args, e)
		}
		if !p.is(",") {
			break
		}
		if err := p.advance(",", false); err != nil {
			return nil, err
		}
	}
	if err := p.advance(")", true); err != nil {
		return nil, err
	}
	if left.typ != nName || (left.op != "function" && left.op != "λ") {
		return n, nil
	}
	// A lambda: function($a, $b)<sig>{ body }.
	lam := &node{typ: nLambda, pos: t.pos}
	for _, a := range n.args {
		if a.typ != nVariable {
			return nil, newError("S0208", a.pos, a.op, nil)
		}
		lam.params = append(lam.params, a.op)
	}
	if p.is("<") {
		// The signature runs to the matching '>' in the source text.
		start := p.tok.pos - 1
		depth, i := 0, start
		src := p.lex.src
		for ; i < len(src); i++ {
			if src[i] == '<' {
				depth++
			} else if src[i] == '>' {
				depth--
				if depth == 0 {
					break
				}
			}
		}
		if i >= len(src) {
			return nil, newError("S0401", start, "", nil)
		}
		sig, err := parseSignature(src[start : i+1])
		if err != nil {
			return nil, err
		}
		lam.sig = sig
		p.lex.pos = i + 1
		if err := p.advance("", true); err != nil {
			return nil, err
		}
	}
	if err := p.advance("{", false); err != nil {
		return nil, err
	}
	body, err := p.expression(0)
	if err != nil {
		return nil, err
	}
	lam.body = body
	return lam, p.advance("}", true)
}

// process rewrites the raw tree: dotted chains become paths of steps,
// predicates become step stages, and %, @ and # become tuple bindings.
func (p *parser) process(e *node) (*node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > 2*maxParseDepth {
		return nil, newError("U1001", e.pos, "", nil)
	}
	var res *node
	var err error
	switch e.typ {
	case nBinary:
		if e.op == "." {
			res, err = p.processPath(e)
		} else {
			res = &node{typ: nBinary, op: e.op, pos: e.pos}
			if res.lhs, err = p.process(e.lhs); err != nil {
				return nil, err
			}
			if res.rhs, err = p.process(e.rhs); err != nil {
				return nil, err
			}
			pushAncestry(res, res.lhs)
			pushAncestry(res, res.rhs)
		}
	case rawFilter:
		res, err = p.processFilter(e)
	case rawGroup:
		if res, err = p.process(e.lhs); err != nil {
			return nil, err
		}
		if res.group != nil {
			return nil, newError("S0210", e.pos, "", nil)
		}
		g := &node{typ: nObject, pos: e.pos}
		if g.pairs, err = p.processPairs(e.pairs, g); err != nil {
			return nil, err
		}
		res.group = g
	case rawSort:
		if res, err = p.process(e.lhs); err != nil {
			return nil, err
		}
		if res.typ != nPath {
			res = &node{typ: nPath, args: []*node{res}, pos: res.pos}
		}
		st := &node{typ: nSort, pos: e.pos}
		for _, term := range e.terms {
			x, err := p.process(term.expr)
			if err != nil {
				return nil, err
			}
			pushAncestry(st, x)
			st.terms = append(st.terms, sortTerm{desc: term.desc, expr: x})
		}
		res.args = append(res.args, st)
		if err := p.resolveAncestry(res); err != nil {
			return nil, err
		}
	case rawFocus:
		if res, err = p.process(e.lhs); err != nil {
			return nil, err
		}
		step := res
		if res.typ == nPath {
			step = res.args[len(res.args)-1]
		}
		if step.stages != nil || step.predicate != nil {
			return nil, newError("S0215", e.pos, "", nil)
		}
		if step.typ == nSort {
			return nil, newError("S0216", e.pos, "", nil)
		}
		if e.keepArray {
			step.keepArray = true
		}
		step.focus = e.rhs.op
		step.tuple = true
	case rawIndex:
		if res, err = p.process(e.lhs); err != nil {
			return nil, err
		}
		step := res
		if res.typ == nPath {
			step = res.args[len(res.args)-1]
		} else {
			res = &node{typ: nPath, args: []*node{res}, pos: res.pos}
			if step.predicate != nil {
				for _, f := range step.predicate {
					step.stages = append(step.stages, stage{filter: f, position: f.pos})
				}
				step.predicate = nil
			}
		}
		if step.stages == nil {
			step.index, step.hasIndex = e.rhs.op, true
		} else {
			step.stages = append(step.stages, stage{index: e.rhs.op, position: e.pos})
		}
		step.tuple = true
	case nBind:
		res = &node{typ: nBind, pos: e.pos, lhs: e.lhs}
		if res.rhs, err = p.process(e.rhs); err != nil {
			return nil, err
		}
		pushAncestry(res, res.rhs)
	case nApply:
		res = &node{typ: nApply, pos: e.pos}
		if res.lhs, err = p.process(e.lhs); err != nil {
			return nil, err
		}
		if res.rhs, err = p.process(e.rhs); err != nil {
			return nil, err
		}
		res.keepArray = res.lhs.keepArray || res.rhs.keepArray
	case nNegate:
		inner, err := p.process(e.lhs)
		if err != nil {
			return nil, err
		}
		if inner.typ == nNumber {
			inner.num = -inner.num
			res = inner
		} else {
			res = &node{typ: nNegate, lhs: inner, pos: e.pos}
			pushAncestry(res, inner)
		}
	case nArray:
		res = &node{typ: nArray, pos: e.pos}
		for _, it := range e.args {
			x, err := p.process(it)
			if err != nil {
				return nil, err
			}
			pushAncestry(res, x)
			res.args = append(res.args, x)
		}
	case nObject:
		res = &node{typ: nObject, pos: e.pos}
		if res.pairs, err = p.processPairs(e.pairs, res); err != nil {
			return nil, err
		}
	case nFunction, nPartial:
		res = &node{typ: e.typ, pos: e.pos}
		for _, a := range e.args {
			x, err := p.process(a)
			if err != nil {
				return nil, err
			}
			pushAncestry(res, x)
			res.args = append(res.args, x)
		}
		if res.proc, err = p.process(e.proc); err != nil {
			return nil, err
		}
	case nLambda:
		res = &node{typ: nLambda, pos: e.pos, params: e.params, sig: e.sig}
		if res.body, err = p.process(e.body); err != nil {
			return nil, err
		}
	case nCondition:
		res = &node{typ: nCondition, pos: e.pos}
		if res.cond, err = p.process(e.cond); err != nil {
			return nil, err
		}
		pushAncestry(res, res.cond)
		if res.then, err = p.process(e.then); err != nil {
			return nil, err
		}
		pushAncestry(res, res.then)
		if e.els != nil {
			if res.els, err = p.process(e.els); err != nil {
				return nil, err
			}
			pushAncestry(res, res.els)
		}
	case nTransform:
		res = &node{typ: nTransform, pos: e.pos}
		if res.pattern, err = p.process(e.pattern); err != nil {
			return nil, err
		}
		if res.update, err = p.process(e.update); err != nil {
			return nil, err
		}
		if e.del != nil {
			if res.del, err = p.process(e.del); err != nil {
				return nil, err
			}
		}
	case nBlock:
		res = &node{typ: nBlock, pos: e.pos}
		for _, x := range e.args {
			y, err := p.process(x)
			if err != nil {
				return nil, err
			}
			pushAncestry(res, y)
			if y.consArray || (y.typ == nPath && y.args[0].consArray) {
				res.consArray = true
			}
			res.args = append(res.args, y)
		}
	case nName:
		res = &node{typ: nPath, args: []*node{e}, pos: e.pos}
		if e.keepArray {
			res.keepSingletonArray = true
		}
	case nParent:
		res = &node{typ: nParent, pos: e.pos, slot: &slot{label: "!" + strconv.Itoa(p.ancestorLabel), level: 1, index: len(p.ancestry)}}
		p.ancestorLabel++
		p.ancestry = append(p.ancestry, res)
	case nString, nNumber, nValue, nWildcard, nDescendant, nVariable, nRegex, nPlaceholder:
		res = e
	default:
		return nil, newError("S0206", e.pos, e.op, nil)
	}
	if err != nil {
		return nil, err
	}
	if e.keepArray {
		res.keepArray = true
	}
	return res, nil
}

func (p *parser) processPairs(pairs [][2]*node, owner *node) ([][2]*node, error) {
	out := make([][2]*node, 0, len(pairs))
	for _, pr := range pairs {
		k, err := p.process(pr[0])
		if err != nil {
			return nil, err
		}
		pushAncestry(owner, k)
		v, err := p.process(pr[1])
		if err != nil {
			return nil, err
		}
		pushAncestry(owner, v)
		out = append(out, [2]*node{k, v})
	}
	return out, nil
}

func (p *parser) processPath(e *node) (*node, error) {
	lstep, err := p.process(e.lhs)
	if err != nil {
		return nil, err
	}
	res := lstep
	if lstep.typ != nPath {
		res = &node{typ: nPath, args: []*node{lstep}, pos: lstep.pos}
	}
	if lstep.typ == nParent {
		res.seekingParent = []*slot{lstep.slot}
	}
	rest, err := p.process(e.rhs)
	if err != nil {
		return nil, err
	}
	if rest.typ == nPath {
		res.args = append(res.args, rest.args...)
	} else {
		if rest.predicate != nil {
			for _, f := range rest.predicate {
				rest.stages = append(rest.stages, stage{filter: f, position: f.pos})
			}
			rest.predicate = nil
		}
		res.args = append(res.args, rest)
	}
	for _, st := range res.args {
		switch st.typ {
		case nNumber, nValue:
			return nil, newError("S0213", st.pos, st.op, nil)
		case nString:
			st.typ = nName
		}
		if st.keepArray {
			res.keepSingletonArray = true
		}
	}
	if first := res.args[0]; first.typ == nArray {
		first.consArray = true
	}
	if last := res.args[len(res.args)-1]; last.typ == nArray {
		last.consArray = true
	}
	if err := p.resolveAncestry(res); err != nil {
		return nil, err
	}
	return res, nil
}

func (p *parser) processFilter(e *node) (*node, error) {
	res, err := p.process(e.lhs)
	if err != nil {
		return nil, err
	}
	step := res
	inPath := false
	if res.typ == nPath {
		step = res.args[len(res.args)-1]
		inPath = true
	}
	if step.group != nil {
		return nil, newError("S0209", e.pos, "", nil)
	}
	pred, err := p.process(e.rhs)
	if err != nil {
		return nil, err
	}
	if pred.seekingParent != nil {
		for _, sl := range pred.seekingParent {
			if sl.level == 1 {
				if _, err := p.seekParent(step, sl); err != nil {
					return nil, err
				}
			} else {
				sl.level--
			}
		}
		pushAncestry(step, pred)
	}
	if inPath {
		step.stages = append(step.stages, stage{filter: pred, position: e.pos})
	} else {
		step.predicate = append(step.predicate, pred)
	}
	return res, nil
}

func pushAncestry(res, value *node) {
	if value == nil || (value.seekingParent == nil && value.typ != nParent) {
		return
	}
	slots := append([]*slot(nil), value.seekingParent...)
	if value.typ == nParent {
		slots = append(slots, value.slot)
	}
	res.seekingParent = append(res.seekingParent, slots...)
}

func (p *parser) resolveAncestry(path *node) error {
	last := path.args[len(path.args)-1]
	slots := append([]*slot(nil), last.seekingParent...)
	if last.typ == nParent {
		slots = append(slots, last.slot)
	}
	for _, sl := range slots {
		index := len(path.args) - 2
		for sl.level > 0 {
			if index < 0 {
				path.seekingParent = append(path.seekingParent, sl)
				break
			}
			step := path.args[index]
			index--
			for index >= 0 && step.focus != "" && path.args[index].focus != "" {
				step = path.args[index]
				index--
			}
			var err error
			if sl, err = p.seekParent(step, sl); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *parser) seekParent(n *node, sl *slot) (*slot, error) {
	switch n.typ {
	case nName, nWildcard:
		sl.level--
		if sl.level == 0 {
			if n.ancestor == nil {
				n.ancestor = sl
			} else {
				// Reuse the label this step already binds.
				p.ancestry[sl.index].slot.label = n.ancestor.label
				n.ancestor = sl
			}
			n.tuple = true
		}
	case nParent:
		sl.level++
	case nBlock:
		if len(n.args) > 0 {
			n.tuple = true
			return p.seekParent(n.args[len(n.args)-1], sl)
		}
	case nPath:
		n.tuple = true
		index := len(n.args) - 1
		var err error
		if sl, err = p.seekParent(n.args[index], sl); err != nil {
			return nil, err
		}
		index--
		for sl.level > 0 && index >= 0 {
			if sl, err = p.seekParent(n.args[index], sl); err != nil {
				return nil, err
			}
			index--
		}
	default:
		return nil, newError("S0217", n.pos, "", nil)
	}
	return sl, nil
}
