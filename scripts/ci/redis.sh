#!/usr/bin/env bash
# A throw-away local Redis for the queue tests of examples/cifar (issue 18).
#
#   scripts/ci/redis.sh install          apt-get install redis-server if missing (idempotent)
#   scripts/ci/redis.sh start [PORT]     install if needed, start redis-server on 127.0.0.1:PORT
#                                        (default 6390), no persistence, state in a temp folder;
#                                        prints the URL: export SCOREKIT_REDIS_URL=$(... start)
#   scripts/ci/redis.sh stop [PORT]      stop that server (by its pidfile) and remove its folder
#
# The server only listens on the loopback address. Fails with a message when a step fails.
set -euo pipefail

cmd="${1:-}"
port="${2:-6390}"
dir="${TMPDIR:-/tmp}/scorekit-redis-${port}"
pidfile="${dir}/redis.pid"

die() { echo "scripts/ci/redis.sh: $*" >&2; exit 1; }

install() {
  if command -v redis-server >/dev/null 2>&1; then return 0; fi
  command -v apt-get >/dev/null 2>&1 || die "redis-server is missing and apt-get is not available: install Redis ≥ 6.2 yourself"
  echo "scripts/ci/redis.sh: installing redis-server (Debian package)" >&2
  if [ "$(id -u)" = 0 ]; then sudo=""; else sudo="sudo"; fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q redis-server >/dev/null \
    || { $sudo apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q redis-server >/dev/null; } \
    || die "apt-get install redis-server failed"
  command -v redis-server >/dev/null 2>&1 || die "redis-server still not on PATH after installing"
}

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

case "$cmd" in
  install)
    install
    ;;
  start)
    [[ "$port" =~ ^[0-9]+$ ]] || die "PORT must be a number, got '$port'"
    install
    if running; then
      echo "redis://127.0.0.1:${port}"
      exit 0
    fi
    mkdir -p "$dir"
    redis-server --bind 127.0.0.1 --port "$port" --protected-mode yes \
      --daemonize yes --pidfile "$pidfile" --dir "$dir" --logfile "${dir}/redis.log" \
      --save '' --appendonly no --maxmemory-policy noeviction \
      || die "redis-server did not start (see ${dir}/redis.log)"
    for _ in $(seq 1 50); do
      if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
        echo "redis://127.0.0.1:${port}"
        exit 0
      fi
      sleep 0.1
    done
    die "redis-server on 127.0.0.1:${port} does not answer PING (see ${dir}/redis.log)"
    ;;
  stop)
    if running; then
      pid="$(cat "$pidfile")"
      kill "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && die "redis-server (pid $pid) did not stop"
    fi
    rm -rf "$dir"
    ;;
  *)
    die "usage: scripts/ci/redis.sh install | start [PORT] | stop [PORT]"
    ;;
esac
