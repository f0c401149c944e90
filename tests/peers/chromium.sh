#!/usr/bin/env bash
# Headless Chromium for tests/interop/browser.rs: not a server, so start
# only makes sure Debian's chromium is installed, and stop does nothing.
#
#   ./chromium.sh start|stop|status
PEER=chromium
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start() {
  if ! command -v chromium >/dev/null 2>&1; then
    [ "${PEERS_NO_INSTALL:-}" = 1 ] && die "chromium is not installed (PEERS_NO_INSTALL=1)"
    log "installing Debian's chromium"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
      || { as_root apt-get update -q >/dev/null && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; } \
      || die "could not install chromium"
  fi
  log "$(chromium --version 2>/dev/null || echo 'chromium present')"
}

status() {
  command -v chromium >/dev/null 2>&1 && log "installed" || { log "not installed"; return 1; }
}

case "${1:-}" in
  start) start ;;
  stop) : ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
