package routing

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// check reports the names and parents that make route names misleading.
// Delegation findings were reported while resolving.
func (ix *Index) check() {
	for _, o := range ix.objects {
		if o.GatewayAPI() {
			ix.checkParents(o)
			ix.checkRuleNames(o)
		}
		ix.checkEmptyNames(o)
		ix.checkReservedNames(o)
	}
	ix.checkCollisions()
}

// checkParents reports parentRefs istiod drops and routes left with none.
func (ix *Index) checkParents(o *Object) {
	usable := 0
	for _, ref := range o.ParentRefs {
		if _, ok := ref.ParentKind(); ok {
			usable++
			continue
		}
		hint := ""
		if ref.Kind == "Service" && ref.Group == GatewayGroup {
			hint = `; a Service needs group: "" (an omitted group means gateway.networking.k8s.io)`
		}
		ix.report(IgnoredParent, o, ref.Field, "istiod ignores a parentRef of kind %s in group %q%s", cmp.Or(ref.Kind, "Gateway"), ref.Group, hint)
	}
	if usable == 0 {
		ix.report(IgnoredParent, o, "spec.parentRefs",
			"no parentRef istiod accepts (a Gateway, a Service with group \"\" or a ServiceEntry): its routes apply nowhere")
	}
}

// checkRuleNames reports Gateway API rules named after their position.
func (ix *Index) checkRuleNames(o *Object) {
	suggested := SuggestRuleNames(o)
	for i := range o.Rules {
		r := &o.Rules[i]
		if r.Name != "" {
			continue
		}
		ix.report(UnnamedRule, o, r.Field,
			"rule %d (%s) has no name: istiod names its routes %q after its position, so adding or reordering rules renames their series; name it (name: %s, Gateway API ≥ 1.2)",
			i, r.Summary(), GatewayAPIRouteName(o.Namespace, o.Name, r.Index, ""), suggested[i])
	}
}

// checkEmptyNames reports VirtualService entries whose routes istiod names
// "": xds.route_name reads an empty string, which Prometheus stores as a
// missing label. One finding per entry written.
func (ix *Index) checkEmptyNames(o *Object) {
	if o.Kind != VirtualService {
		return
	}
	type entry struct {
		obj  *Object
		rule int
	}
	var done []entry
	for _, r := range ix.routes[o] {
		if r.Name != "" || slices.Contains(done, entry{r.Object, r.Rule}) {
			continue
		}
		done = append(done, entry{r.Object, r.Rule})
		rule := &r.Object.Rules[r.Rule]
		msg := "http entry %d (%s) has no name, so istiod gives its routes an empty name: xds.route_name reads \"\", which Prometheus stores as no label at all; set name:"
		args := []any{r.Rule, rule.Summary()}
		if r.Root != nil {
			msg = "http entry %d (%s), delegated to by %s/%s, has no name and neither has the delegating entry: xds.route_name reads \"\", which Prometheus stores as no label at all; set name: here or on the root's entry"
			args = append(args, r.Root.Namespace, r.Root.Name)
		}
		ix.report(UnnamedRoute, r.Object, rule.Field, msg, args...)
	}
}

// checkReservedNames reports routes named like the values a tag takes when
// no route object's route matched.
func (ix *Index) checkReservedNames(o *Object) {
	done := make(map[origin]bool)
	for _, r := range ix.routes[o] {
		var why string
		switch r.Name {
		case DefaultRouteName:
			why = "the name of the route istiod generates where no route object applies (and of every request a server-side sidecar receives)"
		case "unknown":
			why = "what the tag reads when no route matched"
		default:
			continue
		}
		if done[r.origin] {
			continue
		}
		done[r.origin] = true
		field := r.origin.obj.Rules[r.origin.rule].Field + ".name"
		if r.origin.match >= 0 {
			field = r.origin.obj.Rules[r.origin.rule].Matches[r.origin.match].Field + ".name"
		}
		ix.report(ReservedName, r.origin.obj, field, "route name %q is also %s: the two cannot be told apart", r.Name, why)
	}
}

// placeKey names where a route's name lands: the proxies and destination
// that share series. Routes of one Service (HTTPRoute or GRPCRoute parent,
// or a mesh VirtualService host), of one Gateway, or of one Istio gateway
// share one.
func (ix *Index) placeKeys(o *Object) []string {
	var keys []string
	for _, p := range ix.Parents(o) {
		switch p.Kind {
		case ParentService:
			keys = append(keys, "mesh "+ix.ServiceHost(p.Namespace, p.Name))
		case ParentMesh:
			for _, h := range p.Hosts {
				keys = append(keys, "mesh "+h)
			}
		default:
			keys = append(keys, string(p.Kind)+" "+p.Namespace+"/"+p.Name)
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// describePlace renders a place key for messages.
func describePlace(key string) string {
	kind, where, _ := strings.Cut(key, " ")
	switch kind {
	case "mesh":
		return "host " + where
	case string(ParentIstioGateway):
		return "Istio Gateway " + where
	}
	return kind + " " + where
}

// checkCollisions reports a route name that two rules give routes of the
// same place: their requests land in one series. Routes sharing a name by
// design (the matches of one rule, delegates inheriting their root entry's
// name) are not collisions.
func (ix *Index) checkCollisions() {
	type use struct {
		origin origin
		route  Route
	}
	type report struct {
		place, name string
		origin      origin
	}
	first := make(map[[2]string]use)
	reported := make(map[report]bool)
	for _, o := range ix.objects {
		keys := ix.placeKeys(o)
		for _, r := range ix.routes[o] {
			if r.Name == "" {
				continue // RB101's business
			}
			for _, k := range keys {
				id := [2]string{k, r.Name}
				prev, seen := first[id]
				if !seen {
					first[id] = use{r.origin, r}
					continue
				}
				if prev.origin == r.origin {
					continue
				}
				rk := report{k, r.Name, r.origin}
				if reported[rk] {
					continue
				}
				reported[rk] = true
				ix.report(NameCollision, r.origin.obj, r.origin.obj.Rules[r.origin.rule].Field,
					"route name %q is also the name of %s %s (%s) on %s: both land in one series; give each rule its own name",
					r.Name, prev.route.Object.Ref(), prev.route.Field, prev.route.Summary(), describePlace(k))
			}
		}
	}
}

// SuggestRuleNames proposes a name for each unnamed rule of a Gateway API
// route, from its first match ("GET /healthz" → get-healthz), unique within
// the route and valid for the CRD's pattern
// (^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$).
func SuggestRuleNames(o *Object) map[int]string {
	used := make(map[string]bool)
	for _, r := range o.Rules {
		if r.Name != "" {
			used[r.Name] = true
		}
	}
	out := make(map[int]string)
	for i, r := range o.Rules {
		if r.Name != "" {
			continue
		}
		base := "rule-" + strconv.Itoa(i)
		switch {
		case r.Summary() == anySummary && r.Delegate == nil:
			base = "catch-all"
		case len(r.Matches) > 0:
			if s := slugify(r.Matches[0].Summary()); s != "" {
				base = s
			}
		}
		name := base
		for n := 2; used[name]; n++ {
			name = base + "-" + strconv.Itoa(n)
		}
		used[name] = true
		out[i] = name
	}
	return out
}

// slugify lowercases s and joins its runs of letters and digits with "-",
// at most 63 characters.
func slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(s) {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		switch {
		case ok:
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(c)
			dash = false
		default:
			dash = true
		}
		if b.Len() >= 63 {
			break
		}
	}
	out := strings.Trim(b.String(), "-")
	if len(out) > 63 {
		out = strings.Trim(out[:63], "-")
	}
	if out == anySummary {
		return ""
	}
	return out
}
