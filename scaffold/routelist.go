package scaffold

import (
	"bufio"
	"bytes"
	"strings"
)

// maxLineBytes bounds one line of a route list; longer lines are an error,
// not a reason to read the rest of the file into one token.
const maxLineBytes = 64 * 1024

// ParseRouteList reads a plain route list: one `METHOD /path [VALUE]` per
// line, where VALUE (the rest of the line) names the route and defaults to
// "METHOD /path". Blank lines and comments (from a # at the start of a line
// or after whitespace) are ignored. file names the input in error messages.
func ParseRouteList(file string, data []byte, opts ParseOptions) ([]Route, error) {
	if err := checkBasePath(opts.BasePath); err != nil {
		return nil, &Error{Pos: Pos{File: file}, Msg: err.Error()}
	}
	errs := &errorList{file: file}
	set := newRouteSet(opts)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxLineBytes)
	line := 0
	for !errs.full() && sc.Scan() {
		line++
		pos := Pos{File: file, Line: line}
		fields := strings.Fields(stripComment(sc.Text()))
		switch {
		case len(fields) == 0:
			continue
		case len(fields) == 1:
			errs.add(pos, "want `METHOD /path [VALUE]`, got %q", fields[0])
			continue
		}
		method := strings.ToUpper(fields[0])
		if !validMethod(method) {
			errs.add(pos, "unknown HTTP method %q (want one of %s)", fields[0], strings.Join(httpMethods, ", "))
			continue
		}
		path := joinBase(opts.BasePath, fields[1])
		value := defaultValue(method, path)
		if len(fields) > 2 {
			value = strings.Join(fields[2:], " ")
		}
		set.add(Route{Method: method, Template: path, Value: value, Pos: pos}, errs)
	}
	if err := sc.Err(); err != nil {
		errs.add(Pos{File: file, Line: line + 1}, "reading: %v", err)
	}
	return set.result(file, errs)
}

// stripComment removes a # comment that starts the line or follows whitespace.
func stripComment(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t') {
			return s[:i]
		}
	}
	return s
}
