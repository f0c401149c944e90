
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'pubcat' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'pubcat'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'pubcat' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'How to print messages [default: toast on a terminal, line otherwise]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'How to print messages [default: toast on a terminal, line otherwise]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is respected in auto)')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)')
            [CompletionResult]::new('--ca', '--ca', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file, besides the system''s')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting (TCP, TLS and handshake) after this long')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Do not verify the server''s TLS certificate (for testing only)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the server''s TLS certificate (for testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('publish', 'publish', [CompletionResultType]::ParameterValue, 'Send messages: arguments, a file, or stdin (one message per line)')
            [CompletionResult]::new('pub', 'pub', [CompletionResultType]::ParameterValue, 'Send messages: arguments, a file, or stdin (one message per line)')
            [CompletionResult]::new('subscribe', 'subscribe', [CompletionResultType]::ParameterValue, 'Print every message from a stream, with scriptable exit conditions')
            [CompletionResult]::new('sub', 'sub', [CompletionResultType]::ParameterValue, 'Print every message from a stream, with scriptable exit conditions')
            [CompletionResult]::new('tail', 'tail', [CompletionResultType]::ParameterValue, 'Follow a stream until interrupted: reconnect with backoff and resume from the last message id printed, so nothing is missed or repeated')
            [CompletionResult]::new('bench', 'bench', [CompletionResultType]::ParameterValue, 'Load-test a server: throughput and latency percentiles (not built yet)')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the embedded broker: ws, SSE, long-poll and HTTP publish on one port; topics are URL paths')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff) on stdout')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'pubcat;publish' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Destination where the protocol has them (STOMP, Socket.IO); for raw WebSocket the topic is the URL path')
            [CompletionResult]::new('--topic', '--topic', [CompletionResultType]::ParameterName, 'Destination where the protocol has them (STOMP, Socket.IO); for raw WebSocket the topic is the URL path')
            [CompletionResult]::new('--transport', '--transport', [CompletionResultType]::ParameterName, 'The transport [default: ws for ws:// URLs; sockjs for sockjs+http(s)://; for http(s):// URLs sse to receive, http (POST) to publish]. The URL''s scheme follows it')
            [CompletionResult]::new('--poll-timeout', '--poll-timeout', [CompletionResultType]::ParameterName, 'Longest a long-poll request may be held by the server before pubcat gives up on it and asks again')
            [CompletionResult]::new('--subprotocol', '--subprotocol', [CompletionResultType]::ParameterName, 'Offer this WebSocket subprotocol (repeatable); the server must pick one')
            [CompletionResult]::new('--ping-interval', '--ping-interval', [CompletionResultType]::ParameterName, 'Send a ping this often; a peer that answers nothing for that long is declared dead (exit 3). 0 turns it off')
            [CompletionResult]::new('--max-message-size', '--max-message-size', [CompletionResultType]::ParameterName, 'Largest message accepted from the server, in bytes (K, M suffixes)')
            [CompletionResult]::new('--protocol', '--protocol', [CompletionResultType]::ParameterName, 'The protocol over the transport [default: raw; stomp for stomp+ws:// and stomp+wss:// URLs]')
            [CompletionResult]::new('--vhost', '--vhost', [CompletionResultType]::ParameterName, 'Virtual host, sent as CONNECT''s `host` header (RabbitMQ''s vhost)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Login for CONNECT')
            [CompletionResult]::new('--password', '--password', [CompletionResultType]::ParameterName, 'Passcode for CONNECT (never shown in -v output)')
            [CompletionResult]::new('--heartbeat', '--heartbeat', [CompletionResultType]::ParameterName, 'Heart-beats offered, in ms: "we can send every CX, we want one every CY"; a server silent for twice its period is dead (exit 3). 0,0: off. CX is 0 by default because RabbitMQ 3.10''s Web-STOMP drops connections that send heart-beats under flow control; --ping-interval keeps the socket alive instead')
            [CompletionResult]::new('--sockjs-transport', '--sockjs-transport', [CompletionResultType]::ParameterName, 'Use only this SockJS transport [default: websocket, falling back to xhr-streaming, then xhr-polling, when it fails]')
            [CompletionResult]::new('--sockjs-heartbeat', '--sockjs-heartbeat', [CompletionResultType]::ParameterName, 'How often the server sends heartbeat frames (sockjs-node and Spring: 25s); a server silent for twice that is dead (exit 3)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Send this file''s contents as one message')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Send this file''s contents as one message')
            [CompletionResult]::new('--stdin-mode', '--stdin-mode', [CompletionResultType]::ParameterName, 'How stdin becomes messages')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Send each message this many times')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Send each message this many times')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'Send at most this many messages per second (0 = as fast as possible)')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Wait this long between messages (the inverse of --rate)')
            [CompletionResult]::new('--content-type', '--content-type', [CompletionResultType]::ParameterName, 'Content-Type of messages published over HTTP [default: text/plain, or application/octet-stream with --binary]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'After the last message, wait this long for the server''s acknowledgements (STOMP receipts, the WebSocket close) before exit 5')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'How to print messages [default: toast on a terminal, line otherwise]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'How to print messages [default: toast on a terminal, line otherwise]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is respected in auto)')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)')
            [CompletionResult]::new('--ca', '--ca', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file, besides the system''s')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting (TCP, TLS and handshake) after this long')
            [CompletionResult]::new('-b', '-b', [CompletionResultType]::ParameterName, 'Send binary frames instead of text (text frames must be UTF-8)')
            [CompletionResult]::new('--binary', '--binary', [CompletionResultType]::ParameterName, 'Send binary frames instead of text (text frames must be UTF-8)')
            [CompletionResult]::new('--confirm', '--confirm', [CompletionResultType]::ParameterName, 'Report each message''s acknowledgement on stderr (HTTP: the server''s id; STOMP: a RECEIPT per SEND); fail (exit 5) when the server does not acknowledge them')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Do not verify the server''s TLS certificate (for testing only)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the server''s TLS certificate (for testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'pubcat;pub' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Destination where the protocol has them (STOMP, Socket.IO); for raw WebSocket the topic is the URL path')
            [CompletionResult]::new('--topic', '--topic', [CompletionResultType]::ParameterName, 'Destination where the protocol has them (STOMP, Socket.IO); for raw WebSocket the topic is the URL path')
            [CompletionResult]::new('--transport', '--transport', [CompletionResultType]::ParameterName, 'The transport [default: ws for ws:// URLs; sockjs for sockjs+http(s)://; for http(s):// URLs sse to receive, http (POST) to publish]. The URL''s scheme follows it')
            [CompletionResult]::new('--poll-timeout', '--poll-timeout', [CompletionResultType]::ParameterName, 'Longest a long-poll request may be held by the server before pubcat gives up on it and asks again')
            [CompletionResult]::new('--subprotocol', '--subprotocol', [CompletionResultType]::ParameterName, 'Offer this WebSocket subprotocol (repeatable); the server must pick one')
            [CompletionResult]::new('--ping-interval', '--ping-interval', [CompletionResultType]::ParameterName, 'Send a ping this often; a peer that answers nothing for that long is declared dead (exit 3). 0 turns it off')
            [CompletionResult]::new('--max-message-size', '--max-message-size', [CompletionResultType]::ParameterName, 'Largest message accepted from the server, in bytes (K, M suffixes)')
            [CompletionResult]::new('--protocol', '--protocol', [CompletionResultType]::ParameterName, 'The protocol over the transport [default: raw; stomp for stomp+ws:// and stomp+wss:// URLs]')
            [CompletionResult]::new('--vhost', '--vhost', [CompletionResultType]::ParameterName, 'Virtual host, sent as CONNECT''s `host` header (RabbitMQ''s vhost)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Login for CONNECT')
            [CompletionResult]::new('--password', '--password', [CompletionResultType]::ParameterName, 'Passcode for CONNECT (never shown in -v output)')
            [CompletionResult]::new('--heartbeat', '--heartbeat', [CompletionResultType]::ParameterName, 'Heart-beats offered, in ms: "we can send every CX, we want one every CY"; a server silent for twice its period is dead (exit 3). 0,0: off. CX is 0 by default because RabbitMQ 3.10''s Web-STOMP drops connections that send heart-beats under flow control; --ping-interval keeps the socket alive instead')
            [CompletionResult]::new('--sockjs-transport', '--sockjs-transport', [CompletionResultType]::ParameterName, 'Use only this SockJS transport [default: websocket, falling back to xhr-streaming, then xhr-polling, when it fails]')
            [CompletionResult]::new('--sockjs-heartbeat', '--sockjs-heartbeat', [CompletionResultType]::ParameterName, 'How often the server sends heartbeat frames (sockjs-node and Spring: 25s); a server silent for twice that is dead (exit 3)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Send this file''s contents as one message')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Send this file''s contents as one message')
            [CompletionResult]::new('--stdin-mode', '--stdin-mode', [CompletionResultType]::ParameterName, 'How stdin becomes messages')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Send each message this many times')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Send each message this many times')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'Send at most this many messages per second (0 = as fast as possible)')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Wait this long between messages (the inverse of --rate)')
            [CompletionResult]::new('--content-type', '--content-type', [CompletionResultType]::ParameterName, 'Content-Type of messages published over HTTP [default: text/plain, or application/octet-stream with --binary]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'After the last message, wait this long for the server''s acknowledgements (STOMP receipts, the WebSocket close) before exit 5')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'How to print messages [default: toast on a terminal, line otherwise]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'How to print messages [default: toast on a terminal, line otherwise]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is respected in auto)')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)')
            [CompletionResult]::new('--ca', '--ca', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file, besides the system''s')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting (TCP, TLS and handshake) after this long')
            [CompletionResult]::new('-b', '-b', [CompletionResultType]::ParameterName, 'Send binary frames instead of text (text frames must be UTF-8)')
            [CompletionResult]::new('--binary', '--binary', [CompletionResultType]::ParameterName, 'Send binary frames instead of text (text frames must be UTF-8)')
            [CompletionResult]::new('--confirm', '--confirm', [CompletionResultType]::ParameterName, 'Report each message''s acknowledgement on stderr (HTTP: the server''s id; STOMP: a RECEIPT per SEND); fail (exit 5) when the server does not acknowledge them')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Do not verify the server''s TLS certificate (for testing only)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the server''s TLS certificate (for testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'pubcat;subscribe' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Destination where the protocol has them (STOMP, Socket.IO); for raw WebSocket the topic is the URL path')
            [CompletionResult]::new('--topic', '--topic', [CompletionResultType]::ParameterName, 'Destination where the protocol has them (STOMP, Socket.IO); for raw WebSocket the topic is the URL path')
            [CompletionResult]::new('--transport', '--transport', [CompletionResultType]::ParameterName, 'The transport [default: ws for ws:// URLs; sockjs for sockjs+http(s)://; for http(s):// URLs sse to receive, http (POST) to publish]. The URL''s scheme follows it')
            [CompletionResult]::new('--poll-timeout', '--poll-timeout', [CompletionResultType]::ParameterName, 'Longest a long-poll request may be held by the server before pubcat gives up on it and asks again')
            [CompletionResult]::new('--subprotocol', '--subprotocol', [CompletionResultType]::ParameterName, 'Offer this WebSocket subprotocol (repeatable); the server must pick one')
            [CompletionResult]::new('--ping-interval', '--ping-interval', [CompletionResultType]::ParameterName, 'Send a ping this often; a peer that answers nothing for that long is declared dead (exit 3). 0 turns it off')
            [CompletionResult]::new('--max-message-size', '--max-message-size', [CompletionResultType]::ParameterName, 'Largest message accepted from the server, in bytes (K, M suffixes)')
            [CompletionResult]::new('--protocol', '--protocol', [CompletionResultType]::ParameterName, 'The protocol over the transport [default: raw; stomp for stomp+ws:// and stomp+wss:// URLs]')
            [CompletionResult]::new('--vhost', '--vhost', [CompletionResultType]::ParameterName, 'Virtual host, sent as CONNECT''s `host` header (RabbitMQ''s vhost)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Login for CONNECT')
            [CompletionResult]::new('--password', '--password', [CompletionResultType]::ParameterName, 'Passcode for CONNECT (never shown in -v output)')
            [CompletionResult]::new('--heartbeat', '--heartbeat', [CompletionResultType]::ParameterName, 'Heart-beats offered, in ms: "we can send every CX, we want one every CY"; a server silent for twice its period is dead (exit 3). 0,0: off. CX is 0 by default because RabbitMQ 3.10''s Web-STOMP drops connections that send heart-beats under flow control; --ping-interval keeps the socket alive instead')
            [CompletionResult]::new('--sockjs-transport', '--sockjs-transport', [CompletionResultType]::ParameterName, 'Use only this SockJS transport [default: websocket, falling back to xhr-streaming, then xhr-polling, when it fails]')
            [CompletionResult]::new('--sockjs-heartbeat', '--sockjs-heartbeat', [CompletionResultType]::ParameterName, 'How often the server sends heartbeat frames (sockjs-node and Spring: 25s); a server silent for twice that is dead (exit 3)')
            [CompletionResult]::new('--ack', '--ack', [CompletionResultType]::ParameterName, 'Ack mode [default: client-individual on /queue/ and /amq/queue/, auto elsewhere]. Acks are sent after the message is printed and flushed')
            [CompletionResult]::new('--prefetch', '--prefetch', [CompletionResultType]::ParameterName, 'At most N unacknowledged messages in flight (RabbitMQ prefetch-count)')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Exit 0 after this many messages')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Exit 0 after this many messages')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Exit 1 if the exit condition (--count, --until) has not held by then; alone, listen this long and exit 0')
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'Exit 0 at the first message whose body matches this regex (it is printed)')
            [CompletionResult]::new('--idle', '--idle', [CompletionResultType]::ParameterName, 'Exit 0 once nothing has arrived for this long')
            [CompletionResult]::new('--send', '--send', [CompletionResultType]::ParameterName, 'Send this message once connected (repeatable), e.g. the subscribe command a server wants first; over STOMP, a SEND to each -t destination. What comes back is printed like any message')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'How to print messages [default: toast on a terminal, line otherwise]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'How to print messages [default: toast on a terminal, line otherwise]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is respected in auto)')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)')
            [CompletionResult]::new('--ca', '--ca', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file, besides the system''s')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting (TCP, TLS and handshake) after this long')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Do not verify the server''s TLS certificate (for testing only)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the server''s TLS certificate (for testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'pubcat;sub' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Destination where the protocol has them (STOMP, Socket.IO); for raw WebSocket the topic is the URL path')
            [CompletionResult]::new('--topic', '--topic', [CompletionResultType]::ParameterName, 'Destination where the protocol has them (STOMP, Socket.IO); for raw WebSocket the topic is the URL path')
            [CompletionResult]::new('--transport', '--transport', [CompletionResultType]::ParameterName, 'The transport [default: ws for ws:// URLs; sockjs for sockjs+http(s)://; for http(s):// URLs sse to receive, http (POST) to publish]. The URL''s scheme follows it')
            [CompletionResult]::new('--poll-timeout', '--poll-timeout', [CompletionResultType]::ParameterName, 'Longest a long-poll request may be held by the server before pubcat gives up on it and asks again')
            [CompletionResult]::new('--subprotocol', '--subprotocol', [CompletionResultType]::ParameterName, 'Offer this WebSocket subprotocol (repeatable); the server must pick one')
            [CompletionResult]::new('--ping-interval', '--ping-interval', [CompletionResultType]::ParameterName, 'Send a ping this often; a peer that answers nothing for that long is declared dead (exit 3). 0 turns it off')
            [CompletionResult]::new('--max-message-size', '--max-message-size', [CompletionResultType]::ParameterName, 'Largest message accepted from the server, in bytes (K, M suffixes)')
            [CompletionResult]::new('--protocol', '--protocol', [CompletionResultType]::ParameterName, 'The protocol over the transport [default: raw; stomp for stomp+ws:// and stomp+wss:// URLs]')
            [CompletionResult]::new('--vhost', '--vhost', [CompletionResultType]::ParameterName, 'Virtual host, sent as CONNECT''s `host` header (RabbitMQ''s vhost)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Login for CONNECT')
            [CompletionResult]::new('--password', '--password', [CompletionResultType]::ParameterName, 'Passcode for CONNECT (never shown in -v output)')
            [CompletionResult]::new('--heartbeat', '--heartbeat', [CompletionResultType]::ParameterName, 'Heart-beats offered, in ms: "we can send every CX, we want one every CY"; a server silent for twice its period is dead (exit 3). 0,0: off. CX is 0 by default because RabbitMQ 3.10''s Web-STOMP drops connections that send heart-beats under flow control; --ping-interval keeps the socket alive instead')
            [CompletionResult]::new('--sockjs-transport', '--sockjs-transport', [CompletionResultType]::ParameterName, 'Use only this SockJS transport [default: websocket, falling back to xhr-streaming, then xhr-polling, when it fails]')
            [CompletionResult]::new('--sockjs-heartbeat', '--sockjs-heartbeat', [CompletionResultType]::ParameterName, 'How often the server sends heartbeat frames (sockjs-node and Spring: 25s); a server silent for twice that is dead (exit 3)')
            [CompletionResult]::new('--ack', '--ack', [CompletionResultType]::ParameterName, 'Ack mode [default: client-individual on /queue/ and /amq/queue/, auto elsewhere]. Acks are sent after the message is printed and flushed')
            [CompletionResult]::new('--prefetch', '--prefetch', [CompletionResultType]::ParameterName, 'At most N unacknowledged messages in flight (RabbitMQ prefetch-count)')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Exit 0 after this many messages')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Exit 0 after this many messages')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Exit 1 if the exit condition (--count, --until) has not held by then; alone, listen this long and exit 0')
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'Exit 0 at the first message whose body matches this regex (it is printed)')
            [CompletionResult]::new('--idle', '--idle', [CompletionResultType]::ParameterName, 'Exit 0 once nothing has arrived for this long')
            [CompletionResult]::new('--send', '--send', [CompletionResultType]::ParameterName, 'Send this message once connected (repeatable), e.g. the subscribe command a server wants first; over STOMP, a SEND to each -t destination. What comes back is printed like any message')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'How to print messages [default: toast on a terminal, line otherwise]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'How to print messages [default: toast on a terminal, line otherwise]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is respected in auto)')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)')
            [CompletionResult]::new('--ca', '--ca', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file, besides the system''s')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting (TCP, TLS and handshake) after this long')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Do not verify the server''s TLS certificate (for testing only)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the server''s TLS certificate (for testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'pubcat;tail' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Destination where the protocol has them (STOMP, Socket.IO); for raw WebSocket the topic is the URL path')
            [CompletionResult]::new('--topic', '--topic', [CompletionResultType]::ParameterName, 'Destination where the protocol has them (STOMP, Socket.IO); for raw WebSocket the topic is the URL path')
            [CompletionResult]::new('--transport', '--transport', [CompletionResultType]::ParameterName, 'The transport [default: ws for ws:// URLs; sockjs for sockjs+http(s)://; for http(s):// URLs sse to receive, http (POST) to publish]. The URL''s scheme follows it')
            [CompletionResult]::new('--poll-timeout', '--poll-timeout', [CompletionResultType]::ParameterName, 'Longest a long-poll request may be held by the server before pubcat gives up on it and asks again')
            [CompletionResult]::new('--subprotocol', '--subprotocol', [CompletionResultType]::ParameterName, 'Offer this WebSocket subprotocol (repeatable); the server must pick one')
            [CompletionResult]::new('--ping-interval', '--ping-interval', [CompletionResultType]::ParameterName, 'Send a ping this often; a peer that answers nothing for that long is declared dead (exit 3). 0 turns it off')
            [CompletionResult]::new('--max-message-size', '--max-message-size', [CompletionResultType]::ParameterName, 'Largest message accepted from the server, in bytes (K, M suffixes)')
            [CompletionResult]::new('--protocol', '--protocol', [CompletionResultType]::ParameterName, 'The protocol over the transport [default: raw; stomp for stomp+ws:// and stomp+wss:// URLs]')
            [CompletionResult]::new('--vhost', '--vhost', [CompletionResultType]::ParameterName, 'Virtual host, sent as CONNECT''s `host` header (RabbitMQ''s vhost)')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'Login for CONNECT')
            [CompletionResult]::new('--password', '--password', [CompletionResultType]::ParameterName, 'Passcode for CONNECT (never shown in -v output)')
            [CompletionResult]::new('--heartbeat', '--heartbeat', [CompletionResultType]::ParameterName, 'Heart-beats offered, in ms: "we can send every CX, we want one every CY"; a server silent for twice its period is dead (exit 3). 0,0: off. CX is 0 by default because RabbitMQ 3.10''s Web-STOMP drops connections that send heart-beats under flow control; --ping-interval keeps the socket alive instead')
            [CompletionResult]::new('--sockjs-transport', '--sockjs-transport', [CompletionResultType]::ParameterName, 'Use only this SockJS transport [default: websocket, falling back to xhr-streaming, then xhr-polling, when it fails]')
            [CompletionResult]::new('--sockjs-heartbeat', '--sockjs-heartbeat', [CompletionResultType]::ParameterName, 'How often the server sends heartbeat frames (sockjs-node and Spring: 25s); a server silent for twice that is dead (exit 3)')
            [CompletionResult]::new('--ack', '--ack', [CompletionResultType]::ParameterName, 'Ack mode [default: client-individual on /queue/ and /amq/queue/, auto elsewhere]. Acks are sent after the message is printed and flushed')
            [CompletionResult]::new('--prefetch', '--prefetch', [CompletionResultType]::ParameterName, 'At most N unacknowledged messages in flight (RabbitMQ prefetch-count)')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'First show up to N messages of history (servers that take `?last=N`, as `pubcat serve` does), then follow')
            [CompletionResult]::new('--last', '--last', [CompletionResultType]::ParameterName, 'First show up to N messages of history (servers that take `?last=N`, as `pubcat serve` does), then follow')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Start after this message id (as if it was the last one seen)')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Keep the last printed id in FILE, and start after it when FILE exists')
            [CompletionResult]::new('--backoff-min', '--backoff-min', [CompletionResultType]::ParameterName, 'First wait before reconnecting (it doubles, with jitter, per failure)')
            [CompletionResult]::new('--backoff-max', '--backoff-max', [CompletionResultType]::ParameterName, 'Longest wait between reconnection attempts')
            [CompletionResult]::new('--max-retries', '--max-retries', [CompletionResultType]::ParameterName, 'Give up (exit 3) after this many failed attempts in a row [default: never]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'How to print messages [default: toast on a terminal, line otherwise]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'How to print messages [default: toast on a terminal, line otherwise]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is respected in auto)')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)')
            [CompletionResult]::new('--ca', '--ca', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file, besides the system''s')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting (TCP, TLS and handshake) after this long')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Do not verify the server''s TLS certificate (for testing only)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the server''s TLS certificate (for testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'pubcat;bench' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'How to print messages [default: toast on a terminal, line otherwise]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'How to print messages [default: toast on a terminal, line otherwise]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is respected in auto)')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)')
            [CompletionResult]::new('--ca', '--ca', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file, besides the system''s')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting (TCP, TLS and handshake) after this long')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Do not verify the server''s TLS certificate (for testing only)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the server''s TLS certificate (for testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'pubcat;serve' {
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Address to listen on (use 0.0.0.0 only if you mean it; port 0 = any)')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address to listen on (use 0.0.0.0 only if you mean it; port 0 = any)')
            [CompletionResult]::new('--history', '--history', [CompletionResultType]::ParameterName, 'Messages kept per topic for replay')
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Messages queued per subscriber before the publisher waits')
            [CompletionResult]::new('--slow-timeout', '--slow-timeout', [CompletionResultType]::ParameterName, 'How long a publisher waits for a full subscriber queue before that subscriber is disconnected (close 1013; it can resume from history)')
            [CompletionResult]::new('--max-message-size', '--max-message-size', [CompletionResultType]::ParameterName, 'Largest message accepted, in bytes (K, M suffixes)')
            [CompletionResult]::new('--poll-timeout', '--poll-timeout', [CompletionResultType]::ParameterName, 'How long a long-poll request is held before 304 Not Modified')
            [CompletionResult]::new('--sockjs-heartbeat', '--sockjs-heartbeat', [CompletionResultType]::ParameterName, 'Silence after which a SockJS client gets a heartbeat frame')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'How to print messages [default: toast on a terminal, line otherwise]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'How to print messages [default: toast on a terminal, line otherwise]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is respected in auto)')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)')
            [CompletionResult]::new('--ca', '--ca', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file, besides the system''s')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting (TCP, TLS and handshake) after this long')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Do not verify the server''s TLS certificate (for testing only)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the server''s TLS certificate (for testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'pubcat;completions' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'How to print messages [default: toast on a terminal, line otherwise]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'How to print messages [default: toast on a terminal, line otherwise]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is respected in auto)')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)')
            [CompletionResult]::new('--ca', '--ca', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file, besides the system''s')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting (TCP, TLS and handshake) after this long')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Do not verify the server''s TLS certificate (for testing only)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the server''s TLS certificate (for testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'pubcat;man' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'How to print messages [default: toast on a terminal, line otherwise]')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'How to print messages [default: toast on a terminal, line otherwise]')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour (NO_COLOR is respected in auto)')
            [CompletionResult]::new('-H', '-H ', [CompletionResultType]::ParameterName, 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)')
            [CompletionResult]::new('--ca', '--ca', [CompletionResultType]::ParameterName, 'Trust the CA certificates in this PEM file, besides the system''s')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Give up connecting (TCP, TLS and handshake) after this long')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on stderr but errors')
            [CompletionResult]::new('-k', '-k', [CompletionResultType]::ParameterName, 'Do not verify the server''s TLS certificate (for testing only)')
            [CompletionResult]::new('--insecure', '--insecure', [CompletionResultType]::ParameterName, 'Do not verify the server''s TLS certificate (for testing only)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'pubcat;help' {
            [CompletionResult]::new('publish', 'publish', [CompletionResultType]::ParameterValue, 'Send messages: arguments, a file, or stdin (one message per line)')
            [CompletionResult]::new('subscribe', 'subscribe', [CompletionResultType]::ParameterValue, 'Print every message from a stream, with scriptable exit conditions')
            [CompletionResult]::new('tail', 'tail', [CompletionResultType]::ParameterValue, 'Follow a stream until interrupted: reconnect with backoff and resume from the last message id printed, so nothing is missed or repeated')
            [CompletionResult]::new('bench', 'bench', [CompletionResultType]::ParameterValue, 'Load-test a server: throughput and latency percentiles (not built yet)')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the embedded broker: ws, SSE, long-poll and HTTP publish on one port; topics are URL paths')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff) on stdout')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'pubcat;help;publish' {
            break
        }
        'pubcat;help;subscribe' {
            break
        }
        'pubcat;help;tail' {
            break
        }
        'pubcat;help;bench' {
            break
        }
        'pubcat;help;serve' {
            break
        }
        'pubcat;help;completions' {
            break
        }
        'pubcat;help;man' {
            break
        }
        'pubcat;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
