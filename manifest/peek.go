package manifest

import (
	"bytes"
	"strings"
)

// peekKind reads the apiVersion and kind of the one YAML document in data
// from its top-level lines, without parsing it: reading a directory of
// unrelated objects (ConfigMaps, Helm output) is then a byte scan rather
// than a YAML parse. ok is false unless the reading is certain: the
// document is a block mapping whose keys start at column 0, kind and
// apiVersion are given once with plain or simply quoted values, and no
// top-level value goes on past its line (a multi-line quoted or flow value
// may hold lines at column 0 that are not keys). The caller then parses
// the document, which is always right.
func peekKind(data []byte) (apiVersion, kind string, ok bool) {
	var haveKind, haveVersion bool
	first := true
	for len(data) > 0 {
		var line []byte
		line, data = nextLine(data)
		if hasOtherBreak(line) {
			return "", "", false // YAML breaks lines there too
		}
		if len(line) == 0 || line[0] == ' ' || line[0] == '\t' {
			continue // blank, or inside a value
		}
		if line[0] == '#' {
			continue
		}
		if isDocumentMarker(append(line, '\n')) {
			if !first || !onlyComment(line[3:]) {
				return "", "", false // a second document, or content on the marker line
			}
			continue
		}
		first = false
		key, value, isKey := topLevelKey(line)
		if !isKey {
			return "", "", false
		}
		v, complete := scalarValue(value)
		if !complete {
			return "", "", false
		}
		switch key {
		case "kind":
			if haveKind {
				return "", "", false
			}
			kind, haveKind = v, true
		case "apiVersion":
			if haveVersion {
				return "", "", false
			}
			apiVersion, haveVersion = v, true
		}
	}
	return apiVersion, kind, haveKind && kind != ""
}

func nextLine(data []byte) (line, rest []byte) {
	i := bytes.IndexByte(data, '\n')
	if i < 0 {
		line, rest = data, nil
	} else {
		line, rest = data[:i], data[i+1:]
	}
	return bytes.TrimSuffix(line, []byte("\r")), rest
}

// hasOtherBreak reports whether line holds a character other than \n that
// YAML's reader takes for a line break: CR alone, NEL, LS, PS.
func hasOtherBreak(line []byte) bool {
	return bytes.IndexByte(line, '\r') >= 0 || bytes.Contains(line, []byte("\u0085")) ||
		bytes.Contains(line, []byte("\u2028")) || bytes.Contains(line, []byte("\u2029"))
}

func onlyComment(s []byte) bool {
	s = bytes.TrimLeft(s, " \t")
	return len(s) == 0 || s[0] == '#'
}

// topLevelKey splits a column-0 line `key: value` with a plain key (the
// characters of Kubernetes field names) or a quoted one without escapes.
func topLevelKey(line []byte) (key string, value []byte, ok bool) {
	var end int
	switch line[0] {
	case '"', '\'':
		q := bytes.IndexByte(line[1:], line[0])
		if q < 0 || bytes.IndexByte(line[1:q+1], '\\') >= 0 {
			return "", nil, false
		}
		key, end = string(line[1:q+1]), q+2
	default:
		for end < len(line) && isKeyChar(line[end]) {
			end++
		}
		key = string(line[:end])
	}
	if key == "" || end >= len(line) {
		return "", nil, false
	}
	rest := bytes.TrimLeft(line[end:], " ")
	if len(rest) == 0 || rest[0] != ':' || len(rest) > 1 && rest[1] != ' ' && rest[1] != '\t' {
		return "", nil, false
	}
	return key, rest[1:], true
}

func isKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '/'
}

// scalarValue returns the value of a top-level key when it ends on its
// line: a plain scalar (for kind and apiVersion, one of Kubernetes'
// characters), a quoted scalar closed on the line, a flow collection
// closed on the line, or nothing (a block value follows, indented). A
// value that may go on to the next lines is incomplete.
func scalarValue(v []byte) (string, bool) {
	v = bytes.TrimLeft(v, " \t")
	if onlyComment(v) {
		return "", true // the value is the indented block below
	}
	switch v[0] {
	case '"':
		end := closingDoubleQuote(v)
		if end < 0 || !onlyComment(v[end+1:]) {
			return "", false
		}
		if bytes.IndexByte(v[1:end], '\\') >= 0 {
			return "", false // escapes: let the parser read it
		}
		return string(v[1:end]), true
	case '\'':
		end := closingSingleQuote(v)
		if end < 0 || !onlyComment(v[end+1:]) {
			return "", false
		}
		return strings.ReplaceAll(string(v[1:end]), "''", "'"), true
	case '{', '[':
		return "", flowClosed(v)
	case '|', '>':
		return "", true // a block scalar: its lines are indented
	case '&', '!', '*', '?', '%', '@', '`':
		return "", false // anchors, tags, aliases: the parser decides
	}
	// A plain scalar ends at a comment (" #" or "\t#": YAML's white space
	// is both) or the line's end; it may continue on the next lines, but
	// only indented ones.
	for i := 1; i < len(v); i++ {
		if v[i] == '#' && (v[i-1] == ' ' || v[i-1] == '\t') {
			v = v[:i]
			break
		}
	}
	return string(bytes.TrimRight(v, " \t")), true
}

func closingDoubleQuote(v []byte) int {
	for i := 1; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

func closingSingleQuote(v []byte) int {
	for i := 1; i < len(v); i++ {
		if v[i] == '\'' {
			if i+1 < len(v) && v[i+1] == '\'' {
				i++
				continue
			}
			return i
		}
	}
	return -1
}

// flowClosed reports whether the flow collection starting v closes on the
// line (brackets balanced outside quotes) with at most a comment after it.
func flowClosed(v []byte) bool {
	depth := 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return onlyComment(v[i+1:])
			}
		case '"':
			end := closingDoubleQuote(v[i:])
			if end < 0 {
				return false
			}
			i += end
		case '\'':
			end := closingSingleQuote(v[i:])
			if end < 0 {
				return false
			}
			i += end
		}
	}
	return false
}
