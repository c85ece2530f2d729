package jsonata

import (
	"math"
	"sort"
	"time"
)

// env is a frame of variable bindings.
type env struct {
	vars   map[string]any
	parent *env
}

func newEnv(parent *env) *env { return &env{parent: parent} }

func (e *env) bind(name string, v any) {
	if e.vars == nil {
		e.vars = make(map[string]any, 4)
	}
	e.vars[name] = v
}

// lookupVar resolves a variable: bindings in the expression and the
// caller's Vars and Functions, then the caller's Lookup, then the built-in
// functions (so a variable named like a built-in function hides it).
func (ev *evaluator) lookupVar(e *env, name string) (any, bool) {
	for f := e; f != nil; f = f.parent {
		if f == builtinEnv && ev.ext != nil {
			if v, ok := ev.ext(name); ok {
				return v, true
			}
		}
		if v, ok := f.vars[name]; ok {
			return v, true
		}
	}
	if ev.ext != nil {
		if v, ok := ev.ext(name); ok {
			return v, true
		}
	}
	return undefined, false
}

// builtinEnv is the shared, read-only frame of the built-in functions
// (filled by functions.go's init).
var builtinEnv = &env{vars: map[string]any{}}

// lambda is a user-defined function, or a partial application.
type lambda struct {
	params []string
	body   *node
	sig    *signature
	input  any
	env    *env

	partialOf   any   // the function partially applied
	partialArgs []any // its arguments, placeholder where still open
}

type placeholderType struct{}

var placeholder any = placeholderType{}

// builtin is a native function.
type builtin struct {
	name string
	sig  *signature
	fn   func(c *call, args []any) (any, error)
	re   *regex // a regular expression literal's matcher
	// nargs, when positive, is the arity higher-order functions see (the
	// JavaScript implementation's declared parameters) where it differs
	// from the signature's.
	nargs int
}

// call is what a native function sees of its caller.
type call struct {
	ev    *evaluator
	env   *env
	input any
}

// evaluator holds the per-evaluation state and limits.
type evaluator struct {
	depth    int
	steps    int
	maxDepth int
	maxSteps int
	now      time.Time
	rand     func() float64
	ext      func(string) (any, bool)
}

func arity(fn any) int {
	switch f := fn.(type) {
	case *builtin:
		if f.nargs != 0 {
			return max(f.nargs, 0)
		}
		return f.sig.arity()
	case *lambda:
		if f.partialOf != nil {
			n := 0
			for _, a := range f.partialArgs {
				if a == placeholder {
					n++
				}
			}
			return n
		}
		return len(f.params)
	}
	return 0
}

func (ev *evaluator) tick(n *node) error {
	ev.steps++
	if ev.maxSteps > 0 && ev.steps > ev.maxSteps {
		return newError("U1002", n.pos, "", nil)
	}
	return nil
}

// eval evaluates n against input in environment e.
func (ev *evaluator) eval(n *node, input any, e *env) (any, error) {
	if err := ev.tick(n); err != nil {
		return nil, err
	}
	ev.depth++
	defer func() { ev.depth-- }()
	if ev.depth > ev.maxDepth {
		return nil, newError("U1001", n.pos, "", nil)
	}
	var res any
	var err error
	switch n.typ {
	case nPath:
		res, err = ev.evalPath(n, input, e)
	case nBinary:
		res, err = ev.evalBinary(n, input, e)
	case nNegate:
		res, err = ev.eval(n.lhs, input, e)
		if err == nil && res != undefined {
			f, ok := toNumber(res)
			if !ok {
				return nil, newError("D1002", n.pos, "-", map[string]any{"value": res})
			}
			res = -f
		}
	case nName:
		res = lookupField(input, n.op)
	case nString:
		res = n.op
	case nNumber:
		res = n.num
	case nValue:
		res = n.lit
	case nWildcard:
		res = wildcard(input)
	case nDescendant:
		res = descendants(input)
	case nParent:
		res, _ = ev.lookupVar(e, n.slot.label)
	case nCondition:
		var c any
		if c, err = ev.eval(n.cond, input, e); err != nil {
			return nil, err
		}
		switch {
		case boolOf(c):
			res, err = ev.eval(n.then, input, e)
		case n.els != nil:
			res, err = ev.eval(n.els, input, e)
		default:
			res = undefined
		}
	case nBlock:
		frame := newEnv(e)
		res = undefined
		for _, x := range n.args {
			if res, err = ev.eval(x, input, frame); err != nil {
				return nil, err
			}
		}
	case nBind:
		if res, err = ev.eval(n.rhs, input, e); err != nil {
			return nil, err
		}
		e.bind(n.lhs.op, res)
	case nRegex:
		res = &builtin{name: "regex", sig: regexSig, fn: regexMatcher(n.re), re: n.re}
	case nFunction:
		res, err = ev.evalCall(n, input, e, nil)
	case nVariable:
		res = ev.evalVariable(n, input, e)
	case nLambda:
		res = &lambda{params: n.params, body: n.body, sig: n.sig, input: input, env: e}
	case nPartial:
		res, err = ev.evalPartial(n, input, e)
	case nApply:
		res, err = ev.evalApply(n, input, e)
	case nTransform:
		res = ev.transformer(n, e)
	case nArray:
		res, err = ev.evalArray(n, input, e)
	case nObject:
		res, err = ev.evalGroup(n, input, e)
	case nSort:
		seq := toSeq(input)
		res, err = ev.evalSort(n, seq, e)
	default:
		return nil, newError("S0206", n.pos, n.op, nil)
	}
	if err != nil {
		return nil, err
	}
	for _, pred := range n.predicate {
		if res, err = ev.evalFilter(pred, res, e); err != nil {
			return nil, err
		}
	}
	if n.typ != nPath && n.group != nil {
		if res, err = ev.evalGroup(n.group, res, e); err != nil {
			return nil, err
		}
	}
	if s, ok := res.(*sequence); ok && !s.tupleStream {
		if n.keepArray {
			s.keepSingleton = true
		}
		switch len(s.items) {
		case 0:
			res = undefined
		case 1:
			if !s.keepSingleton {
				res = s.items[0]
			}
		}
	}
	return res, nil
}

func (ev *evaluator) evalVariable(n *node, input any, e *env) any {
	if n.op == "" {
		if s, ok := input.(*sequence); ok && s.outerWrapper && len(s.items) > 0 {
			return s.items[0]
		}
		return input
	}
	v, _ := ev.lookupVar(e, n.op)
	return v
}

// lookupField is JSONata's field lookup: on an array it collects the field
// of every item, flattening arrays one level.
func lookupField(input any, key string) any {
	switch x := input.(type) {
	case map[string]any:
		v, ok := x[key]
		if !ok {
			return undefined
		}
		return v
	case []any, *sequence:
		items, _ := asArray(x)
		out := &sequence{}
		for _, it := range items {
			r := lookupField(it, key)
			if r == undefined {
				continue
			}
			if a, ok := asArray(r); ok {
				out.items = append(out.items, a...)
			} else {
				out.push(r)
			}
		}
		return out
	}
	return undefined
}

func wildcard(input any) any {
	out := &sequence{}
	if s, ok := input.(*sequence); ok && s.outerWrapper && len(s.items) > 0 {
		input = s.items[0]
	}
	add := func(v any) {
		if _, ok := asArray(v); ok {
			out.items = flatten(v, out.items)
		} else {
			out.push(v)
		}
	}
	switch x := input.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			add(x[k])
		}
	case []any, *sequence:
		items, _ := asArray(x)
		for _, it := range items {
			add(it)
		}
	}
	return out
}

func descendants(input any) any {
	if input == undefined {
		return undefined
	}
	out := &sequence{}
	var rec func(v any)
	rec = func(v any) {
		if a, ok := asArray(v); ok {
			for _, it := range a {
				rec(it)
			}
			return
		}
		out.push(v)
		if m, ok := v.(map[string]any); ok {
			for _, k := range sortedKeys(m) {
				rec(m[k])
			}
		}
	}
	rec(input)
	if len(out.items) == 1 {
		return out.items[0]
	}
	return out
}

// toSeq makes v a sequence (an array's items, or v alone).
func toSeq(v any) *sequence {
	switch x := v.(type) {
	case *sequence:
		return x
	case []any:
		return &sequence{items: x}
	case undefinedType:
		return &sequence{}
	}
	return &sequence{items: []any{v}}
}

func (ev *evaluator) evalPath(n *node, input any, e *env) (any, error) {
	var inputSeq *sequence
	if _, isArr := asArray(input); isArr && n.args[0].typ != nVariable {
		inputSeq = toSeq(input)
	} else {
		inputSeq = &sequence{items: []any{input}}
	}
	var result any // *sequence, or the plain array a last step returned
	var tuples *sequence
	isTuple := false
	for i, step := range n.args {
		if step.tuple {
			isTuple = true
		}
		var err error
		switch {
		case i == 0 && step.consArray:
			if result, err = ev.eval(step, inputSeq, e); err != nil {
				return nil, err
			}
		case isTuple:
			if tuples, err = ev.evalTupleStep(step, inputSeq, tuples, e); err != nil {
				return nil, err
			}
		default:
			if result, err = ev.evalStep(step, inputSeq, e, i == len(n.args)-1); err != nil {
				return nil, err
			}
		}
		if !isTuple && seqLen(result) == 0 {
			break
		}
		if step.focus == "" && !isTuple {
			inputSeq = toSeq(result)
		}
	}
	if isTuple {
		if n.tuple {
			if tuples == nil {
				tuples = &sequence{tupleStream: true}
			}
			result = tuples
		} else {
			out := &sequence{}
			if tuples != nil {
				for _, t := range tuples.tuples {
					out.push(t["@"])
				}
			}
			result = out
		}
	}
	if result == nil || result == undefined {
		result = &sequence{}
	}
	if n.keepSingletonArray {
		switch r := result.(type) {
		case *sequence:
			r.keepSingleton = true
		case []any:
			result = &sequence{items: r, keepSingleton: true}
		default:
			result = &sequence{items: []any{r}, keepSingleton: true}
		}
	}
	if n.group != nil {
		src := result
		if isTuple {
			src = tuples
			if tuples == nil {
				src = &sequence{tupleStream: true}
			}
		}
		return ev.evalGroup(n.group, src, e)
	}
	return result, nil
}

// seqLen is the length of a path's intermediate result.
func seqLen(v any) int {
	if a, ok := asArray(v); ok {
		return len(a)
	}
	if v == nil || v == undefined {
		return 0
	}
	return 1
}

func (ev *evaluator) evalStep(step *node, input *sequence, e *env, last bool) (any, error) {
	if step.typ == nSort {
		res, err := ev.evalSort(step, input, e)
		if err != nil {
			return nil, err
		}
		return ev.evalStages(step.stages, toSeq(res), e)
	}
	collected := make([]any, 0, len(input.items))
	for _, item := range input.items {
		res, err := ev.eval(step, item, e)
		if err != nil {
			return nil, err
		}
		for _, st := range step.stages {
			if st.filter != nil {
				if res, err = ev.evalFilter(st.filter, res, e); err != nil {
					return nil, err
				}
			}
		}
		if res != undefined {
			collected = append(collected, res)
		}
	}
	if last && len(collected) == 1 {
		if a, ok := collected[0].([]any); ok {
			return a, nil
		}
	}
	out := &sequence{}
	for _, res := range collected {
		switch x := res.(type) {
		case *sequence:
			out.items = append(out.items, x.items...)
		case []any:
			if step.consArray {
				out.push(x)
			} else {
				out.items = append(out.items, x...)
			}
		default:
			out.push(res)
		}
	}
	return out, nil
}

func (ev *evaluator) evalStages(stages []stage, input *sequence, e *env) (*sequence, error) {
	res := input
	for _, st := range stages {
		if st.filter != nil {
			r, err := ev.evalFilter(st.filter, res, e)
			if err != nil {
				return nil, err
			}
			res = r.(*sequence)
			continue
		}
		for i, t := range res.tuples {
			t[st.index] = float64(i)
		}
	}
	return res, nil
}

func frameFromTuple(parent *env, t tuple) *env {
	f := &env{parent: parent, vars: make(map[string]any, len(t))}
	for k, v := range t {
		f.vars[k] = v
	}
	return f
}

func (ev *evaluator) evalTupleStep(step *node, input *sequence, tuples *sequence, e *env) (*sequence, error) {
	if step.typ == nSort {
		var res *sequence
		if tuples != nil {
			r, err := ev.evalSort(step, tuples, e)
			if err != nil {
				return nil, err
			}
			res = r.(*sequence)
		} else {
			r, err := ev.evalSort(step, input, e)
			if err != nil {
				return nil, err
			}
			sorted := toSeq(r)
			res = &sequence{tupleStream: true}
			for i, it := range sorted.items {
				t := tuple{"@": it}
				if step.hasIndex {
					t[step.index] = float64(i)
				}
				res.tuples = append(res.tuples, t)
			}
		}
		return ev.evalStages(step.stages, res, e)
	}
	if tuples == nil {
		tuples = &sequence{tupleStream: true}
		for _, it := range input.items {
			tuples.tuples = append(tuples.tuples, tuple{"@": it})
		}
	}
	out := &sequence{tupleStream: true}
	for _, t := range tuples.tuples {
		frame := frameFromTuple(e, t)
		res, err := ev.eval(step, t["@"], frame)
		if err != nil {
			return nil, err
		}
		if res == undefined {
			continue
		}
		if rs, ok := res.(*sequence); ok && rs.tupleStream {
			for _, rt := range rs.tuples {
				nt := make(tuple, len(t)+len(rt))
				for k, v := range t {
					nt[k] = v
				}
				for k, v := range rt {
					nt[k] = v
				}
				out.tuples = append(out.tuples, nt)
			}
			continue
		}
		items, isArr := asArray(res)
		if !isArr {
			items = []any{res}
		}
		for bb, it := range items {
			nt := make(tuple, len(t)+3)
			for k, v := range t {
				nt[k] = v
			}
			if step.focus != "" {
				nt[step.focus] = it
				nt["@"] = t["@"]
			} else {
				nt["@"] = it
			}
			if step.hasIndex {
				nt[step.index] = float64(bb)
			}
			if step.ancestor != nil {
				nt[step.ancestor.label] = t["@"]
			}
			out.tuples = append(out.tuples, nt)
		}
	}
	return ev.evalStages(step.stages, out, e)
}

func (ev *evaluator) evalFilter(pred *node, input any, e *env) (any, error) {
	out := &sequence{}
	var items []any
	var tuples []tuple
	if s, ok := input.(*sequence); ok && s.tupleStream {
		out.tupleStream = true
		tuples = s.tuples
	} else if a, ok := asArray(input); ok {
		items = a
	} else if input != undefined {
		items = []any{input}
	}
	n := len(items)
	if out.tupleStream {
		n = len(tuples)
	}
	if pred.typ == nNumber {
		idx := int(math.Floor(pred.num))
		if idx < 0 {
			idx += n
		}
		if idx >= 0 && idx < n {
			if out.tupleStream {
				out.tuples = append(out.tuples, tuples[idx])
			} else if a, ok := items[idx].([]any); ok {
				return &sequence{items: a}, nil
			} else {
				out.push(items[idx])
			}
		}
		return out, nil
	}
	for i := 0; i < n; i++ {
		var ctx any
		frame := e
		if out.tupleStream {
			ctx = tuples[i]["@"]
			frame = frameFromTuple(e, tuples[i])
		} else {
			ctx = items[i]
		}
		res, err := ev.eval(pred, ctx, frame)
		if err != nil {
			return nil, err
		}
		keep := false
		if f, ok := toNumber(res); ok {
			keep = indexMatches(f, i, n)
		} else if a, ok := asArray(res); ok && len(a) > 0 && allNumbers(a) {
			for _, x := range a {
				f, _ := toNumber(x)
				if indexMatches(f, i, n) {
					keep = true
				}
			}
		} else {
			keep = boolOf(res)
		}
		if keep {
			if out.tupleStream {
				out.tuples = append(out.tuples, tuples[i])
			} else {
				out.push(items[i])
			}
		}
	}
	return out, nil
}

func indexMatches(f float64, i, n int) bool {
	idx := int(math.Floor(f))
	if idx < 0 {
		idx += n
	}
	return idx == i
}

func allNumbers(a []any) bool {
	for _, x := range a {
		if !isNumber(x) {
			return false
		}
	}
	return true
}

func (ev *evaluator) evalArray(n *node, input any, e *env) (any, error) {
	out := make([]any, 0, len(n.args))
	for _, it := range n.args {
		v, err := ev.eval(it, input, e)
		if err != nil {
			return nil, err
		}
		if v == undefined {
			continue
		}
		if it.typ == nArray {
			out = append(out, plain(v))
			continue
		}
		if a, ok := asArray(v); ok {
			for _, x := range a {
				out = append(out, plain(x))
			}
		} else {
			out = append(out, v)
		}
	}
	return out, nil
}

// evalGroup builds an object constructor's result, grouping the input
// sequence by each pair's key.
func (ev *evaluator) evalGroup(g *node, input any, e *env) (any, error) {
	type entry struct {
		data      any
		exprIndex int
	}
	var items []any
	var tuples []tuple
	reduce := false
	if s, ok := input.(*sequence); ok && s.tupleStream {
		reduce = true
		tuples = s.tuples
	} else if a, ok := asArray(input); ok {
		items = a
	} else {
		items = []any{input}
	}
	n := len(items)
	if reduce {
		n = len(tuples)
	}
	if n == 0 {
		n = 1
		if reduce {
			tuples = []tuple{{"@": undefined}}
		} else {
			items = []any{undefined}
		}
	}
	groups := map[string]*entry{}
	var order []string
	for i := 0; i < n; i++ {
		var item any
		frame := e
		var ctx any
		if reduce {
			item = tuples[i]
			frame = frameFromTuple(e, tuples[i])
			ctx = tuples[i]["@"]
		} else {
			item = items[i]
			ctx = item
		}
		for pi, pair := range g.pairs {
			k, err := ev.eval(pair[0], ctx, frame)
			if err != nil {
				return nil, err
			}
			if k == undefined {
				continue
			}
			key, ok := k.(string)
			if !ok {
				return nil, newError("T1003", pair[0].pos, "", map[string]any{"value": k})
			}
			if ent, ok := groups[key]; ok {
				if ent.exprIndex != pi {
					return nil, newError("D1009", pair[0].pos, "", map[string]any{"value": key})
				}
				ent.data = appendValues(ent.data, item)
			} else {
				groups[key] = &entry{data: item, exprIndex: pi}
				order = append(order, key)
			}
		}
	}
	out := make(map[string]any, len(order))
	for _, key := range order {
		ent := groups[key]
		ctx := ent.data
		frame := e
		if reduce {
			t := reduceTuples(ent.data)
			ctx = t["@"]
			delete(t, "@")
			frame = frameFromTuple(e, t)
		}
		v, err := ev.eval(g.pairs[ent.exprIndex][1], ctx, frame)
		if err != nil {
			return nil, err
		}
		if v != undefined {
			out[key] = plain(v)
		}
	}
	return out, nil
}

// appendValues is JSONata's $append on internal values.
func appendValues(a, b any) any {
	if a == undefined {
		return b
	}
	if b == undefined {
		return a
	}
	var out []any
	if x, ok := asArray(a); ok {
		out = append(out, x...)
	} else {
		out = append(out, a)
	}
	if y, ok := asArray(b); ok {
		out = append(out, y...)
	} else {
		out = append(out, b)
	}
	return out
}

// reduceTuples merges grouped tuples: each binding becomes the list of its
// values (a single value stays as is).
func reduceTuples(data any) tuple {
	var ts []tuple
	switch x := data.(type) {
	case tuple:
		ts = []tuple{x}
	case []any:
		for _, it := range x {
			if t, ok := it.(tuple); ok {
				ts = append(ts, t)
			}
		}
	}
	if len(ts) == 0 {
		return tuple{"@": undefined}
	}
	out := tuple{}
	for k, v := range ts[0] {
		out[k] = v
	}
	for _, t := range ts[1:] {
		for k, v := range t {
			out[k] = appendValues(out[k], v)
		}
	}
	return out
}

func (ev *evaluator) evalSort(n *node, input *sequence, e *env) (any, error) {
	isTuple := input.tupleStream
	var vals []any
	if isTuple {
		for _, t := range input.tuples {
			vals = append(vals, t)
		}
	} else {
		vals = input.items
	}
	type keyed struct {
		item any
		keys []any
	}
	ks := make([]keyed, len(vals))
	for i, it := range vals {
		ks[i].item = it
		ctx, frame := it, e
		if isTuple {
			t := it.(tuple)
			ctx, frame = t["@"], frameFromTuple(e, t)
		}
		for _, term := range n.terms {
			k, err := ev.eval(term.expr, ctx, frame)
			if err != nil {
				return nil, err
			}
			ks[i].keys = append(ks[i].keys, k)
		}
	}
	var sortErr error
	sort.SliceStable(ks, func(a, b int) bool {
		for ti, term := range n.terms {
			c, err := compareSortKeys(ks[a].keys[ti], ks[b].keys[ti])
			if err != nil {
				if sortErr == nil {
					sortErr = err
				}
				return false
			}
			if term.desc {
				c = -c
			}
			if c != 0 {
				return c < 0
			}
		}
		return false
	})
	if sortErr != nil {
		return nil, sortErr
	}
	out := &sequence{tupleStream: isTuple}
	for _, k := range ks {
		if isTuple {
			out.tuples = append(out.tuples, k.item.(tuple))
		} else {
			out.push(k.item)
		}
	}
	return out, nil
}

func compareSortKeys(a, b any) (int, error) {
	if a == undefined {
		if b == undefined {
			return 0, nil
		}
		return 1, nil
	}
	if b == undefined {
		return -1, nil
	}
	as, aStr := a.(string)
	bs, bStr := b.(string)
	af, aNum := toNumber(a)
	bf, bNum := toNumber(b)
	if !(aStr || aNum) || !(bStr || bNum) {
		bad := a
		if aStr || aNum {
			bad = b
		}
		return 0, newError("T2008", 0, "", map[string]any{"value": bad})
	}
	if aStr != bStr {
		return 0, newError("T2007", 0, "", map[string]any{"value": a, "value2": b})
	}
	if aStr {
		switch {
		case as < bs:
			return -1, nil
		case as > bs:
			return 1, nil
		}
		return 0, nil
	}
	switch {
	case af < bf:
		return -1, nil
	case af > bf:
		return 1, nil
	}
	return 0, nil
}

func (ev *evaluator) evalBinary(n *node, input any, e *env) (any, error) {
	lhs, err := ev.eval(n.lhs, input, e)
	if err != nil {
		return nil, err
	}
	switch n.op {
	case "and":
		if !boolOf(lhs) {
			return false, nil
		}
		rhs, err := ev.eval(n.rhs, input, e)
		if err != nil {
			return nil, err
		}
		return boolOf(rhs), nil
	case "or":
		if boolOf(lhs) {
			return true, nil
		}
		rhs, err := ev.eval(n.rhs, input, e)
		if err != nil {
			return nil, err
		}
		return boolOf(rhs), nil
	}
	rhs, err := ev.eval(n.rhs, input, e)
	if err != nil {
		return nil, err
	}
	switch n.op {
	case "+", "-", "*", "/", "%":
		lf, lok := toNumber(lhs)
		rf, rok := toNumber(rhs)
		if lhs != undefined && !lok {
			return nil, newError("T2001", n.pos, n.op, map[string]any{"value": lhs})
		}
		if rhs != undefined && !rok {
			return nil, newError("T2002", n.pos, n.op, map[string]any{"value": rhs})
		}
		if lhs == undefined || rhs == undefined {
			return undefined, nil
		}
		var r float64
		switch n.op {
		case "+":
			r = lf + rf
		case "-":
			r = lf - rf
		case "*":
			r = lf * rf
		case "/":
			r = lf / rf
		case "%":
			r = math.Mod(lf, rf)
		}
		return r, nil
	case "=", "!=":
		if lhs == undefined || rhs == undefined {
			return false, nil
		}
		eq := deepEqual(lhs, rhs)
		if n.op == "!=" {
			eq = !eq
		}
		return eq, nil
	case "<", "<=", ">", ">=":
		return compare(n, lhs, rhs)
	case "&":
		ls, err := concatString(lhs)
		if err != nil {
			return nil, err
		}
		rs, err := concatString(rhs)
		if err != nil {
			return nil, err
		}
		return ls + rs, nil
	case "..":
		return rangeSeq(n, lhs, rhs)
	case "in":
		if lhs == undefined || rhs == undefined {
			return false, nil
		}
		items, ok := asArray(rhs)
		if !ok {
			items = []any{rhs}
		}
		for _, it := range items {
			if strictEqual(it, lhs) {
				return true, nil
			}
		}
		return false, nil
	}
	return nil, newError("S0204", n.pos, n.op, nil)
}

func concatString(v any) (string, error) {
	if v == undefined {
		return "", nil
	}
	return toJSString(v)
}

func compare(n *node, lhs, rhs any) (any, error) {
	lf, lnum := toNumber(lhs)
	rf, rnum := toNumber(rhs)
	ls, lstr := lhs.(string)
	rs, rstr := rhs.(string)
	lok := lhs == undefined || lnum || lstr
	rok := rhs == undefined || rnum || rstr
	if !lok || !rok {
		bad := lhs
		if lok {
			bad = rhs
		}
		return nil, newError("T2010", n.pos, n.op, map[string]any{"value": bad})
	}
	if lhs == undefined || rhs == undefined {
		return undefined, nil
	}
	if lnum != rnum {
		return nil, newError("T2009", n.pos, n.op, map[string]any{"value": lhs, "value2": rhs})
	}
	var c int
	if lnum {
		switch {
		case lf < rf:
			c = -1
		case lf > rf:
			c = 1
		}
	} else {
		switch {
		case ls < rs:
			c = -1
		case ls > rs:
			c = 1
		}
	}
	switch n.op {
	case "<":
		return c < 0, nil
	case "<=":
		return c <= 0, nil
	case ">":
		return c > 0, nil
	}
	return c >= 0, nil
}

func rangeSeq(n *node, lhs, rhs any) (any, error) {
	lf, lok := toNumber(lhs)
	rf, rok := toNumber(rhs)
	if lhs != undefined && (!lok || lf != math.Trunc(lf)) {
		return nil, newError("T2003", n.pos, "", map[string]any{"value": lhs})
	}
	if rhs != undefined && (!rok || rf != math.Trunc(rf)) {
		return nil, newError("T2004", n.pos, "", map[string]any{"value": rhs})
	}
	if lhs == undefined || rhs == undefined || lf > rf {
		return undefined, nil
	}
	size := rf - lf + 1
	if size > 1e7 {
		return nil, newError("D2014", n.pos, "", map[string]any{"value": size})
	}
	out := &sequence{items: make([]any, 0, int(size))}
	for v := lf; v <= rf; v++ {
		out.items = append(out.items, v)
	}
	return out, nil
}

func (ev *evaluator) evalCall(n *node, input any, e *env, applyTo []any) (any, error) {
	proc, err := ev.eval(n.proc, input, e)
	if err != nil {
		return nil, err
	}
	name := n.proc.op
	if n.proc.typ == nPath && len(n.proc.args) > 0 {
		name = n.proc.args[0].op
	}
	if proc == undefined && n.proc.typ == nPath {
		if _, ok := ev.lookupVar(e, name); ok {
			return nil, newError("T1005", n.pos, name, nil)
		}
	}
	args := make([]any, 0, len(applyTo)+len(n.args))
	args = append(args, applyTo...)
	for _, a := range n.args {
		v, err := ev.eval(a, input, e)
		if err != nil {
			return nil, err
		}
		args = append(args, v)
	}
	if !isFunc(proc) {
		return nil, newError("T1006", n.pos, name, nil)
	}
	return ev.apply(proc, args, input, e, n.pos)
}

// apply calls a function value.
func (ev *evaluator) apply(fn any, args []any, input any, e *env, pos int) (any, error) {
	ev.depth++
	defer func() { ev.depth-- }()
	if ev.depth > ev.maxDepth {
		return nil, newError("U1001", pos, "", nil)
	}
	switch f := fn.(type) {
	case *builtin:
		var err error
		if f.sig != nil {
			if args, err = f.sig.validate(args, input, f.name); err != nil {
				setPos(err, pos)
				return nil, err
			}
		}
		res, err := f.fn(&call{ev: ev, env: e, input: input}, args)
		if err != nil {
			setPos(err, pos)
			return nil, err
		}
		return res, nil
	case *lambda:
		if f.partialOf != nil {
			full := make([]any, len(f.partialArgs))
			k := 0
			for i, a := range f.partialArgs {
				if a == placeholder {
					if k < len(args) {
						full[i] = args[k]
					} else {
						full[i] = undefined
					}
					k++
				} else {
					full[i] = a
				}
			}
			return ev.apply(f.partialOf, full, input, e, pos)
		}
		if f.sig != nil {
			var err error
			if args, err = f.sig.validate(args, input, "lambda"); err != nil {
				setPos(err, pos)
				return nil, err
			}
		}
		frame := newEnv(f.env)
		for i, p := range f.params {
			if i < len(args) {
				frame.bind(p, args[i])
			} else {
				frame.bind(p, undefined)
			}
		}
		return ev.eval(f.body, f.input, frame)
	}
	return nil, newError("T1006", pos, "", nil)
}

func setPos(err error, pos int) {
	if je, ok := err.(*Error); ok && je.Position == 0 {
		je.Position = pos
	}
}

func (ev *evaluator) evalPartial(n *node, input any, e *env) (any, error) {
	proc, err := ev.eval(n.proc, input, e)
	if err != nil {
		return nil, err
	}
	args := make([]any, len(n.args))
	for i, a := range n.args {
		if a.typ == nPlaceholder {
			args[i] = placeholder
			continue
		}
		if args[i], err = ev.eval(a, input, e); err != nil {
			return nil, err
		}
	}
	if !isFunc(proc) {
		name := ""
		if n.proc.typ == nPath && len(n.proc.args) > 0 {
			name = n.proc.args[0].op
			if _, ok := ev.lookupVar(e, name); ok {
				return nil, newError("T1007", n.pos, name, nil)
			}
		}
		return nil, newError("T1008", n.pos, name, nil)
	}
	return &lambda{partialOf: proc, partialArgs: args}, nil
}

func (ev *evaluator) evalApply(n *node, input any, e *env) (any, error) {
	lhs, err := ev.eval(n.lhs, input, e)
	if err != nil {
		return nil, err
	}
	if n.rhs.typ == nFunction {
		return ev.evalCall(n.rhs, input, e, []any{lhs})
	}
	fn, err := ev.eval(n.rhs, input, e)
	if err != nil {
		return nil, err
	}
	if !isFunc(fn) {
		return nil, newError("T2006", n.pos, "", map[string]any{"value": fn})
	}
	if isFunc(lhs) {
		// Function composition: λ($x){ fn(lhs($x)) }.
		first := lhs
		return &builtin{name: "composed", sig: mustSig("<x?:x>"), fn: func(c *call, args []any) (any, error) {
			v, err := c.ev.apply(first, args, c.input, c.env, n.pos)
			if err != nil {
				return nil, err
			}
			return c.ev.apply(fn, []any{v}, c.input, c.env, n.pos)
		}}, nil
	}
	return ev.apply(fn, []any{lhs}, input, e, n.pos)
}

// transformer returns the function a |pattern|update,delete| expression
// denotes: it copies its argument and changes the copy.
func (ev *evaluator) transformer(n *node, e *env) any {
	return &builtin{name: "transform", sig: mustSig("<(oa):o>"), fn: func(c *call, args []any) (any, error) {
		obj := args[0]
		if obj == undefined {
			return undefined, nil
		}
		result := clone(obj)
		matches, err := c.ev.eval(n.pattern, result, e)
		if err != nil {
			return nil, err
		}
		if matches == undefined {
			return result, nil
		}
		ms, ok := asArray(matches)
		if !ok {
			ms = []any{matches}
		}
		for _, m := range ms {
			upd, err := c.ev.eval(n.update, m, e)
			if err != nil {
				return nil, err
			}
			target, isObj := m.(map[string]any)
			if upd != undefined {
				um, ok := upd.(map[string]any)
				if !ok {
					return nil, newError("T2011", n.update.pos, "", map[string]any{"value": upd})
				}
				if isObj {
					for k, v := range um {
						target[k] = v
					}
				}
			}
			if n.del != nil {
				dels, err := c.ev.eval(n.del, m, e)
				if err != nil {
					return nil, err
				}
				if dels == undefined {
					continue
				}
				ds, ok := asArray(dels)
				if !ok {
					ds = []any{dels}
				}
				for _, d := range ds {
					if _, ok := d.(string); !ok {
						return nil, newError("T2012", n.del.pos, "", map[string]any{"value": dels})
					}
				}
				if isObj {
					for _, d := range ds {
						delete(target, d.(string))
					}
				}
			}
		}
		return result, nil
	}}
}

func mustSig(s string) *signature {
	sig, err := parseSignature(s)
	if err != nil {
		panic("jsonata: bad built-in signature " + s + ": " + err.Error())
	}
	return sig
}
