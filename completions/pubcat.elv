
use builtin;
use str;

set edit:completion:arg-completer[pubcat] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'pubcat'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'pubcat'= {
            cand -o 'How to print messages [default: toast on a terminal, line otherwise]'
            cand --output 'How to print messages [default: toast on a terminal, line otherwise]'
            cand --color 'When to use colour (NO_COLOR is respected in auto)'
            cand -H 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)'
            cand --header 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)'
            cand --ca 'Trust the CA certificates in this PEM file, besides the system''s'
            cand --connect-timeout 'Give up connecting (TCP, TLS and handshake) after this long'
            cand -v 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted'
            cand --verbose 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted'
            cand -q 'Print nothing on stderr but errors'
            cand --quiet 'Print nothing on stderr but errors'
            cand -k 'Do not verify the server''s TLS certificate (for testing only)'
            cand --insecure 'Do not verify the server''s TLS certificate (for testing only)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand publish 'Send messages: arguments, a file, or stdin (one message per line)'
            cand pub 'Send messages: arguments, a file, or stdin (one message per line)'
            cand subscribe 'Print every message from a stream, with scriptable exit conditions'
            cand sub 'Print every message from a stream, with scriptable exit conditions'
            cand tail 'Follow a stream across reconnects, resuming from the last id (not built yet)'
            cand bench 'Load-test a server: throughput and latency percentiles (not built yet)'
            cand serve 'Run the embedded broker: topics are URL paths, ws://HOST:PORT/{topic}'
            cand completions 'Print a shell completion script'
            cand man 'Print the man page (roff) on stdout'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'pubcat;publish'= {
            cand -t 'Destination where the protocol has them (STOMP, Socket.IO); for raw WebSocket the topic is the URL path'
            cand --topic 'Destination where the protocol has them (STOMP, Socket.IO); for raw WebSocket the topic is the URL path'
            cand --subprotocol 'Offer this WebSocket subprotocol (repeatable); the server must pick one'
            cand --ping-interval 'Send a ping this often; a peer that answers nothing for that long is declared dead (exit 3). 0 turns it off'
            cand --max-message-size 'Largest message accepted from the server, in bytes (K, M suffixes)'
            cand -f 'Send this file''s contents as one message'
            cand --file 'Send this file''s contents as one message'
            cand --stdin-mode 'How stdin becomes messages'
            cand -n 'Send each message this many times'
            cand --count 'Send each message this many times'
            cand --rate 'Send at most this many messages per second (0 = as fast as possible)'
            cand --interval 'Wait this long between messages (the inverse of --rate)'
            cand -o 'How to print messages [default: toast on a terminal, line otherwise]'
            cand --output 'How to print messages [default: toast on a terminal, line otherwise]'
            cand --color 'When to use colour (NO_COLOR is respected in auto)'
            cand -H 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)'
            cand --header 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)'
            cand --ca 'Trust the CA certificates in this PEM file, besides the system''s'
            cand --connect-timeout 'Give up connecting (TCP, TLS and handshake) after this long'
            cand -b 'Send binary frames instead of text (text frames must be UTF-8)'
            cand --binary 'Send binary frames instead of text (text frames must be UTF-8)'
            cand -v 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted'
            cand --verbose 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted'
            cand -q 'Print nothing on stderr but errors'
            cand --quiet 'Print nothing on stderr but errors'
            cand -k 'Do not verify the server''s TLS certificate (for testing only)'
            cand --insecure 'Do not verify the server''s TLS certificate (for testing only)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'pubcat;pub'= {
            cand -t 'Destination where the protocol has them (STOMP, Socket.IO); for raw WebSocket the topic is the URL path'
            cand --topic 'Destination where the protocol has them (STOMP, Socket.IO); for raw WebSocket the topic is the URL path'
            cand --subprotocol 'Offer this WebSocket subprotocol (repeatable); the server must pick one'
            cand --ping-interval 'Send a ping this often; a peer that answers nothing for that long is declared dead (exit 3). 0 turns it off'
            cand --max-message-size 'Largest message accepted from the server, in bytes (K, M suffixes)'
            cand -f 'Send this file''s contents as one message'
            cand --file 'Send this file''s contents as one message'
            cand --stdin-mode 'How stdin becomes messages'
            cand -n 'Send each message this many times'
            cand --count 'Send each message this many times'
            cand --rate 'Send at most this many messages per second (0 = as fast as possible)'
            cand --interval 'Wait this long between messages (the inverse of --rate)'
            cand -o 'How to print messages [default: toast on a terminal, line otherwise]'
            cand --output 'How to print messages [default: toast on a terminal, line otherwise]'
            cand --color 'When to use colour (NO_COLOR is respected in auto)'
            cand -H 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)'
            cand --header 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)'
            cand --ca 'Trust the CA certificates in this PEM file, besides the system''s'
            cand --connect-timeout 'Give up connecting (TCP, TLS and handshake) after this long'
            cand -b 'Send binary frames instead of text (text frames must be UTF-8)'
            cand --binary 'Send binary frames instead of text (text frames must be UTF-8)'
            cand -v 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted'
            cand --verbose 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted'
            cand -q 'Print nothing on stderr but errors'
            cand --quiet 'Print nothing on stderr but errors'
            cand -k 'Do not verify the server''s TLS certificate (for testing only)'
            cand --insecure 'Do not verify the server''s TLS certificate (for testing only)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'pubcat;subscribe'= {
            cand -t 'Destination where the protocol has them (STOMP, Socket.IO); for raw WebSocket the topic is the URL path'
            cand --topic 'Destination where the protocol has them (STOMP, Socket.IO); for raw WebSocket the topic is the URL path'
            cand --subprotocol 'Offer this WebSocket subprotocol (repeatable); the server must pick one'
            cand --ping-interval 'Send a ping this often; a peer that answers nothing for that long is declared dead (exit 3). 0 turns it off'
            cand --max-message-size 'Largest message accepted from the server, in bytes (K, M suffixes)'
            cand -n 'Exit 0 after this many messages'
            cand --count 'Exit 0 after this many messages'
            cand --timeout 'Exit 1 if the exit condition (--count, --until) has not held by then; alone, listen this long and exit 0'
            cand --until 'Exit 0 at the first message whose body matches this regex (it is printed)'
            cand --idle 'Exit 0 once nothing has arrived for this long'
            cand -o 'How to print messages [default: toast on a terminal, line otherwise]'
            cand --output 'How to print messages [default: toast on a terminal, line otherwise]'
            cand --color 'When to use colour (NO_COLOR is respected in auto)'
            cand -H 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)'
            cand --header 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)'
            cand --ca 'Trust the CA certificates in this PEM file, besides the system''s'
            cand --connect-timeout 'Give up connecting (TCP, TLS and handshake) after this long'
            cand -v 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted'
            cand --verbose 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted'
            cand -q 'Print nothing on stderr but errors'
            cand --quiet 'Print nothing on stderr but errors'
            cand -k 'Do not verify the server''s TLS certificate (for testing only)'
            cand --insecure 'Do not verify the server''s TLS certificate (for testing only)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'pubcat;sub'= {
            cand -t 'Destination where the protocol has them (STOMP, Socket.IO); for raw WebSocket the topic is the URL path'
            cand --topic 'Destination where the protocol has them (STOMP, Socket.IO); for raw WebSocket the topic is the URL path'
            cand --subprotocol 'Offer this WebSocket subprotocol (repeatable); the server must pick one'
            cand --ping-interval 'Send a ping this often; a peer that answers nothing for that long is declared dead (exit 3). 0 turns it off'
            cand --max-message-size 'Largest message accepted from the server, in bytes (K, M suffixes)'
            cand -n 'Exit 0 after this many messages'
            cand --count 'Exit 0 after this many messages'
            cand --timeout 'Exit 1 if the exit condition (--count, --until) has not held by then; alone, listen this long and exit 0'
            cand --until 'Exit 0 at the first message whose body matches this regex (it is printed)'
            cand --idle 'Exit 0 once nothing has arrived for this long'
            cand -o 'How to print messages [default: toast on a terminal, line otherwise]'
            cand --output 'How to print messages [default: toast on a terminal, line otherwise]'
            cand --color 'When to use colour (NO_COLOR is respected in auto)'
            cand -H 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)'
            cand --header 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)'
            cand --ca 'Trust the CA certificates in this PEM file, besides the system''s'
            cand --connect-timeout 'Give up connecting (TCP, TLS and handshake) after this long'
            cand -v 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted'
            cand --verbose 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted'
            cand -q 'Print nothing on stderr but errors'
            cand --quiet 'Print nothing on stderr but errors'
            cand -k 'Do not verify the server''s TLS certificate (for testing only)'
            cand --insecure 'Do not verify the server''s TLS certificate (for testing only)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'pubcat;tail'= {
            cand -o 'How to print messages [default: toast on a terminal, line otherwise]'
            cand --output 'How to print messages [default: toast on a terminal, line otherwise]'
            cand --color 'When to use colour (NO_COLOR is respected in auto)'
            cand -H 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)'
            cand --header 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)'
            cand --ca 'Trust the CA certificates in this PEM file, besides the system''s'
            cand --connect-timeout 'Give up connecting (TCP, TLS and handshake) after this long'
            cand -v 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted'
            cand --verbose 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted'
            cand -q 'Print nothing on stderr but errors'
            cand --quiet 'Print nothing on stderr but errors'
            cand -k 'Do not verify the server''s TLS certificate (for testing only)'
            cand --insecure 'Do not verify the server''s TLS certificate (for testing only)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'pubcat;bench'= {
            cand -o 'How to print messages [default: toast on a terminal, line otherwise]'
            cand --output 'How to print messages [default: toast on a terminal, line otherwise]'
            cand --color 'When to use colour (NO_COLOR is respected in auto)'
            cand -H 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)'
            cand --header 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)'
            cand --ca 'Trust the CA certificates in this PEM file, besides the system''s'
            cand --connect-timeout 'Give up connecting (TCP, TLS and handshake) after this long'
            cand -v 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted'
            cand --verbose 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted'
            cand -q 'Print nothing on stderr but errors'
            cand --quiet 'Print nothing on stderr but errors'
            cand -k 'Do not verify the server''s TLS certificate (for testing only)'
            cand --insecure 'Do not verify the server''s TLS certificate (for testing only)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'pubcat;serve'= {
            cand -l 'Address to listen on (use 0.0.0.0 only if you mean it; port 0 = any)'
            cand --listen 'Address to listen on (use 0.0.0.0 only if you mean it; port 0 = any)'
            cand --history 'Messages kept per topic for replay'
            cand --queue 'Messages queued per subscriber before the publisher waits'
            cand --slow-timeout 'How long a publisher waits for a full subscriber queue before that subscriber is disconnected (close 1013; it can resume from history)'
            cand --max-message-size 'Largest message accepted, in bytes (K, M suffixes)'
            cand -o 'How to print messages [default: toast on a terminal, line otherwise]'
            cand --output 'How to print messages [default: toast on a terminal, line otherwise]'
            cand --color 'When to use colour (NO_COLOR is respected in auto)'
            cand -H 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)'
            cand --header 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)'
            cand --ca 'Trust the CA certificates in this PEM file, besides the system''s'
            cand --connect-timeout 'Give up connecting (TCP, TLS and handshake) after this long'
            cand -v 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted'
            cand --verbose 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted'
            cand -q 'Print nothing on stderr but errors'
            cand --quiet 'Print nothing on stderr but errors'
            cand -k 'Do not verify the server''s TLS certificate (for testing only)'
            cand --insecure 'Do not verify the server''s TLS certificate (for testing only)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'pubcat;completions'= {
            cand -o 'How to print messages [default: toast on a terminal, line otherwise]'
            cand --output 'How to print messages [default: toast on a terminal, line otherwise]'
            cand --color 'When to use colour (NO_COLOR is respected in auto)'
            cand -H 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)'
            cand --header 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)'
            cand --ca 'Trust the CA certificates in this PEM file, besides the system''s'
            cand --connect-timeout 'Give up connecting (TCP, TLS and handshake) after this long'
            cand -v 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted'
            cand --verbose 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted'
            cand -q 'Print nothing on stderr but errors'
            cand --quiet 'Print nothing on stderr but errors'
            cand -k 'Do not verify the server''s TLS certificate (for testing only)'
            cand --insecure 'Do not verify the server''s TLS certificate (for testing only)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'pubcat;man'= {
            cand -o 'How to print messages [default: toast on a terminal, line otherwise]'
            cand --output 'How to print messages [default: toast on a terminal, line otherwise]'
            cand --color 'When to use colour (NO_COLOR is respected in auto)'
            cand -H 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)'
            cand --header 'Add a request header, e.g. -H ''Authorization: Bearer T'' (repeatable)'
            cand --ca 'Trust the CA certificates in this PEM file, besides the system''s'
            cand --connect-timeout 'Give up connecting (TCP, TLS and handshake) after this long'
            cand -v 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted'
            cand --verbose 'Log handshakes and closes to stderr (-v); every frame too (-vv). Secrets (passwords, tokens, Authorization, cookies) are redacted'
            cand -q 'Print nothing on stderr but errors'
            cand --quiet 'Print nothing on stderr but errors'
            cand -k 'Do not verify the server''s TLS certificate (for testing only)'
            cand --insecure 'Do not verify the server''s TLS certificate (for testing only)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'pubcat;help'= {
            cand publish 'Send messages: arguments, a file, or stdin (one message per line)'
            cand subscribe 'Print every message from a stream, with scriptable exit conditions'
            cand tail 'Follow a stream across reconnects, resuming from the last id (not built yet)'
            cand bench 'Load-test a server: throughput and latency percentiles (not built yet)'
            cand serve 'Run the embedded broker: topics are URL paths, ws://HOST:PORT/{topic}'
            cand completions 'Print a shell completion script'
            cand man 'Print the man page (roff) on stdout'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'pubcat;help;publish'= {
        }
        &'pubcat;help;subscribe'= {
        }
        &'pubcat;help;tail'= {
        }
        &'pubcat;help;bench'= {
        }
        &'pubcat;help;serve'= {
        }
        &'pubcat;help;completions'= {
        }
        &'pubcat;help;man'= {
        }
        &'pubcat;help;help'= {
        }
    ]
    $completions[$command]
}
