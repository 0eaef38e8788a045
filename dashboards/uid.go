package dashboards

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"

	"github.com/routebundle/routebundle/inventory"
)

// OverviewUID is the UID of the mesh-wide routes overview dashboard.
const OverviewUID = "routebundle-overview"

// Names of the template variables, for links into a dashboard
// (?var-route=GET%20%2Fhealthz selects one route).
const (
	VarDatasource = "datasource"
	VarNamespace  = "namespace"
	VarWorkload   = "workload"
	VarRoute      = "route"
)

const (
	// maxUID is Grafana's limit on dashboard UIDs.
	maxUID = 40
	// hashLen hex digits (48 bits) keep UIDs unique: route sets are
	// counted in thousands, not millions.
	hashLen = 12
)

// UID returns the UID of the dashboard that shows route set rs: a readable
// slug of its scope followed by a hash of the scope and route tag. It is
// deterministic, at most 40 characters of [a-z0-9-] (so also a valid
// Kubernetes name) and independent of route values, so it stays stable
// while routes are added. Route sets with the same scope and tag share a
// dashboard and therefore a UID.
func UID(rs *inventory.RouteSet) string { return scopeOf(rs).uid() }

// URLPath returns the path of dashboard uid relative to Grafana's root URL,
// with the variables in query (sorted, escaped), e.g.
// /d/<uid>?var-route=GET+%2Fhealthz. Alerts append it to the Grafana URL.
func URLPath(uid string, vars map[string]string) string {
	p := "/d/" + url.PathEscape(uid)
	if len(vars) == 0 {
		return p
	}
	q := make(url.Values, len(vars))
	for k, v := range vars {
		q.Set("var-"+k, v)
	}
	return p + "?" + q.Encode()
}

// makeUID builds slug-hash from a readable name and the full identity.
func makeUID(name, identity string) string {
	sum := sha256.Sum256([]byte(identity))
	h := hex.EncodeToString(sum[:])[:hashLen]
	s := slug(name, maxUID-hashLen-1)
	if s == "" {
		return h
	}
	return s + "-" + h
}

// slug lower-cases name and turns every run of characters outside [a-z0-9]
// into one '-', trimmed, at most max bytes.
func slug(name string, max int) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	s := b.String()
	if len(s) > max {
		s = s[:max]
	}
	return strings.TrimRight(s, "-")
}
