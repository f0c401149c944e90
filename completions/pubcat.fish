# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_pubcat_global_optspecs
    string join \n v/verbose q/quiet color= h/help V/version
end

function __fish_pubcat_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_pubcat_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_pubcat_using_subcommand
    set -l cmd (__fish_pubcat_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c pubcat -n "__fish_pubcat_needs_command" -l color -d 'When to use colour (NO_COLOR is respected in auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c pubcat -n "__fish_pubcat_needs_command" -s v -l verbose -d '-v: handshakes and closes on stderr; -vv: every frame too'
complete -c pubcat -n "__fish_pubcat_needs_command" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c pubcat -n "__fish_pubcat_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pubcat -n "__fish_pubcat_needs_command" -s V -l version -d 'Print version'
complete -c pubcat -n "__fish_pubcat_needs_command" -f -a "publish" -d 'Send messages: arguments, a file, or stdin (one message per line)'
complete -c pubcat -n "__fish_pubcat_needs_command" -f -a "pub" -d 'Send messages: arguments, a file, or stdin (one message per line)'
complete -c pubcat -n "__fish_pubcat_needs_command" -f -a "subscribe" -d 'Print every message from a stream, with scriptable exit conditions'
complete -c pubcat -n "__fish_pubcat_needs_command" -f -a "sub" -d 'Print every message from a stream, with scriptable exit conditions'
complete -c pubcat -n "__fish_pubcat_needs_command" -f -a "tail" -d 'Follow a stream until interrupted: reconnect with backoff and resume from the last message id printed, so nothing is missed or repeated'
complete -c pubcat -n "__fish_pubcat_needs_command" -f -a "connect" -d 'An interactive session: each line typed or piped is sent, every message received is printed'
complete -c pubcat -n "__fish_pubcat_needs_command" -f -a "c" -d 'An interactive session: each line typed or piped is sent, every message received is printed'
complete -c pubcat -n "__fish_pubcat_needs_command" -f -a "request" -d 'Ask and wait for the answer: send one request with a reply address and print the first reply'
complete -c pubcat -n "__fish_pubcat_needs_command" -f -a "req" -d 'Ask and wait for the answer: send one request with a reply address and print the first reply'
complete -c pubcat -n "__fish_pubcat_needs_command" -f -a "reply" -d 'Answer requests: print each one and send it a reply'
complete -c pubcat -n "__fish_pubcat_needs_command" -f -a "bench" -d 'Load-test a server: throughput, loss and latency percentiles'
complete -c pubcat -n "__fish_pubcat_needs_command" -f -a "serve" -d 'Run the embedded broker: ws, SSE, long-poll and HTTP publish on one port; topics are URL paths'
complete -c pubcat -n "__fish_pubcat_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c pubcat -n "__fish_pubcat_needs_command" -f -a "man" -d 'Print a man page (roff) on stdout: pubcat(1), or with a subcommand\'s name, pubcat-NAME(1)'
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -s t -l topic -d 'STOMP destination, MQTT topic, NATS subject (raw ws: the URL path)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -s H -l header -d 'Add a request header, e.g. -H \'Authorization: Bearer T\' (repeatable)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l token -d 'A token for a server that wants one (pubcat serve --token)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l transport -d 'ws, sse, poll, http (POST) or sockjs [default: from the URL]' -r -f -a "ws\t'WebSocket (ws://, wss://)'
sse\t'Server-Sent Events: a GET with `Accept: text/event-stream` (receive only)'
poll\t'HTTP long-poll, in the Nchan convention (receive only)'
http\t'HTTP POST, one request per message (publish only)'
sockjs\t'SockJS (sockjs+http:// URLs): WebSocket, falling back to xhr-streaming and xhr-polling; see --sockjs-transport'"
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l protocol -d 'The protocol over the transport [default: raw; stomp for stomp+ws:// and stomp+wss:// URLs, socketio for socketio+http(s):// URLs]' -r -f -a "raw\t'Each WebSocket message, SSE event or HTTP body is one message'
stomp\t'STOMP 1.2 frames (RabbitMQ Web-STOMP, Spring); destinations with -t'
socketio\t'Socket.IO v4 (Engine.IO long-polling, upgraded to WebSocket); the URL\'s path is the namespace'
mqtt\t'MQTT 3.1.1 or 5.0 over WebSocket (Mosquitto, EMQX, HiveMQ); topics and filters with -t'
nats\t'NATS over WebSocket (nats-server\'s websocket block); subjects with -t'"
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l connect-timeout -d 'Give up connecting (TCP, TLS and handshake; over HTTP, until the answer\'s headers) after this long' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l ping-interval -d 'Send a ping this often (WebSocket\'s; MQTT\'s PINGREQ, also its keep-alive; NATS\'s PING); a peer that sends nothing at all for that long after one is dead (exit 3; tail reconnects). 0 turns it off' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l dead-after -d 'SSE and long-poll have no pings: a connection on which nothing at all (no event, no comment, no answer) arrives for this long is dead (exit 3; tail reconnects). Set it above the server\'s keep-alive period (pubcat serve: 15s) [default: off]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l poll-timeout -d 'Longest a long-poll request may be held by the server before pubcat gives up on it and asks again (at least 1s)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l subprotocol -d 'Offer this WebSocket subprotocol (repeatable); the server must pick one' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l max-message-size -d 'Largest message accepted from the server, and read from --file or stdin to publish (a larger one is refused, exit 2), in bytes (K, M, G suffixes)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l ca -d 'Also trust this PEM file\'s certificates (a CA\'s, or the server\'s)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l vhost -d 'Virtual host, sent as CONNECT\'s `host` header (RabbitMQ\'s vhost)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l user -d 'Login for CONNECT (STOMP\'s login, NATS\'s user)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l password -d 'Passcode for CONNECT (STOMP\'s passcode, NATS\'s pass; never shown in -v output)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l heartbeat -d 'Heart-beats offered, in ms: "we can send every CX, we want one every CY"; a server silent for twice its period is dead (exit 3). 0,0: off. CX is 0 by default because RabbitMQ 3.10\'s Web-STOMP drops connections that send heart-beats under flow control; --ping-interval keeps the socket alive instead' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l qos -d 'MQTT quality of service, to publish and to subscribe: 0 at most once, 1 at least once (PUBACK), 2 exactly once (PUBREC, PUBREL, PUBCOMP). Received messages are acknowledged once printed' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l message-expiry -d 'MQTT 5: the broker drops a published message not delivered within this long' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l client-id -d 'MQTT client id [default: pubcat- and random hex]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l clean -d 'Start a clean session (true), or resume the broker\'s session for --client-id (false): what it queued at QoS 1 and 2 while this client was away is delivered' -r -f -a "true\t''
false\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l session-expiry -d 'MQTT 5: how long the broker keeps the session after the connection ends [default: 0 with --clean true, 1h with --clean false]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l mqtt-version -d 'MQTT protocol version' -r -f -a "5\t''
3.1.1\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l will-topic -d 'Will topic: the broker publishes --will-message there if this client goes away without a DISCONNECT' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l will-message -d 'The will\'s body (with --will-topic)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l will-qos -d 'The will\'s QoS' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l queue-group -d 'Subscribe in this queue group (sub, tail, connect): the members of a group share the subject\'s messages, each message going to one of them' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l nkey -d 'Authenticate with the NKey whose user seed (SU…) is in FILE: the server\'s nonce is signed with it (the seed is never shown)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l creds -d 'Authenticate with a credentials file (nsc\'s .creds: a user JWT and its NKey seed)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l namespace -d 'The namespace to connect to [default: the URL\'s path, / when none]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l auth -d 'CONNECT payload, a JSON object the server\'s middleware reads, e.g. \'{"token":"…"}\' (never shown in -v output)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l path -d 'The Engine.IO path on the server' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l emit -d 'Emit EVENT right after connecting, and again after every reconnect (repeatable): how a client joins rooms, e.g. --emit join room1. ARG is JSON when valid (else a string); a JSON array is the argument list (\'[]\': none, \'["room",1]\': two)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l ack-reply -d 'The arguments of the acknowledgement sent when the server asks for one, read as --emit\'s ARG [default: no arguments]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l sockjs-transport -d 'Use only this SockJS transport [default: websocket, falling back to xhr-streaming, then xhr-polling, when it fails]' -r -f -a "websocket\t'Framed WebSocket: one SockJS frame per WebSocket message'
xhr-streaming\t'A long chunked POST response carries frames; POSTs to xhr_send carry ours'
xhr-polling\t'One POST per batch of frames; POSTs to xhr_send carry ours'"
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l sockjs-heartbeat -d 'How often the server sends heartbeat frames (sockjs-node and Spring: 25s); a server silent for twice that is dead (exit 3)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -s f -l file -d 'Send this file\'s contents as one message (at most --max-message-size)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l stdin-mode -d 'How stdin becomes messages' -r -f -a "line\t'Each line is one message (the trailing \\n or \\r\\n is not sent)'
whole\t'All of stdin is one message'"
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -s n -l count -d 'Send each message this many times' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l rate -d 'Send at most this many messages per second (0 = as fast as possible)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l interval -d 'Wait this long between messages (the inverse of --rate)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l content-type -d 'Content-Type of messages published over HTTP [default: text/plain, or application/octet-stream with --binary]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l timeout -d 'After the last message, wait this long for the server\'s acknowledgements (STOMP receipts, Socket.IO ACKs, the WebSocket close) before exit 5' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -s o -l output -d 'How to print what the server sends back (--confirm\'s Socket.IO acknowledgements) [default: line]' -r -f -a "toast\t'A small card per message (for terminals)'
line\t'One line per message: the body, CR/LF escaped, binary as hex'
json\t'NDJSON: one envelope object per line'
raw\t'Each body byte-exact, then a newline'"
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l event -d 'The event to emit [default: message]: once with the MESSAGE arguments as its arguments (each JSON when valid, else a string), or once per stdin line (the line as its argument)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l binary-file -d 'Attach this file\'s bytes to the emit as a binary argument (after the MESSAGE arguments)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l color -d 'When to use colour (NO_COLOR is respected in auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -s k -l insecure -d 'Do not verify the server\'s TLS certificate (for testing only)'
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l retain -d 'Publish retained messages: the broker keeps the last one per topic and gives it to every new subscriber'
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l will-retain -d 'Retain the will'
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -s b -l binary -d 'Send binary frames instead of text (text frames must be UTF-8)'
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -l confirm -d 'Wait for the server to acknowledge every message (else exit 5)'
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -s v -l verbose -d '-v: handshakes and closes on stderr; -vv: every frame too'
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c pubcat -n "__fish_pubcat_using_subcommand publish" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -s t -l topic -d 'STOMP destination, MQTT topic, NATS subject (raw ws: the URL path)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -s H -l header -d 'Add a request header, e.g. -H \'Authorization: Bearer T\' (repeatable)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l token -d 'A token for a server that wants one (pubcat serve --token)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l transport -d 'ws, sse, poll, http (POST) or sockjs [default: from the URL]' -r -f -a "ws\t'WebSocket (ws://, wss://)'
sse\t'Server-Sent Events: a GET with `Accept: text/event-stream` (receive only)'
poll\t'HTTP long-poll, in the Nchan convention (receive only)'
http\t'HTTP POST, one request per message (publish only)'
sockjs\t'SockJS (sockjs+http:// URLs): WebSocket, falling back to xhr-streaming and xhr-polling; see --sockjs-transport'"
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l protocol -d 'The protocol over the transport [default: raw; stomp for stomp+ws:// and stomp+wss:// URLs, socketio for socketio+http(s):// URLs]' -r -f -a "raw\t'Each WebSocket message, SSE event or HTTP body is one message'
stomp\t'STOMP 1.2 frames (RabbitMQ Web-STOMP, Spring); destinations with -t'
socketio\t'Socket.IO v4 (Engine.IO long-polling, upgraded to WebSocket); the URL\'s path is the namespace'
mqtt\t'MQTT 3.1.1 or 5.0 over WebSocket (Mosquitto, EMQX, HiveMQ); topics and filters with -t'
nats\t'NATS over WebSocket (nats-server\'s websocket block); subjects with -t'"
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l connect-timeout -d 'Give up connecting (TCP, TLS and handshake; over HTTP, until the answer\'s headers) after this long' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l ping-interval -d 'Send a ping this often (WebSocket\'s; MQTT\'s PINGREQ, also its keep-alive; NATS\'s PING); a peer that sends nothing at all for that long after one is dead (exit 3; tail reconnects). 0 turns it off' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l dead-after -d 'SSE and long-poll have no pings: a connection on which nothing at all (no event, no comment, no answer) arrives for this long is dead (exit 3; tail reconnects). Set it above the server\'s keep-alive period (pubcat serve: 15s) [default: off]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l poll-timeout -d 'Longest a long-poll request may be held by the server before pubcat gives up on it and asks again (at least 1s)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l subprotocol -d 'Offer this WebSocket subprotocol (repeatable); the server must pick one' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l max-message-size -d 'Largest message accepted from the server, and read from --file or stdin to publish (a larger one is refused, exit 2), in bytes (K, M, G suffixes)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l ca -d 'Also trust this PEM file\'s certificates (a CA\'s, or the server\'s)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l vhost -d 'Virtual host, sent as CONNECT\'s `host` header (RabbitMQ\'s vhost)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l user -d 'Login for CONNECT (STOMP\'s login, NATS\'s user)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l password -d 'Passcode for CONNECT (STOMP\'s passcode, NATS\'s pass; never shown in -v output)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l heartbeat -d 'Heart-beats offered, in ms: "we can send every CX, we want one every CY"; a server silent for twice its period is dead (exit 3). 0,0: off. CX is 0 by default because RabbitMQ 3.10\'s Web-STOMP drops connections that send heart-beats under flow control; --ping-interval keeps the socket alive instead' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l qos -d 'MQTT quality of service, to publish and to subscribe: 0 at most once, 1 at least once (PUBACK), 2 exactly once (PUBREC, PUBREL, PUBCOMP). Received messages are acknowledged once printed' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l message-expiry -d 'MQTT 5: the broker drops a published message not delivered within this long' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l client-id -d 'MQTT client id [default: pubcat- and random hex]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l clean -d 'Start a clean session (true), or resume the broker\'s session for --client-id (false): what it queued at QoS 1 and 2 while this client was away is delivered' -r -f -a "true\t''
false\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l session-expiry -d 'MQTT 5: how long the broker keeps the session after the connection ends [default: 0 with --clean true, 1h with --clean false]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l mqtt-version -d 'MQTT protocol version' -r -f -a "5\t''
3.1.1\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l will-topic -d 'Will topic: the broker publishes --will-message there if this client goes away without a DISCONNECT' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l will-message -d 'The will\'s body (with --will-topic)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l will-qos -d 'The will\'s QoS' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l queue-group -d 'Subscribe in this queue group (sub, tail, connect): the members of a group share the subject\'s messages, each message going to one of them' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l nkey -d 'Authenticate with the NKey whose user seed (SU…) is in FILE: the server\'s nonce is signed with it (the seed is never shown)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l creds -d 'Authenticate with a credentials file (nsc\'s .creds: a user JWT and its NKey seed)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l namespace -d 'The namespace to connect to [default: the URL\'s path, / when none]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l auth -d 'CONNECT payload, a JSON object the server\'s middleware reads, e.g. \'{"token":"…"}\' (never shown in -v output)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l path -d 'The Engine.IO path on the server' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l emit -d 'Emit EVENT right after connecting, and again after every reconnect (repeatable): how a client joins rooms, e.g. --emit join room1. ARG is JSON when valid (else a string); a JSON array is the argument list (\'[]\': none, \'["room",1]\': two)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l ack-reply -d 'The arguments of the acknowledgement sent when the server asks for one, read as --emit\'s ARG [default: no arguments]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l sockjs-transport -d 'Use only this SockJS transport [default: websocket, falling back to xhr-streaming, then xhr-polling, when it fails]' -r -f -a "websocket\t'Framed WebSocket: one SockJS frame per WebSocket message'
xhr-streaming\t'A long chunked POST response carries frames; POSTs to xhr_send carry ours'
xhr-polling\t'One POST per batch of frames; POSTs to xhr_send carry ours'"
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l sockjs-heartbeat -d 'How often the server sends heartbeat frames (sockjs-node and Spring: 25s); a server silent for twice that is dead (exit 3)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -s f -l file -d 'Send this file\'s contents as one message (at most --max-message-size)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l stdin-mode -d 'How stdin becomes messages' -r -f -a "line\t'Each line is one message (the trailing \\n or \\r\\n is not sent)'
whole\t'All of stdin is one message'"
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -s n -l count -d 'Send each message this many times' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l rate -d 'Send at most this many messages per second (0 = as fast as possible)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l interval -d 'Wait this long between messages (the inverse of --rate)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l content-type -d 'Content-Type of messages published over HTTP [default: text/plain, or application/octet-stream with --binary]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l timeout -d 'After the last message, wait this long for the server\'s acknowledgements (STOMP receipts, Socket.IO ACKs, the WebSocket close) before exit 5' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -s o -l output -d 'How to print what the server sends back (--confirm\'s Socket.IO acknowledgements) [default: line]' -r -f -a "toast\t'A small card per message (for terminals)'
line\t'One line per message: the body, CR/LF escaped, binary as hex'
json\t'NDJSON: one envelope object per line'
raw\t'Each body byte-exact, then a newline'"
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l event -d 'The event to emit [default: message]: once with the MESSAGE arguments as its arguments (each JSON when valid, else a string), or once per stdin line (the line as its argument)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l binary-file -d 'Attach this file\'s bytes to the emit as a binary argument (after the MESSAGE arguments)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l color -d 'When to use colour (NO_COLOR is respected in auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -s k -l insecure -d 'Do not verify the server\'s TLS certificate (for testing only)'
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l retain -d 'Publish retained messages: the broker keeps the last one per topic and gives it to every new subscriber'
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l will-retain -d 'Retain the will'
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -s b -l binary -d 'Send binary frames instead of text (text frames must be UTF-8)'
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -l confirm -d 'Wait for the server to acknowledge every message (else exit 5)'
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -s v -l verbose -d '-v: handshakes and closes on stderr; -vv: every frame too'
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c pubcat -n "__fish_pubcat_using_subcommand pub" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -s n -l count -d 'Exit 0 after this many messages' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l timeout -d 'Exit 1 if --count or --until has not held by then (alone: exit 0)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l until -d 'Exit 0 at the first message whose body matches REGEX (printed)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l idle -d 'Exit 0 once nothing has arrived for this long' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -s o -l output -d 'toast (a card), line, json (NDJSON) or raw [default: toast on a terminal, else line]' -r -f -a "toast\t'A small card per message (for terminals)'
line\t'One line per message: the body, CR/LF escaped, binary as hex'
json\t'NDJSON: one envelope object per line'
raw\t'Each body byte-exact, then a newline'"
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l format -d 'Print each message as a line of TEMPLATE: \'{id} {body_json.status}\'' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l exec -d 'Run CMD for each message, one at a time, in order' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l exec-fail -d 'When an --exec command fails: continue (say so and go on), or stop (exit 6)' -r -f -a "continue\t'Report it on stderr, count it, and go on with the next message'
stop\t'End the command with exit 6'"
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l notify -d 'Show a notification per message: the topic, the body\'s first line' -r -f -a "auto\t'The escape this terminal shows (see the README\'s matrix); the bell where pubcat cannot tell'
osc777\t'OSC 777 (foot, WezTerm, Ghostty, Windows Terminal)'
osc9\t'OSC 9 (iTerm2, VS Code)'
osc99\t'OSC 99 (kitty)'
desktop\t'The desktop\'s notification service (D-Bus, macOS, Windows), not the terminal'
bell\t'The terminal bell'"
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l notify-when -d 'Notify only for messages whose body matches this regex' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -s t -l topic -d 'STOMP destination, MQTT topic, NATS subject (raw ws: the URL path)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -s H -l header -d 'Add a request header, e.g. -H \'Authorization: Bearer T\' (repeatable)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l token -d 'A token for a server that wants one (pubcat serve --token)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l transport -d 'ws, sse, poll, http (POST) or sockjs [default: from the URL]' -r -f -a "ws\t'WebSocket (ws://, wss://)'
sse\t'Server-Sent Events: a GET with `Accept: text/event-stream` (receive only)'
poll\t'HTTP long-poll, in the Nchan convention (receive only)'
http\t'HTTP POST, one request per message (publish only)'
sockjs\t'SockJS (sockjs+http:// URLs): WebSocket, falling back to xhr-streaming and xhr-polling; see --sockjs-transport'"
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l protocol -d 'The protocol over the transport [default: raw; stomp for stomp+ws:// and stomp+wss:// URLs, socketio for socketio+http(s):// URLs]' -r -f -a "raw\t'Each WebSocket message, SSE event or HTTP body is one message'
stomp\t'STOMP 1.2 frames (RabbitMQ Web-STOMP, Spring); destinations with -t'
socketio\t'Socket.IO v4 (Engine.IO long-polling, upgraded to WebSocket); the URL\'s path is the namespace'
mqtt\t'MQTT 3.1.1 or 5.0 over WebSocket (Mosquitto, EMQX, HiveMQ); topics and filters with -t'
nats\t'NATS over WebSocket (nats-server\'s websocket block); subjects with -t'"
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l connect-timeout -d 'Give up connecting (TCP, TLS and handshake; over HTTP, until the answer\'s headers) after this long' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l ping-interval -d 'Send a ping this often (WebSocket\'s; MQTT\'s PINGREQ, also its keep-alive; NATS\'s PING); a peer that sends nothing at all for that long after one is dead (exit 3; tail reconnects). 0 turns it off' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l dead-after -d 'SSE and long-poll have no pings: a connection on which nothing at all (no event, no comment, no answer) arrives for this long is dead (exit 3; tail reconnects). Set it above the server\'s keep-alive period (pubcat serve: 15s) [default: off]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l poll-timeout -d 'Longest a long-poll request may be held by the server before pubcat gives up on it and asks again (at least 1s)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l subprotocol -d 'Offer this WebSocket subprotocol (repeatable); the server must pick one' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l max-message-size -d 'Largest message accepted from the server, and read from --file or stdin to publish (a larger one is refused, exit 2), in bytes (K, M, G suffixes)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l ca -d 'Also trust this PEM file\'s certificates (a CA\'s, or the server\'s)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l vhost -d 'Virtual host, sent as CONNECT\'s `host` header (RabbitMQ\'s vhost)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l user -d 'Login for CONNECT (STOMP\'s login, NATS\'s user)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l password -d 'Passcode for CONNECT (STOMP\'s passcode, NATS\'s pass; never shown in -v output)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l heartbeat -d 'Heart-beats offered, in ms: "we can send every CX, we want one every CY"; a server silent for twice its period is dead (exit 3). 0,0: off. CX is 0 by default because RabbitMQ 3.10\'s Web-STOMP drops connections that send heart-beats under flow control; --ping-interval keeps the socket alive instead' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l qos -d 'MQTT quality of service, to publish and to subscribe: 0 at most once, 1 at least once (PUBACK), 2 exactly once (PUBREC, PUBREL, PUBCOMP). Received messages are acknowledged once printed' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l message-expiry -d 'MQTT 5: the broker drops a published message not delivered within this long' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l client-id -d 'MQTT client id [default: pubcat- and random hex]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l clean -d 'Start a clean session (true), or resume the broker\'s session for --client-id (false): what it queued at QoS 1 and 2 while this client was away is delivered' -r -f -a "true\t''
false\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l session-expiry -d 'MQTT 5: how long the broker keeps the session after the connection ends [default: 0 with --clean true, 1h with --clean false]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l mqtt-version -d 'MQTT protocol version' -r -f -a "5\t''
3.1.1\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l will-topic -d 'Will topic: the broker publishes --will-message there if this client goes away without a DISCONNECT' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l will-message -d 'The will\'s body (with --will-topic)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l will-qos -d 'The will\'s QoS' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l queue-group -d 'Subscribe in this queue group (sub, tail, connect): the members of a group share the subject\'s messages, each message going to one of them' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l nkey -d 'Authenticate with the NKey whose user seed (SU…) is in FILE: the server\'s nonce is signed with it (the seed is never shown)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l creds -d 'Authenticate with a credentials file (nsc\'s .creds: a user JWT and its NKey seed)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l namespace -d 'The namespace to connect to [default: the URL\'s path, / when none]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l auth -d 'CONNECT payload, a JSON object the server\'s middleware reads, e.g. \'{"token":"…"}\' (never shown in -v output)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l path -d 'The Engine.IO path on the server' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l emit -d 'Emit EVENT right after connecting, and again after every reconnect (repeatable): how a client joins rooms, e.g. --emit join room1. ARG is JSON when valid (else a string); a JSON array is the argument list (\'[]\': none, \'["room",1]\': two)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l ack-reply -d 'The arguments of the acknowledgement sent when the server asks for one, read as --emit\'s ARG [default: no arguments]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l sockjs-transport -d 'Use only this SockJS transport [default: websocket, falling back to xhr-streaming, then xhr-polling, when it fails]' -r -f -a "websocket\t'Framed WebSocket: one SockJS frame per WebSocket message'
xhr-streaming\t'A long chunked POST response carries frames; POSTs to xhr_send carry ours'
xhr-polling\t'One POST per batch of frames; POSTs to xhr_send carry ours'"
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l sockjs-heartbeat -d 'How often the server sends heartbeat frames (sockjs-node and Spring: 25s); a server silent for twice that is dead (exit 3)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l send -d 'Send this message once connected (repeatable), e.g. the subscribe command a server wants first; over STOMP, a SEND to each -t destination. What comes back is printed like any message' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l ack -d 'Ack mode [default: client-individual on /queue/ and /amq/queue/, auto elsewhere]. Acks are sent after the message is printed and flushed' -r -f -a "auto\t'Delivered means consumed: the broker forgets a message once sent'
client\t'Cumulative ACK: acknowledging one acknowledges all before it'
client-individual\t'Each message acknowledged on its own'"
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l prefetch -d 'At most N unacknowledged messages in flight (RabbitMQ prefetch-count)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l event -d 'Print only this event (repeatable) [default: every event]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l color -d 'When to use colour (NO_COLOR is respected in auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -s k -l insecure -d 'Do not verify the server\'s TLS certificate (for testing only)'
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l retain -d 'Publish retained messages: the broker keeps the last one per topic and gives it to every new subscriber'
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -l will-retain -d 'Retain the will'
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -s v -l verbose -d '-v: handshakes and closes on stderr; -vv: every frame too'
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c pubcat -n "__fish_pubcat_using_subcommand subscribe" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -s n -l count -d 'Exit 0 after this many messages' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l timeout -d 'Exit 1 if --count or --until has not held by then (alone: exit 0)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l until -d 'Exit 0 at the first message whose body matches REGEX (printed)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l idle -d 'Exit 0 once nothing has arrived for this long' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -s o -l output -d 'toast (a card), line, json (NDJSON) or raw [default: toast on a terminal, else line]' -r -f -a "toast\t'A small card per message (for terminals)'
line\t'One line per message: the body, CR/LF escaped, binary as hex'
json\t'NDJSON: one envelope object per line'
raw\t'Each body byte-exact, then a newline'"
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l format -d 'Print each message as a line of TEMPLATE: \'{id} {body_json.status}\'' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l exec -d 'Run CMD for each message, one at a time, in order' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l exec-fail -d 'When an --exec command fails: continue (say so and go on), or stop (exit 6)' -r -f -a "continue\t'Report it on stderr, count it, and go on with the next message'
stop\t'End the command with exit 6'"
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l notify -d 'Show a notification per message: the topic, the body\'s first line' -r -f -a "auto\t'The escape this terminal shows (see the README\'s matrix); the bell where pubcat cannot tell'
osc777\t'OSC 777 (foot, WezTerm, Ghostty, Windows Terminal)'
osc9\t'OSC 9 (iTerm2, VS Code)'
osc99\t'OSC 99 (kitty)'
desktop\t'The desktop\'s notification service (D-Bus, macOS, Windows), not the terminal'
bell\t'The terminal bell'"
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l notify-when -d 'Notify only for messages whose body matches this regex' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -s t -l topic -d 'STOMP destination, MQTT topic, NATS subject (raw ws: the URL path)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -s H -l header -d 'Add a request header, e.g. -H \'Authorization: Bearer T\' (repeatable)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l token -d 'A token for a server that wants one (pubcat serve --token)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l transport -d 'ws, sse, poll, http (POST) or sockjs [default: from the URL]' -r -f -a "ws\t'WebSocket (ws://, wss://)'
sse\t'Server-Sent Events: a GET with `Accept: text/event-stream` (receive only)'
poll\t'HTTP long-poll, in the Nchan convention (receive only)'
http\t'HTTP POST, one request per message (publish only)'
sockjs\t'SockJS (sockjs+http:// URLs): WebSocket, falling back to xhr-streaming and xhr-polling; see --sockjs-transport'"
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l protocol -d 'The protocol over the transport [default: raw; stomp for stomp+ws:// and stomp+wss:// URLs, socketio for socketio+http(s):// URLs]' -r -f -a "raw\t'Each WebSocket message, SSE event or HTTP body is one message'
stomp\t'STOMP 1.2 frames (RabbitMQ Web-STOMP, Spring); destinations with -t'
socketio\t'Socket.IO v4 (Engine.IO long-polling, upgraded to WebSocket); the URL\'s path is the namespace'
mqtt\t'MQTT 3.1.1 or 5.0 over WebSocket (Mosquitto, EMQX, HiveMQ); topics and filters with -t'
nats\t'NATS over WebSocket (nats-server\'s websocket block); subjects with -t'"
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l connect-timeout -d 'Give up connecting (TCP, TLS and handshake; over HTTP, until the answer\'s headers) after this long' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l ping-interval -d 'Send a ping this often (WebSocket\'s; MQTT\'s PINGREQ, also its keep-alive; NATS\'s PING); a peer that sends nothing at all for that long after one is dead (exit 3; tail reconnects). 0 turns it off' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l dead-after -d 'SSE and long-poll have no pings: a connection on which nothing at all (no event, no comment, no answer) arrives for this long is dead (exit 3; tail reconnects). Set it above the server\'s keep-alive period (pubcat serve: 15s) [default: off]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l poll-timeout -d 'Longest a long-poll request may be held by the server before pubcat gives up on it and asks again (at least 1s)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l subprotocol -d 'Offer this WebSocket subprotocol (repeatable); the server must pick one' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l max-message-size -d 'Largest message accepted from the server, and read from --file or stdin to publish (a larger one is refused, exit 2), in bytes (K, M, G suffixes)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l ca -d 'Also trust this PEM file\'s certificates (a CA\'s, or the server\'s)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l vhost -d 'Virtual host, sent as CONNECT\'s `host` header (RabbitMQ\'s vhost)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l user -d 'Login for CONNECT (STOMP\'s login, NATS\'s user)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l password -d 'Passcode for CONNECT (STOMP\'s passcode, NATS\'s pass; never shown in -v output)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l heartbeat -d 'Heart-beats offered, in ms: "we can send every CX, we want one every CY"; a server silent for twice its period is dead (exit 3). 0,0: off. CX is 0 by default because RabbitMQ 3.10\'s Web-STOMP drops connections that send heart-beats under flow control; --ping-interval keeps the socket alive instead' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l qos -d 'MQTT quality of service, to publish and to subscribe: 0 at most once, 1 at least once (PUBACK), 2 exactly once (PUBREC, PUBREL, PUBCOMP). Received messages are acknowledged once printed' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l message-expiry -d 'MQTT 5: the broker drops a published message not delivered within this long' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l client-id -d 'MQTT client id [default: pubcat- and random hex]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l clean -d 'Start a clean session (true), or resume the broker\'s session for --client-id (false): what it queued at QoS 1 and 2 while this client was away is delivered' -r -f -a "true\t''
false\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l session-expiry -d 'MQTT 5: how long the broker keeps the session after the connection ends [default: 0 with --clean true, 1h with --clean false]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l mqtt-version -d 'MQTT protocol version' -r -f -a "5\t''
3.1.1\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l will-topic -d 'Will topic: the broker publishes --will-message there if this client goes away without a DISCONNECT' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l will-message -d 'The will\'s body (with --will-topic)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l will-qos -d 'The will\'s QoS' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l queue-group -d 'Subscribe in this queue group (sub, tail, connect): the members of a group share the subject\'s messages, each message going to one of them' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l nkey -d 'Authenticate with the NKey whose user seed (SU…) is in FILE: the server\'s nonce is signed with it (the seed is never shown)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l creds -d 'Authenticate with a credentials file (nsc\'s .creds: a user JWT and its NKey seed)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l namespace -d 'The namespace to connect to [default: the URL\'s path, / when none]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l auth -d 'CONNECT payload, a JSON object the server\'s middleware reads, e.g. \'{"token":"…"}\' (never shown in -v output)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l path -d 'The Engine.IO path on the server' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l emit -d 'Emit EVENT right after connecting, and again after every reconnect (repeatable): how a client joins rooms, e.g. --emit join room1. ARG is JSON when valid (else a string); a JSON array is the argument list (\'[]\': none, \'["room",1]\': two)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l ack-reply -d 'The arguments of the acknowledgement sent when the server asks for one, read as --emit\'s ARG [default: no arguments]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l sockjs-transport -d 'Use only this SockJS transport [default: websocket, falling back to xhr-streaming, then xhr-polling, when it fails]' -r -f -a "websocket\t'Framed WebSocket: one SockJS frame per WebSocket message'
xhr-streaming\t'A long chunked POST response carries frames; POSTs to xhr_send carry ours'
xhr-polling\t'One POST per batch of frames; POSTs to xhr_send carry ours'"
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l sockjs-heartbeat -d 'How often the server sends heartbeat frames (sockjs-node and Spring: 25s); a server silent for twice that is dead (exit 3)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l send -d 'Send this message once connected (repeatable), e.g. the subscribe command a server wants first; over STOMP, a SEND to each -t destination. What comes back is printed like any message' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l ack -d 'Ack mode [default: client-individual on /queue/ and /amq/queue/, auto elsewhere]. Acks are sent after the message is printed and flushed' -r -f -a "auto\t'Delivered means consumed: the broker forgets a message once sent'
client\t'Cumulative ACK: acknowledging one acknowledges all before it'
client-individual\t'Each message acknowledged on its own'"
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l prefetch -d 'At most N unacknowledged messages in flight (RabbitMQ prefetch-count)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l event -d 'Print only this event (repeatable) [default: every event]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l color -d 'When to use colour (NO_COLOR is respected in auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -s k -l insecure -d 'Do not verify the server\'s TLS certificate (for testing only)'
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l retain -d 'Publish retained messages: the broker keeps the last one per topic and gives it to every new subscriber'
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -l will-retain -d 'Retain the will'
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -s v -l verbose -d '-v: handshakes and closes on stderr; -vv: every frame too'
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c pubcat -n "__fish_pubcat_using_subcommand sub" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -s n -l last -d 'First show up to N messages of history (servers that take `?last=N`, as `pubcat serve` does), then follow' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l since -d 'Start after this message id (as if it was the last one seen)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l state -d 'Keep the last printed id in FILE, and start after it when FILE exists' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l backoff-min -d 'First wait before reconnecting (it doubles, with jitter, per failure); at least 10ms' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l backoff-max -d 'Longest wait between reconnection attempts' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l gap-check -d 'When to report a gap in the ids: auto, where the server says its ids are consecutive (pubcat serve does); sequence, for any server whose ids count up by one per message; off' -r -f -a "auto\t'Where the server says its ids are consecutive'
sequence\t'Integer ids count up by one: a jump is a gap'
off\t'Never report gaps'"
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l max-retries -d 'Give up after this many retries in a row (exit 3, or 4 when the server kept failing); a connection that delivers a message starts the count again [default: never give up]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -s o -l output -d 'toast (a card), line, json (NDJSON) or raw [default: toast on a terminal, else line]' -r -f -a "toast\t'A small card per message (for terminals)'
line\t'One line per message: the body, CR/LF escaped, binary as hex'
json\t'NDJSON: one envelope object per line'
raw\t'Each body byte-exact, then a newline'"
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l format -d 'Print each message as a line of TEMPLATE: \'{id} {body_json.status}\'' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l exec -d 'Run CMD for each message, one at a time, in order' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l exec-fail -d 'When an --exec command fails: continue (say so and go on), or stop (exit 6)' -r -f -a "continue\t'Report it on stderr, count it, and go on with the next message'
stop\t'End the command with exit 6'"
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l notify -d 'Show a notification per message: the topic, the body\'s first line' -r -f -a "auto\t'The escape this terminal shows (see the README\'s matrix); the bell where pubcat cannot tell'
osc777\t'OSC 777 (foot, WezTerm, Ghostty, Windows Terminal)'
osc9\t'OSC 9 (iTerm2, VS Code)'
osc99\t'OSC 99 (kitty)'
desktop\t'The desktop\'s notification service (D-Bus, macOS, Windows), not the terminal'
bell\t'The terminal bell'"
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l notify-when -d 'Notify only for messages whose body matches this regex' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -s t -l topic -d 'STOMP destination, MQTT topic, NATS subject (raw ws: the URL path)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -s H -l header -d 'Add a request header, e.g. -H \'Authorization: Bearer T\' (repeatable)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l token -d 'A token for a server that wants one (pubcat serve --token)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l transport -d 'ws, sse, poll, http (POST) or sockjs [default: from the URL]' -r -f -a "ws\t'WebSocket (ws://, wss://)'
sse\t'Server-Sent Events: a GET with `Accept: text/event-stream` (receive only)'
poll\t'HTTP long-poll, in the Nchan convention (receive only)'
http\t'HTTP POST, one request per message (publish only)'
sockjs\t'SockJS (sockjs+http:// URLs): WebSocket, falling back to xhr-streaming and xhr-polling; see --sockjs-transport'"
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l protocol -d 'The protocol over the transport [default: raw; stomp for stomp+ws:// and stomp+wss:// URLs, socketio for socketio+http(s):// URLs]' -r -f -a "raw\t'Each WebSocket message, SSE event or HTTP body is one message'
stomp\t'STOMP 1.2 frames (RabbitMQ Web-STOMP, Spring); destinations with -t'
socketio\t'Socket.IO v4 (Engine.IO long-polling, upgraded to WebSocket); the URL\'s path is the namespace'
mqtt\t'MQTT 3.1.1 or 5.0 over WebSocket (Mosquitto, EMQX, HiveMQ); topics and filters with -t'
nats\t'NATS over WebSocket (nats-server\'s websocket block); subjects with -t'"
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l connect-timeout -d 'Give up connecting (TCP, TLS and handshake; over HTTP, until the answer\'s headers) after this long' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l ping-interval -d 'Send a ping this often (WebSocket\'s; MQTT\'s PINGREQ, also its keep-alive; NATS\'s PING); a peer that sends nothing at all for that long after one is dead (exit 3; tail reconnects). 0 turns it off' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l dead-after -d 'SSE and long-poll have no pings: a connection on which nothing at all (no event, no comment, no answer) arrives for this long is dead (exit 3; tail reconnects). Set it above the server\'s keep-alive period (pubcat serve: 15s) [default: off]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l poll-timeout -d 'Longest a long-poll request may be held by the server before pubcat gives up on it and asks again (at least 1s)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l subprotocol -d 'Offer this WebSocket subprotocol (repeatable); the server must pick one' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l max-message-size -d 'Largest message accepted from the server, and read from --file or stdin to publish (a larger one is refused, exit 2), in bytes (K, M, G suffixes)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l ca -d 'Also trust this PEM file\'s certificates (a CA\'s, or the server\'s)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l vhost -d 'Virtual host, sent as CONNECT\'s `host` header (RabbitMQ\'s vhost)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l user -d 'Login for CONNECT (STOMP\'s login, NATS\'s user)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l password -d 'Passcode for CONNECT (STOMP\'s passcode, NATS\'s pass; never shown in -v output)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l heartbeat -d 'Heart-beats offered, in ms: "we can send every CX, we want one every CY"; a server silent for twice its period is dead (exit 3). 0,0: off. CX is 0 by default because RabbitMQ 3.10\'s Web-STOMP drops connections that send heart-beats under flow control; --ping-interval keeps the socket alive instead' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l qos -d 'MQTT quality of service, to publish and to subscribe: 0 at most once, 1 at least once (PUBACK), 2 exactly once (PUBREC, PUBREL, PUBCOMP). Received messages are acknowledged once printed' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l message-expiry -d 'MQTT 5: the broker drops a published message not delivered within this long' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l client-id -d 'MQTT client id [default: pubcat- and random hex]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l clean -d 'Start a clean session (true), or resume the broker\'s session for --client-id (false): what it queued at QoS 1 and 2 while this client was away is delivered' -r -f -a "true\t''
false\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l session-expiry -d 'MQTT 5: how long the broker keeps the session after the connection ends [default: 0 with --clean true, 1h with --clean false]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l mqtt-version -d 'MQTT protocol version' -r -f -a "5\t''
3.1.1\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l will-topic -d 'Will topic: the broker publishes --will-message there if this client goes away without a DISCONNECT' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l will-message -d 'The will\'s body (with --will-topic)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l will-qos -d 'The will\'s QoS' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l queue-group -d 'Subscribe in this queue group (sub, tail, connect): the members of a group share the subject\'s messages, each message going to one of them' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l nkey -d 'Authenticate with the NKey whose user seed (SU…) is in FILE: the server\'s nonce is signed with it (the seed is never shown)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l creds -d 'Authenticate with a credentials file (nsc\'s .creds: a user JWT and its NKey seed)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l namespace -d 'The namespace to connect to [default: the URL\'s path, / when none]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l auth -d 'CONNECT payload, a JSON object the server\'s middleware reads, e.g. \'{"token":"…"}\' (never shown in -v output)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l path -d 'The Engine.IO path on the server' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l emit -d 'Emit EVENT right after connecting, and again after every reconnect (repeatable): how a client joins rooms, e.g. --emit join room1. ARG is JSON when valid (else a string); a JSON array is the argument list (\'[]\': none, \'["room",1]\': two)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l ack-reply -d 'The arguments of the acknowledgement sent when the server asks for one, read as --emit\'s ARG [default: no arguments]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l sockjs-transport -d 'Use only this SockJS transport [default: websocket, falling back to xhr-streaming, then xhr-polling, when it fails]' -r -f -a "websocket\t'Framed WebSocket: one SockJS frame per WebSocket message'
xhr-streaming\t'A long chunked POST response carries frames; POSTs to xhr_send carry ours'
xhr-polling\t'One POST per batch of frames; POSTs to xhr_send carry ours'"
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l sockjs-heartbeat -d 'How often the server sends heartbeat frames (sockjs-node and Spring: 25s); a server silent for twice that is dead (exit 3)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l ack -d 'Ack mode [default: client-individual on /queue/ and /amq/queue/, auto elsewhere]. Acks are sent after the message is printed and flushed' -r -f -a "auto\t'Delivered means consumed: the broker forgets a message once sent'
client\t'Cumulative ACK: acknowledging one acknowledges all before it'
client-individual\t'Each message acknowledged on its own'"
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l prefetch -d 'At most N unacknowledged messages in flight (RabbitMQ prefetch-count)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l event -d 'Print only this event (repeatable) [default: every event]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l color -d 'When to use colour (NO_COLOR is respected in auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -s k -l insecure -d 'Do not verify the server\'s TLS certificate (for testing only)'
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l retain -d 'Publish retained messages: the broker keeps the last one per topic and gives it to every new subscriber'
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -l will-retain -d 'Retain the will'
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -s v -l verbose -d '-v: handshakes and closes on stderr; -vv: every frame too'
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c pubcat -n "__fish_pubcat_using_subcommand tail" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l timeout -d 'Listen this long, then close and exit 0 (whatever stdin does)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -s o -l output -d 'toast (a card), line, json (NDJSON) or raw [default: toast on a terminal, else line]' -r -f -a "toast\t'A small card per message (for terminals)'
line\t'One line per message: the body, CR/LF escaped, binary as hex'
json\t'NDJSON: one envelope object per line'
raw\t'Each body byte-exact, then a newline'"
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l format -d 'Print each message as a line of TEMPLATE: \'{id} {body_json.status}\'' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l notify -d 'Show a notification per message: the topic, the body\'s first line' -r -f -a "auto\t'The escape this terminal shows (see the README\'s matrix); the bell where pubcat cannot tell'
osc777\t'OSC 777 (foot, WezTerm, Ghostty, Windows Terminal)'
osc9\t'OSC 9 (iTerm2, VS Code)'
osc99\t'OSC 99 (kitty)'
desktop\t'The desktop\'s notification service (D-Bus, macOS, Windows), not the terminal'
bell\t'The terminal bell'"
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l notify-when -d 'Notify only for messages whose body matches this regex' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -s t -l topic -d 'STOMP destination, MQTT topic, NATS subject (raw ws: the URL path)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -s H -l header -d 'Add a request header, e.g. -H \'Authorization: Bearer T\' (repeatable)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l token -d 'A token for a server that wants one (pubcat serve --token)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l transport -d 'ws, sse, poll, http (POST) or sockjs [default: from the URL]' -r -f -a "ws\t'WebSocket (ws://, wss://)'
sse\t'Server-Sent Events: a GET with `Accept: text/event-stream` (receive only)'
poll\t'HTTP long-poll, in the Nchan convention (receive only)'
http\t'HTTP POST, one request per message (publish only)'
sockjs\t'SockJS (sockjs+http:// URLs): WebSocket, falling back to xhr-streaming and xhr-polling; see --sockjs-transport'"
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l protocol -d 'The protocol over the transport [default: raw; stomp for stomp+ws:// and stomp+wss:// URLs, socketio for socketio+http(s):// URLs]' -r -f -a "raw\t'Each WebSocket message, SSE event or HTTP body is one message'
stomp\t'STOMP 1.2 frames (RabbitMQ Web-STOMP, Spring); destinations with -t'
socketio\t'Socket.IO v4 (Engine.IO long-polling, upgraded to WebSocket); the URL\'s path is the namespace'
mqtt\t'MQTT 3.1.1 or 5.0 over WebSocket (Mosquitto, EMQX, HiveMQ); topics and filters with -t'
nats\t'NATS over WebSocket (nats-server\'s websocket block); subjects with -t'"
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l connect-timeout -d 'Give up connecting (TCP, TLS and handshake; over HTTP, until the answer\'s headers) after this long' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l ping-interval -d 'Send a ping this often (WebSocket\'s; MQTT\'s PINGREQ, also its keep-alive; NATS\'s PING); a peer that sends nothing at all for that long after one is dead (exit 3; tail reconnects). 0 turns it off' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l dead-after -d 'SSE and long-poll have no pings: a connection on which nothing at all (no event, no comment, no answer) arrives for this long is dead (exit 3; tail reconnects). Set it above the server\'s keep-alive period (pubcat serve: 15s) [default: off]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l poll-timeout -d 'Longest a long-poll request may be held by the server before pubcat gives up on it and asks again (at least 1s)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l subprotocol -d 'Offer this WebSocket subprotocol (repeatable); the server must pick one' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l max-message-size -d 'Largest message accepted from the server, and read from --file or stdin to publish (a larger one is refused, exit 2), in bytes (K, M, G suffixes)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l ca -d 'Also trust this PEM file\'s certificates (a CA\'s, or the server\'s)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l vhost -d 'Virtual host, sent as CONNECT\'s `host` header (RabbitMQ\'s vhost)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l user -d 'Login for CONNECT (STOMP\'s login, NATS\'s user)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l password -d 'Passcode for CONNECT (STOMP\'s passcode, NATS\'s pass; never shown in -v output)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l heartbeat -d 'Heart-beats offered, in ms: "we can send every CX, we want one every CY"; a server silent for twice its period is dead (exit 3). 0,0: off. CX is 0 by default because RabbitMQ 3.10\'s Web-STOMP drops connections that send heart-beats under flow control; --ping-interval keeps the socket alive instead' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l qos -d 'MQTT quality of service, to publish and to subscribe: 0 at most once, 1 at least once (PUBACK), 2 exactly once (PUBREC, PUBREL, PUBCOMP). Received messages are acknowledged once printed' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l message-expiry -d 'MQTT 5: the broker drops a published message not delivered within this long' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l client-id -d 'MQTT client id [default: pubcat- and random hex]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l clean -d 'Start a clean session (true), or resume the broker\'s session for --client-id (false): what it queued at QoS 1 and 2 while this client was away is delivered' -r -f -a "true\t''
false\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l session-expiry -d 'MQTT 5: how long the broker keeps the session after the connection ends [default: 0 with --clean true, 1h with --clean false]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l mqtt-version -d 'MQTT protocol version' -r -f -a "5\t''
3.1.1\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l will-topic -d 'Will topic: the broker publishes --will-message there if this client goes away without a DISCONNECT' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l will-message -d 'The will\'s body (with --will-topic)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l will-qos -d 'The will\'s QoS' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l queue-group -d 'Subscribe in this queue group (sub, tail, connect): the members of a group share the subject\'s messages, each message going to one of them' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l nkey -d 'Authenticate with the NKey whose user seed (SU…) is in FILE: the server\'s nonce is signed with it (the seed is never shown)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l creds -d 'Authenticate with a credentials file (nsc\'s .creds: a user JWT and its NKey seed)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l namespace -d 'The namespace to connect to [default: the URL\'s path, / when none]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l auth -d 'CONNECT payload, a JSON object the server\'s middleware reads, e.g. \'{"token":"…"}\' (never shown in -v output)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l path -d 'The Engine.IO path on the server' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l emit -d 'Emit EVENT right after connecting, and again after every reconnect (repeatable): how a client joins rooms, e.g. --emit join room1. ARG is JSON when valid (else a string); a JSON array is the argument list (\'[]\': none, \'["room",1]\': two)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l ack-reply -d 'The arguments of the acknowledgement sent when the server asks for one, read as --emit\'s ARG [default: no arguments]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l sockjs-transport -d 'Use only this SockJS transport [default: websocket, falling back to xhr-streaming, then xhr-polling, when it fails]' -r -f -a "websocket\t'Framed WebSocket: one SockJS frame per WebSocket message'
xhr-streaming\t'A long chunked POST response carries frames; POSTs to xhr_send carry ours'
xhr-polling\t'One POST per batch of frames; POSTs to xhr_send carry ours'"
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l sockjs-heartbeat -d 'How often the server sends heartbeat frames (sockjs-node and Spring: 25s); a server silent for twice that is dead (exit 3)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l event -d 'The event each line is emitted as (the line its argument) [default: message]; every event received is printed' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l exec -d 'Run CMD for each message, one at a time, in order' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l exec-fail -d 'When an --exec command fails: continue (say so and go on), or stop (exit 6)' -r -f -a "continue\t'Report it on stderr, count it, and go on with the next message'
stop\t'End the command with exit 6'"
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l color -d 'When to use colour (NO_COLOR is respected in auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -s k -l insecure -d 'Do not verify the server\'s TLS certificate (for testing only)'
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l retain -d 'Publish retained messages: the broker keeps the last one per topic and gives it to every new subscriber'
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -l will-retain -d 'Retain the will'
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -s v -l verbose -d '-v: handshakes and closes on stderr; -vv: every frame too'
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c pubcat -n "__fish_pubcat_using_subcommand connect" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l timeout -d 'Listen this long, then close and exit 0 (whatever stdin does)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -s o -l output -d 'toast (a card), line, json (NDJSON) or raw [default: toast on a terminal, else line]' -r -f -a "toast\t'A small card per message (for terminals)'
line\t'One line per message: the body, CR/LF escaped, binary as hex'
json\t'NDJSON: one envelope object per line'
raw\t'Each body byte-exact, then a newline'"
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l format -d 'Print each message as a line of TEMPLATE: \'{id} {body_json.status}\'' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l notify -d 'Show a notification per message: the topic, the body\'s first line' -r -f -a "auto\t'The escape this terminal shows (see the README\'s matrix); the bell where pubcat cannot tell'
osc777\t'OSC 777 (foot, WezTerm, Ghostty, Windows Terminal)'
osc9\t'OSC 9 (iTerm2, VS Code)'
osc99\t'OSC 99 (kitty)'
desktop\t'The desktop\'s notification service (D-Bus, macOS, Windows), not the terminal'
bell\t'The terminal bell'"
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l notify-when -d 'Notify only for messages whose body matches this regex' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -s t -l topic -d 'STOMP destination, MQTT topic, NATS subject (raw ws: the URL path)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -s H -l header -d 'Add a request header, e.g. -H \'Authorization: Bearer T\' (repeatable)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l token -d 'A token for a server that wants one (pubcat serve --token)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l transport -d 'ws, sse, poll, http (POST) or sockjs [default: from the URL]' -r -f -a "ws\t'WebSocket (ws://, wss://)'
sse\t'Server-Sent Events: a GET with `Accept: text/event-stream` (receive only)'
poll\t'HTTP long-poll, in the Nchan convention (receive only)'
http\t'HTTP POST, one request per message (publish only)'
sockjs\t'SockJS (sockjs+http:// URLs): WebSocket, falling back to xhr-streaming and xhr-polling; see --sockjs-transport'"
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l protocol -d 'The protocol over the transport [default: raw; stomp for stomp+ws:// and stomp+wss:// URLs, socketio for socketio+http(s):// URLs]' -r -f -a "raw\t'Each WebSocket message, SSE event or HTTP body is one message'
stomp\t'STOMP 1.2 frames (RabbitMQ Web-STOMP, Spring); destinations with -t'
socketio\t'Socket.IO v4 (Engine.IO long-polling, upgraded to WebSocket); the URL\'s path is the namespace'
mqtt\t'MQTT 3.1.1 or 5.0 over WebSocket (Mosquitto, EMQX, HiveMQ); topics and filters with -t'
nats\t'NATS over WebSocket (nats-server\'s websocket block); subjects with -t'"
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l connect-timeout -d 'Give up connecting (TCP, TLS and handshake; over HTTP, until the answer\'s headers) after this long' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l ping-interval -d 'Send a ping this often (WebSocket\'s; MQTT\'s PINGREQ, also its keep-alive; NATS\'s PING); a peer that sends nothing at all for that long after one is dead (exit 3; tail reconnects). 0 turns it off' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l dead-after -d 'SSE and long-poll have no pings: a connection on which nothing at all (no event, no comment, no answer) arrives for this long is dead (exit 3; tail reconnects). Set it above the server\'s keep-alive period (pubcat serve: 15s) [default: off]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l poll-timeout -d 'Longest a long-poll request may be held by the server before pubcat gives up on it and asks again (at least 1s)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l subprotocol -d 'Offer this WebSocket subprotocol (repeatable); the server must pick one' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l max-message-size -d 'Largest message accepted from the server, and read from --file or stdin to publish (a larger one is refused, exit 2), in bytes (K, M, G suffixes)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l ca -d 'Also trust this PEM file\'s certificates (a CA\'s, or the server\'s)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l vhost -d 'Virtual host, sent as CONNECT\'s `host` header (RabbitMQ\'s vhost)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l user -d 'Login for CONNECT (STOMP\'s login, NATS\'s user)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l password -d 'Passcode for CONNECT (STOMP\'s passcode, NATS\'s pass; never shown in -v output)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l heartbeat -d 'Heart-beats offered, in ms: "we can send every CX, we want one every CY"; a server silent for twice its period is dead (exit 3). 0,0: off. CX is 0 by default because RabbitMQ 3.10\'s Web-STOMP drops connections that send heart-beats under flow control; --ping-interval keeps the socket alive instead' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l qos -d 'MQTT quality of service, to publish and to subscribe: 0 at most once, 1 at least once (PUBACK), 2 exactly once (PUBREC, PUBREL, PUBCOMP). Received messages are acknowledged once printed' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l message-expiry -d 'MQTT 5: the broker drops a published message not delivered within this long' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l client-id -d 'MQTT client id [default: pubcat- and random hex]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l clean -d 'Start a clean session (true), or resume the broker\'s session for --client-id (false): what it queued at QoS 1 and 2 while this client was away is delivered' -r -f -a "true\t''
false\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l session-expiry -d 'MQTT 5: how long the broker keeps the session after the connection ends [default: 0 with --clean true, 1h with --clean false]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l mqtt-version -d 'MQTT protocol version' -r -f -a "5\t''
3.1.1\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l will-topic -d 'Will topic: the broker publishes --will-message there if this client goes away without a DISCONNECT' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l will-message -d 'The will\'s body (with --will-topic)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l will-qos -d 'The will\'s QoS' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l queue-group -d 'Subscribe in this queue group (sub, tail, connect): the members of a group share the subject\'s messages, each message going to one of them' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l nkey -d 'Authenticate with the NKey whose user seed (SU…) is in FILE: the server\'s nonce is signed with it (the seed is never shown)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l creds -d 'Authenticate with a credentials file (nsc\'s .creds: a user JWT and its NKey seed)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l namespace -d 'The namespace to connect to [default: the URL\'s path, / when none]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l auth -d 'CONNECT payload, a JSON object the server\'s middleware reads, e.g. \'{"token":"…"}\' (never shown in -v output)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l path -d 'The Engine.IO path on the server' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l emit -d 'Emit EVENT right after connecting, and again after every reconnect (repeatable): how a client joins rooms, e.g. --emit join room1. ARG is JSON when valid (else a string); a JSON array is the argument list (\'[]\': none, \'["room",1]\': two)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l ack-reply -d 'The arguments of the acknowledgement sent when the server asks for one, read as --emit\'s ARG [default: no arguments]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l sockjs-transport -d 'Use only this SockJS transport [default: websocket, falling back to xhr-streaming, then xhr-polling, when it fails]' -r -f -a "websocket\t'Framed WebSocket: one SockJS frame per WebSocket message'
xhr-streaming\t'A long chunked POST response carries frames; POSTs to xhr_send carry ours'
xhr-polling\t'One POST per batch of frames; POSTs to xhr_send carry ours'"
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l sockjs-heartbeat -d 'How often the server sends heartbeat frames (sockjs-node and Spring: 25s); a server silent for twice that is dead (exit 3)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l event -d 'The event each line is emitted as (the line its argument) [default: message]; every event received is printed' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l exec -d 'Run CMD for each message, one at a time, in order' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l exec-fail -d 'When an --exec command fails: continue (say so and go on), or stop (exit 6)' -r -f -a "continue\t'Report it on stderr, count it, and go on with the next message'
stop\t'End the command with exit 6'"
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l color -d 'When to use colour (NO_COLOR is respected in auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -s k -l insecure -d 'Do not verify the server\'s TLS certificate (for testing only)'
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l retain -d 'Publish retained messages: the broker keeps the last one per topic and gives it to every new subscriber'
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -l will-retain -d 'Retain the will'
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -s v -l verbose -d '-v: handshakes and closes on stderr; -vv: every frame too'
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c pubcat -n "__fish_pubcat_using_subcommand c" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -s t -l topic -d 'STOMP destination, MQTT topic, NATS subject (raw ws: the URL path)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -s H -l header -d 'Add a request header, e.g. -H \'Authorization: Bearer T\' (repeatable)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l token -d 'A token for a server that wants one (pubcat serve --token)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l transport -d 'ws, sse, poll, http (POST) or sockjs [default: from the URL]' -r -f -a "ws\t'WebSocket (ws://, wss://)'
sse\t'Server-Sent Events: a GET with `Accept: text/event-stream` (receive only)'
poll\t'HTTP long-poll, in the Nchan convention (receive only)'
http\t'HTTP POST, one request per message (publish only)'
sockjs\t'SockJS (sockjs+http:// URLs): WebSocket, falling back to xhr-streaming and xhr-polling; see --sockjs-transport'"
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l protocol -d 'The protocol over the transport [default: raw; stomp for stomp+ws:// and stomp+wss:// URLs, socketio for socketio+http(s):// URLs]' -r -f -a "raw\t'Each WebSocket message, SSE event or HTTP body is one message'
stomp\t'STOMP 1.2 frames (RabbitMQ Web-STOMP, Spring); destinations with -t'
socketio\t'Socket.IO v4 (Engine.IO long-polling, upgraded to WebSocket); the URL\'s path is the namespace'
mqtt\t'MQTT 3.1.1 or 5.0 over WebSocket (Mosquitto, EMQX, HiveMQ); topics and filters with -t'
nats\t'NATS over WebSocket (nats-server\'s websocket block); subjects with -t'"
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l connect-timeout -d 'Give up connecting (TCP, TLS and handshake; over HTTP, until the answer\'s headers) after this long' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l ping-interval -d 'Send a ping this often (WebSocket\'s; MQTT\'s PINGREQ, also its keep-alive; NATS\'s PING); a peer that sends nothing at all for that long after one is dead (exit 3; tail reconnects). 0 turns it off' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l dead-after -d 'SSE and long-poll have no pings: a connection on which nothing at all (no event, no comment, no answer) arrives for this long is dead (exit 3; tail reconnects). Set it above the server\'s keep-alive period (pubcat serve: 15s) [default: off]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l poll-timeout -d 'Longest a long-poll request may be held by the server before pubcat gives up on it and asks again (at least 1s)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l subprotocol -d 'Offer this WebSocket subprotocol (repeatable); the server must pick one' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l max-message-size -d 'Largest message accepted from the server, and read from --file or stdin to publish (a larger one is refused, exit 2), in bytes (K, M, G suffixes)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l ca -d 'Also trust this PEM file\'s certificates (a CA\'s, or the server\'s)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l vhost -d 'Virtual host, sent as CONNECT\'s `host` header (RabbitMQ\'s vhost)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l user -d 'Login for CONNECT (STOMP\'s login, NATS\'s user)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l password -d 'Passcode for CONNECT (STOMP\'s passcode, NATS\'s pass; never shown in -v output)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l heartbeat -d 'Heart-beats offered, in ms: "we can send every CX, we want one every CY"; a server silent for twice its period is dead (exit 3). 0,0: off. CX is 0 by default because RabbitMQ 3.10\'s Web-STOMP drops connections that send heart-beats under flow control; --ping-interval keeps the socket alive instead' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l qos -d 'MQTT quality of service, to publish and to subscribe: 0 at most once, 1 at least once (PUBACK), 2 exactly once (PUBREC, PUBREL, PUBCOMP). Received messages are acknowledged once printed' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l message-expiry -d 'MQTT 5: the broker drops a published message not delivered within this long' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l client-id -d 'MQTT client id [default: pubcat- and random hex]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l clean -d 'Start a clean session (true), or resume the broker\'s session for --client-id (false): what it queued at QoS 1 and 2 while this client was away is delivered' -r -f -a "true\t''
false\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l session-expiry -d 'MQTT 5: how long the broker keeps the session after the connection ends [default: 0 with --clean true, 1h with --clean false]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l mqtt-version -d 'MQTT protocol version' -r -f -a "5\t''
3.1.1\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l will-topic -d 'Will topic: the broker publishes --will-message there if this client goes away without a DISCONNECT' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l will-message -d 'The will\'s body (with --will-topic)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l will-qos -d 'The will\'s QoS' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l queue-group -d 'Subscribe in this queue group (sub, tail, connect): the members of a group share the subject\'s messages, each message going to one of them' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l nkey -d 'Authenticate with the NKey whose user seed (SU…) is in FILE: the server\'s nonce is signed with it (the seed is never shown)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l creds -d 'Authenticate with a credentials file (nsc\'s .creds: a user JWT and its NKey seed)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l namespace -d 'The namespace to connect to [default: the URL\'s path, / when none]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l auth -d 'CONNECT payload, a JSON object the server\'s middleware reads, e.g. \'{"token":"…"}\' (never shown in -v output)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l path -d 'The Engine.IO path on the server' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l emit -d 'Emit EVENT right after connecting, and again after every reconnect (repeatable): how a client joins rooms, e.g. --emit join room1. ARG is JSON when valid (else a string); a JSON array is the argument list (\'[]\': none, \'["room",1]\': two)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l ack-reply -d 'The arguments of the acknowledgement sent when the server asks for one, read as --emit\'s ARG [default: no arguments]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l sockjs-transport -d 'Use only this SockJS transport [default: websocket, falling back to xhr-streaming, then xhr-polling, when it fails]' -r -f -a "websocket\t'Framed WebSocket: one SockJS frame per WebSocket message'
xhr-streaming\t'A long chunked POST response carries frames; POSTs to xhr_send carry ours'
xhr-polling\t'One POST per batch of frames; POSTs to xhr_send carry ours'"
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l sockjs-heartbeat -d 'How often the server sends heartbeat frames (sockjs-node and Spring: 25s); a server silent for twice that is dead (exit 3)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l timeout -d 'Wait this long for the reply, connecting included (exit 1 without one)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -s o -l output -d 'toast (a card), line, json (NDJSON) or raw [default: toast on a terminal, else line]' -r -f -a "toast\t'A small card per message (for terminals)'
line\t'One line per message: the body, CR/LF escaped, binary as hex'
json\t'NDJSON: one envelope object per line'
raw\t'Each body byte-exact, then a newline'"
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l format -d 'Print each message as a line of TEMPLATE: \'{id} {body_json.status}\'' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l notify -d 'Show a notification per message: the topic, the body\'s first line' -r -f -a "auto\t'The escape this terminal shows (see the README\'s matrix); the bell where pubcat cannot tell'
osc777\t'OSC 777 (foot, WezTerm, Ghostty, Windows Terminal)'
osc9\t'OSC 9 (iTerm2, VS Code)'
osc99\t'OSC 99 (kitty)'
desktop\t'The desktop\'s notification service (D-Bus, macOS, Windows), not the terminal'
bell\t'The terminal bell'"
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l notify-when -d 'Notify only for messages whose body matches this regex' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l exec -d 'Run CMD for each message, one at a time, in order' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l exec-fail -d 'When an --exec command fails: continue (say so and go on), or stop (exit 6)' -r -f -a "continue\t'Report it on stderr, count it, and go on with the next message'
stop\t'End the command with exit 6'"
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l color -d 'When to use colour (NO_COLOR is respected in auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -s k -l insecure -d 'Do not verify the server\'s TLS certificate (for testing only)'
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l retain -d 'Publish retained messages: the broker keeps the last one per topic and gives it to every new subscriber'
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -l will-retain -d 'Retain the will'
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -s v -l verbose -d '-v: handshakes and closes on stderr; -vv: every frame too'
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c pubcat -n "__fish_pubcat_using_subcommand request" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -s t -l topic -d 'STOMP destination, MQTT topic, NATS subject (raw ws: the URL path)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -s H -l header -d 'Add a request header, e.g. -H \'Authorization: Bearer T\' (repeatable)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l token -d 'A token for a server that wants one (pubcat serve --token)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l transport -d 'ws, sse, poll, http (POST) or sockjs [default: from the URL]' -r -f -a "ws\t'WebSocket (ws://, wss://)'
sse\t'Server-Sent Events: a GET with `Accept: text/event-stream` (receive only)'
poll\t'HTTP long-poll, in the Nchan convention (receive only)'
http\t'HTTP POST, one request per message (publish only)'
sockjs\t'SockJS (sockjs+http:// URLs): WebSocket, falling back to xhr-streaming and xhr-polling; see --sockjs-transport'"
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l protocol -d 'The protocol over the transport [default: raw; stomp for stomp+ws:// and stomp+wss:// URLs, socketio for socketio+http(s):// URLs]' -r -f -a "raw\t'Each WebSocket message, SSE event or HTTP body is one message'
stomp\t'STOMP 1.2 frames (RabbitMQ Web-STOMP, Spring); destinations with -t'
socketio\t'Socket.IO v4 (Engine.IO long-polling, upgraded to WebSocket); the URL\'s path is the namespace'
mqtt\t'MQTT 3.1.1 or 5.0 over WebSocket (Mosquitto, EMQX, HiveMQ); topics and filters with -t'
nats\t'NATS over WebSocket (nats-server\'s websocket block); subjects with -t'"
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l connect-timeout -d 'Give up connecting (TCP, TLS and handshake; over HTTP, until the answer\'s headers) after this long' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l ping-interval -d 'Send a ping this often (WebSocket\'s; MQTT\'s PINGREQ, also its keep-alive; NATS\'s PING); a peer that sends nothing at all for that long after one is dead (exit 3; tail reconnects). 0 turns it off' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l dead-after -d 'SSE and long-poll have no pings: a connection on which nothing at all (no event, no comment, no answer) arrives for this long is dead (exit 3; tail reconnects). Set it above the server\'s keep-alive period (pubcat serve: 15s) [default: off]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l poll-timeout -d 'Longest a long-poll request may be held by the server before pubcat gives up on it and asks again (at least 1s)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l subprotocol -d 'Offer this WebSocket subprotocol (repeatable); the server must pick one' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l max-message-size -d 'Largest message accepted from the server, and read from --file or stdin to publish (a larger one is refused, exit 2), in bytes (K, M, G suffixes)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l ca -d 'Also trust this PEM file\'s certificates (a CA\'s, or the server\'s)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l vhost -d 'Virtual host, sent as CONNECT\'s `host` header (RabbitMQ\'s vhost)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l user -d 'Login for CONNECT (STOMP\'s login, NATS\'s user)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l password -d 'Passcode for CONNECT (STOMP\'s passcode, NATS\'s pass; never shown in -v output)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l heartbeat -d 'Heart-beats offered, in ms: "we can send every CX, we want one every CY"; a server silent for twice its period is dead (exit 3). 0,0: off. CX is 0 by default because RabbitMQ 3.10\'s Web-STOMP drops connections that send heart-beats under flow control; --ping-interval keeps the socket alive instead' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l qos -d 'MQTT quality of service, to publish and to subscribe: 0 at most once, 1 at least once (PUBACK), 2 exactly once (PUBREC, PUBREL, PUBCOMP). Received messages are acknowledged once printed' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l message-expiry -d 'MQTT 5: the broker drops a published message not delivered within this long' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l client-id -d 'MQTT client id [default: pubcat- and random hex]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l clean -d 'Start a clean session (true), or resume the broker\'s session for --client-id (false): what it queued at QoS 1 and 2 while this client was away is delivered' -r -f -a "true\t''
false\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l session-expiry -d 'MQTT 5: how long the broker keeps the session after the connection ends [default: 0 with --clean true, 1h with --clean false]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l mqtt-version -d 'MQTT protocol version' -r -f -a "5\t''
3.1.1\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l will-topic -d 'Will topic: the broker publishes --will-message there if this client goes away without a DISCONNECT' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l will-message -d 'The will\'s body (with --will-topic)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l will-qos -d 'The will\'s QoS' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l queue-group -d 'Subscribe in this queue group (sub, tail, connect): the members of a group share the subject\'s messages, each message going to one of them' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l nkey -d 'Authenticate with the NKey whose user seed (SU…) is in FILE: the server\'s nonce is signed with it (the seed is never shown)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l creds -d 'Authenticate with a credentials file (nsc\'s .creds: a user JWT and its NKey seed)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l namespace -d 'The namespace to connect to [default: the URL\'s path, / when none]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l auth -d 'CONNECT payload, a JSON object the server\'s middleware reads, e.g. \'{"token":"…"}\' (never shown in -v output)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l path -d 'The Engine.IO path on the server' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l emit -d 'Emit EVENT right after connecting, and again after every reconnect (repeatable): how a client joins rooms, e.g. --emit join room1. ARG is JSON when valid (else a string); a JSON array is the argument list (\'[]\': none, \'["room",1]\': two)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l ack-reply -d 'The arguments of the acknowledgement sent when the server asks for one, read as --emit\'s ARG [default: no arguments]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l sockjs-transport -d 'Use only this SockJS transport [default: websocket, falling back to xhr-streaming, then xhr-polling, when it fails]' -r -f -a "websocket\t'Framed WebSocket: one SockJS frame per WebSocket message'
xhr-streaming\t'A long chunked POST response carries frames; POSTs to xhr_send carry ours'
xhr-polling\t'One POST per batch of frames; POSTs to xhr_send carry ours'"
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l sockjs-heartbeat -d 'How often the server sends heartbeat frames (sockjs-node and Spring: 25s); a server silent for twice that is dead (exit 3)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l timeout -d 'Wait this long for the reply, connecting included (exit 1 without one)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -s o -l output -d 'toast (a card), line, json (NDJSON) or raw [default: toast on a terminal, else line]' -r -f -a "toast\t'A small card per message (for terminals)'
line\t'One line per message: the body, CR/LF escaped, binary as hex'
json\t'NDJSON: one envelope object per line'
raw\t'Each body byte-exact, then a newline'"
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l format -d 'Print each message as a line of TEMPLATE: \'{id} {body_json.status}\'' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l notify -d 'Show a notification per message: the topic, the body\'s first line' -r -f -a "auto\t'The escape this terminal shows (see the README\'s matrix); the bell where pubcat cannot tell'
osc777\t'OSC 777 (foot, WezTerm, Ghostty, Windows Terminal)'
osc9\t'OSC 9 (iTerm2, VS Code)'
osc99\t'OSC 99 (kitty)'
desktop\t'The desktop\'s notification service (D-Bus, macOS, Windows), not the terminal'
bell\t'The terminal bell'"
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l notify-when -d 'Notify only for messages whose body matches this regex' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l exec -d 'Run CMD for each message, one at a time, in order' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l exec-fail -d 'When an --exec command fails: continue (say so and go on), or stop (exit 6)' -r -f -a "continue\t'Report it on stderr, count it, and go on with the next message'
stop\t'End the command with exit 6'"
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l color -d 'When to use colour (NO_COLOR is respected in auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -s k -l insecure -d 'Do not verify the server\'s TLS certificate (for testing only)'
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l retain -d 'Publish retained messages: the broker keeps the last one per topic and gives it to every new subscriber'
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -l will-retain -d 'Retain the will'
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -s v -l verbose -d '-v: handshakes and closes on stderr; -vv: every frame too'
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c pubcat -n "__fish_pubcat_using_subcommand req" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -s t -l topic -d 'STOMP destination, MQTT topic, NATS subject (raw ws: the URL path)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -s H -l header -d 'Add a request header, e.g. -H \'Authorization: Bearer T\' (repeatable)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l token -d 'A token for a server that wants one (pubcat serve --token)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l transport -d 'ws, sse, poll, http (POST) or sockjs [default: from the URL]' -r -f -a "ws\t'WebSocket (ws://, wss://)'
sse\t'Server-Sent Events: a GET with `Accept: text/event-stream` (receive only)'
poll\t'HTTP long-poll, in the Nchan convention (receive only)'
http\t'HTTP POST, one request per message (publish only)'
sockjs\t'SockJS (sockjs+http:// URLs): WebSocket, falling back to xhr-streaming and xhr-polling; see --sockjs-transport'"
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l protocol -d 'The protocol over the transport [default: raw; stomp for stomp+ws:// and stomp+wss:// URLs, socketio for socketio+http(s):// URLs]' -r -f -a "raw\t'Each WebSocket message, SSE event or HTTP body is one message'
stomp\t'STOMP 1.2 frames (RabbitMQ Web-STOMP, Spring); destinations with -t'
socketio\t'Socket.IO v4 (Engine.IO long-polling, upgraded to WebSocket); the URL\'s path is the namespace'
mqtt\t'MQTT 3.1.1 or 5.0 over WebSocket (Mosquitto, EMQX, HiveMQ); topics and filters with -t'
nats\t'NATS over WebSocket (nats-server\'s websocket block); subjects with -t'"
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l connect-timeout -d 'Give up connecting (TCP, TLS and handshake; over HTTP, until the answer\'s headers) after this long' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l ping-interval -d 'Send a ping this often (WebSocket\'s; MQTT\'s PINGREQ, also its keep-alive; NATS\'s PING); a peer that sends nothing at all for that long after one is dead (exit 3; tail reconnects). 0 turns it off' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l dead-after -d 'SSE and long-poll have no pings: a connection on which nothing at all (no event, no comment, no answer) arrives for this long is dead (exit 3; tail reconnects). Set it above the server\'s keep-alive period (pubcat serve: 15s) [default: off]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l poll-timeout -d 'Longest a long-poll request may be held by the server before pubcat gives up on it and asks again (at least 1s)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l subprotocol -d 'Offer this WebSocket subprotocol (repeatable); the server must pick one' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l max-message-size -d 'Largest message accepted from the server, and read from --file or stdin to publish (a larger one is refused, exit 2), in bytes (K, M, G suffixes)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l ca -d 'Also trust this PEM file\'s certificates (a CA\'s, or the server\'s)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l vhost -d 'Virtual host, sent as CONNECT\'s `host` header (RabbitMQ\'s vhost)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l user -d 'Login for CONNECT (STOMP\'s login, NATS\'s user)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l password -d 'Passcode for CONNECT (STOMP\'s passcode, NATS\'s pass; never shown in -v output)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l heartbeat -d 'Heart-beats offered, in ms: "we can send every CX, we want one every CY"; a server silent for twice its period is dead (exit 3). 0,0: off. CX is 0 by default because RabbitMQ 3.10\'s Web-STOMP drops connections that send heart-beats under flow control; --ping-interval keeps the socket alive instead' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l qos -d 'MQTT quality of service, to publish and to subscribe: 0 at most once, 1 at least once (PUBACK), 2 exactly once (PUBREC, PUBREL, PUBCOMP). Received messages are acknowledged once printed' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l message-expiry -d 'MQTT 5: the broker drops a published message not delivered within this long' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l client-id -d 'MQTT client id [default: pubcat- and random hex]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l clean -d 'Start a clean session (true), or resume the broker\'s session for --client-id (false): what it queued at QoS 1 and 2 while this client was away is delivered' -r -f -a "true\t''
false\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l session-expiry -d 'MQTT 5: how long the broker keeps the session after the connection ends [default: 0 with --clean true, 1h with --clean false]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l mqtt-version -d 'MQTT protocol version' -r -f -a "5\t''
3.1.1\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l will-topic -d 'Will topic: the broker publishes --will-message there if this client goes away without a DISCONNECT' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l will-message -d 'The will\'s body (with --will-topic)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l will-qos -d 'The will\'s QoS' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l queue-group -d 'Subscribe in this queue group (sub, tail, connect): the members of a group share the subject\'s messages, each message going to one of them' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l nkey -d 'Authenticate with the NKey whose user seed (SU…) is in FILE: the server\'s nonce is signed with it (the seed is never shown)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l creds -d 'Authenticate with a credentials file (nsc\'s .creds: a user JWT and its NKey seed)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l namespace -d 'The namespace to connect to [default: the URL\'s path, / when none]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l auth -d 'CONNECT payload, a JSON object the server\'s middleware reads, e.g. \'{"token":"…"}\' (never shown in -v output)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l path -d 'The Engine.IO path on the server' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l emit -d 'Emit EVENT right after connecting, and again after every reconnect (repeatable): how a client joins rooms, e.g. --emit join room1. ARG is JSON when valid (else a string); a JSON array is the argument list (\'[]\': none, \'["room",1]\': two)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l ack-reply -d 'The arguments of the acknowledgement sent when the server asks for one, read as --emit\'s ARG [default: no arguments]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l sockjs-transport -d 'Use only this SockJS transport [default: websocket, falling back to xhr-streaming, then xhr-polling, when it fails]' -r -f -a "websocket\t'Framed WebSocket: one SockJS frame per WebSocket message'
xhr-streaming\t'A long chunked POST response carries frames; POSTs to xhr_send carry ours'
xhr-polling\t'One POST per batch of frames; POSTs to xhr_send carry ours'"
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l sockjs-heartbeat -d 'How often the server sends heartbeat frames (sockjs-node and Spring: 25s); a server silent for twice that is dead (exit 3)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -s n -l count -d 'Stop after answering N requests' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -s o -l output -d 'toast (a card), line, json (NDJSON) or raw [default: toast on a terminal, else line]' -r -f -a "toast\t'A small card per message (for terminals)'
line\t'One line per message: the body, CR/LF escaped, binary as hex'
json\t'NDJSON: one envelope object per line'
raw\t'Each body byte-exact, then a newline'"
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l format -d 'Print each message as a line of TEMPLATE: \'{id} {body_json.status}\'' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l notify -d 'Show a notification per message: the topic, the body\'s first line' -r -f -a "auto\t'The escape this terminal shows (see the README\'s matrix); the bell where pubcat cannot tell'
osc777\t'OSC 777 (foot, WezTerm, Ghostty, Windows Terminal)'
osc9\t'OSC 9 (iTerm2, VS Code)'
osc99\t'OSC 99 (kitty)'
desktop\t'The desktop\'s notification service (D-Bus, macOS, Windows), not the terminal'
bell\t'The terminal bell'"
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l notify-when -d 'Notify only for messages whose body matches this regex' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l exec -d 'Run CMD for each message, one at a time, in order' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l exec-fail -d 'When an --exec command fails: continue (say so and go on), or stop (exit 6)' -r -f -a "continue\t'Report it on stderr, count it, and go on with the next message'
stop\t'End the command with exit 6'"
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l color -d 'When to use colour (NO_COLOR is respected in auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -s k -l insecure -d 'Do not verify the server\'s TLS certificate (for testing only)'
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l retain -d 'Publish retained messages: the broker keeps the last one per topic and gives it to every new subscriber'
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -l will-retain -d 'Retain the will'
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -s v -l verbose -d '-v: handshakes and closes on stderr; -vv: every frame too'
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c pubcat -n "__fish_pubcat_using_subcommand reply" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -s t -l topic -d 'STOMP destination, MQTT topic, NATS subject (raw ws: the URL path)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -s H -l header -d 'Add a request header, e.g. -H \'Authorization: Bearer T\' (repeatable)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l token -d 'A token for a server that wants one (pubcat serve --token)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l transport -d 'ws, sse, poll, http (POST) or sockjs [default: from the URL]' -r -f -a "ws\t'WebSocket (ws://, wss://)'
sse\t'Server-Sent Events: a GET with `Accept: text/event-stream` (receive only)'
poll\t'HTTP long-poll, in the Nchan convention (receive only)'
http\t'HTTP POST, one request per message (publish only)'
sockjs\t'SockJS (sockjs+http:// URLs): WebSocket, falling back to xhr-streaming and xhr-polling; see --sockjs-transport'"
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l protocol -d 'The protocol over the transport [default: raw; stomp for stomp+ws:// and stomp+wss:// URLs, socketio for socketio+http(s):// URLs]' -r -f -a "raw\t'Each WebSocket message, SSE event or HTTP body is one message'
stomp\t'STOMP 1.2 frames (RabbitMQ Web-STOMP, Spring); destinations with -t'
socketio\t'Socket.IO v4 (Engine.IO long-polling, upgraded to WebSocket); the URL\'s path is the namespace'
mqtt\t'MQTT 3.1.1 or 5.0 over WebSocket (Mosquitto, EMQX, HiveMQ); topics and filters with -t'
nats\t'NATS over WebSocket (nats-server\'s websocket block); subjects with -t'"
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l connect-timeout -d 'Give up connecting (TCP, TLS and handshake; over HTTP, until the answer\'s headers) after this long' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l ping-interval -d 'Send a ping this often (WebSocket\'s; MQTT\'s PINGREQ, also its keep-alive; NATS\'s PING); a peer that sends nothing at all for that long after one is dead (exit 3; tail reconnects). 0 turns it off' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l dead-after -d 'SSE and long-poll have no pings: a connection on which nothing at all (no event, no comment, no answer) arrives for this long is dead (exit 3; tail reconnects). Set it above the server\'s keep-alive period (pubcat serve: 15s) [default: off]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l poll-timeout -d 'Longest a long-poll request may be held by the server before pubcat gives up on it and asks again (at least 1s)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l subprotocol -d 'Offer this WebSocket subprotocol (repeatable); the server must pick one' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l max-message-size -d 'Largest message accepted from the server, and read from --file or stdin to publish (a larger one is refused, exit 2), in bytes (K, M, G suffixes)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l ca -d 'Also trust this PEM file\'s certificates (a CA\'s, or the server\'s)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l vhost -d 'Virtual host, sent as CONNECT\'s `host` header (RabbitMQ\'s vhost)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l user -d 'Login for CONNECT (STOMP\'s login, NATS\'s user)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l password -d 'Passcode for CONNECT (STOMP\'s passcode, NATS\'s pass; never shown in -v output)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l heartbeat -d 'Heart-beats offered, in ms: "we can send every CX, we want one every CY"; a server silent for twice its period is dead (exit 3). 0,0: off. CX is 0 by default because RabbitMQ 3.10\'s Web-STOMP drops connections that send heart-beats under flow control; --ping-interval keeps the socket alive instead' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l qos -d 'MQTT quality of service, to publish and to subscribe: 0 at most once, 1 at least once (PUBACK), 2 exactly once (PUBREC, PUBREL, PUBCOMP). Received messages are acknowledged once printed' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l message-expiry -d 'MQTT 5: the broker drops a published message not delivered within this long' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l client-id -d 'MQTT client id [default: pubcat- and random hex]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l clean -d 'Start a clean session (true), or resume the broker\'s session for --client-id (false): what it queued at QoS 1 and 2 while this client was away is delivered' -r -f -a "true\t''
false\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l session-expiry -d 'MQTT 5: how long the broker keeps the session after the connection ends [default: 0 with --clean true, 1h with --clean false]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l mqtt-version -d 'MQTT protocol version' -r -f -a "5\t''
3.1.1\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l will-topic -d 'Will topic: the broker publishes --will-message there if this client goes away without a DISCONNECT' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l will-message -d 'The will\'s body (with --will-topic)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l will-qos -d 'The will\'s QoS' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l queue-group -d 'Subscribe in this queue group (sub, tail, connect): the members of a group share the subject\'s messages, each message going to one of them' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l nkey -d 'Authenticate with the NKey whose user seed (SU…) is in FILE: the server\'s nonce is signed with it (the seed is never shown)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l creds -d 'Authenticate with a credentials file (nsc\'s .creds: a user JWT and its NKey seed)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l namespace -d 'The namespace to connect to [default: the URL\'s path, / when none]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l auth -d 'CONNECT payload, a JSON object the server\'s middleware reads, e.g. \'{"token":"…"}\' (never shown in -v output)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l path -d 'The Engine.IO path on the server' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l emit -d 'Emit EVENT right after connecting, and again after every reconnect (repeatable): how a client joins rooms, e.g. --emit join room1. ARG is JSON when valid (else a string); a JSON array is the argument list (\'[]\': none, \'["room",1]\': two)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l ack-reply -d 'The arguments of the acknowledgement sent when the server asks for one, read as --emit\'s ARG [default: no arguments]' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l sockjs-transport -d 'Use only this SockJS transport [default: websocket, falling back to xhr-streaming, then xhr-polling, when it fails]' -r -f -a "websocket\t'Framed WebSocket: one SockJS frame per WebSocket message'
xhr-streaming\t'A long chunked POST response carries frames; POSTs to xhr_send carry ours'
xhr-polling\t'One POST per batch of frames; POSTs to xhr_send carry ours'"
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l sockjs-heartbeat -d 'How often the server sends heartbeat frames (sockjs-node and Spring: 25s); a server silent for twice that is dead (exit 3)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l pubs -d 'Publishers, each its own connection' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l subs -d 'Subscribers, each its own connection' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l size -d 'Message size in bytes (K, M suffixes), at least 36' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l payload-file -d 'Send this file\'s bytes as each message, with pubcat\'s 36-byte header (publisher, sequence, due time) appended: at the end, or as a last member "pubcat" of a JSON object, so it stays JSON' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l rate -d 'Messages per second over all publishers, sent on schedule whether or not the server keeps up (0 = as fast as possible); A..B with --ramp' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l ramp -d 'With --rate A..B: climb from A to B over this long (the measured window, after a warm-up at A), and report latency per step: where it turns up is the knee' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l ramp-steps -d 'The steps a --ramp is reported in' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l duration -d 'How long to measure' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -s n -l count -d 'Measure this many messages in all (split over the publishers) instead of a --duration' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l warmup -d 'Publish this long before measuring (those messages are checked for loss too, but not timed)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l start-at -d 'Start the measured window at this instant (RFC 3339, e.g. 2026-12-05T10:00:00Z), the warm-up before it: runs on several machines measure the same seconds. Exit 2 when the warm-up would already have begun, 1 when connecting took past it' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l start-in -d 'Start the measured window this long from now (as --start-at)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l shard -d 'Run shard I of N (from 0): this machine\'s part of the publishers, subscribers, idle connections and rate, the others\' run by the same command with another I; `bench merge` adds their reports up. Needs --start-at or --start-in' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l shards -d 'Run as one of N shards, shard $JOB_COMPLETION_INDEX (as a Kubernetes Indexed Job sets it): --shard $JOB_COMPLETION_INDEX/N' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l drain -d 'Once the publishers are done, the messages still missing are counted lost when nothing has arrived for this long' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l connections -d 'Open N more connections first and hold them, idle, during the run: reports the connect rate and the memory each one costs' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l bind -d 'Spread the connections over these local source addresses, in turn (127.0.0.2,127.0.0.3 or a CIDR such as 127.0.0.0/28): each address has its own ~28,000 ephemeral ports toward one server port' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l hlog -d 'Write the latency of each second of the measured window to FILE, as an HdrHistogram interval log (for HistogramLogProcessor, hdr-plot)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l gate -d 'Hold a figure to a bound (repeatable): \'p99<5ms\', \'lost==0\', \'msgs_per_s>100000\'; exit 5 naming the gate that failed. Figures: min, p50, p90, p99, p999, max, mean, connect_p50, connect_p99 (with a unit: ns, us, ms, s); msgs_per_s, bytes_per_s, published_msgs_per_s, knee_msgs_per_s (with --ramp); sent, received, lost, duplicated, reordered, errors' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l compare -d 'Compare with a report saved by --json; exit 5 when throughput fell or p99 latency rose by more than --max-regression' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l max-regression -d 'The regression --compare tolerates, in percent' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l event -d 'Socket.IO: the event publishers emit, and the one subscribers count (the server must pass it on to them, e.g. a `broadcast` handler)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l color -d 'When to use colour (NO_COLOR is respected in auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -s k -l insecure -d 'Do not verify the server\'s TLS certificate (for testing only)'
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l retain -d 'Publish retained messages: the broker keeps the last one per topic and gives it to every new subscriber'
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l will-retain -d 'Retain the will'
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l cross-host-latency -d 'With shards, time every publisher\'s messages, other machines\' too: then latency is only as right as the machines\' clocks agree (by default a subscriber times only its own machine\'s publishers)'
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -l json -d 'Print one JSON document (schema in the README) instead of the table'
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -s v -l verbose -d '-v: handshakes and closes on stderr; -vv: every frame too'
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and not __fish_seen_subcommand_from merge" -a "merge" -d 'Merge reports saved with `bench --json` (the shards of one run, made on several machines) into one report'
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and __fish_seen_subcommand_from merge" -l gate -d 'Hold the merged report to a bound, as bench\'s --gate' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and __fish_seen_subcommand_from merge" -l color -d 'When to use colour (NO_COLOR is respected in auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and __fish_seen_subcommand_from merge" -l json -d 'Print one JSON document instead of the table'
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and __fish_seen_subcommand_from merge" -l force -d 'Merge reports whose configurations differ, or the shards of a run with some missing'
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and __fish_seen_subcommand_from merge" -s v -l verbose -d '-v: handshakes and closes on stderr; -vv: every frame too'
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and __fish_seen_subcommand_from merge" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c pubcat -n "__fish_pubcat_using_subcommand bench; and __fish_seen_subcommand_from merge" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pubcat -n "__fish_pubcat_using_subcommand serve" -s l -l listen -d 'Address to listen on, HOST:PORT: a name binds every address it resolves to (localhost: 127.0.0.1 and ::1). Use 0.0.0.0 only if you mean it; port 0 = any free one' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand serve" -l history -d 'Messages kept per topic for replay' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand serve" -l history-bytes -d 'Bytes kept per topic for replay, and held per STOMP work queue (K, M, G suffixes): a message counts its body, its headers and 128 bytes. The oldest go first; a message larger than this is delivered live but not kept' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand serve" -l history-total -d 'Bytes kept by all topics\' histories and work queues together: past it a publish evicts its own topic\'s oldest messages (a topic with none left keeps nothing new) and a SEND to a queue is refused' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand serve" -l retain-for -d 'How long a message is kept for replay (0: as long as there is room)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand serve" -l max-topics -d 'Most topics at once, and most work queues: a publish or subscribe that would create one more is refused (HTTP 503, STOMP ERROR). A topic with no history and no subscriber is removed' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand serve" -l transaction-bytes -d 'Bytes a STOMP connection\'s open transactions may hold until COMMIT or ABORT (counted as --history-bytes counts); past it, an ERROR' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand serve" -l queue -d 'Messages queued per subscriber; when its queue is full, a publisher waits for room while the subscriber keeps taking from it' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand serve" -l slow-timeout -d 'How long a subscriber whose queue is full may take nothing from it before it is disconnected (WebSocket close 1013, SSE `event: overflow`, both with the id to resume from history after): the most a stalled subscriber makes publishers wait' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand serve" -l max-message-size -d 'Largest message accepted, in bytes (K, M suffixes)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand serve" -l poll-timeout -d 'How long a long-poll request is held before 304 Not Modified' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand serve" -l sockjs-heartbeat -d 'Silence after which a SockJS client gets a heartbeat frame' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand serve" -l allow-origin -d 'A web page origin allowed to use the broker, e.g. https://app.example:8443 (repeatable; \'*\' allows any). Pages from localhost, 127.0.0.1 and [::1] always may; requests without an Origin (CLI clients) always may; any other page gets 403' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand serve" -l allow-host -d 'A host name a broker listening on loopback answers to besides localhost, 127.0.0.1 and [::1] (repeatable): any other Host gets 403, so a page cannot reach it under its own name (DNS rebinding)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand serve" -l request-timeout -d 'How long a connection has to send a request\'s headers (again after each answer, so an idle connection is closed after it) and how long a request body may stall' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand serve" -l max-connections-per-ip -d 'Open connections one client address may hold; more get 503 (0: no cap)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand serve" -l data-dir -d 'Keep topics\' history and queues\' unacknowledged messages in this directory, so a restart (after a crash too) has them, with the same ids. Without it the broker keeps everything in memory' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand serve" -l fsync -d 'With --data-dir, when a publish is confirmed (the POST answer, a STOMP RECEIPT): always = synced to disk first (survives a power cut); interval = written, synced within a second; never = written, synced when the OS decides. All three survive a crash of pubcat' -r -f -a "always\t''
interval\t''
never\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand serve" -l tls-cert -d 'Serve TLS (wss:// and https:// on the same port) with this certificate chain (PEM); needs --tls-key' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand serve" -l tls-key -d 'The private key of --tls-cert (PEM)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand serve" -l tls-ca-out -d 'Where --tls-self-signed writes its CA certificate (default: a file in the temp directory; its path is printed)' -r -F
complete -c pubcat -n "__fish_pubcat_using_subcommand serve" -l token -d 'Require this token from every client (repeatable): Authorization: Bearer TOKEN, ?token=TOKEN, or STOMP\'s passcode; others get 401. Without any token the broker is open to whoever reaches it' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand serve" -l token-sub -d 'A token that may subscribe (and read /_/stats) but not publish (repeatable)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand serve" -l token-pub -d 'A token that may publish but not subscribe (repeatable): its WebSocket publishes and is sent nothing' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand serve" -l chaos-cut -d 'Misbehave on purpose, to test clients\' resume logic: close each connection after a random time in MIN..MAX (e.g. 200ms..600ms), half of them with a TCP reset, the others with the protocol\'s own close (WebSocket 1001, the SSE stream ended, the long-poll answered)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand serve" -l chaos-delay -d 'Misbehave on purpose: delay each delivery to a subscriber by a random time in MIN..MAX (order kept)' -r
complete -c pubcat -n "__fish_pubcat_using_subcommand serve" -l color -d 'When to use colour (NO_COLOR is respected in auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand serve" -l tls-self-signed -d 'Serve TLS with a certificate for localhost, 127.0.0.1 and ::1 made at start by a CA made for this run; clients trust it with `--ca` and the file --tls-ca-out names'
complete -c pubcat -n "__fish_pubcat_using_subcommand serve" -l chaos-drop-close -d 'Misbehave on purpose: close connections without a close frame (a bare TCP close; SSE streams cut without their end), for the clean half of --chaos-cut and the broker\'s other closes'
complete -c pubcat -n "__fish_pubcat_using_subcommand serve" -s v -l verbose -d '-v: handshakes and closes on stderr; -vv: every frame too'
complete -c pubcat -n "__fish_pubcat_using_subcommand serve" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c pubcat -n "__fish_pubcat_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pubcat -n "__fish_pubcat_using_subcommand completions" -l color -d 'When to use colour (NO_COLOR is respected in auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand completions" -s v -l verbose -d '-v: handshakes and closes on stderr; -vv: every frame too'
complete -c pubcat -n "__fish_pubcat_using_subcommand completions" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c pubcat -n "__fish_pubcat_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c pubcat -n "__fish_pubcat_using_subcommand man" -l color -d 'When to use colour (NO_COLOR is respected in auto)' -r -f -a "auto\t''
always\t''
never\t''"
complete -c pubcat -n "__fish_pubcat_using_subcommand man" -s v -l verbose -d '-v: handshakes and closes on stderr; -vv: every frame too'
complete -c pubcat -n "__fish_pubcat_using_subcommand man" -s q -l quiet -d 'Print nothing on stderr but errors'
complete -c pubcat -n "__fish_pubcat_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
