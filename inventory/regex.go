package inventory

import (
	"regexp"

	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/manifest"
	"github.com/routebundle/routebundle/routing"
)

// maxVirtualServiceRegex is the longest regex istiod's validation accepts
// in a VirtualService (validation.go validateStringRegexp: it stands in
// for Envoy's RE2 program size limit, which it cannot compute).
const maxVirtualServiceRegex = 1024

// regex reports a route object's regular expression that will never
// match, at the field that holds it. istiod validates VirtualService
// regexes with Go's RE2 implementation, so its webhook refuses the object;
// Gateway API regexes reach Envoy unchecked (conversion.go createURIMatch
// and createHeadersMatch pass them through), and Envoy rejects the whole
// route configuration that holds one, so the proxy keeps its previous
// routes. The match is still read: its route names exist in the object.
func (f *fields) regex(pattern string, path manifest.Path) {
	why := ""
	if _, err := regexp.Compile(pattern); err != nil {
		why = err.Error()
	} else if f.obj.Kind == string(routing.VirtualService) && len(pattern) > maxVirtualServiceRegex {
		why = "longer than 1024 characters"
	}
	if why == "" {
		return
	}
	consequence := "Envoy rejects the route configuration that holds it, so the proxy keeps its previous routes and no change to them takes effect"
	if f.obj.Kind == string(routing.VirtualService) {
		consequence = "istiod's validation rejects the VirtualService (Istio uses RE2 syntax)"
	}
	if len(pattern) > 60 {
		pattern = pattern[:57] + "..."
	}
	f.c.add(diag.CodeInvalidRegex, f.obj, path, "%s: regex %q is invalid (%s): %s", path, pattern, why, consequence)
}
