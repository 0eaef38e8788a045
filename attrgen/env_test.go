package attrgen

import (
	"errors"
	"fmt"
	"regexp/syntax"
	"strings"
	"testing"
)

func newTestEnv(t testing.TB) *Env {
	t.Helper()
	e, err := NewEnv()
	if err != nil {
		t.Fatalf("NewEnv: %v", err)
	}
	return e
}

// compileCase is an expression and what Compile says of it; lintSeeds
// reuses the expressions.
type compileCase struct {
	expr     string
	wantErr  string // substring of the message; empty = compiles
	line     int
	column   int
	rejected bool
}

func compileCases() []compileCase {
	return []compileCase{
		{expr: "request.method == 'GET' && request.url_path == '/healthz'"},
		{expr: "request.url_path.matches('^/books/[[:alnum:]]*$') && request.method == 'GET'"},
		{expr: "request.headers['x-user'] == 'alice'"},
		{expr: "has(request.headers.x_user)"},
		{expr: "request.url_path.startsWith('/api') || request.path.endsWith('?debug')"},
		{expr: "response.code >= 500 && response.code < 600"},
		{expr: "request.size > 1024u"},
		{expr: "source.port == 8080 && connection.mtls"},
		{expr: "filter_state['wasm.istio_operationId'] == 'GET /healthz'"},
		{expr: "xds.cluster_name.contains('podinfo')"},
		{expr: "request.time.getHours() < 12"},
		{expr: "request.duration > duration('1s')"},
		{expr: "'GET /x' in ['GET /x']"},
		{expr: "request.methd == 'GET'", wantErr: "unknown attribute 'request.methd'; did you mean 'request.method'?", line: 1, column: 1},
		{expr: "request.method == 1", wantErr: "no matching overload", line: 1, column: 16},
		{expr: "request.method ==", wantErr: "mismatched input", line: 1, column: 18, rejected: true},
		{expr: "request.method == 'GET' &&\n  request.url_paht == '/x'", wantErr: "unknown attribute 'request.url_paht'; did you mean 'request.url_path'?", line: 2, column: 3},
		{expr: "request.url_path + '/' == '/a/'", wantErr: "disables string and list concatenation", line: 1, column: 18},
		{expr: "string(response.code) == '200'", wantErr: "disables string conversion", line: 1, column: 7},
		{expr: "['a'].exists(x, x == request.method)", wantErr: "comprehensions", line: 1, column: 13, rejected: true},
		{expr: "", wantErr: "", line: 1, column: 1, rejected: true},
		{expr: "request.url_path.matches('^/" + strings.Repeat("segment/", 13) + "[^/]+$')", wantErr: "regex program size", line: 1, column: 26, rejected: true},
		// Counted repetitions are measured expanded, as regexp compiles them
		// (cel-go's own size limit panics on them).
		{expr: "request.url_path.matches('^/items/[0-9]{3}$')"},
		{expr: "matches(request.url_path, '^/items/[0-9]{3}$')"},
		{expr: "request.url_path.matches('^/(items|orders)/[0-9]{8}/x{90}$')", wantErr: "regex program size", line: 1, column: 26, rejected: true},
		{expr: "request.method == 'GET' && matches(request.url_path, 'a{200}')", wantErr: "regex program size 202 exceeds limit of 100", line: 1, column: 54, rejected: true},
	}
}

func TestCompile(t *testing.T) {
	e := newTestEnv(t)
	for _, tt := range compileCases() {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := e.Compile(tt.expr)
			if tt.wantErr == "" && tt.line == 0 {
				if err != nil {
					t.Fatalf("Compile: %v", err)
				}
				return
			}
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("Compile error = %v (%T), want *CompileError", err, err)
			}
			if !strings.Contains(ce.Message, tt.wantErr) || ce.Line != tt.line || ce.Column != tt.column {
				t.Errorf("got %d:%d %q, want %d:%d containing %q", ce.Line, ce.Column, ce.Message, tt.line, tt.column, tt.wantErr)
			}
			if ce.RejectedByEnvoy() != tt.rejected {
				t.Errorf("RejectedByEnvoy = %v, want %v", ce.RejectedByEnvoy(), tt.rejected)
			}
			if got, want := ce.Error(), fmt.Sprintf("%d:%d: %s", ce.Line, ce.Column, ce.Message); got != want {
				t.Errorf("Error() = %q, want %q", got, want)
			}
		})
	}
}

func TestCompileCondition(t *testing.T) {
	e := newTestEnv(t)
	if _, err := e.CompileCondition("request.url_path"); err == nil || !strings.Contains(err.Error(), "must evaluate to bool, not string") {
		t.Errorf("CompileCondition(request.url_path) = %v, want a non-bool error", err)
	}
	p, err := e.CompileCondition("request.method == 'GET'")
	if err != nil {
		t.Fatalf("CompileCondition: %v", err)
	}
	if p.OutputType() != "bool" || p.Expr() != "request.method == 'GET'" {
		t.Errorf("OutputType %q Expr %q", p.OutputType(), p.Expr())
	}
}

// FuzzRegexProgramSize checks that regexProgramSize, which counts without
// compiling, agrees with the program regexp/syntax compiles.
func FuzzRegexProgramSize(f *testing.F) {
	for _, p := range []string{
		"^/v1/items/[^/]+$", "a{3}", "(a|b){2,5}", "(?i)abc", "x*y+z?", "(a*)*", "()*", "(|)", "a|", "|",
		"[^\\x00-\\x{10FFFF}]", "a[^\\x00-\\x{10FFFF}]b|c", "([^\\x00-\\x{10FFFF}])+", "(?:)", "\\b\\B^$\\A\\z",
		"(?s).(?-s).", "x{0}", "x{2,}", "(?U)a*?b+", "[[:alpha:]]\\pL\\d", "(a|[^\\x00-\\x{10FFFF}])*",
	} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		re, err := syntax.Parse(pattern, syntax.Perl)
		if err != nil {
			return
		}
		prog, err := syntax.Compile(re.Simplify())
		if err != nil {
			return
		}
		if got, err := regexProgramSize(pattern); err != nil || got != len(prog.Inst) {
			t.Errorf("regexProgramSize(%q) = %d, %v; Compile has %d instructions", pattern, got, err, len(prog.Inst))
		}
	})
}
