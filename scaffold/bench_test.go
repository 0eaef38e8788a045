package scaffold

import (
	"fmt"
	"strings"
	"testing"
)

// maxSpec is an OpenAPI document with DefaultMaxRoutes routes: 100 resources
// with a collection, an item, a literal sibling, a nested item and an action.
func maxSpec() []byte {
	var b strings.Builder
	b.WriteString("openapi: 3.1.0\npaths:\n")
	for i := 0; i < DefaultMaxRoutes/5; i++ {
		fmt.Fprintf(&b, "  /r%d/{id}:\n    get: {operationId: get%d}\n", i, i)
		fmt.Fprintf(&b, "  /r%d:\n    get: {operationId: list%d}\n    post: {}\n", i, i)
		fmt.Fprintf(&b, "  /r%d/me:\n    get: {operationId: me%d}\n", i, i)
		fmt.Fprintf(&b, "  /r%d/{id}/items/{item}.json:\n    put: {}\n", i)
	}
	return []byte(b.String())
}

// BenchmarkInit measures init's whole pure path on the largest input it
// accepts by default: parse, order, build conditions and render YAML.
func BenchmarkInit(b *testing.B) {
	spec := maxSpec()
	b.ReportAllocs()
	for b.Loop() {
		routes, err := ParseOpenAPI("max.yaml", spec, ParseOptions{})
		if err != nil {
			b.Fatal(err)
		}
		out, err := Generate(routes, Options{Waypoint: "w"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := out.YAML(); err != nil {
			b.Fatal(err)
		}
	}
}
