#!/usr/bin/env bash
# nats-server with a WebSocket listener (ws://127.0.0.1:18085, NATS protocol in
# binary frames) plus plain NATS on 127.0.0.1:14222 and JetStream, from its own
# config, beside any nats-server already on 4222.
#
#   ./nats-ws.sh start|stop|restart|status|urls
#   NATS_WS_PORT (18085), NATS_CLIENT_PORT (14222), NATS_MONITOR_PORT (18222)
PEER=nats-ws
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WS_PORT="${NATS_WS_PORT:-18085}"
CLIENT_PORT="${NATS_CLIENT_PORT:-14222}"
MONITOR_PORT="${NATS_MONITOR_PORT:-18222}"
PIDFILE="$STATE/nats.pid"

urls() {
  cat <<EOF2
NATS_WS=ws://127.0.0.1:$WS_PORT          (NATS text protocol in binary ws frames; any path)
NATS_URL=nats://127.0.0.1:$CLIENT_PORT
NATS_MONITOR=http://127.0.0.1:$MONITOR_PORT/healthz   (also /varz /connz /subsz /jsz)
EOF2
}

ready() { curl -fsS -m 2 "http://127.0.0.1:$MONITOR_PORT/healthz" >/dev/null && port_open "$WS_PORT"; }

start() {
  apt_ensure nats-server curl
  if pid_alive "$PIDFILE" && ready; then
    log "already running (pid $(cat "$PIDFILE"))"; urls; return 0
  fi
  pid_alive "$PIDFILE" && stop_pidfile "$PIDFILE"
  local p; for p in "$CLIENT_PORT" "$WS_PORT" "$MONITOR_PORT"; do
    port_open "$p" && die "port $p is taken by another process"
  done
  mkdir -p "$STATE/jetstream"
  sed -e "s|@STATE@|$STATE|g" -e "s|@CLIENT_PORT@|$CLIENT_PORT|g" -e "s|@WS_PORT@|$WS_PORT|g" \
      -e "s|@MONITOR_PORT@|$MONITOR_PORT|g" "$PEERS_DIR/nats-ws.conf.in" > "$STATE/nats.conf"
  nats-server -c "$STATE/nats.conf" -t >/dev/null 2>&1 || { nats-server -c "$STATE/nats.conf" -t; die "bad nats config"; }
  setsid nohup nats-server -c "$STATE/nats.conf" > "$STATE/stdout.log" 2>&1 < /dev/null &
  echo $! > "$PIDFILE"
  if ! wait_until "$PEERS_READY_TIMEOUT" "nats-server on :$CLIENT_PORT/:$WS_PORT" ready; then
    tail -n 20 "$STATE/nats.log" "$STATE/stdout.log" >&2 || true
    stop_pidfile "$PIDFILE" 2
    die "nats-server did not become ready"
  fi
  log "ready (pid $(cat "$PIDFILE"), state $STATE)"
  urls
}

stop() {
  if pid_alive "$PIDFILE"; then stop_pidfile "$PIDFILE"; log "stopped"; else rm -f "$PIDFILE"; log "not running"; fi
}

status() {
  if pid_alive "$PIDFILE" && ready; then
    log "running (pid $(cat "$PIDFILE"), rss $(rss_kb "$(cat "$PIDFILE")") KiB)"; return 0
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
