package suggest

import "testing"

func TestClosest(t *testing.T) {
	fields := []string{"selector", "targetRefs", "targetRef", "url", "phase", "priority", "pluginConfig", "match"}
	for _, tc := range []struct{ name, want string }{
		{"selctor", "selector"},       // deletion
		{"selectorr", "selector"},     // insertion
		{"selektor", "selector"},      // substitution
		{"slecetor", ""},              // two edits
		{"seletcor", "selector"},      // transposition
		{"targetRefsX", "targetRefs"}, // one more than targetRefs, two more than targetRef
		{"targetref", "targetRef"},    // case only
		{"PluginConfig", "pluginConfig"},
		{"selector", ""}, // known
		{"image", ""},
		{"", ""},
	} {
		if got := Closest(tc.name, fields); got != tc.want {
			t.Errorf("Closest(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
	// Two candidates one edit away: no guess.
	if got := Closest("ab", []string{"abc", "abd"}); got != "" {
		t.Errorf("ambiguous: got %q", got)
	}
	if got := Closest("tagOverride", []string{"tagOverrides", "disabled", "match"}); got != "tagOverrides" {
		t.Errorf("tagOverride: got %q", got)
	}
}

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"abc", "abc", 0}, {"abc", "acb", 1}, {"abc", "abd", 1},
		{"abc", "ab", 1}, {"abc", "a", 2}, {"abcd", "badc", 2},
	} {
		if got := distance(tc.a, tc.b); got != tc.want {
			t.Errorf("distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
