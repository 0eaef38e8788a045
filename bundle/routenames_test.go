package bundle_test

// routeNamesMesh reads route names in every place they can be read: a
// waypoint (server side), a gateway and client sidecars (client side,
// reporter="source"), the last two on tags of their own and one on the
// waypoint's tag too (its rules leave the waypoint's namespace to it).
const routeNamesMesh = `apiVersion: v1
kind: Namespace
metadata:
  name: bookinfo
  labels: {istio.io/dataplane-mode: ambient, istio.io/use-waypoint: waypoint}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: waypoint, namespace: bookinfo}
spec: {gatewayClassName: istio-waypoint, listeners: [{name: mesh, port: 15008, protocol: HBONE}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: public, namespace: ingress}
spec: {gatewayClassName: istio, listeners: [{name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: reviews, namespace: bookinfo}
spec:
  parentRefs: [{group: "", kind: Service, name: reviews, port: 9080}]
  rules:
  - name: jason
    matches: [{headers: [{name: end-user, value: jason}]}]
    backendRefs: [{name: reviews-v2, port: 9080}]
  - name: "reviews.everyone"
    backendRefs: [{name: reviews-v1, port: 9080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: bookinfo, namespace: bookinfo}
spec:
  parentRefs: [{name: public, namespace: ingress}]
  hostnames: [bookinfo.example.com]
  rules:
  - name: productpage
    matches: [{path: {type: Exact, value: /productpage}}, {path: {type: PathPrefix, value: /static}}]
    backendRefs: [{name: productpage, port: 9080}]
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: route-names, namespace: bookinfo, annotations: {routebundle.io/objective: "99.9%"}}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: waypoint}]
  metrics:
  - providers: [{name: prometheus}]
    overrides:
    - match: {metric: ALL_METRICS, mode: SERVER}
      tagOverrides: {route_name: {value: xds.route_name}}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: gateway-routes, namespace: ingress}
spec:
  targetRefs: [{kind: Gateway, group: gateway.networking.k8s.io, name: public}]
  metrics:
  - providers: [{name: prometheus}]
    overrides:
    - match: {metric: ALL_METRICS, mode: CLIENT}
      tagOverrides: {gateway_route: {value: xds.route_name}}
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: {name: client-routes, namespace: web}
spec:
  metrics:
  - providers: [{name: prometheus}]
    overrides:
    - match: {metric: ALL_METRICS, mode: CLIENT}
      tagOverrides: {route_name: {value: xds.route_name}}
`
