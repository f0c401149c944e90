#!/usr/bin/env bash
# Tools we did not write that check pubcat's output: the Python HdrHistogram
# package (an independent decoder of bench's latency_us.hdr) and
# kubernetes-validate (the Kubernetes API schema, offline, for
# deploy/kubernetes/bench-job.yaml). Nothing to run: start installs them with
# pip when missing, stop does nothing.
#
#   ./tools.sh start|stop|status
PEER=tools
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

have() { python3 -c 'import hdrh.histogram, yaml' 2>/dev/null && command -v kubernetes-validate >/dev/null; }

start() {
  if have; then log "hdrhistogram and kubernetes-validate present"; return 0; fi
  [ "${PEERS_NO_INSTALL:-}" = 1 ] && die "python's hdrhistogram or kubernetes-validate is missing (PEERS_NO_INSTALL=1)"
  command -v python3 >/dev/null || apt_ensure python3 python3-pip
  python3 -m pip --version >/dev/null 2>&1 || apt_ensure python3-pip
  # Debian's python refuses system-wide installs without the flag; pyenv's
  # and venvs ignore it.
  python3 -m pip install -q --root-user-action=ignore hdrhistogram kubernetes-validate 2>/dev/null \
    || python3 -m pip install -q --break-system-packages hdrhistogram kubernetes-validate
  have || die "installed, but python3 cannot import hdrh or kubernetes-validate is not on PATH"
  log "installed hdrhistogram and kubernetes-validate"
}

case "${1:-}" in
  start) start ;;
  stop) ;;
  status) have && echo present || { echo missing; exit 1; } ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
