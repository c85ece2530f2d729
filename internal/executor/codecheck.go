package executor

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/parser"
)

// SourceError is a code agent's source that cannot run, located by line
// and column (1-based; 0 when the problem has no place, such as a missing
// main).
type SourceError struct {
	Line, Column int
	Message      string
}

func (e *SourceError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Message)
	}
	return e.Message
}

var linePos = regexp.MustCompile(`Line (\d+):(\d+) (.*)`)

// CheckCodeSource compiles a code agent's source as the sandbox does
// (goja, non-strict), without running any of it, and checks that it
// declares main at the top level (function main, async function main, or
// a var/let/const main). It returns nil or a *SourceError.
func CheckCodeSource(src string) error {
	prog, err := parser.ParseFile(nil, "agent.js", src, 0)
	if err != nil {
		var list parser.ErrorList
		var one *parser.Error
		switch {
		case errors.As(err, &list) && len(list) > 0:
			return &SourceError{Line: list[0].Position.Line, Column: list[0].Position.Column, Message: "SyntaxError: " + list[0].Message}
		case errors.As(err, &one):
			return &SourceError{Line: one.Position.Line, Column: one.Position.Column, Message: "SyntaxError: " + one.Message}
		}
		return &SourceError{Message: "SyntaxError: " + err.Error()}
	}
	if _, err := goja.Compile("agent.js", src, false); err != nil {
		if m := linePos.FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			col, _ := strconv.Atoi(m[2])
			return &SourceError{Line: line, Column: col, Message: "SyntaxError: " + m[3]}
		}
		return &SourceError{Message: "SyntaxError: " + err.Error()}
	}
	if !declaresMain(prog) {
		return &SourceError{Message: "the script must define function main(input, ctx) at the top level; it is what each step calls"}
	}
	return nil
}

func declaresMain(prog *ast.Program) bool {
	for _, st := range prog.Body {
		switch s := st.(type) {
		case *ast.FunctionDeclaration:
			if s.Function != nil && s.Function.Name != nil && s.Function.Name.Name == "main" {
				return true
			}
		case *ast.VariableStatement:
			if bindsMain(s.List) {
				return true
			}
		case *ast.LexicalDeclaration:
			if bindsMain(s.List) {
				return true
			}
		case *ast.ExpressionStatement:
			if a, ok := s.Expression.(*ast.AssignExpression); ok {
				if id, ok := a.Left.(*ast.Identifier); ok && id.Name == "main" {
					return true
				}
			}
		}
	}
	return false
}

func bindsMain(list []*ast.Binding) bool {
	for _, b := range list {
		if id, ok := b.Target.(*ast.Identifier); ok && id.Name == "main" {
			return true
		}
	}
	return false
}
