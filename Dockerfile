# smart-routing: the dispatcher with in-process ONNX workers, and the remote worker binary.
# Stage 1 builds the binary and fetches ONNX Runtime and the model with the same script CI
# runs (scripts/setup.sh); stage 2 keeps only what the server needs at run time.
#
#   docker build -t smart-routing .
#   docker run -p 8080:8080 smart-routing
FROM rust:1.85-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-pip python3-venv \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY proto proto
COPY src src
COPY benches benches
COPY examples examples
RUN cargo build --release --locked --bin smart-routing
COPY scripts scripts
RUN scripts/setup.sh

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home-dir /var/lib/smart-routing --create-home smart-routing
COPY --from=build /src/target/release/smart-routing /usr/local/bin/smart-routing
COPY --from=build /src/.cache/onnxruntime /opt/onnxruntime
COPY --from=build /src/models /models
COPY config/default.toml /etc/smart-routing/config.toml
ENV ORT_DYLIB_PATH=/opt/onnxruntime/libonnxruntime.so.1.31.1 \
    SMART_ROUTING_BIND=0.0.0.0:8080 \
    SMART_ROUTING_LOG_DIR=/var/lib/smart-routing/logs \
    SMART_ROUTING_DATA_DIR=/var/lib/smart-routing/data
USER smart-routing
WORKDIR /var/lib/smart-routing
EXPOSE 8080
ENTRYPOINT ["smart-routing"]
CMD ["serve", "--config", "/etc/smart-routing/config.toml", "--models", "/models", "--local-workers", "2"]
