package cli

import (
	"strings"
	"testing"

	"github.com/routebundle/routebundle/examples"
)

// TestExamplesAreClean: every embedded example lints without a finding and
// generates a bundle, selected with --example in each command.
func TestExamplesAreClean(t *testing.T) {
	for _, name := range examples.Names() {
		code, stdout, stderr := runCLI(t, "", "lint", "--example", name)
		if code != ExitOK || stdout != "" || stderr != "" {
			t.Errorf("lint --example %s: exit %d, stdout %q, stderr %q", name, code, stdout, stderr)
		}
		code, stdout, stderr = runCLI(t, "", "generate", "--example", name, "-o", "-")
		if code != ExitOK || stderr != "" || !strings.Contains(stdout, "kind: PrometheusRule") {
			t.Errorf("generate --example %s: exit %d, stderr %q", name, code, stderr)
		}
	}
	if code, _, stderr := runCLI(t, "", "generate", "--example", "nope"); code != ExitUsage || !strings.Contains(stderr, `no example "nope"`) {
		t.Errorf("generate --example nope: exit %d, stderr %q", code, stderr)
	}
}
