#!/usr/bin/env bash
# Copied from the team's shared peers (shared/peers/nchan.sh) so a clone of
# this repository can start its own interop server.
#
# nginx + Nchan: publish by HTTP POST, subscribe by websocket / EventSource /
# long-poll, with per-channel history. Private nginx instance: own config, pid,
# logs and temp dirs under the state dir; the system nginx config is not used.
#
#   ./nchan.sh start|stop|restart|status|urls
#   NCHAN_PORT (18080), NCHAN_TLS_PORT (18443), NCHAN_WORKERS (1)
PEER=nchan
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT="${NCHAN_PORT:-18080}"
TLS_PORT="${NCHAN_TLS_PORT:-18443}"
WORKERS="${NCHAN_WORKERS:-1}"
PIDFILE="$STATE/nginx.pid"

urls() {
  cat <<EOF
NCHAN_HTTP=http://127.0.0.1:$PORT
NCHAN_PUBSUB=http://127.0.0.1:$PORT/pubsub/<channel>     (POST publishes; GET subscribes: ws / SSE / long-poll)
NCHAN_WS=ws://127.0.0.1:$PORT/pubsub/<channel>
NCHAN_SSE=http://127.0.0.1:$PORT/sub/<channel>           (Accept: text/event-stream)
NCHAN_LONGPOLL=http://127.0.0.1:$PORT/sub/<channel>
NCHAN_LIVE=http://127.0.0.1:$PORT/live/<channel>         (no history replay)
NCHAN_HTTPS=https://127.0.0.1:$TLS_PORT   NCHAN_WSS=wss://localhost:$TLS_PORT/pubsub/<channel>
NCHAN_CA=$STATE/tls/ca.pem
NCHAN_STATUS=http://127.0.0.1:$PORT/nchan_status
EOF
}

ready() { curl -fsS -m 2 "http://127.0.0.1:$PORT/health" >/dev/null; }

module_path() {
  dpkg -L libnginx-mod-nchan 2>/dev/null | grep -m1 '/ngx_nchan_module\.so$'
}

start() {
  apt_ensure nginx libnginx-mod-nchan curl openssl
  if pid_alive "$PIDFILE" && ready; then
    log "already running (pid $(cat "$PIDFILE"))"; urls; return 0
  fi
  pid_alive "$PIDFILE" && stop_pidfile "$PIDFILE"
  port_open "$PORT" && die "port $PORT is taken by another process (set NCHAN_PORT)"
  port_open "$TLS_PORT" && die "port $TLS_PORT is taken by another process (set NCHAN_TLS_PORT)"
  local mod; mod=$(module_path); [ -n "$mod" ] || die "ngx_nchan_module.so not found"
  mkdir -p "$STATE/tmp"
  make_tls "$STATE/tls"
  sed -e "s|@MODULE@|$mod|g" -e "s|@STATE@|$STATE|g" -e "s|@PORT@|$PORT|g" \
      -e "s|@TLS_PORT@|$TLS_PORT|g" -e "s|@WORKERS@|$WORKERS|g" \
      "$PEERS_DIR/nchan.conf.in" > "$STATE/nginx.conf"
  nginx -t -q -p "$STATE" -e "$STATE/error.log" -c "$STATE/nginx.conf" \
    || die "nginx -t rejected $STATE/nginx.conf (see above)"
  nginx -p "$STATE" -e "$STATE/error.log" -c "$STATE/nginx.conf" || die "nginx failed to start; see $STATE/error.log"
  if ! wait_until "$PEERS_READY_TIMEOUT" "nchan on 127.0.0.1:$PORT" ready; then
    tail -n 20 "$STATE/error.log" >&2 || true
    die "nchan did not become ready"
  fi
  log "ready (pid $(cat "$PIDFILE"), state $STATE)"
  urls
}

stop() {
  if pid_alive "$PIDFILE"; then
    nginx -p "$STATE" -e "$STATE/error.log" -c "$STATE/nginx.conf" -s quit 2>/dev/null || true
    local d=$((SECONDS + 10)); while pid_alive "$PIDFILE" && [ $SECONDS -lt $d ]; do sleep 0.2; done
    stop_pidfile "$PIDFILE"
    log "stopped"
  else
    log "not running"
  fi
}

status() {
  if pid_alive "$PIDFILE" && ready; then
    local pids; pids="$(cat "$PIDFILE") $(pgrep -P "$(cat "$PIDFILE")" 2>/dev/null | tr '\n' ' ' || true)"
    log "running (pids $pids; rss $(rss_kb $pids) KiB)"
    curl -fsS -m 2 "http://127.0.0.1:$PORT/nchan_status" || true
    return 0
  fi
  log "not running"; return 1
}


case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) status ;;
  urls) urls ;;
  *) usage ;;
esac
