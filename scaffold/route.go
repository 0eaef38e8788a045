// Package scaffold writes the Istio route classification that routebundle
// reads: an attributegen WasmPlugin plus a Telemetry that copies its result
// onto a metric tag, or a single Telemetry whose tag is a CEL expression.
// Input is an OpenAPI 3 document or a plain list of `METHOD /path` lines.
//
// Everything here is pure: parsers take bytes and a file name (for error
// messages), generators take routes and options and return typed objects.
package scaffold

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/routebundle/routebundle/attrgen"
)

// DefaultMaxRoutes bounds the routes one input may produce: every route is a
// CEL condition evaluated per request and a label value in every series.
const DefaultMaxRoutes = 500

// maxErrors caps how many problems one parse reports before giving up, so a
// wholly wrong file gives a readable message instead of thousands of lines.
const maxErrors = 20

// ParseOptions tune how an input becomes routes.
type ParseOptions struct {
	// MaxRoutes bounds the number of routes; <= 0 means DefaultMaxRoutes.
	MaxRoutes int
	// RaiseLimit says how the caller raises MaxRoutes (bundlegen init:
	// "--max-routes N"), for the error that the limit was passed.
	RaiseLimit string
	// BasePath is prefixed to every path: the path part of the servers URL
	// when the service is reached under one (/v1). Empty for none.
	BasePath string
}

// Route is one operation of the service: requests with Method whose path
// matches Template are classified as Value.
type Route struct {
	// Method is upper case (GET, POST, ...).
	Method string
	// Template is the path, with OpenAPI-style parameters: /users/{id}.
	Template string
	// Value is the route's tag value: the operationId when the input has
	// one, else "METHOD /template".
	Value string
	// Pos says where the route was defined, for error messages.
	Pos Pos
}

// Pos is a place in an input file.
type Pos struct {
	File string
	Line int
	// Field is the path to the element (paths./users/{id}.get); empty for
	// line-oriented inputs.
	Field string
}

func (p Pos) String() string {
	s := p.File
	if p.Line > 0 {
		s = fmt.Sprintf("%s:%d", s, p.Line)
	}
	if p.Field != "" {
		s += ": " + p.Field
	}
	return s
}

// Error is a problem at one place of an input.
type Error struct {
	Pos Pos
	Msg string
}

func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// errorList gathers input errors up to maxErrors.
type errorList struct {
	errs []error
	file string
}

func (l *errorList) add(pos Pos, format string, args ...any) {
	if len(l.errs) == maxErrors {
		l.errs = append(l.errs, fmt.Errorf("%s: too many errors", l.file))
	}
	if len(l.errs) > maxErrors {
		return
	}
	l.errs = append(l.errs, &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

func (l *errorList) full() bool { return len(l.errs) > maxErrors }

func (l *errorList) err() error { return errors.Join(l.errs...) }

// httpMethods are the methods a route may name; OpenAPI 3.0 and 3.1 define
// operations for all but CONNECT.
var httpMethods = []string{"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE", "CONNECT"}

func validMethod(m string) bool {
	for _, h := range httpMethods {
		if m == h {
			return true
		}
	}
	return false
}

// defaultValue is the route value used when the input names no operation.
func defaultValue(method, template string) string { return method + " " + template }

// checkValue rejects route values that cannot serve as a metric label a
// person reads: empty, invalid UTF-8 or containing control characters.
func checkValue(v string) error {
	switch {
	case strings.TrimSpace(v) == "":
		return errors.New("route value is empty")
	case !utf8.ValidString(v):
		return errors.New("route value is not valid UTF-8")
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		return fmt.Errorf("route value %q contains a control character", v)
	}
	return nil
}

// routeSet accumulates routes and rejects duplicates: two routes for the
// same method and path shape (the second could never match) or two routes
// with the same value (their metrics would merge).
type routeSet struct {
	routes  []Route
	byShape map[string]Pos
	byValue map[string]Pos
	max     int
	raise   string
}

func newRouteSet(opts ParseOptions) *routeSet {
	maxRoutes := opts.MaxRoutes
	if maxRoutes <= 0 {
		maxRoutes = DefaultMaxRoutes
	}
	raise := opts.RaiseLimit
	if raise == "" {
		raise = "ParseOptions.MaxRoutes"
	}
	return &routeSet{byShape: map[string]Pos{}, byValue: map[string]Pos{}, max: maxRoutes, raise: raise}
}

// add validates r and records it, reporting problems to errs.
func (s *routeSet) add(r Route, errs *errorList) {
	t, err := parseTemplate(r.Template)
	if err != nil {
		errs.add(r.Pos, "path %q: %v", r.Template, err)
		return
	}
	if err := checkValue(r.Value); err != nil {
		errs.add(r.Pos, "%v", err)
		return
	}
	if t.hasParams() {
		if err := attrgen.CheckRegex(t.regex()); err != nil {
			errs.add(r.Pos, "path %q is too long to match with one regex in Envoy's CEL: %v", r.Template, err)
			return
		}
	}
	shape := r.Method + " " + t.shape()
	if first, dup := s.byShape[shape]; dup {
		errs.add(r.Pos, "%s %s duplicates the route at %s and would never match", r.Method, r.Template, first)
		return
	}
	if first, dup := s.byValue[r.Value]; dup {
		errs.add(r.Pos, "duplicate route value %q (first at %s)", r.Value, first)
		return
	}
	s.byShape[shape] = r.Pos
	s.byValue[r.Value] = r.Pos
	s.routes = append(s.routes, r)
}

// result returns the routes, or an error when there are none, too many, or
// errs holds problems.
func (s *routeSet) result(file string, errs *errorList) ([]Route, error) {
	if len(s.routes) > s.max {
		errs.add(Pos{File: file}, "%d routes exceed the maximum of %d; raise it with %s or split the input", len(s.routes), s.max, s.raise)
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	if len(s.routes) == 0 {
		return nil, &Error{Pos: Pos{File: file}, Msg: "no routes found"}
	}
	return s.routes, nil
}
