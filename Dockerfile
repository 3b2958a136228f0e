# holo-host: the binary and the example transforms, on a slim runtime image.
#   docker build -t holo-host .
#   docker run --rm holo-host run --help
FROM rust:1.95-bookworm AS build
WORKDIR /src
RUN rustup target add wasm32-wasip2
COPY . .
RUN cargo build --release --locked -p holo-host \
 && cargo build --locked --profile guest --target wasm32-wasip2 \
        -p holo-passthrough -p holo-alias -p holo-enrich

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /var/lib/holo-host --create-home holo
COPY --from=build /src/target/release/holo-host /usr/local/bin/holo-host
COPY --from=build /src/target/wasm32-wasip2/guest/passthrough.wasm \
                  /src/target/wasm32-wasip2/guest/alias.wasm \
                  /src/target/wasm32-wasip2/guest/enrich.wasm /opt/holo-host/transforms/
USER 10001
# Compiled transforms are cached here; mount a volume to keep them across restarts.
ENV HOLO_HOST_CACHE_DIR=/var/lib/holo-host/cache
EXPOSE 9464
ENTRYPOINT ["/usr/local/bin/holo-host"]
CMD ["--help"]
