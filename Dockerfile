# routebundle's images: `make image` builds both.
#
#   routebundle (the default target): the in-cluster service, with bundlegen
#     beside it; what deploy/helm/routebundle and deploy/kustomize run.
#   bundlegen (--target bundlegen): bundlegen alone, for the CI pipelines of
#     dashboard-as-code repositories (`bundlegen generate --check`).
#
# Both binaries are built by `make build`, so with exactly its flags: static
# (CGO_ENABLED=0), -trimpath, stripped, the version stamped in
# (deploy/image_test.go checks it). The runtime is scratch: the binaries, the
# CA certificates for TLS to Prometheus, and a non-root numeric user.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=devel
RUN make build BIN=/out VERSION=${VERSION}

FROM scratch AS bundlegen
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/bundlegen /usr/local/bin/bundlegen
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/bundlegen"]

FROM scratch AS routebundle
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/routebundle /usr/local/bin/routebundle
COPY --from=build /out/bundlegen /usr/local/bin/bundlegen
# The chart runs it as this user too (runAsNonRoot needs a numeric one).
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["/usr/local/bin/routebundle"]
