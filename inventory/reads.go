package inventory

import "strings"

// Reads reports whether objects of kind (any apiVersion) can matter to
// the inventory: the kinds it reads (route objects and Services for tags
// reading xds.route_name), and kinds that differ from them only in case,
// which it reports (RB202). A manifest reader may skip every other object
// unparsed (manifest.Options.Keep).
func Reads(_, kind string) bool {
	for _, k := range []string{"WasmPlugin", "Telemetry", "Gateway", "Namespace", "HTTPRoute", "GRPCRoute", "VirtualService", "Service"} {
		if strings.EqualFold(kind, k) {
			return true
		}
	}
	return false
}
