# The atlasbench binary (bench serve, bench run, …) in a small image.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/bench ./cmd/bench

FROM alpine:3.20
RUN apk add --no-cache ca-certificates wget && adduser -D -u 10001 atlas
COPY --from=build /out/bench /usr/local/bin/bench
USER atlas
EXPOSE 8000
ENTRYPOINT ["/usr/local/bin/bench"]
CMD ["serve", "-listen", "0.0.0.0:8000"]
