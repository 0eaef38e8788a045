# bundlegen image: one static binary and nothing else, for CI pipelines of
# dashboard-as-code repos (`bundlegen generate --check`).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=devel
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/bundlegen ./cmd/bundlegen

# bundlegen needs no shell, certificates or network: scratch is enough.
FROM scratch
COPY --from=build /out/bundlegen /usr/local/bin/bundlegen
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/bundlegen"]
