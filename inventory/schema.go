package inventory

import (
	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/manifest"
)

// checkSchema reports what the API server would refuse in o: a kind or
// apiVersion Istio nearly serves (WASMPlugin), and fields the CRD does not
// declare, which a strict apply rejects and a lax one drops without a word.
func (st *state) checkSchema(o *manifest.Object) {
	if msg := st.b.schema.KindProblem(o.APIVersion, o.Kind); msg != "" {
		st.c.add(diag.CodeUnservedKind, o, "kind", "%s", msg)
	}
	for _, u := range st.b.schema.Check(o) {
		st.c.add(diag.CodeUnknownField, o, u.Path, "%s", u.Message())
	}
}
