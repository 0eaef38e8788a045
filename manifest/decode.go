package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/routebundle/routebundle/diag"
)

// maxListDepth bounds nested `kind: List` objects.
const maxListDepth = 4

// Decode reads every object in data, which came from file. Documents are
// separated by `---` lines; a document that does not parse becomes a
// diagnostic naming file and line, and the documents after it are still read.
// Documents that are not mappings with a `kind` (Helm values, empty
// documents) are skipped silently; `kind: List` and `kind: FooList` objects
// are flattened into their items.
func Decode(file string, data []byte) ([]Object, diag.List) {
	objs, diags, _ := Options{}.decode(file, data)
	return objs, diags
}

// Options tune reading.
type Options struct {
	// Keep, when set, says by apiVersion and kind which objects to read.
	// A document of another kind is skipped after a look at its top-level
	// lines, before it is parsed, so a directory of unrelated objects costs
	// a scan rather than a parse (their syntax errors go unreported).
	// Documents whose kind cannot be told without parsing them, and Lists,
	// are parsed; their objects are all returned, kept or not.
	Keep func(apiVersion, kind string) bool
}

// Decode is the package's Decode with o's filter.
func (o Options) Decode(file string, data []byte) ([]Object, diag.List) {
	objs, diags, _ := o.decode(file, data)
	return objs, diags
}

// decode also returns the number of documents skipped unparsed.
func (o Options) decode(file string, data []byte) ([]Object, diag.List, int) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var (
		objs    []Object
		diags   diag.List
		skipped int
	)
	for _, c := range splitDocuments(data) {
		if o.skip(c.data) {
			skipped++
			continue
		}
		ob, d := decodeChunk(file, c)
		objs = append(objs, ob...)
		diags = append(diags, d...)
	}
	return objs, diags, skipped
}

// skip reports whether the document is certainly of a kind o does not keep.
func (o Options) skip(doc []byte) bool {
	if o.Keep == nil {
		return false
	}
	apiVersion, kind, ok := peekKind(doc)
	return ok && !strings.HasSuffix(kind, "List") && !o.Keep(apiVersion, kind)
}

// chunk is a run of lines holding one or more YAML documents.
type chunk struct {
	data []byte
	// offset is the number of file lines before the chunk.
	offset int
}

// splitDocuments cuts data at document markers (`---` at the start of a
// line) so that a syntax error in one document cannot hide the next ones, as
// it would with a single yaml.Decoder. The marker line stays in its chunk.
func splitDocuments(data []byte) []chunk {
	var (
		out   []chunk
		start int
		line  int
		first = 0
	)
	for pos := 0; pos < len(data); {
		end := bytes.IndexByte(data[pos:], '\n')
		next := len(data)
		if end >= 0 {
			next = pos + end + 1
		}
		if pos > start && isDocumentMarker(data[pos:next]) {
			out = append(out, chunk{data: data[start:pos], offset: first})
			start, first = pos, line
		}
		line++
		pos = next
	}
	if start < len(data) {
		out = append(out, chunk{data: data[start:], offset: first})
	}
	return out
}

func isDocumentMarker(line []byte) bool {
	if !bytes.HasPrefix(line, []byte("---")) {
		return false
	}
	rest := line[3:]
	return len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\n' || rest[0] == '\r'
}

func decodeChunk(file string, c chunk) ([]Object, diag.List) {
	dec := yaml.NewDecoder(bytes.NewReader(c.data))
	var (
		objs  []Object
		diags diag.List
	)
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return objs, diags
		}
		if err != nil {
			return objs, append(diags, syntaxDiagnostic(file, c.offset, err))
		}
		o, d := objectsFromDocument(file, c.offset, &doc)
		objs = append(objs, o...)
		diags = append(diags, d...)
	}
}

func objectsFromDocument(file string, offset int, doc *yaml.Node) ([]Object, diag.List) {
	root := doc
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil, nil
		}
		root = doc.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, nil
	}
	content, ok := plainValue(root, 0)
	if !ok {
		if err := root.Decode(&content); err != nil {
			return nil, diag.List{syntaxDiagnostic(file, offset, err)}
		}
		content = normalize(content, 0)
	}
	m, ok := content.(map[string]any)
	if !ok {
		return nil, nil
	}
	return flatten(file, offset, root, m, 0)
}

// flatten returns the object for root, or the items of a List.
func flatten(file string, offset int, root *yaml.Node, m map[string]any, depth int) ([]Object, diag.List) {
	kind, _ := m["kind"].(string)
	if kind == "" {
		return nil, nil
	}
	items, isList := m["items"].([]any)
	if !strings.HasSuffix(kind, "List") || !isList {
		o := FromUnstructured(m)
		o.Source = diag.Source{File: file, Line: root.Line + offset}
		o.node = root
		o.lineOffset = offset
		return []Object{o}, nil
	}
	itemsNode, _ := child(root, segment{key: "items"})
	itemsNode = resolveAlias(itemsNode)
	if depth >= maxListDepth {
		return nil, diag.List{{
			Severity: diag.Error, Code: diag.CodeMalformedDocument,
			Message: fmt.Sprintf("%s nested more than %d deep; items ignored", kind, maxListDepth),
			Source:  diag.Source{File: file, Line: root.Line + offset},
		}}
	}
	var (
		objs  []Object
		diags diag.List
	)
	for i, it := range items {
		im, ok := it.(map[string]any)
		if !ok || itemsNode == nil || i >= len(itemsNode.Content) {
			continue
		}
		o, d := flatten(file, offset, resolveAlias(itemsNode.Content[i]), im, depth+1)
		objs = append(objs, o...)
		diags = append(diags, d...)
	}
	return objs, diags
}

// plainValue is what Node.Decode into any, then normalize, makes of n, for
// the trees manifests are: string keys, none twice, no aliases or merge
// keys. Strings, maps and sequences are converted directly, other scalars
// through Node.Decode; for anything else ok is false and Node.Decode
// decides, errors included. Decoding whole documents by reflection was a
// fifth of reading a thousand manifests.
func plainValue(n *yaml.Node, depth int) (v any, ok bool) {
	if depth > maxNesting {
		return nil, false
	}
	switch n.Kind {
	case yaml.ScalarNode:
		return plainScalar(n)
	case yaml.MappingNode:
		return plainMapping(n, depth)
	case yaml.SequenceNode:
		if n.Tag != "!!seq" {
			return nil, false
		}
		s := make([]any, len(n.Content))
		for i, c := range n.Content {
			if s[i], ok = plainValue(c, depth+1); !ok {
				return nil, false
			}
		}
		return s, true
	}
	return nil, false
}

func plainScalar(n *yaml.Node) (any, bool) {
	switch n.Tag {
	case "!!str":
		return n.Value, true
	case "!!null":
		return nil, true
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, false
	}
	return v, true
}

func plainMapping(n *yaml.Node, depth int) (any, bool) {
	if n.Tag != "!!map" {
		return nil, false
	}
	m := make(map[string]any, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Kind != yaml.ScalarNode || k.Tag != "!!str" {
			return nil, false
		}
		if _, dup := m[k.Value]; dup {
			return nil, false
		}
		v, ok := plainValue(n.Content[i+1], depth+1)
		if !ok {
			return nil, false
		}
		m[k.Value] = v
	}
	return m, true
}

// maxNesting bounds the recursion of plainValue and normalize.
const maxNesting = 10000

// normalize turns the map[any]any that yaml produces for non-string keys
// into map[string]any, so that consumers see one shape whatever the input.
// depth guards against pathological nesting.
func normalize(v any, depth int) any {
	if depth > maxNesting {
		return nil
	}
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = normalize(e, depth+1)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[fmt.Sprint(k)] = normalize(e, depth+1)
		}
		return m
	case []any:
		for i, e := range t {
			t[i] = normalize(e, depth+1)
		}
		return t
	}
	return v
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// isParserProblem reports whether msg ("line N: problem") is one of the
// problems of yaml's parser stage, whose line numbers are off by one.
func isParserProblem(msg string) bool {
	_, problem, ok := strings.Cut(msg, ": ")
	if !ok {
		return false
	}
	switch problem {
	case "did not find expected ',' or ']'", "did not find expected ',' or '}'",
		"did not find expected '-' indicator", "did not find expected <document start>",
		"did not find expected <stream-start>", "did not find expected key",
		"did not find expected node content", "found duplicate %TAG directive",
		"found duplicate %YAML directive", "found incompatible YAML document",
		"found undefined tag handle":
		return true
	}
	return false
}

// syntaxDiagnostic turns a yaml error into a diagnostic whose line and
// message count from the start of the file rather than of the document.
func syntaxDiagnostic(file string, offset int, err error) diag.Diagnostic {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	shift := offset
	if isParserProblem(msg) {
		// yaml reports parser (not scanner) errors with a 0-based line.
		shift++
	}
	line := offset + 1
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		if n, convErr := strconv.Atoi(m[1]); convErr == nil {
			line = n + shift
		}
	}
	msg = yamlLine.ReplaceAllStringFunc(msg, func(s string) string {
		n, convErr := strconv.Atoi(strings.TrimPrefix(s, "line "))
		if convErr != nil {
			return s
		}
		return "line " + strconv.Itoa(n+shift)
	})
	msg = strings.Join(strings.Fields(msg), " ")
	return diag.Diagnostic{
		Severity: diag.Error,
		Code:     diag.CodeMalformedDocument,
		Message:  "malformed YAML: " + msg,
		Source:   diag.Source{File: file, Line: line},
	}
}
