#!/usr/bin/env bash
# Copied from the team's shared peers (shared/peers/socketio.sh) so a clone of
# this repository can start its own interop server; server.js is extended (see
# its header).
#
# Socket.IO v4 server (npm socket.io, see socketio/server.js): namespaces "/",
# "/chat" and "/private" (auth checked by a middleware), rooms, acks both ways,
# websocket and HTTP long-polling transports. The same app directory holds
# socket.io-client, which the interop tests and the benchmark run as a peer.
#
#   ./socketio.sh start|stop|restart|status|smoke|urls
#   SOCKETIO_PORT (18087); SOCKETIO_RECOVERY=1 turns on connectionStateRecovery
PEER=socketio
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT="${SOCKETIO_PORT:-18087}"
PIDFILE="$STATE/server.pid"

urls() {
  cat <<EOF2
SOCKETIO_URL=http://127.0.0.1:$PORT            (namespaces /, /chat, /private; path /socket.io/)
SOCKETIO_WS=ws://127.0.0.1:$PORT/socket.io/?EIO=4&transport=websocket
SOCKETIO_POLLING=http://127.0.0.1:$PORT/socket.io/?EIO=4&transport=polling
SOCKETIO_HTTP_PUBLISH=http://127.0.0.1:$PORT/publish/<room>[?ns=/chat]   (POST body -> "message"(room, body))
SOCKETIO_APP=$STATE/app           (server.js and node_modules with socket.io-client)
EOF2
}

start() {
  node_app_start "$PEERS_DIR/socketio" "$PORT" /health SOCKETIO_PORT="$PORT" \
    SOCKETIO_RECOVERY="${SOCKETIO_RECOVERY:-0}"
  urls
}

stop() {
  if pid_alive "$PIDFILE"; then stop_pidfile "$PIDFILE"; log "stopped"; else rm -f "$PIDFILE"; log "not running"; fi
}

status() {
  if pid_alive "$PIDFILE" && curl -fsS -m 2 "http://127.0.0.1:$PORT/health" >/dev/null 2>&1; then
    log "running (pid $(cat "$PIDFILE"), rss $(rss_kb "$(cat "$PIDFILE")") KiB)"; return 0
  fi
  log "not running"; return 1
}

smoke() {
  node_app_prepare "$PEERS_DIR/socketio"
  (cd "$STATE/app" && node smoke.js "$PORT")
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) status ;;
  smoke) smoke ;;
  urls) urls ;;
  *) usage ;;
esac
