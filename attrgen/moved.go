package attrgen

import (
	"strings"

	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
)

// Move is a reference to an attribute that Istio 1.24 moved, and what to
// write instead.
type Move struct {
	// Old is the reference as written (node, filter_state['wasm.upstream_peer']).
	Old string
	// New is its replacement (xds.node, filter_state.upstream_peer).
	New string
	// Hint adds what else changed, when something did; may be empty.
	Hint string
}

func (m Move) String() string {
	s := m.Old + " moved to " + m.New + " in Istio 1.24"
	if m.Hint != "" {
		s += " (" + m.Hint + ")"
	}
	return s
}

// peerHint: the peer metadata changed shape when it moved.
const peerHint = "its fields are now namespace, cluster, service, revision, app, version, workload, type and name; labels['app'] is app"

// MovedAttributes lists, in source order and once each, the references of a
// parsed expression that Istio 1.24 moved (istio/istio
// releasenotes/notes/telemetry-cel.yaml): the peer metadata from
// filter_state['wasm.upstream_peer'] (and the upstream_peer attribute of
// older docs) to filter_state.upstream_peer, likewise downstream_peer; and,
// in tag values, the Wasm host's attributes to Envoy's: node to xds.node,
// cluster_name to xds.cluster_name and so on. In attributegen conditions
// the Wasm host still provides node and its kin.
func MovedAttributes(a *celast.AST, d Dialect) []Move {
	if a == nil {
		return nil
	}
	var out []Move
	add := func(m Move) {
		for _, x := range out {
			if x.Old == m.Old {
				return
			}
		}
		out = append(out, m)
	}
	celast.PreOrderVisit(a.Expr(), celast.NewExprVisitor(func(x celast.Expr) {
		switch x.Kind() {
		case celast.IdentKind:
			name := x.AsIdent()
			switch {
			case name == "upstream_peer" || name == "downstream_peer":
				add(Move{Old: name, New: "filter_state." + name, Hint: peerHint})
			case d == TagValue && wasmHostAttribute(name):
				add(Move{Old: name, New: "xds." + name})
			}
		case celast.CallKind:
			if peer, ok := wasmPeerIndex(x.AsCall()); ok {
				add(Move{Old: "filter_state['wasm." + peer + "']", New: "filter_state." + peer, Hint: peerHint})
			}
		}
	}))
	return out
}

// wasmPeerIndex recognises filter_state['wasm.upstream_peer'] (either quote)
// and returns the peer's name.
func wasmPeerIndex(c celast.CallExpr) (string, bool) {
	args := c.Args()
	if c.FunctionName() != operators.Index || len(args) != 2 {
		return "", false
	}
	if args[0].Kind() != celast.IdentKind || args[0].AsIdent() != "filter_state" {
		return "", false
	}
	key, ok := literalString(args[1])
	if !ok {
		return "", false
	}
	peer, ok := strings.CutPrefix(key, wasmPrefix)
	if ok && (peer == "upstream_peer" || peer == "downstream_peer") {
		return peer, true
	}
	return "", false
}
