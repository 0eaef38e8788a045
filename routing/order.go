package routing

import (
	"cmp"
	"slices"
)

// compareObjects orders route objects as istiod breaks ties between them:
// older first, then by namespace, then by name (conversion.go
// sortRoutesByCreationTime and sortConfigByCreationTime).
func compareObjects(a, b *Object) int {
	return cmp.Or(a.CreationTimestamp.Compare(b.CreationTimestamp),
		cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Kind, b.Kind))
}

// OrderGatewayAPI sorts the routes of Gateway API rules that share a parent
// and host into the order Envoy tries them, as istiod does
// (conversion.go sortHTTPRoutes, applied to each route object's routes and
// again after route_collections.go mergeHTTPRoutes concatenated the
// objects, oldest first):
//
//  1. exact path before path prefix before regex before no path;
//  2. longer path first;
//  3. a method match first;
//  4. more header matches first;
//  5. more query parameter matches first;
//  6. otherwise the older object, then namespace and name, then the order
//     of rules and matches in the object.
//
// Rules without matches go last. One stable sort of all routes, with the
// objects in tie order, gives what istiod's sort-merge-sort gives, the
// comparison being a strict weak order. routes must be in written order
// per object.
func OrderGatewayAPI(routes []Route) {
	slices.SortStableFunc(routes, func(a, b Route) int {
		return compareObjects(a.Object, b.Object)
	})
	slices.SortStableFunc(routes, func(a, b Route) int {
		switch {
		case a.Matches == nil && b.Matches == nil:
			return 0
		case a.Matches == nil:
			return 1
		case b.Matches == nil:
			return -1
		}
		m1, m2 := a.Matches, b.Matches
		return cmp.Or(
			-cmp.Compare(uriRank(m1), uriRank(m2)),
			-cmp.Compare(uriLength(m1), uriLength(m2)),
			-cmp.Compare(boolRank(m1.Method != nil), boolRank(m2.Method != nil)),
			-cmp.Compare(len(m1.Headers), len(m2.Headers)),
			-cmp.Compare(len(m1.QueryParams), len(m2.QueryParams)),
		)
	})
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// uriRank ranks a path match: exact 3, prefix 2, regex 1, none -1
// (conversion.go getURIRank).
func uriRank(m *Match) int {
	if m.Path == nil {
		return -1
	}
	switch m.Path.Type {
	case Exact:
		return 3
	case Prefix, PathPrefix:
		return 2
	case Regex:
		return 1
	}
	return -1
}

// uriLength is the length of the path match's value, after istiod dropped a
// prefix's trailing "/" (conversion.go getURILength, createURIMatch).
func uriLength(m *Match) int {
	if m.Path == nil {
		return 0
	}
	return len(m.Path.Value)
}

// isCatchAll reports a route that matches every request, after which
// istiod generates no further route of the same VirtualService (route.go
// BuildHTTPRoutesForVirtualService and IsCatchAllRoute): no match at all,
// or a path prefix "/" or regex ".*" with no header, method, authority,
// scheme or query condition. A match that selects proxies (sourceLabels)
// or a port is kept by istiod only where it applies, so it ends the list
// only when the list is built for that port (port != 0) and selects no
// proxies.
func isCatchAll(r *Route, port uint32) bool {
	m := r.Matches
	if m == nil {
		return true
	}
	if m.Port != 0 && m.Port != port || len(m.SourceLabels) > 0 || m.SourceNamespace != "" {
		return false
	}
	everyPath := m.Path == nil ||
		(m.Path.Type == Prefix || m.Path.Type == PathPrefix) && m.Path.Value == "/" ||
		m.Path.Type == Regex && m.Path.Value == ".*"
	return everyPath && m.Method == nil && m.Authority == nil && m.Scheme == nil &&
		len(m.Headers) == 0 && len(m.WithoutHeaders) == 0 && len(m.QueryParams) == 0
}

// untilCatchAll cuts routes after the first catch-all.
func untilCatchAll(routes []Route, port uint32) []Route {
	for i := range routes {
		if isCatchAll(&routes[i], port) {
			return routes[:i+1]
		}
	}
	return routes
}
