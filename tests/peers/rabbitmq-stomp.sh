#!/usr/bin/env bash
# RabbitMQ with STOMP over WebSocket (rabbitmq_web_stomp, ws://127.0.0.1:15674/ws)
# and plain STOMP (rabbitmq_stomp, 127.0.0.1:61613). User guest/guest, vhost "/".
#
# Two modes, chosen by start:
#  * "existing": a broker already answers on 127.0.0.1:$AMQP_PORT (e.g. the one the
#    rust-svc machine starts with 'rabbitmq-server -detached'): the two plugins are
#    enabled on it at run time (bound to 127.0.0.1); stop disables only the
#    plugins this script enabled and leaves the broker running.
#  * "own": no broker runs: a private node (pubsubpeers@localhost) is started as
#    the current user with mnesia, logs, config, cookie and pid under the state
#    dir; stop stops it.
#
#   ./rabbitmq-stomp.sh start|stop|restart|status|urls
#   RABBITMQ_PEER_AMQP_PORT (5672), RABBITMQ_PEER_STOMP_PORT (61613),
#   RABBITMQ_PEER_WS_PORT (15674), RABBITMQ_PEER_NODE (pubsubpeers@localhost)
PEER=rabbitmq-stomp
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

AMQP_PORT="${RABBITMQ_PEER_AMQP_PORT:-5672}"
STOMP_PORT="${RABBITMQ_PEER_STOMP_PORT:-61613}"
WS_PORT="${RABBITMQ_PEER_WS_PORT:-15674}"
OWN_NODE="${RABBITMQ_PEER_NODE:-pubsubpeers@localhost}"
PLUGINS=(rabbitmq_stomp rabbitmq_web_stomp)
READY_TIMEOUT="${PEERS_READY_TIMEOUT:-90}"   # an Erlang node takes a few seconds

urls() {
  cat <<EOF
RABBITMQ_WS_STOMP=ws://127.0.0.1:$WS_PORT/ws        (subprotocols v12.stomp v11.stomp v10.stomp)
RABBITMQ_STOMP=tcp://127.0.0.1:$STOMP_PORT
RABBITMQ_AMQP=amqp://guest:guest@127.0.0.1:$AMQP_PORT/
RABBITMQ_LOGIN=guest RABBITMQ_PASSCODE=guest RABBITMQ_VHOST=/  (STOMP CONNECT host:/ )
EOF
}

mode() { cat "$STATE/mode" 2>/dev/null || echo none; }

# The real scripts, next to Debian's su-wrapper (the wrapper would switch to the
# rabbitmq user; the private node runs as the caller with HOME in the state dir).
rmq_bin() { dirname "$(readlink -f "$(command -v rabbitmq-server)")"; }

own_env() {
  export HOME="$STATE/home"
  export RABBITMQ_NODENAME="$OWN_NODE"
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT="$AMQP_PORT"
  export RABBITMQ_DIST_PORT="$((AMQP_PORT + 20000))"
  export RABBITMQ_CONF_ENV_FILE="$STATE/rabbitmq-env.conf"
  export RABBITMQ_CONFIG_FILE="$STATE/rabbitmq.conf"
  export RABBITMQ_ADVANCED_CONFIG_FILE="$STATE/advanced.config"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$STATE/enabled_plugins"
  export RABBITMQ_MNESIA_BASE="$STATE/mnesia"
  export RABBITMQ_LOG_BASE="$STATE/log"
  export RABBITMQ_PID_FILE="$STATE/rabbitmq.pid"
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
  export ERL_EPMD_ADDRESS=127.0.0.1
}

own_ctl() { ( own_env; "$(rmq_bin)/rabbitmqctl" "$@" ); }

listeners_up() { port_open "$STOMP_PORT" && port_open "$WS_PORT"; }

wait_listeners() {
  if ! wait_until "$READY_TIMEOUT" "STOMP :$STOMP_PORT and web-STOMP :$WS_PORT" listeners_up; then
    [ "$(mode)" = own ] && tail -n 30 "$STATE/log/"*.log "$STATE/startup.log" >&2 2>/dev/null
    die "RabbitMQ STOMP listeners did not come up"
  fi
}

start_own() {
  log "no broker on 127.0.0.1:$AMQP_PORT: starting a private node $OWN_NODE"
  mkdir -p "$STATE/home" "$STATE/mnesia" "$STATE/log"
  : > "$STATE/rabbitmq-env.conf"
  cat > "$STATE/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:$AMQP_PORT
stomp.listeners.tcp.1 = 127.0.0.1:$STOMP_PORT
web_stomp.tcp.ip = 127.0.0.1
web_stomp.tcp.port = $WS_PORT
log.file.level = info
log.console = false
EOF
  echo "[${PLUGINS[*]// /,}]." | tr ' ' ',' > "$STATE/enabled_plugins"
  echo own > "$STATE/mode"
  # remember whether epmd (Erlang's port mapper, shared by all nodes) was ours
  if port_open 4369; then rm -f "$STATE/epmd-ours"; else touch "$STATE/epmd-ours"; fi
  (
    own_env
    cd "$STATE"
    setsid nohup "$(rmq_bin)/rabbitmq-server" > "$STATE/startup.log" 2>&1 < /dev/null &
    echo $! > "$STATE/launcher.pid"
  )
  wait_until "$READY_TIMEOUT" "AMQP port $AMQP_PORT" port_open "$AMQP_PORT" || {
    tail -n 30 "$STATE/startup.log" >&2 || true; die "private RabbitMQ node did not start"; }
  wait_listeners
}

start_existing() {
  local ctl plugins_ctl
  ctl=rabbitmqctl plugins_ctl=rabbitmq-plugins
  if ! "$ctl" -q ping >/dev/null 2>&1 && ! rabbitmq-diagnostics -q ping >/dev/null 2>&1; then
    die "something listens on 127.0.0.1:$AMQP_PORT but rabbitmqctl cannot reach that node (set RABBITMQ_NODENAME, or RABBITMQ_PEER_AMQP_PORT to start a private node on another port)"
  fi
  echo existing > "$STATE/mode"
  local enabled p todo=()
  enabled=$("$plugins_ctl" -q list -e -m 2>/dev/null || true)
  for p in "${PLUGINS[@]}"; do
    grep -qx "$p" <<<"$enabled" || todo+=("$p")
  done
  if [ ${#todo[@]} -gt 0 ]; then
    log "broker already running: enabling ${todo[*]} on it (listeners on 127.0.0.1)"
    # Bind the new listeners to loopback: load the apps and set their env before
    # they start (the broker's own config file is left alone).
    "$ctl" -q eval "application:load(rabbitmq_stomp), application:load(rabbitmq_web_stomp),
      application:set_env(rabbitmq_stomp, tcp_listeners, [{\"127.0.0.1\", $STOMP_PORT}]),
      application:set_env(rabbitmq_web_stomp, tcp_config, [{ip, \"127.0.0.1\"}, {port, $WS_PORT}]), ok." >/dev/null \
      || log "warning: could not pre-set loopback listeners; plugin defaults apply"
    "$plugins_ctl" -q enable "${todo[@]}" >&2 || die "rabbitmq-plugins enable ${todo[*]} failed"
    printf '%s\n' "${todo[@]}" >> "$STATE/enabled-by-us"
  else
    log "broker already running with ${PLUGINS[*]} enabled"
  fi
  wait_listeners
}

start() {
  apt_ensure rabbitmq-server
  mkdir -p "$STATE"
  if [ "$(mode)" = own ] && own_ctl -q ping >/dev/null 2>&1; then
    wait_listeners
  elif port_open "$AMQP_PORT"; then
    start_existing
  else
    rm -f "$STATE/mode"
    start_own
  fi
  log "ready (mode $(mode))"
  urls
}

stop() {
  case "$(mode)" in
    own)
      own_ctl -q stop >/dev/null 2>&1 || true
      local pid; pid=$(cat "$STATE/rabbitmq.pid" 2>/dev/null || true)
      [ -n "$pid" ] && echo "$pid" > "$STATE/rabbitmq.pid" && stop_pidfile "$STATE/rabbitmq.pid" 20
      stop_pidfile "$STATE/launcher.pid" 5
      # stop epmd too if this script's node started it and no node is left on it
      if [ -f "$STATE/epmd-ours" ] && command -v epmd >/dev/null 2>&1 &&
         ! epmd -names 2>/dev/null | grep -q '^name '; then
        epmd -kill >/dev/null 2>&1 || true
      fi
      rm -f "$STATE/mode" "$STATE/epmd-ours"
      log "private node stopped" ;;
    existing)
      if [ -s "$STATE/enabled-by-us" ]; then
        mapfile -t ours < <(sort -u "$STATE/enabled-by-us")
        rabbitmq-plugins -q disable "${ours[@]}" >&2 || log "warning: could not disable ${ours[*]}"
        log "disabled ${ours[*]} on the existing broker (broker left running)"
      else
        log "plugins were enabled before this script ran; nothing to undo"
      fi
      rm -f "$STATE/enabled-by-us" "$STATE/mode" ;;
    *) log "not running (started by this script)" ;;
  esac
}

status() {
  local m; m=$(mode)
  if listeners_up; then
    local pid; pid=$(listener_pid "$WS_PORT")
    log "running (mode $m${pid:+, pid $pid, rss $(rss_kb "$pid") KiB})"
    return 0
  fi
  log "not running (mode $m)"; return 1
}


case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) status ;;

  urls) urls ;;
  *) usage ;;
esac
