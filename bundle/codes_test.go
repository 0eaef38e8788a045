package bundle_test

import (
	"testing"

	"github.com/routebundle/routebundle/dashboards"
	"github.com/routebundle/routebundle/diag"
	"github.com/routebundle/routebundle/policy"
	"github.com/routebundle/routebundle/rules"
)

// TestGeneratorCodesAreRegistered keeps docs/diagnostics.md complete: the
// generators' codes are declared in their packages (diag cannot import them)
// and must all be listed in diag.Codes.
func TestGeneratorCodesAreRegistered(t *testing.T) {
	known := map[string]bool{}
	for _, c := range diag.Codes() {
		if known[c.Code] {
			t.Errorf("%s listed twice", c.Code)
		}
		known[c.Code] = true
	}
	for _, code := range []string{
		policy.CodeMalformed, policy.CodeUnknownKey, policy.CodeUnknownRoute,
		rules.CodeOptions, rules.CodeBadTag, rules.CodeNoRequestCount, rules.CodeSharedSeries,
		dashboards.CodeOptions, dashboards.CodeTagName, dashboards.CodeTagReserved,
		dashboards.CodeNamespace, dashboards.CodeRouteVariable, dashboards.CodeBuild,
	} {
		if !known[code] {
			t.Errorf("%s is not in diag.Codes()", code)
		}
	}
}
