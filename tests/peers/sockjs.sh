#!/usr/bin/env bash
# Copied from the team's shared peers (shared/peers/sockjs.sh) so a clone of
# this repository can start its own interop server.
#
# SockJS server (npm sockjs 0.3.24, see sockjs/server.js): endpoints /echo,
# /broadcast and /pubsub, each over websocket (framed and raw), xhr-streaming,
# xhr-polling, eventsource, htmlfile and jsonp-polling.
#
#   ./sockjs.sh start|stop|restart|status|smoke|urls
#   SOCKJS_PORT (18088), SOCKJS_HEARTBEAT_MS (25000)
PEER=sockjs
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT="${SOCKJS_PORT:-18088}"
PIDFILE="$STATE/server.pid"

urls() {
  cat <<EOF2
SOCKJS_ECHO=http://127.0.0.1:$PORT/echo          (SockJS base URL; also /broadcast and /pubsub)
SOCKJS_WS_RAW=ws://127.0.0.1:$PORT/echo/websocket
SOCKJS_WS_FRAMED=ws://127.0.0.1:$PORT/echo/<server>/<session>/websocket
SOCKJS_XHR=http://127.0.0.1:$PORT/echo/<server>/<session>/xhr   (+ /xhr_send, /xhr_streaming, /eventsource)
SOCKJS_HTTP_PUBLISH=http://127.0.0.1:$PORT/publish/<channel>     (POST -> /pubsub subscribers)
EOF2
}

start() {
  node_app_start "$PEERS_DIR/sockjs" "$PORT" /health SOCKJS_PORT="$PORT" \
    SOCKJS_HEARTBEAT_MS="${SOCKJS_HEARTBEAT_MS:-25000}"
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
  node_app_prepare "$PEERS_DIR/sockjs"
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
