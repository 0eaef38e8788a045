package scaffold

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// openAPIVersion accepts the 3.0 and 3.1 lines. An unquoted 3.0 in YAML is
// a float whose text is still "3.0", so the patch number is optional.
var openAPIVersion = regexp.MustCompile(`^3\.[01](\.[0-9]+)?(-[0-9A-Za-z.-]+)?$`)

// operationKeys are the path item fields that hold operations, in the order
// OpenAPI lists them.
var operationKeys = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// ParseOpenAPI reads the routes of an OpenAPI 3.0 or 3.1 document, YAML or
// JSON: one per operation, valued by its operationId or "METHOD /path".
// file names the input in error messages.
func ParseOpenAPI(file string, data []byte, opts ParseOptions) ([]Route, error) {
	root, err := openAPIRoot(file, data)
	if err != nil {
		return nil, err
	}
	p := &openAPIParser{
		file: file, root: root, opts: opts,
		errs: &errorList{file: file}, set: newRouteSet(opts),
		opIDs: map[string]Pos{},
	}
	if err := checkBasePath(opts.BasePath); err != nil {
		return nil, &Error{Pos: Pos{File: file}, Msg: err.Error()}
	}
	paths := mappingValue(root, "paths")
	if paths == nil {
		return nil, &Error{Pos: Pos{File: file}, Msg: "no paths: the document defines no operations"}
	}
	if paths.Kind != yaml.MappingNode {
		return nil, p.errorAt(paths, "paths", "want a mapping of path to path item, got %s", kindName(paths))
	}
	for i := 0; i+1 < len(paths.Content) && !p.errs.full(); i += 2 {
		p.pathItem(paths.Content[i], resolveAlias(paths.Content[i+1]))
	}
	return p.set.result(file, p.errs)
}

// openAPIRoot decodes data and checks that it is an OpenAPI 3.0/3.1 document.
func openAPIRoot(file string, data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &Error{Pos: Pos{File: file}, Msg: fmt.Sprintf("not valid YAML or JSON: %v", err)}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, &Error{Pos: Pos{File: file}, Msg: "empty document"}
	}
	root := resolveAlias(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		return nil, &Error{Pos: Pos{File: file, Line: root.Line}, Msg: fmt.Sprintf("not an OpenAPI document: top level is %s, want a mapping", kindName(root))}
	}
	if v := mappingValue(root, "swagger"); v != nil {
		return nil, &Error{Pos: Pos{File: file, Line: v.Line, Field: "swagger"},
			Msg: fmt.Sprintf("Swagger %s is not supported: convert the document to OpenAPI 3", v.Value)}
	}
	v := mappingValue(root, "openapi")
	switch {
	case v == nil:
		return nil, &Error{Pos: Pos{File: file}, Msg: "not an OpenAPI document: no openapi version field"}
	case v.Kind != yaml.ScalarNode || !openAPIVersion.MatchString(v.Value):
		return nil, &Error{Pos: Pos{File: file, Line: v.Line, Field: "openapi"},
			Msg: fmt.Sprintf("unsupported OpenAPI version %s (supported: 3.0.x, 3.1.x)", describe(v))}
	}
	return root, nil
}

func checkBasePath(base string) error {
	if base == "" {
		return nil
	}
	if _, err := parseTemplate(base); err != nil {
		return fmt.Errorf("base path %q: %w", base, err)
	}
	return nil
}

// joinBase prefixes path with the base path, without doubling the slash. A
// relative path is left alone for parseTemplate to reject.
func joinBase(base, path string) string {
	if base == "" || !strings.HasPrefix(path, "/") {
		return path
	}
	return strings.TrimSuffix(base, "/") + path
}

type openAPIParser struct {
	file  string
	root  *yaml.Node
	opts  ParseOptions
	errs  *errorList
	set   *routeSet
	opIDs map[string]Pos
}

func (p *openAPIParser) pos(n *yaml.Node, field string) Pos {
	return Pos{File: p.file, Line: n.Line, Field: field}
}

func (p *openAPIParser) errorAt(n *yaml.Node, field, format string, args ...any) error {
	return &Error{Pos: p.pos(n, field), Msg: fmt.Sprintf(format, args...)}
}

// pathItem adds the operations of one entry of paths.
func (p *openAPIParser) pathItem(key, item *yaml.Node) {
	if key.Kind != yaml.ScalarNode {
		p.errs.add(p.pos(key, "paths"), "want a path string as key, got %s", kindName(key))
		return
	}
	if strings.HasPrefix(key.Value, "x-") {
		return // specification extension
	}
	field := "paths[" + strconv.Quote(key.Value) + "]"
	item, field = p.followRef(item, field)
	if item == nil {
		return
	}
	if item.Kind != yaml.MappingNode {
		p.errs.add(p.pos(item, field), "want a path item mapping, got %s", kindName(item))
		return
	}
	for i := 0; i+1 < len(item.Content); i += 2 {
		k := item.Content[i]
		if k.Kind != yaml.ScalarNode {
			continue
		}
		switch {
		case isOperationKey(k.Value):
			p.operation(key, k.Value, resolveAlias(item.Content[i+1]), field+"."+k.Value)
		case isOperationKey(strings.ToLower(k.Value)):
			p.errs.add(p.pos(k, field+"."+k.Value), "operation keys are lower case: use %q", strings.ToLower(k.Value))
		}
	}
}

// followRef resolves a path item `$ref` to #/components/pathItems/NAME (the
// only reference form OpenAPI 3.1 resolves within the document); other
// references are reported rather than silently yielding no routes.
func (p *openAPIParser) followRef(item *yaml.Node, field string) (*yaml.Node, string) {
	ref := mappingValue(item, "$ref")
	if ref == nil {
		return item, field
	}
	const prefix = "#/components/pathItems/"
	name, ok := strings.CutPrefix(ref.Value, prefix)
	if ref.Kind != yaml.ScalarNode || !ok {
		p.errs.add(p.pos(ref, field+".$ref"), "unsupported reference %s: only %sNAME is resolved", describe(ref), prefix)
		return nil, ""
	}
	target := mappingValue(mappingValue(mappingValue(p.root, "components"), "pathItems"), name)
	if target == nil {
		p.errs.add(p.pos(ref, field+".$ref"), "reference %q does not resolve", ref.Value)
		return nil, ""
	}
	if mappingValue(target, "$ref") != nil {
		p.errs.add(p.pos(ref, field+".$ref"), "reference %q points to another reference", ref.Value)
		return nil, ""
	}
	return target, "components.pathItems[" + strconv.Quote(name) + "]"
}

func isOperationKey(k string) bool {
	for _, o := range operationKeys {
		if k == o {
			return true
		}
	}
	return false
}

// operation adds the route of one operation.
func (p *openAPIParser) operation(pathKey *yaml.Node, method string, op *yaml.Node, field string) {
	if op.Kind != yaml.MappingNode {
		p.errs.add(p.pos(op, field), "want an operation mapping, got %s", kindName(op))
		return
	}
	r := Route{
		Method:   strings.ToUpper(method),
		Template: joinBase(p.opts.BasePath, pathKey.Value),
		Pos:      p.pos(op, field),
	}
	r.Value = defaultValue(r.Method, r.Template)
	if id := mappingValue(op, "operationId"); id != nil {
		idField := field + ".operationId"
		if id.Kind != yaml.ScalarNode {
			p.errs.add(p.pos(id, idField), "want a string, got %s", kindName(id))
			return
		}
		if strings.TrimSpace(id.Value) != "" {
			if first, dup := p.opIDs[id.Value]; dup {
				p.errs.add(p.pos(id, idField), "duplicate operationId %q (first at %s)", id.Value, first)
				return
			}
			p.opIDs[id.Value] = p.pos(id, idField)
			r.Value = id.Value
			r.Pos = p.pos(id, idField)
		}
	}
	p.set.add(r, p.errs)
}

// mappingValue returns the value of key in mapping m, or nil when m is not a
// mapping or has no such key.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return resolveAlias(m.Content[i+1])
		}
	}
	return nil
}

// resolveAlias follows YAML aliases (*anchor) to the node they name.
func resolveAlias(n *yaml.Node) *yaml.Node {
	for depth := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && depth < 16; depth++ {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return "a scalar"
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.AliasNode:
		return "an alias"
	}
	return "an empty document"
}

// describe renders a node for an error message: scalars by value, others by kind.
func describe(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return strconv.Quote(n.Value)
	}
	return kindName(n)
}

// ServerBasePath returns the path that every servers[].url of an OpenAPI
// document shares (/v1 for http://api.example/v1), or "" when there is
// none, the URLs disagree or the document does not parse. Paths in the
// document are relative to it, so requests may carry it: a hint for
// ParseOptions.BasePath, which only the user can confirm (a gateway may
// strip the prefix before the proxy sees the request).
func ServerBasePath(data []byte) string {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return ""
	}
	servers := mappingValue(resolveAlias(doc.Content[0]), "servers")
	if servers == nil || servers.Kind != yaml.SequenceNode {
		return ""
	}
	common := ""
	for i, s := range servers.Content {
		u := mappingValue(resolveAlias(s), "url")
		if u == nil || u.Kind != yaml.ScalarNode {
			return ""
		}
		p, err := url.Parse(u.Value)
		if err != nil || strings.ContainsAny(p.Path, "{}") {
			return "" // unparsable or templated by server variables
		}
		path := strings.TrimSuffix(p.Path, "/")
		if i > 0 && path != common {
			return ""
		}
		common = path
	}
	return common
}
