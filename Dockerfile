# adclickd in a container, built from this checkout on Debian 12 (README "Running in a
# container"):
#   docker build -t adclick .
#   docker run --rm -p 8080:8080 -v adclick-data:/var/lib/adclick \
#     -e ADCLICK_NATS_URL=nats://nats:4222 adclick
# Configuration comes from ADCLICK_<GROUP>_<KEY> variables (secrets too: ADCLICK_NATS_TOKEN);
# with no ADCLICK_NATS_URL it starts its own nats-server inside the container.

FROM debian:12 AS build
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config ca-certificates \
      libcaf-dev libnats-dev libleveldb-dev libsnappy-dev libprotobuf-dev protobuf-compiler \
      libcpp-httplib-dev nlohmann-json3-dev prometheus-cpp-dev libcli11-dev libssl-dev catch2 \
      nodejs npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN scripts/vendor-web.sh web \
 && cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
 && cmake --build build --target adclickd adclick

FROM debian:12-slim
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libcaf-core0.17 libnats3.4 libleveldb1d libsnappy1v5 libprotobuf32 libcpp-httplib0.11 \
      libprometheus-cpp-core1.0 libssl3 nats-server \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /var/lib/adclick --create-home adclick
COPY --from=build /src/build/main/adclickd /src/build/tools/adclick /usr/local/bin/
COPY config/adclick.example.ini /etc/adclick/adclick.example.ini
USER adclick
WORKDIR /var/lib/adclick
VOLUME /var/lib/adclick
# Reachable from outside the container; the data in the volume.
ENV ADCLICK_HTTP_ADDRESS=0.0.0.0:8080 \
    ADCLICK_STORAGE_DIR=/var/lib/adclick/data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s \
  CMD ["adclick", "admin", "lag", "--http", "http://127.0.0.1:8080"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["adclickd"]
