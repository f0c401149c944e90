#!/usr/bin/env bash
# Mosquitto with MQTT over WebSocket (ws://127.0.0.1:18083, wss://localhost:18084)
# and plain MQTT on 127.0.0.1:18883: a private instance from its own config,
# beside any mosquitto already running on 1883.
#
#   ./mosquitto-ws.sh start|stop|restart|status|urls
#   MOSQ_WS_PORT (18083), MOSQ_WSS_PORT (18084), MOSQ_MQTT_PORT (18883)
PEER=mosquitto-ws
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WS_PORT="${MOSQ_WS_PORT:-18083}"
WSS_PORT="${MOSQ_WSS_PORT:-18084}"
MQTT_PORT="${MOSQ_MQTT_PORT:-18883}"
PIDFILE="$STATE/mosquitto.pid"

urls() {
  cat <<EOF
MOSQUITTO_WS=ws://127.0.0.1:$WS_PORT/mqtt      (WebSocket subprotocol "mqtt"; any path)
MOSQUITTO_WSS=wss://localhost:$WSS_PORT/mqtt   (CA: $STATE/tls/ca.pem)
MOSQUITTO_MQTT=mqtt://127.0.0.1:$MQTT_PORT
EOF
}

ready() { port_open "$MQTT_PORT" && port_open "$WS_PORT" && port_open "$WSS_PORT"; }

start() {
  apt_ensure mosquitto openssl
  if pid_alive "$PIDFILE" && ready; then
    log "already running (pid $(cat "$PIDFILE"))"; urls; return 0
  fi
  pid_alive "$PIDFILE" && stop_pidfile "$PIDFILE"
  local p; for p in "$MQTT_PORT" "$WS_PORT" "$WSS_PORT"; do
    port_open "$p" && die "port $p is taken by another process"
  done
  mkdir -p "$STATE"
  make_tls "$STATE/tls"
  sed -e "s|@STATE@|$STATE|g" -e "s|@MQTT_PORT@|$MQTT_PORT|g" -e "s|@WS_PORT@|$WS_PORT|g" \
      -e "s|@WSS_PORT@|$WSS_PORT|g" "$PEERS_DIR/mosquitto-ws.conf.in" > "$STATE/mosquitto.conf"
  setsid nohup mosquitto -c "$STATE/mosquitto.conf" > "$STATE/mosquitto.log" 2>&1 < /dev/null &
  echo $! > "$PIDFILE"
  if ! wait_until "$PEERS_READY_TIMEOUT" "mosquitto on :$MQTT_PORT/:$WS_PORT/:$WSS_PORT" ready; then
    tail -n 20 "$STATE/mosquitto.log" >&2 || true
    stop_pidfile "$PIDFILE" 2
    die "mosquitto did not become ready"
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
