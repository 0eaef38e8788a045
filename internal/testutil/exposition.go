package testutil

import (
	"fmt"
	"io"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Sample is one series of a text exposition: its labels and value.
type Sample struct {
	Labels map[string]string
	Value  float64
}

// Exposition is a /metrics page by metric name: the counters, gauges and
// untyped series (histograms and summaries are left out).
type Exposition map[string][]Sample

// ParseExposition reads a page in the Prometheus text format.
func ParseExposition(r io.Reader) (Exposition, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return nil, err
	}
	out := Exposition{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			s := Sample{Labels: map[string]string{}}
			for _, l := range m.GetLabel() {
				s.Labels[l.GetName()] = l.GetValue()
			}
			switch {
			case m.Gauge != nil:
				s.Value = m.GetGauge().GetValue()
			case m.Counter != nil:
				s.Value = m.GetCounter().GetValue()
			case m.Untyped != nil:
				s.Value = m.GetUntyped().GetValue()
			default:
				continue
			}
			out[name] = append(out[name], s)
		}
	}
	return out, nil
}

// Get returns the series of name whose labels include match.
func (e Exposition) Get(name string, match map[string]string) []Sample {
	var out []Sample
	for _, s := range e[name] {
		ok := true
		for k, v := range match {
			ok = ok && s.Labels[k] == v
		}
		if ok {
			out = append(out, s)
		}
	}
	return out
}

// One returns the value of the only series of name matching match.
func (e Exposition) One(name string, match map[string]string) (float64, error) {
	got := e.Get(name, match)
	if len(got) != 1 {
		return 0, fmt.Errorf("%s%v: %d series, want 1 (all: %v)", name, match, len(got), e[name])
	}
	return got[0].Value, nil
}
