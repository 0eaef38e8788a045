package routing

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// resolveVirtualService lists a root (or plain) VirtualService's routes in
// written order with its delegates merged in, as virtualservice_controller.go
// mergeVirtualServices and virtualservice.go MergeHTTPRoutes do: an entry
// with a delegate is replaced by the delegate's entries, each merged with
// the root entry (names joined, matches intersected); a delegate that is
// missing or not exported to the root's namespace, and a delegate entry
// whose matches conflict with the root's, contribute nothing.
func (ix *Index) resolveVirtualService(root *Object) []Route {
	var out []Route
	for i := range root.Rules {
		rule := &root.Rules[i]
		if rule.Delegate == nil {
			out = append(out, ruleRoutes(root, i)...)
			continue
		}
		deleg := ix.delegateOf(root, rule)
		if deleg == nil {
			continue
		}
		for j := range deleg.Rules {
			out = append(out, ix.mergeDelegated(root, i, deleg, j)...)
		}
	}
	return out
}

// delegateOf finds the VirtualService a root entry delegates to, reporting
// why istiod would not use it.
func (ix *Index) delegateOf(root *Object, rule *Rule) *Object {
	ns := rule.Delegate.Namespace
	if ns == "" {
		ns = root.Namespace
	}
	field := rule.Field + ".delegate"
	deleg := ix.delegates[nsName{ns, rule.Delegate.Name}]
	if deleg == nil {
		what := "no VirtualService " + ns + "/" + rule.Delegate.Name
		if o := ix.byName[nsName{ns, rule.Delegate.Name}]; o != nil {
			what = "VirtualService " + ns + "/" + rule.Delegate.Name + " has hosts, so it is not a delegate"
		}
		ix.report(DelegateMissing, root, field, "%s: istiod ignores this entry", what)
		return nil
	}
	if !exportedTo(deleg, root.Namespace) {
		ix.report(DelegateNotExported, root, field,
			"delegate VirtualService %s/%s is not exported to namespace %s (exportTo %v): istiod ignores this entry",
			deleg.Namespace, deleg.Name, root.Namespace, deleg.ExportTo)
		return nil
	}
	return deleg
}

// exportedTo applies a VirtualService's exportTo: none means every
// namespace (the mesh default), "." its own, "*" all, "~" none.
func exportedTo(o *Object, ns string) bool {
	if len(o.ExportTo) == 0 {
		return true
	}
	for _, e := range o.ExportTo {
		if e == "*" || e == ns || e == "." && o.Namespace == ns {
			return true
		}
	}
	return false
}

// mergeDelegated merges delegate entry j into root entry i.
func (ix *Index) mergeDelegated(root *Object, i int, deleg *Object, j int) []Route {
	rootRule, dr := &root.Rules[i], &deleg.Rules[j]
	if dr.Delegate != nil {
		// Istio's validation rejects the delegate VirtualService.
		ix.report(NestedDelegate, deleg, dr.Field+".delegate",
			"a delegate VirtualService's http entry cannot delegate again; istiod's validation rejects it")
		return nil
	}
	matches, conflict := mergeMatches(rootRule.Matches, dr.Matches)
	if conflict {
		ix.report(DelegateConflict, deleg, dr.Field,
			"no match of this entry lies within a match of %s/%s %s, which delegates to it: istiod drops the entry",
			root.Namespace, root.Name, rootRule.Field)
		return nil
	}
	name := delegatedName(rootRule.Name, dr.Name)
	org := origin{root, i, -1}
	if dr.Name != "" {
		org = origin{deleg, j, -1}
	}
	base := Route{Object: deleg, Root: root, Rule: j, Match: -1, Field: dr.Field, origin: org}
	if len(matches) == 0 {
		base.Name = name
		return []Route{base}
	}
	out := make([]Route, 0, len(matches))
	for _, mm := range matches {
		r := base
		r.Matches = mm.match
		r.Name = VirtualServiceRouteName(name, mm.match.Name)
		if mm.delegIndex >= 0 {
			r.Match, r.Field = mm.delegIndex, dr.Matches[mm.delegIndex].Field
		}
		if mm.match.Name != "" {
			if mm.delegIndex >= 0 && dr.Matches[mm.delegIndex].Name != "" {
				r.origin = origin{deleg, j, mm.delegIndex}
			} else {
				r.origin = origin{root, i, mm.rootIndex}
			}
		}
		out = append(out, r)
	}
	return out
}

type mergedMatch struct {
	match                 *Match
	rootIndex, delegIndex int
}

// mergeMatches intersects a root entry's matches with a delegate entry's
// (virtualservice.go mergeHTTPMatchRequests): each delegate match is merged
// with every root match it does not conflict with; a delegate match that
// conflicts with all of them drops the whole entry.
func mergeMatches(root, deleg []Match) ([]mergedMatch, bool) {
	switch {
	case len(root) == 0:
		out := make([]mergedMatch, len(deleg))
		for k := range deleg {
			out[k] = mergedMatch{&deleg[k], -1, k}
		}
		return out, false
	case len(deleg) == 0:
		out := make([]mergedMatch, len(root))
		for k := range root {
			out[k] = mergedMatch{&root[k], k, -1}
		}
		return out, false
	}
	var out []mergedMatch
	for di := range deleg {
		found := false
		for ri := range root {
			if matchConflict(&root[ri], &deleg[di]) {
				continue
			}
			out = append(out, mergedMatch{mergeMatch(&root[ri], &deleg[di]), ri, di})
			found = true
		}
		if !found {
			return nil, true
		}
	}
	return out, len(out) == 0
}

// mergeMatch fills a delegate match's gaps from the root match
// (virtualservice.go mergeHTTPMatchRequest); for headers, query parameters
// and source labels the delegate's value wins.
func mergeMatch(root, deleg *Match) *Match {
	out := cloneMatch(deleg)
	out.Name = delegatedName(root.Name, deleg.Name)
	out.Path = cmpOr(deleg.Path, root.Path)
	out.Scheme = cmpOr(deleg.Scheme, root.Scheme)
	out.Method = cmpOr(deleg.Method, root.Method)
	out.Authority = cmpOr(deleg.Authority, root.Authority)
	out.Headers = mergeKeys(root.Headers, deleg.Headers)
	out.WithoutHeaders = mergeKeys(root.WithoutHeaders, deleg.WithoutHeaders)
	out.QueryParams = mergeKeys(root.QueryParams, deleg.QueryParams)
	if out.Port == 0 {
		out.Port = root.Port
	}
	if len(root.SourceLabels) > 0 {
		labels := maps.Clone(root.SourceLabels)
		maps.Copy(labels, deleg.SourceLabels)
		out.SourceLabels = labels
	}
	if out.SourceNamespace == "" {
		out.SourceNamespace = root.SourceNamespace
	}
	if len(out.Gateways) == 0 {
		out.Gateways = root.Gateways
	}
	return out
}

func cmpOr(a, b *StringMatch) *StringMatch {
	if a != nil {
		return a
	}
	return b
}

func mergeKeys(root, deleg []KeyMatch) []KeyMatch {
	byName := make(map[string]KeyMatch, len(root)+len(deleg))
	for _, k := range root {
		byName[k.Name] = k
	}
	for _, k := range deleg {
		byName[k.Name] = k
	}
	if len(byName) == 0 {
		return nil
	}
	out := slices.Collect(maps.Values(byName))
	slices.SortFunc(out, func(a, b KeyMatch) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// matchConflict reports a delegate match that does not lie within the root
// match (virtualservice.go hasConflict).
func matchConflict(root, leaf *Match) bool {
	pairs := [][2]*StringMatch{{root.Path, leaf.Path}, {root.Scheme, leaf.Scheme}, {root.Method, leaf.Method}, {root.Authority, leaf.Authority}}
	for _, p := range pairs {
		if stringMatchConflict(p[0], p[1]) {
			return true
		}
	}
	for _, set := range [][2][]KeyMatch{{root.Headers, leaf.Headers}, {root.WithoutHeaders, leaf.WithoutHeaders}, {root.QueryParams, leaf.QueryParams}} {
		for _, lk := range set[1] {
			if stringMatchConflict(findKey(set[0], lk.Name), &lk.StringMatch) {
				return true
			}
		}
	}
	if root.IgnoreURICase != leaf.IgnoreURICase || root.Port > 0 && leaf.Port > 0 && root.Port != leaf.Port {
		return true
	}
	if root.SourceNamespace != "" && leaf.SourceNamespace != root.SourceNamespace {
		return true
	}
	for k, v := range leaf.SourceLabels {
		if rv, ok := root.SourceLabels[k]; ok && rv != v {
			return true
		}
	}
	if len(root.Gateways) > 0 && len(leaf.Gateways) > 0 {
		if len(root.Gateways) < len(leaf.Gateways) {
			return true
		}
		for _, g := range leaf.Gateways {
			if !slices.Contains(root.Gateways, g) {
				return true
			}
		}
	}
	return false
}

func findKey(keys []KeyMatch, name string) *StringMatch {
	for i := range keys {
		if keys[i].Name == name {
			return &keys[i].StringMatch
		}
	}
	return nil
}

// stringMatchConflict is virtualservice.go stringMatchConflict: a leaf
// matcher conflicts unless it narrows the root's (an exact value equal to
// it, or a prefix or exact value under its prefix); regexes never combine.
func stringMatchConflict(root, leaf *StringMatch) bool {
	if root == nil || leaf == nil {
		return false
	}
	rootExact, rootPrefix, rootRegex := matcherValues(root)
	leafExact, leafPrefix, leafRegex := matcherValues(leaf)
	switch {
	case rootRegex != "" && (leafRegex != "" || leafPrefix != "" || leafExact != ""):
		return true
	case leafRegex != "" && (rootRegex != "" || rootPrefix != "" || rootExact != ""):
		return true
	case rootExact != "":
		return leafPrefix != "" || leafExact != rootExact
	case rootPrefix != "" && leafPrefix != "":
		return !strings.HasPrefix(leafPrefix, rootPrefix)
	case rootPrefix != "" && leafExact != "":
		return !strings.HasPrefix(leafExact, rootPrefix)
	}
	return true
}

// matcherValues returns what istio's StringMatch getters return: the value
// under its kind, "" for the others.
func matcherValues(s *StringMatch) (exact, prefix, regex string) {
	switch s.Type {
	case Exact:
		exact = s.Value
	case Prefix, PathPrefix:
		prefix = s.Value
	case Regex:
		regex = s.Value
	}
	return
}

// report records a finding.
func (ix *Index) report(kind FindingKind, o *Object, field, format string, args ...any) {
	ix.findings = append(ix.findings, Finding{Kind: kind, Object: o, Field: field, Message: fmt.Sprintf(format, args...)})
}
