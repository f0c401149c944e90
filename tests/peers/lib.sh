# shellcheck shell=bash
# Shared helpers for the peer start scripts. Sourced, never run.
# Every script sets PEER before sourcing this file.
#
# Environment knobs (all optional):
#   PEERS_STATE_DIR      root for state/logs/pids (default: ${TMPDIR:-/tmp}/pubsub-peers)
#   PEERS_READY_TIMEOUT  seconds to wait for readiness (default 60)
#   PEERS_NO_INSTALL=1   never call apt-get / npm / pip; fail if something is missing

set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1

PEERS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PEERS_STATE_ROOT="${PEERS_STATE_DIR:-${TMPDIR:-/tmp}/pubsub-peers}"
PEERS_READY_TIMEOUT="${PEERS_READY_TIMEOUT:-60}"
STATE="$PEERS_STATE_ROOT/$PEER"

log() { printf '[%s] %s\n' "$PEER" "$*" >&2; }
die() { printf '[%s] ERROR: %s\n' "$PEER" "$*" >&2; exit 1; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# port_open PORT [HOST]: true when something accepts TCP connections there.
port_open() {
  (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null
}

# wait_until SECONDS DESCRIPTION CMD...: poll CMD every 0.2 s; fail clearly.
wait_until() {
  local limit=$1 what=$2; shift 2
  local deadline=$((SECONDS + limit))
  while ! "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "gave up after ${limit}s waiting for: $what"
      return 1
    fi
    sleep 0.2
  done
}

# pid_alive PIDFILE
pid_alive() {
  [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

# stop_pidfile PIDFILE [SECONDS]: TERM, wait, then KILL the one process named in PIDFILE.
stop_pidfile() {
  local pf=$1 limit=${2:-15} pid
  if ! pid_alive "$pf"; then rm -f "$pf"; return 0; fi
  pid=$(cat "$pf")
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + limit))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "pid $pid did not stop in ${limit}s, sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
  done
  rm -f "$pf"
}

apt_lists_present() {
  compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null || compgen -G '/var/lib/apt/lists/*_Packages.*' >/dev/null
}

# apt_ensure PKG...: install the packages that are missing. Services that the
# packages would start (system nginx on :80, system mosquitto on :1883, ...) are
# kept from starting with a temporary policy-rc.d when none exists.
apt_ensure() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "${PEERS_NO_INSTALL:-0}" = 1 ] && die "missing Debian packages: ${missing[*]} (PEERS_NO_INSTALL=1)"
  log "apt-get install ${missing[*]}"
  local policy=/usr/sbin/policy-rc.d added=0
  if [ ! -e "$policy" ]; then
    as_root sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
    added=1
    trap 'as_root rm -f /usr/sbin/policy-rc.d' EXIT INT TERM
  fi
  local rc=0
  apt_lists_present || as_root apt-get update -qq || true
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; then
    as_root apt-get update -qq || true
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 || rc=$?
  fi
  if [ "$added" = 1 ]; then as_root rm -f "$policy"; trap - EXIT INT TERM; fi
  [ "$rc" = 0 ] || die "apt-get install ${missing[*]} failed (rc=$rc)"
}

# node_ensure: node >= 18 and npm on PATH (Debian 12 ships node 18).
node_ensure() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    apt_ensure nodejs npm
  fi
  local major
  major=$(node -p 'process.versions.node.split(".")[0]')
  [ "$major" -ge 18 ] || die "node >= 18 needed, found $(node --version)"
}

# npm_ci DIR: npm ci in DIR (a copy under the state dir, see node_app_prepare);
# skipped while package-lock.json is unchanged since the last run.
npm_ci() {
  local dir=$1 stamp="$1/node_modules/.peers-lock-stamp"
  node_ensure
  if [ -f "$stamp" ] && cmp -s "$dir/package-lock.json" "$stamp"; then return 0; fi
  [ "${PEERS_NO_INSTALL:-0}" = 1 ] && die "node_modules missing in $dir (PEERS_NO_INSTALL=1)"
  log "npm ci in $(basename "$dir")"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2) || die "npm ci failed in $dir"
  cp "$dir/package-lock.json" "$stamp"
}

# rss_kb PID...: resident memory in KiB summed over the given pids.
rss_kb() {
  local total=0 p v
  for p in "$@"; do
    v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

usage() {
  echo "usage: $0 start|stop|restart|status|urls" >&2
  exit 2
}

# make_tls DIR: a throw-away CA (DIR/ca.pem) and a server certificate signed by
# it (DIR/server.pem, DIR/server.key) for localhost, 127.0.0.1 and ::1.
# Clients trust DIR/ca.pem (rustls rejects a self-signed leaf used as its own CA).
make_tls() {
  local dir=$1
  [ -s "$dir/server.pem" ] && [ -s "$dir/server.key" ] && [ -s "$dir/ca.pem" ] && return 0
  command -v openssl >/dev/null 2>&1 || apt_ensure openssl
  mkdir -p "$dir"
  (
    cd "$dir"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=pubsub-peers test CA" \
      -keyout ca.key -out ca.pem \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth" "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" > server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile server.ext -out server.pem 2>/dev/null
    rm -f server.csr server.ext ca.srl
    chmod 644 server.key server.pem ca.pem
  ) || die "could not create TLS certificates in $dir"
}

# listener_pid PORT: pid of the process listening on 127.0.0.1/any:PORT (needs ss).
listener_pid() {
  command -v ss >/dev/null 2>&1 || return 0
  ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2
}

# node_app_prepare SRC_DIR: <state>/app = SRC_DIR's package files and *.js, with
# node_modules installed by npm ci (re-run only when package-lock.json changes).
node_app_prepare() {
  local src=$1 app="$STATE/app"
  mkdir -p "$app"
  cp "$src"/package.json "$src"/package-lock.json "$src"/*.js "$app"/
  npm_ci "$app"
}

# node_app_start SRC_DIR PORT HEALTH_PATH [ENV=VAL...]: copy SRC_DIR's package
# files and *.js into <state>/app, npm ci there (node_modules never lands in
# SRC_DIR), then run "node server.js" in the background and wait for
# http://127.0.0.1:PORT/HEALTH_PATH.
node_app_start() {
  local src=$1 port=$2 health=$3; shift 3
  local app="$STATE/app" pidfile="$STATE/server.pid"
  if pid_alive "$pidfile" && curl -fsS -m 2 "http://127.0.0.1:$port$health" >/dev/null 2>&1; then
    log "already running (pid $(cat "$pidfile"))"; return 0
  fi
  pid_alive "$pidfile" && stop_pidfile "$pidfile"
  port_open "$port" && die "port $port is taken by another process"
  command -v curl >/dev/null 2>&1 || apt_ensure curl
  node_app_prepare "$src"
  (
    cd "$app" || exit 1
    env "$@" setsid nohup node server.js > "$STATE/server.log" 2>&1 < /dev/null &
    echo $! > "$pidfile"
  )
  if ! wait_until "$PEERS_READY_TIMEOUT" "http://127.0.0.1:$port$health" curl -fsS -m 2 "http://127.0.0.1:$port$health"; then
    tail -n 20 "$STATE/server.log" >&2 || true
    stop_pidfile "$pidfile" 2
    die "$PEER server did not become ready"
  fi
  log "ready (pid $(cat "$pidfile"), state $STATE)"
}
