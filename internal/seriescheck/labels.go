package seriescheck

import (
	"slices"

	"github.com/prometheus/prometheus/model/labels"
)

// value is what is known about one label of the series an expression
// yields.
type value struct {
	// values are the label's possible values when they are known (an
	// equality matcher or a rule label fixed them); any means any value.
	values []string
	any    bool
	// maybeAbsent: some of the series may lack the label (one side of an
	// `or` has it, the other does not).
	maybeAbsent bool
}

// admits reports whether some series with this label could match m.
func (v value) admits(m *labels.Matcher) bool {
	if v.maybeAbsent && m.Matches("") {
		return true
	}
	if v.any {
		// A present label is never empty.
		return !(m.Type == labels.MatchEqual && m.Value == "")
	}
	for _, s := range v.values {
		if m.Matches(s) {
			return true
		}
	}
	return false
}

// set is what is known about the labels of the series an expression
// yields. Labels not in a closed set are absent; an open set (a series
// whose labels are unknown) may have any label.
type set struct {
	open   bool
	labels map[string]value
	// scalar marks a number rather than a vector.
	scalar bool
}

func newSet() set { return set{labels: map[string]value{}} }

func openSet() set { return set{open: true, labels: map[string]value{}} }

func scalarSet() set { return set{scalar: true, labels: map[string]value{}} }

// anyOf returns a closed set of the named labels, each with any value.
func anyOf(names ...string) set {
	s := newSet()
	for _, n := range names {
		s.labels[n] = value{any: true}
	}
	return s
}

func (s set) clone() set {
	c := set{open: s.open, scalar: s.scalar, labels: make(map[string]value, len(s.labels))}
	for k, v := range s.labels {
		v.values = slices.Clone(v.values)
		c.labels[k] = v
	}
	return c
}

// get returns what is known of label name, and whether it can be present.
func (s set) get(name string) (value, bool) {
	if v, ok := s.labels[name]; ok {
		return v, true
	}
	if s.open {
		return value{any: true, maybeAbsent: true}, true
	}
	return value{}, false
}

// has reports whether every series of the set carries label name.
func (s set) has(name string) bool {
	v, ok := s.labels[name]
	return ok && !v.maybeAbsent
}

// mayHave reports whether some series of the set may carry label name.
func (s set) mayHave(name string) bool {
	_, ok := s.get(name)
	return ok
}

// mismatch returns the first matcher that no series of the set can
// satisfy, or nil. __name__ is the caller's business.
func (s set) mismatch(ms []*labels.Matcher) *labels.Matcher {
	for _, m := range ms {
		if m.Name == labels.MetricName {
			continue
		}
		v, ok := s.get(m.Name)
		if !ok {
			if !m.Matches("") {
				return m
			}
			continue
		}
		if !v.admits(m) {
			return m
		}
	}
	return nil
}

// narrow applies the equality matchers of a selector: those labels are
// then known to have that value.
func (s set) narrow(ms []*labels.Matcher) set {
	out := s.clone()
	for _, m := range ms {
		if m.Name == labels.MetricName || m.Type != labels.MatchEqual {
			continue
		}
		if m.Value == "" {
			delete(out.labels, m.Name)
			continue
		}
		out.labels[m.Name] = value{values: []string{m.Value}}
	}
	return out
}

// keep returns the set with only the named labels (sum by).
func (s set) keep(names []string) set {
	out := newSet()
	for _, n := range names {
		if v, ok := s.get(n); ok {
			out.labels[n] = v
		}
	}
	return out
}

// drop returns the set without the named labels (sum without, ignoring).
func (s set) drop(names ...string) set {
	out := s.clone()
	for _, n := range names {
		delete(out.labels, n)
	}
	return out
}

// with sets label name to v.
func (s set) with(name string, v value) set {
	out := s.clone()
	out.labels[name] = v
	return out
}

// union is what the series of either set may look like (`or`, or several
// rules recording one name).
func union(a, b set) set {
	out := set{open: a.open || b.open, labels: map[string]value{}}
	for _, n := range names(a, b) {
		va, inA := a.get(n)
		vb, inB := b.get(n)
		switch {
		case inA && inB:
			out.labels[n] = value{
				any:         va.any || vb.any,
				values:      uniq(append(slices.Clone(va.values), vb.values...)),
				maybeAbsent: va.maybeAbsent || vb.maybeAbsent,
			}
		case inA:
			va.maybeAbsent = true
			out.labels[n] = va
		default:
			vb.maybeAbsent = true
			out.labels[n] = vb
		}
	}
	return out
}

func names(sets ...set) []string {
	var out []string
	for _, s := range sets {
		for n := range s.labels {
			out = append(out, n)
		}
	}
	return uniq(out)
}

func uniq(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// sortedNames lists the labels the set's series may carry, for messages.
func (s set) sortedNames() []string {
	out := names(s)
	if s.open {
		out = append(out, "...")
	}
	return out
}
