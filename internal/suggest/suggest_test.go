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
		a, b        string
		limit, want int
	}{
		{"", "", 2, 0}, {"a", "", 2, 1}, {"abc", "abc", 2, 0}, {"abc", "acb", 2, 1}, {"abc", "abd", 2, 1},
		{"abc", "ab", 2, 1}, {"abc", "a", 2, 2}, {"abcd", "badc", 2, 2}, {"abcd", "badc", 4, 2},
		{"kitten", "sitting", 4, 3}, {"kitten", "sitting", 3, 3}, {"kitten", "sitting", 2, 2},
		{"request.methd", "request.method", 4, 1}, {"abcdef", "a", 4, 4},
	} {
		if got := Distance(tc.a, tc.b, tc.limit); got != tc.want {
			t.Errorf("Distance(%q, %q, %d) = %d, want %d", tc.a, tc.b, tc.limit, got, tc.want)
		}
	}
}
