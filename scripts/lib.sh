# Shared by scripts/demo.sh and scripts/bench.sh (source it; it defines, runs nothing).
# Every process started through start_bg is stopped by stop_started (call it from a trap).

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# build_release DIR: installs missing packages and builds Release without tests into DIR;
# sets $adclickd and $adclick to the binaries.
build_release() {
  local dir=$1
  scripts/install-deps.sh
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
  cmake --build "$dir" -j "$(nproc)" >/dev/null
  adclickd="$(pwd)/$dir/main/adclickd"
  adclick="$(pwd)/$dir/tools/adclick"
}

started_pids=()
# start_bg LOG CMD...: starts CMD in the background with stdout+stderr to LOG; $! is its PID.
start_bg() {
  local log=$1
  shift
  "$@" >"$log" 2>&1 &
  started_pids+=($!)
}
stop_started() {
  for pid in "${started_pids[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
  for pid in "${started_pids[@]:-}"; do [ -n "$pid" ] && wait "$pid" 2>/dev/null || true; done
}

# start_nats PORT STORE_DIR LOG: a loopback nats-server -js; waits until it accepts.
start_nats() {
  start_bg "$3" nats-server -js -a 127.0.0.1 -p "$1" -sd "$2"
  for _ in $(seq 100); do port_open "$1" && return 0; sleep 0.1; done
  echo "nats-server did not start; see $3" >&2
  return 1
}

# wait_ready URL: waits up to 20 s for URL/readyz.
wait_ready() {
  for _ in $(seq 200); do curl -sf "$1/readyz" >/dev/null && return 0; sleep 0.1; done
  return 1
}

# bench_start NAME [ADCLICKD FLAGS...]: what every benchmark starts with: a Release build in
# build/bench, a work directory /tmp/adclick-NAME.* removed on exit (with every process
# started), a nats-server and an adclickd on free loopback ports with the given flags and
# $BENCH_ADCLICKD_FLAGS, ready. Sets $work, $nats, $http_port, $http and $adclickd_pid.
bench_start() {
  local name=$1
  shift
  build_release build/bench
  work=$(mktemp -d "/tmp/adclick-$name.XXXXXX")
  trap 'stop_started; rm -rf "$work"' EXIT
  trap 'exit 130' INT TERM
  local nats_port
  nats_port=$(free_port)
  start_nats "$nats_port" "$work/nats" "$work/nats.log"
  nats=nats://127.0.0.1:$nats_port
  http_port=$(free_port)
  http=http://127.0.0.1:$http_port
  # shellcheck disable=SC2086  # the extra flags are words
  start_bg "$work/adclickd.log" "$adclickd" --nats.url="$nats" --storage.dir="$work/data" \
    --http.address=127.0.0.1:$http_port "$@" ${BENCH_ADCLICKD_FLAGS:-}
  adclickd_pid=$!
  wait_ready "$http"
}
