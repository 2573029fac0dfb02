# syntax=docker/dockerfile:1
# kvsrtc: one static binary for `kvsrtc emulator` and `kvsrtc master`.
#
#   docker build -t kvsrtc --build-arg VERSION=$(git describe --always) .
#   docker run --rm -p 4443:4443 -p 9090:9090 kvsrtc            # the emulator (the default command)
#   docker run --rm -v /etc/kvsrtc:/etc/kvsrtc:ro kvsrtc master --config /etc/kvsrtc/channels.json
#
# cmd/kvsrtc/build_test.go runs the `go build` line of this file as it is
# written here (CGO_ENABLED=0, -trimpath) and checks the binary is static.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/kvsrtc/kvsrtc/internal/cli.version=${VERSION}" -o /out/kvsrtc ./cmd/kvsrtc

# distroless static: CA certificates and tzdata, no shell, uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/kvsrtc /usr/local/bin/kvsrtc
USER nonroot:nonroot
EXPOSE 4443 9090
ENTRYPOINT ["/usr/local/bin/kvsrtc"]
# The default is the emulator, so the image works as a CI service container
# (which cannot be given a command): HTTPS/WSS on 4443, metrics and
# /healthz on 9090, its CA at /home/nonroot/.kvsrtc/ca.pem. It advertises
# 127.0.0.1:4443 in endpoints: publish the port as the same number. Any
# other command (master, viewer, ...) replaces this one.
CMD ["emulator", "--listen", "0.0.0.0:4443", "--data", "/home/nonroot/.kvsrtc", "--metrics-listen", "0.0.0.0:9090"]
