# syntax=docker/dockerfile:1
#
# Dockerfile: container image of the cinema gRPC service (box office backed by
# PostgreSQL, Redis and NATS JetStream).
#
#   docker compose up --build                # the whole stack, see compose.yaml
#   docker build -t cinema .                 # the image alone (BuildKit needed)
#   docker run --rm cinema --help
#
# The image runs `cinema serve` by default (gRPC on 50051, Prometheus metrics
# on 9464); `cinema migrate` applies the database migrations and `cinema
# health` is its health check. Configuration is read from the environment:
# DATABASE_URL, REDIS_URL, NATS_URL, CINEMA_JWT_SECRET, ... (the README's
# "Running in production" lists every variable).

# ---------------------------------------------------------------- build
FROM rust:1.95-bookworm AS builder
WORKDIR /src
# The .proto files are compiled by protox (pure Rust): no protoc needed.
COPY . .
# Cargo's registry and the target dir live in BuildKit caches, so rebuilds only
# recompile what changed; the binary is copied out of the cached target dir.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked --bin cinema \
    && install -D -m 0755 target/release/cinema /out/cinema

# ---------------------------------------------------------------- runtime
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 cinema \
    && useradd --system --uid 10001 --gid cinema --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin cinema
COPY --from=builder /out/cinema /usr/local/bin/cinema
USER cinema:cinema
# Listen on all interfaces inside the container (override as needed).
ENV CINEMA_GRPC_ADDR=0.0.0.0:50051 \
    CINEMA_METRICS_ADDR=0.0.0.0:9464
# 50051: gRPC (health: grpc.health.v1.Health); 9464: Prometheus /metrics.
EXPOSE 50051 9464
HEALTHCHECK --interval=5s --timeout=5s --retries=3 CMD ["cinema", "health"]
ENTRYPOINT ["cinema"]
CMD ["serve"]
