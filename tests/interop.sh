#!/usr/bin/env bash
# The interop suite: start the real servers pubcat is tested against (they
# install what they need on first use), run the interop tests against them,
# stop them again. Used by .ci/run; run it by hand the same way.
set -euo pipefail
cd "$(dirname "$0")/.."

peers=(nchan rabbitmq-stomp socketio sockjs chromium mosquitto-ws nats-ws tools)
# RabbitMQ keeps the (durable) queues the STOMP tests declare, all named
# pubcat-*: delete them so runs do not pile them up on the broker.
drop_test_queues() {
  rabbitmqctl -q eval 'Qs = [Q || Q <- rabbit_amqqueue:list(<<"/">>), binary:match(element(4, amqqueue:get_name(Q)), <<"pubcat-">>) =:= {0,7}], lists:foreach(fun(Q) -> rabbit_amqqueue:delete(Q, false, false, <<"pubcat-tests">>) end, Qs), length(Qs).' >/dev/null 2>&1 || true
}
stop() { drop_test_queues; for p in "${peers[@]}"; do bash "tests/peers/$p.sh" stop || true; done; }
trap stop EXIT

for p in "${peers[@]}"; do bash "tests/peers/$p.sh" start >/dev/null; done
cargo test --locked --test interop -- --include-ignored --test-threads=2
