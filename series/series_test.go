package series

import "testing"

// The 5m names are a public contract; the constants and the functions must agree.
func TestContractNames(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{RequestsRate(Window5m), RequestsRate5m},
		{ErrorsRate(Window5m), ErrorsRate5m},
		{ErrorRatio(Window5m), ErrorRatio5m},
		{RequestsRate5m, "route:istio_requests:rate5m"},
		{ErrorsRate5m, "route:istio_request_errors:rate5m"},
		{ErrorRatio5m, "route:istio_request_error_ratio:rate5m"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
