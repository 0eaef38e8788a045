// Package diag holds the diagnostics that every stage of routebundle reports:
// what is wrong, where (file, line, object, field) and how bad it is.
package diag

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
)

// Severity orders diagnostics; only Error changes a command's exit code.
type Severity int

// Severities, from least to most severe.
const (
	Info Severity = iota
	Warning
	Error
)

func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// MarshalText renders the severity as its lower-case name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a lower-case severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	switch string(b) {
	case "info":
		*s = Info
	case "warning":
		*s = Warning
	case "error":
		*s = Error
	default:
		return fmt.Errorf("unknown severity %q", b)
	}
	return nil
}

// Source is where an object was read from. File is empty for objects that
// came from the API server.
type Source struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
}

func (s Source) String() string {
	switch {
	case s.File == "":
		return "<cluster>"
	case s.Line == 0:
		return s.File
	}
	return fmt.Sprintf("%s:%d", s.File, s.Line)
}

// ObjectRef names a Kubernetes object.
type ObjectRef struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// String renders Kind/namespace/name, or Kind/name for cluster-scoped objects.
func (r ObjectRef) String() string {
	if r.Namespace == "" {
		return r.Kind + "/" + r.Name
	}
	return r.Kind + "/" + r.Namespace + "/" + r.Name
}

// Diagnostic is one finding about the input.
type Diagnostic struct {
	Severity Severity
	// Code is stable across releases (for example "RB001") so users can grep
	// and suppress it.
	Code string
	// Object is the object the finding is about; zero for file-level errors.
	Object ObjectRef
	// Field is a path into the object, e.g. spec.pluginConfig.attributes[0].match[1].condition.
	Field   string
	Message string
	Source  Source
}

func (d Diagnostic) String() string {
	obj := d.Object.String()
	if d.Object == (ObjectRef{}) {
		obj = "-"
	}
	field := ""
	if d.Field != "" {
		field = " [" + d.Field + "]"
	}
	return fmt.Sprintf("%s: %s %s %s: %s%s", d.Source, d.Severity, d.Code, obj, d.Message, field)
}

type jsonDiagnostic struct {
	Severity Severity `json:"severity"`
	Code     string   `json:"code"`
	Object   string   `json:"object"`
	Field    string   `json:"field"`
	Message  string   `json:"message"`
	File     string   `json:"file"`
	Line     int      `json:"line"`
}

// MarshalJSON renders the flat shape documented for `bundlegen lint -o json`.
func (d Diagnostic) MarshalJSON() ([]byte, error) {
	obj := ""
	if d.Object != (ObjectRef{}) {
		obj = d.Object.String()
	}
	return json.Marshal(jsonDiagnostic{
		Severity: d.Severity, Code: d.Code, Object: obj, Field: d.Field,
		Message: d.Message, File: d.Source.File, Line: d.Source.Line,
	})
}

// List is a collection of diagnostics.
type List []Diagnostic

// HasErrors reports whether any diagnostic is of Error severity.
func (l List) HasErrors() bool {
	return slices.ContainsFunc(l, func(d Diagnostic) bool { return d.Severity == Error })
}

// Sort orders by file, line, object, field and code so that output is stable.
func (l List) Sort() {
	slices.SortStableFunc(l, func(a, b Diagnostic) int {
		return cmp.Or(
			cmp.Compare(a.Source.File, b.Source.File),
			cmp.Compare(a.Source.Line, b.Source.Line),
			cmp.Compare(a.Object.String(), b.Object.String()),
			cmp.Compare(a.Field, b.Field),
			cmp.Compare(a.Code, b.Code),
			cmp.Compare(a.Message, b.Message),
		)
	})
}

// Merge returns the diagnostics of all lists in one sorted list, each
// finding once: two stages (or two route sets sharing an object) may report
// the same finding.
func Merge(lists ...List) List {
	all := slices.Concat(lists...)
	all.Sort()
	return slices.Compact(all)
}

// WriteText writes one line per diagnostic: file:line: severity code object: message [field].
func (l List) WriteText(w io.Writer) error {
	for _, d := range l {
		if _, err := fmt.Fprintln(w, d.String()); err != nil {
			return err
		}
	}
	return nil
}

// WriteJSON writes the diagnostics as a JSON array (never null).
func (l List) WriteJSON(w io.Writer) error {
	if l == nil {
		l = List{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// CEL conditions are full of && and <: keep them readable.
	enc.SetEscapeHTML(false)
	return enc.Encode(l)
}
