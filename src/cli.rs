//! The whole command-line surface: each flag's doc comment is its `--help`.

use crate::bench::Shard;
use crate::bench::gate::Gate;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::dialect::stomp::AckMode;
use crate::endpoint::{Protocol, Transport};
use crate::log::Secret;
use crate::notify::NotifyKind;
use crate::render::{ColorChoice, Format, Template};
use crate::server::Span;
use crate::transport::sockjs::SockJsTransport;

const EXAMPLES: &str = "\
Examples:
  pubcat serve                                      # a broker on localhost:7878
  pubcat sub ws://127.0.0.1:7878/events             # print every message
  echo deployed | pubcat pub ws://127.0.0.1:7878/events
  pubcat sub ws://127.0.0.1:7878/jobs --until '\"status\":\"ready\"' --timeout 60s
  pubcat sub wss://example.com/feed -o json | jq .body
  pubcat connect ws://127.0.0.1:7878/chat           # type lines to send, see replies

Exit codes: 0 ok, 1 timeout, 2 usage, 3 connect/TLS/connection lost,
4 server refused or errored, 5 not confirmed/lost, 6 local failure (I/O,
--exec-fail stop), 130 interrupted.";

/// Publish, subscribe to, tail and benchmark real-time message streams.
///
/// pubcat speaks WebSocket (ws, wss), Server-Sent Events, HTTP long-poll,
/// HTTP publish and SockJS, with STOMP 1.2 and Socket.IO on top. Messages go
/// to stdout; status and errors to stderr.
#[derive(Debug, Parser)]
#[command(
    name = "pubcat",
    version,
    after_help = EXAMPLES,
    max_term_width = 100,
    disable_help_subcommand = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    #[command(flatten)]
    pub global: Global,
}

impl Cli {
    /// Parse the process's arguments (exiting on a usage error, as
    /// `Cli::parse` does), noting where `-o` came from.
    pub fn parse_args() -> Cli {
        Cli::try_parse_args_from(std::env::args_os()).unwrap_or_else(|e| e.exit())
    }

    /// [`Cli::parse_args`] of these arguments.
    pub fn try_parse_args_from<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let mut matches = Cli::command().try_get_matches_from(args)?;
        // Asked first: building the Cli takes the values out of `matches`.
        // Only subscribe, tail and connect have both -o and --format.
        let output_given = matches.subcommand().is_some_and(|(name, sub)| {
            matches!(name, "subscribe" | "tail" | "connect") && given_on_command_line(sub, "output")
        });
        let mut cli =
            Cli::from_arg_matches_mut(&mut matches).map_err(|e| e.format(&mut Cli::command()))?;
        match &mut cli.command {
            Command::Subscribe(args) => args.out.output_given = output_given,
            Command::Tail(args) => args.out.output_given = output_given,
            Command::Connect(args) => args.out.output_given = output_given,
            _ => {}
        }
        Ok(cli)
    }
}

/// The flag was on the command line, not taken from the environment.
fn given_on_command_line(matches: &ArgMatches, id: &str) -> bool {
    matches.value_source(id) == Some(ValueSource::CommandLine)
}

/// Flags every subcommand takes.
#[derive(Debug, Args)]
pub struct Global {
    /// -v: handshakes and closes on stderr; -vv: every frame too
    ///
    /// Log handshakes and closes to stderr (-v); every frame too (-vv).
    /// Secrets (passwords, tokens, Authorization, cookies) are redacted.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Print nothing on stderr but errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// When to use colour (NO_COLOR is respected in auto).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true, hide_short_help = true)]
    pub color: ColorChoice,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Send messages: arguments, a file, or stdin (one message per line).
    ///
    /// Waits for the connection to open, sends every message, then closes
    /// cleanly: pubcat exits only after everything was written and the
    /// server acknowledged the close, so no message is lost at EOF.
    #[command(visible_alias = "pub", after_help = PUBLISH_SHORT, after_long_help = PUBLISH_EXAMPLES)]
    Publish(PublishArgs),

    /// Print every message from a stream, with scriptable exit conditions.
    #[command(visible_alias = "sub", after_help = SUBSCRIBE_SHORT, after_long_help = SUBSCRIBE_EXAMPLES)]
    Subscribe(SubscribeArgs),

    /// Follow a stream until interrupted: reconnect with backoff and resume
    /// from the last message id printed, so nothing is missed or repeated.
    #[command(after_help = TAIL_SHORT, after_long_help = TAIL_EXAMPLES)]
    Tail(TailArgs),

    /// An interactive session: each line typed or piped is sent, every
    /// message received is printed.
    ///
    /// Over any transport that sends both ways: ws(s)://, sockjs+http(s)://,
    /// STOMP (stomp+ws://, with -t) and Socket.IO (socketio+http(s)://,
    /// --event). Lines starting with / are commands: /help lists them.
    #[command(
        visible_alias = "c",
        after_help = CONNECT_SHORT,
        after_long_help = CONNECT_EXAMPLES,
        mut_arg("exec", |a| a.hide(true)),
        mut_arg("exec_fail", |a| a.hide(true))
    )]
    Connect(InteractiveArgs),

    /// Ask and wait for the answer: send one request with a reply address
    /// and print the first reply.
    ///
    /// Over MQTT 5 (mqtt+ws://; a response topic and correlation data)
    /// and NATS (nats+ws://; a reply subject). The message is the
    /// argument, or all of stdin.
    #[command(
        visible_alias = "req",
        after_help = REQUEST_EXAMPLES,
        mut_arg("exec", |a| a.hide(true)),
        mut_arg("exec_fail", |a| a.hide(true))
    )]
    Request(RequestArgs),

    /// Answer requests: print each one and send it a reply.
    ///
    /// Takes the requests on -t (MQTT 5 or NATS, as `request` sends them)
    /// and answers each with ANSWER, or its own body when none is given.
    #[command(
        after_help = REPLY_EXAMPLES,
        mut_arg("exec", |a| a.hide(true)),
        mut_arg("exec_fail", |a| a.hide(true))
    )]
    Reply(ReplyArgs),

    /// Load-test a server: throughput, loss and latency percentiles.
    ///
    /// Publishers and subscribers, each its own connection, over any
    /// transport and protocol pubcat speaks. Every message carries a
    /// sequence number and its due send time, so each one is checked: lost,
    /// duplicated and reordered messages are counted, and latency is
    /// measured from when a message was due, not when it went out. Without a
    /// URL, an embedded broker is started in-process. Any loss exits 5.
    #[command(after_help = BENCH_EXAMPLES, args_conflicts_with_subcommands = true)]
    Bench(Box<BenchArgs>),

    /// Run the embedded broker: ws, SSE, long-poll and HTTP publish on one port;
    /// topics are URL paths.
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),

    /// Print a shell completion script.
    #[command(after_help = "Example:\n  pubcat completions bash > /etc/bash_completion.d/pubcat")]
    Completions(CompletionsArgs),

    /// Print a man page (roff) on stdout: pubcat(1), or with a subcommand's
    /// name, pubcat-NAME(1).
    #[command(hide = true)]
    Man {
        /// publish, subscribe, tail, connect, bench, serve or completions.
        command: Option<String>,
    },
}

const PUBLISH_SHORT: &str = "\
Examples:
  echo deployed | pubcat pub ws://127.0.0.1:7878/events # one message per stdin line
  pubcat pub ws://127.0.0.1:7878/events hello --confirm

Exit codes: 0 sent, 3 connection lost, 4 refused, 5 not confirmed, 130 Ctrl-C.";

const PUBLISH_EXAMPLES: &str = "\
Examples:
  pubcat pub ws://127.0.0.1:7878/events hello world     # two messages
  echo deployed | pubcat pub ws://127.0.0.1:7878/events # one per stdin line
  pubcat pub ws://127.0.0.1:7878/blobs --binary --file image.png
  seq 1000 | pubcat pub ws://127.0.0.1:7878/n --rate 100
  pubcat pub socketio+http://127.0.0.1:3000/chat --event say hello --confirm";

const SUBSCRIBE_SHORT: &str = "\
Examples:
  pubcat sub ws://127.0.0.1:7878/events -n 1 --timeout 30s   # wait for one message
  pubcat sub http://127.0.0.1:7878/jobs --format '{id} {body_json.status}'

Exit codes: 0 condition met, 1 --timeout, 3 connection lost, 4 refused,
130 Ctrl-C (more with --help).";

const SUBSCRIBE_EXAMPLES: &str = "\
Examples:
  pubcat sub ws://127.0.0.1:7878/events
  pubcat sub ws://127.0.0.1:7878/events -n 1 --timeout 30s   # wait for one message
  pubcat sub ws://127.0.0.1:7878/jobs --until 'done|failed' --timeout 5m
  pubcat sub ws://127.0.0.1:7878/events --idle 2s -o json > events.ndjson
  pubcat sub socketio+http://127.0.0.1:3000/chat --emit join lobby --event message
  pubcat sub http://127.0.0.1:7878/jobs --format '{id} {body_json.status}'
  pubcat sub ws://127.0.0.1:7878/alerts --exec 'notify-send \"$PUBCAT_TOPIC\" \"$PUBCAT_BODY\"'
  pubcat sub ws://127.0.0.1:7878/alerts --notify auto --notify-when 'error|failed'

Exit codes: 0 count reached, --until matched, --idle passed, or the server
closed normally; 1 --timeout passed first; 3 connection lost; 4 the server
refused or closed with an error; 6 an --exec command failed under
--exec-fail stop; 130 Ctrl-C.";

const TAIL_SHORT: &str = "\
Examples:
  pubcat tail http://127.0.0.1:7878/events -n 10            # the last 10, then follow
  pubcat tail http://host/events --state ~/.events.last     # continue where the last run stopped";

const TAIL_EXAMPLES: &str = "\
Examples:
  pubcat tail http://127.0.0.1:7878/events                  # SSE, resumes with Last-Event-ID
  pubcat tail http://127.0.0.1:7878/events -n 10            # the last 10, then follow
  pubcat tail http://127.0.0.1:7878/events --since 120      # start after message 120
  pubcat tail http://host/events --state ~/.events.last     # continue where the last run stopped
  pubcat tail http://host/jobs --exec ./handle-job --exec-fail stop   # a command per message
  pubcat tail http://host/deploys --notify auto            # a notification per message

Resuming needs message ids: SSE and long-poll have them; raw WebSocket
frames do not, so over ws:// tail reconnects but cannot replay what it missed
(it says so). A server that cannot replay far enough back is reported on
stderr as a gap.";

const REQUEST_EXAMPLES: &str = "\
Examples:
  pubcat request mqtt+ws://127.0.0.1:8080/mqtt -t svc/time now
  echo '{\"id\":7}' | pubcat req nats+ws://127.0.0.1:8222 -t orders.lookup --timeout 2s

Exit codes: 0 a reply was printed, 1 none within --timeout, 3 connection
lost, 4 refused, 130 Ctrl-C.";

const REPLY_EXAMPLES: &str = "\
Examples:
  pubcat reply mqtt+ws://127.0.0.1:8080/mqtt -t svc/time \"$(date)\"
  pubcat reply nats+ws://127.0.0.1:8222 -t orders.lookup -n 1   # echo one request back

Exit codes: 0 --count answered or the server closed normally, 3 connection
lost, 4 refused, 130 Ctrl-C.";

const CONNECT_SHORT: &str = "\
Examples:
  pubcat connect ws://127.0.0.1:7878/chat                   # type lines, read replies
  pubcat c stomp+ws://127.0.0.1:7878/_/stomp -t /topic/chat

Exit codes: 0 stdin ended or the server closed normally, 3 connection
lost, 4 refused, 130 Ctrl-C.";

const CONNECT_EXAMPLES: &str = "\
Examples:
  pubcat connect ws://127.0.0.1:7878/chat                   # type lines, read replies
  pubcat c stomp+ws://127.0.0.1:7878/_/stomp -t /topic/chat
  pubcat c socketio+http://127.0.0.1:3000/ --event chat
  printf 'hello\\n/binary 00ff\\n' | pubcat c ws://127.0.0.1:7878/chat -o json

Commands: /help, /ping, /binary HEX, /topic T (STOMP), /close [CODE];
//text sends /text. At the end of stdin the connection is closed cleanly.

Exit codes: 0 stdin ended (or /close) and the close was answered, or the
server closed normally; 1 --timeout passed while connecting; 3 connection
lost; 4 the server refused or closed with an error; 5 the close was not
answered (what was sent may be lost); 130 Ctrl-C.";

const BENCH_EXAMPLES: &str = "\
Examples:
  pubcat bench                                      # the embedded broker, 1 -> 4, 10 s
  pubcat bench --pubs 1 --subs 10 --duration 5s     # fan-out to ten subscribers
  pubcat bench --rate 100000 --json > base.json     # latency at 100k msgs/s, saved
  pubcat bench --rate 100000 --compare base.json --max-regression 10   # a CI gate
  pubcat bench ws://127.0.0.1:7878/load --connections 10000            # connection scale
  pubcat bench stomp+ws://127.0.0.1:15674/ws -t /topic/load --user guest --password guest
  pubcat bench http://127.0.0.1:18080/pubsub/load   # Nchan: POST in, SSE out
  pubcat bench --rate 10000..500000 --ramp 30s      # latency step by step: the knee
  pubcat bench ws://host:7878/load --shard 0/3 --start-at 2026-12-05T10:00:00Z --json > s0.json
  pubcat bench merge s0.json s1.json s2.json --gate 'p99<20ms'   # three machines, one report

Exit codes: 0 every message delivered; 5 a message was lost, a --gate
failed or --compare found a regression; 3/4 a connection failed or the
server refused.";

const SERVE_EXAMPLES: &str = "\
Examples:
  pubcat serve                           # ws://localhost:7878/{topic}, STOMP on /_/stomp
  pubcat serve --listen 127.0.0.1:0      # any free port, printed on stderr
  PUBCAT_TOKEN=s3cret pubcat serve       # clients need the token (their --token or PUBCAT_TOKEN)
  curl -d hi http://127.0.0.1:7878/events   # HTTP publish, answers {\"id\":N}";

/// Where to connect and how.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// ws(s)://, http(s)://, stomp+ws(s)://, socketio+http(s)://,
    /// sockjs+http(s)://; :PORT/path is ws://127.0.0.1:PORT/path
    ///
    /// The server's URL: ws://, wss://, http://, https://,
    /// socketio+http://, socketio+https://, sockjs+http://, sockjs+https://;
    /// a stomp+ prefix speaks STOMP (stomp+ws://, stomp+wss://,
    /// stomp+sockjs+http://). `:PORT/path` means ws://127.0.0.1:PORT/path.
    /// SockJS starts over HTTP, so sockjs+ws:// is refused: add
    /// --sockjs-transport websocket for its WebSocket alone.
    #[arg(env = "PUBCAT_URL", value_name = "URL")]
    pub url: String,

    #[command(flatten)]
    pub reach: ReachArgs,
}

/// How to reach a server, apart from its URL (bench's URL is optional).
/// The flags `-h` leaves out are the tuning ones; `--help` shows them all.
#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "Connection")]
pub struct ReachArgs {
    /// STOMP destination, MQTT topic, NATS subject (raw ws: the URL path)
    ///
    /// Destination where the protocol has them (repeatable): a STOMP
    /// destination, an MQTT topic (to subscribe, a filter with + and #), a
    /// NATS subject (to subscribe, wildcards * and >); for raw WebSocket
    /// the topic is the URL path, for Socket.IO the namespace.
    #[arg(short, long, value_name = "TOPIC")]
    pub topic: Vec<String>,

    /// Add a request header, e.g. -H 'Authorization: Bearer T' (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,

    /// A token for a server that wants one (pubcat serve --token).
    ///
    /// Sent as Authorization: Bearer, as STOMP's passcode unless
    /// --password is given, and as NATS's auth_token. Never shown.
    #[arg(long, env = "PUBCAT_TOKEN", hide_env_values = true, value_parser = secret)]
    pub token: Option<Secret>,

    /// ws, sse, poll, http (POST) or sockjs [default: from the URL]
    ///
    /// The transport [default: ws for ws:// URLs; sockjs for sockjs+http(s)://;
    /// for http(s):// URLs sse to receive, http (POST) to publish]. The
    /// URL's scheme follows it.
    #[arg(
        long,
        value_enum,
        value_name = "TRANSPORT",
        hide_possible_values = true
    )]
    pub transport: Option<Transport>,

    /// The protocol over the transport [default: raw; stomp for stomp+ws://
    /// and stomp+wss:// URLs, socketio for socketio+http(s):// URLs].
    #[arg(long, value_enum, value_name = "PROTOCOL", hide_short_help = true)]
    pub protocol: Option<Protocol>,

    /// Give up connecting (TCP, TLS and handshake; over HTTP, until the
    /// answer's headers) after this long.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration, hide_short_help = true)]
    pub connect_timeout: Duration,

    /// Send a ping this often (WebSocket's; MQTT's PINGREQ, also its
    /// keep-alive; NATS's PING); a peer that sends nothing at all for that
    /// long after one is dead (exit 3; tail reconnects). 0 turns it off.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = duration, hide_short_help = true)]
    pub ping_interval: Duration,

    /// SSE and long-poll have no pings: a connection on which nothing at
    /// all (no event, no comment, no answer) arrives for this long is dead
    /// (exit 3; tail reconnects). Set it above the server's keep-alive
    /// period (pubcat serve: 15s) [default: off].
    #[arg(long, value_name = "DURATION", value_parser = duration, hide_short_help = true)]
    pub dead_after: Option<Duration>,

    /// Longest a long-poll request may be held by the server before pubcat
    /// gives up on it and asks again (at least 1s).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = poll_timeout, hide_short_help = true)]
    pub poll_timeout: Duration,

    /// Offer this WebSocket subprotocol (repeatable); the server must pick one.
    #[arg(long, value_name = "NAME", hide_short_help = true)]
    pub subprotocol: Vec<String>,

    /// Largest message accepted from the server, and read from --file or
    /// stdin to publish (a larger one is refused, exit 2), in bytes (K, M,
    /// G suffixes).
    #[arg(long, value_name = "BYTES", default_value = "64M", value_parser = byte_size, hide_short_help = true)]
    pub max_message_size: usize,

    #[command(flatten)]
    pub tls: TlsArgs,

    #[command(flatten)]
    pub stomp: StompArgs,

    #[command(flatten)]
    pub mqtt: MqttArgs,

    #[command(flatten)]
    pub nats: NatsArgs,

    #[command(flatten)]
    pub socketio: SocketIoArgs,

    #[command(flatten)]
    pub sockjs: SockJsArgs,
}

/// Which server certificates to trust.
#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "TLS")]
pub struct TlsArgs {
    /// Do not verify the server's TLS certificate (for testing only).
    #[arg(short = 'k', long)]
    pub insecure: bool,

    /// Also trust this PEM file's certificates (a CA's, or the server's)
    ///
    /// Trust the certificates in this PEM file, besides the system's: a
    /// CA's, or the server's own (a self-signed one too).
    #[arg(long, value_name = "FILE", env = "PUBCAT_CA")]
    pub ca: Option<PathBuf>,
}

/// Socket.IO connection settings.
#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "Socket.IO")]
pub struct SocketIoArgs {
    /// The namespace to connect to [default: the URL's path, / when none].
    #[arg(hide_short_help = true, long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,

    /// CONNECT payload, a JSON object the server's middleware reads, e.g.
    /// '{"token":"…"}' (never shown in -v output).
    #[arg(
        hide_short_help = true,
        long,
        value_name = "JSON",
        env = "PUBCAT_SOCKETIO_AUTH",
        hide_env_values = true
    )]
    pub auth: Option<String>,

    /// The Engine.IO path on the server.
    #[arg(
        hide_short_help = true,
        long,
        value_name = "PATH",
        default_value = "/socket.io/"
    )]
    pub path: String,

    /// Emit EVENT right after connecting, and again after every reconnect
    /// (repeatable): how a client joins rooms, e.g. --emit join room1.
    /// ARG is JSON when valid (else a string); a JSON array is the argument
    /// list ('[]': none, '["room",1]': two).
    #[arg(hide_short_help = true, long, num_args = 2, value_names = ["EVENT", "ARG"], action = clap::ArgAction::Append)]
    pub emit: Vec<String>,

    /// The arguments of the acknowledgement sent when the server asks for
    /// one, read as --emit's ARG [default: no arguments].
    #[arg(hide_short_help = true, long, value_name = "JSON")]
    pub ack_reply: Option<String>,

    #[command(flatten, next_help_heading = None::<&str>)]
    pub end: EndOfHeading,
}

/// No flags: flattened last into a struct with a help heading, it ends that
/// heading, which clap would otherwise carry on to the flags that follow.
#[derive(Clone, Debug, Args)]
#[group(skip)]
pub struct EndOfHeading {}

/// What a Socket.IO publisher emits.
#[derive(Debug, Args)]
#[command(next_help_heading = "Socket.IO")]
pub struct SocketIoPublishArgs {
    /// The event to emit [default: message]: once with the MESSAGE
    /// arguments as its arguments (each JSON when valid, else a string), or
    /// once per stdin line (the line as its argument).
    #[arg(hide_short_help = true, long, value_name = "NAME")]
    pub event: Option<String>,

    /// Attach this file's bytes to the emit as a binary argument (after
    /// the MESSAGE arguments).
    #[arg(
        hide_short_help = true,
        long,
        value_name = "FILE",
        conflicts_with = "file"
    )]
    pub binary_file: Option<PathBuf>,

    #[command(flatten, next_help_heading = None::<&str>)]
    pub end: EndOfHeading,
}

/// Which Socket.IO events a subscriber prints.
#[derive(Debug, Args)]
#[command(next_help_heading = "Socket.IO")]
pub struct SocketIoSubscribeArgs {
    /// Print only this event (repeatable) [default: every event].
    #[arg(hide_short_help = true, long, value_name = "NAME")]
    pub event: Vec<String>,

    #[command(flatten, next_help_heading = None::<&str>)]
    pub end: EndOfHeading,
}

/// SockJS session settings.
#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "SockJS")]
pub struct SockJsArgs {
    /// Use only this SockJS transport [default: websocket, falling back to
    /// xhr-streaming, then xhr-polling, when it fails].
    #[arg(hide_short_help = true, long, value_enum, value_name = "TRANSPORT")]
    pub sockjs_transport: Option<SockJsTransport>,

    /// How often the server sends heartbeat frames (sockjs-node and Spring:
    /// 25s); a server silent for twice that is dead (exit 3).
    #[arg(hide_short_help = true, long, value_name = "DURATION", default_value = "25s", value_parser = duration)]
    pub sockjs_heartbeat: Duration,

    #[command(flatten, next_help_heading = None::<&str>)]
    pub end: EndOfHeading,
}

/// STOMP connection settings.
#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "STOMP")]
pub struct StompArgs {
    /// Virtual host, sent as CONNECT's `host` header (RabbitMQ's vhost).
    #[arg(
        hide_short_help = true,
        long,
        value_name = "VHOST",
        default_value = "/"
    )]
    pub vhost: String,

    /// Login for CONNECT (STOMP's login, NATS's user).
    #[arg(hide_short_help = true, long, value_name = "USER", env = "PUBCAT_USER")]
    pub user: Option<String>,

    /// Passcode for CONNECT (STOMP's passcode, NATS's pass; never shown in
    /// -v output).
    #[arg(
        hide_short_help = true,
        long,
        value_name = "PASSWORD",
        env = "PUBCAT_PASSWORD",
        hide_env_values = true
    )]
    pub password: Option<String>,

    /// Heart-beats offered, in ms: "we can send every CX, we want one every
    /// CY"; a server silent for twice its period is dead (exit 3). 0,0: off.
    /// CX is 0 by default because RabbitMQ 3.10's Web-STOMP drops
    /// connections that send heart-beats under flow control; --ping-interval
    /// keeps the socket alive instead.
    #[arg(
        hide_short_help = true,
        long,
        value_name = "CX,CY",
        default_value = "0,10000"
    )]
    pub heartbeat: String,
}

/// MQTT session settings (mqtt+ws:// URLs).
#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "MQTT")]
pub struct MqttArgs {
    /// MQTT quality of service, to publish and to subscribe: 0 at most
    /// once, 1 at least once (PUBACK), 2 exactly once (PUBREC, PUBREL,
    /// PUBCOMP). Received messages are acknowledged once printed.
    #[arg(hide_short_help = true, long, value_name = "0|1|2", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub qos: u8,

    /// Publish retained messages: the broker keeps the last one per topic
    /// and gives it to every new subscriber.
    #[arg(hide_short_help = true, long)]
    pub retain: bool,

    /// MQTT 5: the broker drops a published message not delivered within
    /// this long.
    #[arg(hide_short_help = true, long, value_name = "DURATION", value_parser = duration)]
    pub message_expiry: Option<Duration>,

    /// MQTT client id [default: pubcat- and random hex].
    #[arg(hide_short_help = true, long, value_name = "ID")]
    pub client_id: Option<String>,

    /// Start a clean session (true), or resume the broker's session for
    /// --client-id (false): what it queued at QoS 1 and 2 while this
    /// client was away is delivered.
    #[arg(hide_short_help = true, long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub clean: bool,

    /// MQTT 5: how long the broker keeps the session after the connection
    /// ends [default: 0 with --clean true, 1h with --clean false].
    #[arg(hide_short_help = true, long, value_name = "DURATION", value_parser = duration)]
    pub session_expiry: Option<Duration>,

    /// MQTT protocol version.
    #[arg(hide_short_help = true, long, value_name = "VERSION", default_value = "5", value_parser = ["5", "3.1.1"])]
    pub mqtt_version: String,

    /// Will topic: the broker publishes --will-message there if this
    /// client goes away without a DISCONNECT.
    #[arg(
        hide_short_help = true,
        long,
        value_name = "TOPIC",
        requires = "will_message"
    )]
    pub will_topic: Option<String>,

    /// The will's body (with --will-topic).
    #[arg(
        hide_short_help = true,
        long,
        value_name = "MESSAGE",
        requires = "will_topic"
    )]
    pub will_message: Option<String>,

    /// The will's QoS.
    #[arg(hide_short_help = true, long, value_name = "0|1|2", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=2))]
    pub will_qos: u8,

    /// Retain the will.
    #[arg(hide_short_help = true, long)]
    pub will_retain: bool,
}

/// NATS settings.
#[derive(Clone, Debug, Args)]
#[command(next_help_heading = "NATS")]
pub struct NatsArgs {
    /// Subscribe in this queue group (sub, tail, connect): the members of a
    /// group share the subject's messages, each message going to one of
    /// them.
    #[arg(hide_short_help = true, long, value_name = "GROUP")]
    pub queue_group: Option<String>,

    /// Authenticate with the NKey whose user seed (SU…) is in FILE: the
    /// server's nonce is signed with it (the seed is never shown).
    #[arg(hide_short_help = true, long, value_name = "FILE", env = "PUBCAT_NKEY")]
    pub nkey: Option<PathBuf>,

    /// Authenticate with a credentials file (nsc's .creds: a user JWT and
    /// its NKey seed).
    #[arg(
        hide_short_help = true,
        long,
        value_name = "FILE",
        env = "PUBCAT_CREDS",
        conflicts_with = "nkey"
    )]
    pub creds: Option<PathBuf>,

    #[command(flatten, next_help_heading = None::<&str>)]
    pub end: EndOfHeading,
}

/// How a STOMP subscriber acknowledges.
#[derive(Debug, Args)]
#[command(next_help_heading = "STOMP")]
pub struct StompSubscribeArgs {
    /// Ack mode [default: client-individual on /queue/ and /amq/queue/, auto
    /// elsewhere]. Acks are sent after the message is printed and flushed.
    #[arg(hide_short_help = true, long, value_enum, value_name = "MODE")]
    pub ack: Option<AckMode>,

    /// At most N unacknowledged messages in flight (RabbitMQ prefetch-count).
    #[arg(hide_short_help = true, long, value_name = "N")]
    pub prefetch: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StdinMode {
    /// Each line is one message (the trailing \n or \r\n is not sent).
    Line,
    /// All of stdin is one message.
    Whole,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    #[command(flatten)]
    pub conn: ConnectArgs,

    /// Messages to send, each one message. Without any (and without --file),
    /// stdin is read.
    #[arg(value_name = "MESSAGE")]
    pub messages: Vec<String>,

    /// Send this file's contents as one message (at most --max-message-size).
    #[arg(short, long, value_name = "FILE", conflicts_with = "messages")]
    pub file: Option<PathBuf>,

    /// How stdin becomes messages.
    #[arg(long, value_enum, default_value_t = StdinMode::Line, hide_short_help = true)]
    pub stdin_mode: StdinMode,

    /// Send each message this many times.
    #[arg(short = 'n', long, value_name = "N", default_value_t = 1)]
    pub count: u64,

    /// Send at most this many messages per second (0 = as fast as possible).
    #[arg(
        long,
        value_name = "PER_SECOND",
        default_value_t = 0.0,
        value_parser = per_second,
        conflicts_with = "interval"
    )]
    pub rate: f64,

    /// Wait this long between messages (the inverse of --rate).
    #[arg(long, value_name = "DURATION", value_parser = duration, hide_short_help = true)]
    pub interval: Option<Duration>,

    /// Send binary frames instead of text (text frames must be UTF-8).
    #[arg(short, long)]
    pub binary: bool,

    /// Content-Type of messages published over HTTP [default: text/plain,
    /// or application/octet-stream with --binary].
    #[arg(long, value_name = "TYPE", hide_short_help = true)]
    pub content_type: Option<String>,

    /// Wait for the server to acknowledge every message (else exit 5)
    ///
    /// Report each message's acknowledgement on stderr (HTTP: the server's
    /// id; STOMP: a RECEIPT per SEND; Socket.IO: an ACK per emit, whose
    /// arguments are printed on stdout); fail (exit 5) when the server does
    /// not acknowledge them.
    #[arg(long)]
    pub confirm: bool,

    /// After the last message, wait this long for the server's
    /// acknowledgements (STOMP receipts, Socket.IO ACKs, the WebSocket
    /// close) before exit 5.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration, hide_short_help = true)]
    pub timeout: Duration,

    /// How to print what the server sends back (--confirm's Socket.IO
    /// acknowledgements) [default: line].
    #[arg(short, long, value_enum, env = "PUBCAT_OUTPUT", hide_short_help = true)]
    pub output: Option<Format>,

    #[command(flatten)]
    pub socketio: SocketIoPublishArgs,
}

#[derive(Debug, Args)]
pub struct SubscribeArgs {
    #[command(flatten)]
    pub end: ExitArgs,

    #[command(flatten)]
    pub out: OutputArgs,

    #[command(flatten)]
    pub conn: ConnectArgs,

    /// Send this message once connected (repeatable), e.g. the subscribe
    /// command a server wants first; over STOMP, a SEND to each -t
    /// destination. What comes back is printed like any message.
    #[arg(
        long,
        value_name = "MESSAGE",
        help_heading = "Connection",
        hide_short_help = true
    )]
    pub send: Vec<String>,

    #[command(flatten)]
    pub stomp_sub: StompSubscribeArgs,

    #[command(flatten)]
    pub socketio_sub: SocketIoSubscribeArgs,
}

/// `request`: one request, its first reply.
#[derive(Debug, Args)]
pub struct RequestArgs {
    #[command(flatten)]
    pub conn: ConnectArgs,

    /// The request's body [default: all of stdin].
    #[arg(value_name = "MESSAGE")]
    pub message: Option<String>,

    /// Wait this long for the reply, connecting included (exit 1 without
    /// one).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = duration)]
    pub timeout: Duration,

    #[command(flatten)]
    pub out: OutputArgs,
}

/// `reply`: answer every request.
#[derive(Debug, Args)]
pub struct ReplyArgs {
    #[command(flatten)]
    pub conn: ConnectArgs,

    /// The answer to every request [default: the request's own body].
    #[arg(value_name = "ANSWER")]
    pub answer: Option<String>,

    /// Stop after answering N requests.
    #[arg(short = 'n', long, value_name = "N")]
    pub count: Option<u64>,

    #[command(flatten)]
    pub out: OutputArgs,
}

/// `connect`: an interactive session.
#[derive(Debug, Args)]
pub struct InteractiveArgs {
    /// Listen this long, then close and exit 0 (whatever stdin does).
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub timeout: Option<Duration>,

    #[command(flatten)]
    pub out: OutputArgs,

    #[command(flatten)]
    pub conn: ConnectArgs,

    #[command(flatten)]
    pub socketio: SocketIoConnectArgs,
}

/// What `connect` emits over Socket.IO.
#[derive(Debug, Args)]
#[command(next_help_heading = "Socket.IO")]
pub struct SocketIoConnectArgs {
    /// The event each line is emitted as (the line its argument) [default:
    /// message]; every event received is printed.
    #[arg(hide_short_help = true, long, value_name = "NAME")]
    pub event: Option<String>,

    #[command(flatten, next_help_heading = None::<&str>)]
    pub end: EndOfHeading,
}

/// When `subscribe` ends.
#[derive(Debug, Args)]
#[command(next_help_heading = "Exit conditions")]
pub struct ExitArgs {
    /// Exit 0 after this many messages.
    #[arg(short = 'n', long, value_name = "N")]
    pub count: Option<u64>,

    /// Exit 1 if --count or --until has not held by then (alone: exit 0)
    ///
    /// Exit 1 if the exit condition (--count, --until) has not held by then;
    /// alone, listen this long and exit 0. It bounds the whole command,
    /// connecting included (plus at most 1 s for a clean close).
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub timeout: Option<Duration>,

    /// Exit 0 at the first message whose body matches REGEX (printed)
    #[arg(long, value_name = "REGEX")]
    pub until: Option<String>,

    /// Exit 0 once nothing has arrived for this long.
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub idle: Option<Duration>,
}

#[derive(Debug, Args)]
pub struct TailArgs {
    /// First show up to N messages of history (servers that take `?last=N`,
    /// as `pubcat serve` does), then follow.
    #[arg(short = 'n', long = "last", value_name = "N", help_heading = "Resume")]
    pub last: Option<u64>,

    /// Start after this message id (as if it was the last one seen).
    #[arg(
        long,
        value_name = "ID",
        conflicts_with = "last",
        help_heading = "Resume"
    )]
    pub since: Option<String>,

    /// Keep the last printed id in FILE, and start after it when FILE exists.
    #[arg(long, value_name = "FILE", help_heading = "Resume")]
    pub state: Option<PathBuf>,

    /// First wait before reconnecting (it doubles, with jitter, per
    /// failure); at least 10ms.
    #[arg(long, value_name = "DURATION", default_value = "500ms", value_parser = backoff_min, help_heading = "Resume", hide_short_help = true)]
    pub backoff_min: Duration,

    /// Longest wait between reconnection attempts.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = duration, help_heading = "Resume", hide_short_help = true)]
    pub backoff_max: Duration,

    /// When to report a gap in the ids: auto, where the server says its ids
    /// are consecutive (pubcat serve does); sequence, for any server whose
    /// ids count up by one per message; off.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = GapCheck::Auto, help_heading = "Resume", hide_short_help = true)]
    pub gap_check: GapCheck,

    /// Give up after this many retries in a row (exit 3, or 4 when the
    /// server kept failing); a connection that delivers a message starts
    /// the count again [default: never give up].
    #[arg(long, value_name = "N", help_heading = "Resume")]
    pub max_retries: Option<u32>,

    #[command(flatten)]
    pub out: OutputArgs,

    #[command(flatten)]
    pub conn: ConnectArgs,

    #[command(flatten)]
    pub stomp_sub: StompSubscribeArgs,

    #[command(flatten)]
    pub socketio_sub: SocketIoSubscribeArgs,
}

/// How `subscribe`, `tail` and `connect` print each message, and what
/// else they do with it (`connect` refuses `--exec`).
#[derive(Debug, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// toast (a card), line, json (NDJSON) or raw [default: toast on a
    /// terminal, else line]
    ///
    /// How to print messages [default: toast on a terminal, line otherwise;
    /// with --exec, none].
    #[arg(
        short,
        long,
        value_enum,
        env = "PUBCAT_OUTPUT",
        hide_possible_values = true
    )]
    pub output: Option<Format>,

    /// `-o` was on the command line (not only in PUBCAT_OUTPUT): it then
    /// makes `--exec` print messages too, and conflicts with `--format`.
    #[arg(skip)]
    pub output_given: bool,

    /// Print each message as a line of TEMPLATE: '{id} {body_json.status}'.
    ///
    /// Placeholders: {topic} {id} {event} {time} (received, RFC 3339 UTC)
    /// {body} (binary as hex) {body_json.PATH} (a dotted path into a JSON
    /// body, array indices as numbers: {body_json.items.0.name}; a string
    /// is its text, other values JSON, a missing path nothing)
    /// {headers.NAME}. Escapes: \n \t \\ {{ }}. A newline ends each
    /// message's line; line breaks in the values are written \n and \r,
    /// and on a terminal control characters as \xNN. Instead of -o.
    #[arg(long, value_name = "TEMPLATE", value_parser = Template::parse)]
    pub format: Option<Template>,

    /// Run CMD for each message, one at a time, in order.
    ///
    /// Run with sh -c (cmd /C on Windows), the body on its stdin, and in its
    /// environment PUBCAT_TOPIC, PUBCAT_ID, PUBCAT_EVENT (unset when the
    /// message has none) and PUBCAT_BODY (the body when it is text of at
    /// most 64 KiB; unset otherwise: read stdin). Its stdout and stderr are
    /// pubcat's; pubcat prints no message with it unless -o or --format is
    /// given. The next message is read once the command exits. A failure
    /// (non-zero exit, or no start) is one line on stderr and counted. On
    /// Ctrl-C (and sub's --timeout) a running command's process group gets
    /// SIGTERM, and SIGKILL 2s later.
    #[arg(long, value_name = "CMD")]
    pub exec: Option<String>,

    /// When an --exec command fails: continue (say so and go on), or stop
    /// (exit 6).
    #[arg(long, value_enum, value_name = "WHAT", default_value_t = ExecFail::Continue, requires = "exec", hide_short_help = true)]
    pub exec_fail: ExecFail,

    /// Show a notification per message: the topic, the body's first line.
    ///
    /// At most one a second: the messages of the second after one are
    /// summed up when it ends ("4 new messages"). The terminal escapes are
    /// written to /dev/tty, never to stdout, and wrapped for tmux when
    /// $TMUX is set (tmux needs allow-passthrough on); auto picks the one
    /// this terminal shows, from TERM_PROGRAM, TERM and the variables
    /// terminals set (KITTY_WINDOW_ID, WEZTERM_PANE, WT_SESSION,
    /// LC_TERMINAL...), else the bell. Without a terminal, one warning and
    /// no notifications.
    #[arg(long, value_enum, value_name = "KIND")]
    pub notify: Option<NotifyKind>,

    /// Notify only for messages whose body matches this regex.
    #[arg(
        long,
        value_name = "REGEX",
        requires = "notify",
        hide_short_help = true
    )]
    pub notify_when: Option<String>,

    #[command(flatten, next_help_heading = None::<&str>)]
    pub end: EndOfHeading,
}

/// What a failed `--exec` command does (`--exec-fail`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExecFail {
    /// Report it on stderr, count it, and go on with the next message.
    Continue,
    /// End the command with exit 6.
    Stop,
}

/// Which ids prove a gap (`tail --gap-check`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GapCheck {
    /// Where the server says its ids are consecutive.
    Auto,
    /// Integer ids count up by one: a jump is a gap.
    Sequence,
    /// Never report gaps.
    Off,
}

/// What `bench` does besides a run.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Merge reports saved with `bench --json` (the shards of one run, made
    /// on several machines) into one report.
    ///
    /// Percentiles come from the sum of the reports' histograms (exact, not
    /// averaged), counts are summed, rates are over the union of the
    /// measured windows. Reports of different configurations are refused
    /// unless --force.
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Reports written by `pubcat bench --json`.
    #[arg(value_name = "REPORT.json", required = true, num_args = 1..)]
    pub reports: Vec<PathBuf>,

    /// Print one JSON document instead of the table.
    #[arg(long)]
    pub json: bool,

    /// Merge reports whose configurations differ, or the shards of a run
    /// with some missing.
    #[arg(long)]
    pub force: bool,

    /// Hold the merged report to a bound, as bench's --gate.
    #[arg(long, value_name = "GATE", value_parser = gate)]
    pub gate: Vec<Gate>,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// `bench merge A.json B.json …`.
    #[command(subcommand)]
    pub command: Option<BenchCommand>,

    /// Server to load [default: an embedded broker on 127.0.0.1, in-process].
    /// http(s):// URLs publish by POST and subscribe by SSE (or
    /// --transport poll / ws).
    #[arg(value_name = "URL")]
    pub url: Option<String>,

    #[command(flatten)]
    pub reach: ReachArgs,

    /// Publishers, each its own connection.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub pubs: usize,

    /// Subscribers, each its own connection.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub subs: usize,

    /// Message size in bytes (K, M suffixes), at least 36
    ///
    /// Message size in bytes (K, M suffixes), at least 36 (each carries a
    /// sequence number and a timestamp) and at most --max-message-size (16M
    /// with the embedded broker).
    #[arg(long, value_name = "BYTES", default_value = "64", value_parser = byte_size)]
    pub size: usize,

    /// Send this file's bytes as each message, with pubcat's 36-byte header
    /// (publisher, sequence, due time) appended: at the end, or as a last
    /// member "pubcat" of a JSON object, so it stays JSON.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "size",
        hide_short_help = true
    )]
    pub payload_file: Option<PathBuf>,

    /// Messages per second over all publishers, sent on schedule whether or
    /// not the server keeps up (0 = as fast as possible); A..B with --ramp.
    #[arg(long, value_name = "PER_SECOND", default_value = "0", value_parser = rate_range)]
    pub rate: RateArg,

    /// With --rate A..B: climb from A to B over this long (the measured
    /// window, after a warm-up at A), and report latency per step: where
    /// it turns up is the knee.
    #[arg(long, value_name = "DURATION", value_parser = duration, conflicts_with_all = ["count", "duration"], hide_short_help = true)]
    pub ramp: Option<Duration>,

    /// The steps a --ramp is reported in.
    #[arg(long, value_name = "N", default_value_t = 10, requires = "ramp",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=1000), hide_short_help = true)]
    pub ramp_steps: usize,

    /// How long to measure.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration)]
    pub duration: Duration,

    /// Measure this many messages in all (split over the publishers)
    /// instead of a --duration.
    #[arg(short = 'n', long, value_name = "N", hide_short_help = true)]
    pub count: Option<u64>,

    /// Publish this long before measuring (those messages are checked for
    /// loss too, but not timed).
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = duration, hide_short_help = true)]
    pub warmup: Duration,

    /// Start the measured window at this instant (RFC 3339, e.g.
    /// 2026-12-05T10:00:00Z), the warm-up before it: runs on several
    /// machines measure the same seconds. Exit 2 when the warm-up would
    /// already have begun, 1 when connecting took past it.
    #[arg(long, value_name = "TIME", value_parser = rfc3339, conflicts_with = "start_in", hide_short_help = true)]
    pub start_at: Option<std::time::SystemTime>,

    /// Start the measured window this long from now (as --start-at).
    #[arg(long, value_name = "DURATION", value_parser = duration, hide_short_help = true)]
    pub start_in: Option<Duration>,

    /// Run shard I of N (from 0): this machine's part of the publishers,
    /// subscribers, idle connections and rate, the others' run by the same
    /// command with another I; `bench merge` adds their reports up. Needs
    /// --start-at or --start-in.
    #[arg(long, value_name = "I/N", value_parser = shard, conflicts_with = "shards", hide_short_help = true)]
    pub shard: Option<Shard>,

    /// Run as one of N shards, shard $JOB_COMPLETION_INDEX (as a Kubernetes
    /// Indexed Job sets it): --shard $JOB_COMPLETION_INDEX/N.
    #[arg(long, value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=65535), hide_short_help = true)]
    pub shards: Option<usize>,

    /// With shards, time every publisher's messages, other machines' too:
    /// then latency is only as right as the machines' clocks agree (by
    /// default a subscriber times only its own machine's publishers).
    #[arg(long, hide_short_help = true)]
    pub cross_host_latency: bool,

    /// Once the publishers are done, the messages still missing are counted
    /// lost when nothing has arrived for this long.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = duration, hide_short_help = true)]
    pub drain: Duration,

    /// Open N more connections first and hold them, idle, during the run:
    /// reports the connect rate and the memory each one costs.
    #[arg(long, value_name = "N", default_value_t = 0, hide_short_help = true)]
    pub connections: usize,

    /// Spread the connections over these local source addresses, in turn
    /// (127.0.0.2,127.0.0.3 or a CIDR such as 127.0.0.0/28): each address
    /// has its own ~28,000 ephemeral ports toward one server port.
    #[arg(long, value_name = "ADDRESSES", value_parser = source_addresses, hide_short_help = true)]
    pub bind: Option<SourceAddresses>,

    /// Print one JSON document (schema in the README) instead of the table.
    #[arg(long)]
    pub json: bool,

    /// Write the latency of each second of the measured window to FILE, as
    /// an HdrHistogram interval log (for HistogramLogProcessor, hdr-plot).
    #[arg(long, value_name = "FILE", hide_short_help = true)]
    pub hlog: Option<PathBuf>,

    /// Hold a figure to a bound (repeatable): 'p99<5ms', 'lost==0',
    /// 'msgs_per_s>100000'; exit 5 naming the gate that failed. Figures:
    /// min, p50, p90, p99, p999, max, mean, connect_p50, connect_p99 (with
    /// a unit: ns, us, ms, s); msgs_per_s, bytes_per_s,
    /// published_msgs_per_s, knee_msgs_per_s (with --ramp); sent, received,
    /// lost, duplicated, reordered, errors.
    #[arg(long, value_name = "GATE", value_parser = gate)]
    pub gate: Vec<Gate>,

    /// Compare with a report saved by --json; exit 5 when throughput fell or
    /// p99 latency rose by more than --max-regression.
    #[arg(long, value_name = "BASELINE.json")]
    pub compare: Option<PathBuf>,

    /// The regression --compare tolerates, in percent.
    #[arg(
        long,
        value_name = "PERCENT",
        default_value_t = 10.0,
        hide_short_help = true
    )]
    pub max_regression: f64,

    /// Socket.IO: the event publishers emit, and the one subscribers count
    /// (the server must pass it on to them, e.g. a `broadcast` handler).
    #[arg(
        long,
        value_name = "NAME",
        default_value = "message",
        hide_short_help = true
    )]
    pub event: String,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on, HOST:PORT: a name binds every address it
    /// resolves to (localhost: 127.0.0.1 and ::1). Use 0.0.0.0 only if you
    /// mean it; port 0 = any free one.
    #[arg(
        short,
        long,
        value_name = "HOST:PORT",
        default_value = "localhost:7878",
        env = "PUBCAT_LISTEN",
        value_parser = listen_addr
    )]
    pub listen: String,

    /// Messages kept per topic for replay.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1000,
        help_heading = "Limits"
    )]
    pub history: usize,

    /// Bytes kept per topic for replay, and held per STOMP work queue (K,
    /// M, G suffixes): a message counts its body, its headers and 128
    /// bytes. The oldest go first; a message larger than this is delivered
    /// live but not kept.
    #[arg(long, value_name = "BYTES", default_value = "32M", value_parser = byte_size, help_heading = "Limits", hide_short_help = true,)]
    pub history_bytes: usize,

    /// Bytes kept by all topics' histories and work queues together: past
    /// it a publish evicts its own topic's oldest messages (a topic with
    /// none left keeps nothing new) and a SEND to a queue is refused.
    #[arg(long, value_name = "BYTES", default_value = "256M", value_parser = byte_size, help_heading = "Limits", hide_short_help = true,)]
    pub history_total: usize,

    /// How long a message is kept for replay (0: as long as there is room).
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = duration, help_heading = "Limits", hide_short_help = true,)]
    pub retain_for: Duration,

    /// Most topics at once, and most work queues: a publish or subscribe
    /// that would create one more is refused (HTTP 503, STOMP ERROR). A
    /// topic with no history and no subscriber is removed.
    #[arg(long, value_name = "N", default_value_t = 10_000,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..), help_heading = "Limits", hide_short_help = true,)]
    pub max_topics: usize,

    /// Bytes a STOMP connection's open transactions may hold until COMMIT
    /// or ABORT (counted as --history-bytes counts); past it, an ERROR.
    #[arg(long, value_name = "BYTES", default_value = "32M", value_parser = byte_size, help_heading = "Limits", hide_short_help = true,)]
    pub transaction_bytes: usize,

    /// Messages queued per subscriber; when its queue is full, a publisher
    /// waits for room while the subscriber keeps taking from it.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 4096,
        help_heading = "Limits",
        hide_short_help = true
    )]
    pub queue: usize,

    /// How long a subscriber whose queue is full may take nothing from it
    /// before it is disconnected (WebSocket close 1013, SSE `event:
    /// overflow`, both with the id to resume from history after): the
    /// most a stalled subscriber makes publishers wait.
    #[arg(long, value_name = "DURATION", default_value = "30ms", value_parser = duration, help_heading = "Limits", hide_short_help = true,)]
    pub slow_timeout: Duration,

    /// Largest message accepted, in bytes (K, M suffixes).
    #[arg(long, value_name = "BYTES", default_value = "16M", value_parser = byte_size, help_heading = "Limits", hide_short_help = true,)]
    pub max_message_size: usize,

    /// How long a long-poll request is held before 304 Not Modified.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = duration, help_heading = "Limits", hide_short_help = true,)]
    pub poll_timeout: Duration,

    /// Silence after which a SockJS client gets a heartbeat frame.
    #[arg(long, value_name = "DURATION", default_value = "25s", value_parser = duration, help_heading = "Limits", hide_short_help = true,)]
    pub sockjs_heartbeat: Duration,

    /// A web page origin allowed to use the broker, e.g.
    /// https://app.example:8443 (repeatable; '*' allows any). Pages from
    /// localhost, 127.0.0.1 and [::1] always may; requests without an
    /// Origin (CLI clients) always may; any other page gets 403.
    #[arg(long, value_name = "ORIGIN", help_heading = "Security")]
    pub allow_origin: Vec<String>,

    /// A host name a broker listening on loopback answers to besides
    /// localhost, 127.0.0.1 and [::1] (repeatable): any other Host gets
    /// 403, so a page cannot reach it under its own name (DNS rebinding).
    #[arg(
        long,
        value_name = "NAME",
        help_heading = "Security",
        hide_short_help = true
    )]
    pub allow_host: Vec<String>,

    /// How long a connection has to send a request's headers (again after
    /// each answer, so an idle connection is closed after it) and how long
    /// a request body may stall.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration, help_heading = "Limits", hide_short_help = true,)]
    pub request_timeout: Duration,

    /// Open connections one client address may hold; more get 503 (0: no
    /// cap).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 16384,
        help_heading = "Limits",
        hide_short_help = true
    )]
    pub max_connections_per_ip: usize,

    /// Keep topics' history and queues' unacknowledged messages in this
    /// directory, so a restart (after a crash too) has them, with the same
    /// ids. Without it the broker keeps everything in memory.
    #[arg(
        long,
        value_name = "DIR",
        env = "PUBCAT_DATA_DIR",
        help_heading = "Durability"
    )]
    pub data_dir: Option<PathBuf>,

    /// With --data-dir, when a publish is confirmed (the POST answer, a
    /// STOMP RECEIPT): always = synced to disk first (survives a power
    /// cut); interval = written, synced within a second; never = written,
    /// synced when the OS decides. All three survive a crash of pubcat.
    #[arg(
        long,
        value_enum,
        value_name = "WHEN",
        default_value = "interval",
        requires = "data_dir",
        help_heading = "Durability",
        hide_short_help = true
    )]
    pub fsync: FsyncArg,

    /// Serve TLS (wss:// and https:// on the same port) with this
    /// certificate chain (PEM); needs --tls-key.
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_key",
        help_heading = "Security",
        hide_short_help = true
    )]
    pub tls_cert: Option<PathBuf>,

    /// The private key of --tls-cert (PEM).
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_cert",
        help_heading = "Security",
        hide_short_help = true
    )]
    pub tls_key: Option<PathBuf>,

    /// Serve TLS with a certificate for localhost, 127.0.0.1 and ::1 made
    /// at start by a CA made for this run; clients trust it with
    /// `--ca` and the file --tls-ca-out names.
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"], help_heading = "Security",)]
    pub tls_self_signed: bool,

    /// Where --tls-self-signed writes its CA certificate (default: a file
    /// in the temp directory; its path is printed).
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_self_signed",
        help_heading = "Security",
        hide_short_help = true
    )]
    pub tls_ca_out: Option<PathBuf>,
    /// Require this token from every client (repeatable): Authorization:
    /// Bearer TOKEN, ?token=TOKEN, or STOMP's passcode; others get 401.
    /// Without any token the broker is open to whoever reaches it.
    #[arg(long, env = "PUBCAT_TOKEN", hide_env_values = true, value_parser = secret, help_heading = "Security",)]
    pub token: Vec<Secret>,

    /// A token that may subscribe (and read /_/stats) but not publish
    /// (repeatable).
    #[arg(long, value_name = "TOKEN", value_parser = secret, help_heading = "Security", hide_short_help = true,)]
    pub token_sub: Vec<Secret>,

    /// A token that may publish but not subscribe (repeatable): its
    /// WebSocket publishes and is sent nothing.
    #[arg(long, value_name = "TOKEN", value_parser = secret, help_heading = "Security", hide_short_help = true,)]
    pub token_pub: Vec<Secret>,

    /// Misbehave on purpose, to test clients' resume logic: close each
    /// connection after a random time in MIN..MAX (e.g. 200ms..600ms),
    /// half of them with a TCP reset, the others with the protocol's own
    /// close (WebSocket 1001, the SSE stream ended, the long-poll
    /// answered).
    #[arg(long, value_name = "MIN..MAX", value_parser = duration_range, help_heading = "Chaos",)]
    pub chaos_cut: Option<Span>,

    /// Misbehave on purpose: delay each delivery to a subscriber by a
    /// random time in MIN..MAX (order kept).
    #[arg(long, value_name = "MIN..MAX", value_parser = duration_range, help_heading = "Chaos", hide_short_help = true,)]
    pub chaos_delay: Option<Span>,

    /// Misbehave on purpose: close connections without a close frame (a
    /// bare TCP close; SSE streams cut without their end), for the clean
    /// half of --chaos-cut and the broker's other closes.
    #[arg(long, help_heading = "Chaos", hide_short_help = true)]
    pub chaos_drop_close: bool,

    #[command(flatten, next_help_heading = None::<&str>)]
    pub end: EndOfHeading,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `serve --fsync`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FsyncArg {
    Always,
    Interval,
    Never,
}

/// `HOST:PORT`, `[V6]:PORT` or `IP:PORT`: checked here, resolved by
/// `serve` (a name may stand for several addresses).
fn listen_addr(s: &str) -> Result<String, String> {
    if s.parse::<SocketAddr>().is_ok() {
        return Ok(s.to_string());
    }
    match s.rsplit_once(':') {
        Some((host, port))
            if !host.is_empty() && !host.contains(':') && port.parse::<u16>().is_ok() =>
        {
            Ok(s.to_string())
        }
        _ => Err(format!(
            "`{s}` is not HOST:PORT (localhost:7878, 0.0.0.0:7878, [::1]:7878)"
        )),
    }
}

/// The longest duration a flag takes: a year (`1y`). Longer is a typo
/// (`99999999999s`, `1e30`), and deadlines that far overflow the clock.
pub const MAX_DURATION: Duration = Duration::from_secs(31_557_600);

/// A token or password: anything but empty (an empty `--token` or
/// `PUBCAT_TOKEN=` is a mistake, not a token).
fn secret(s: &str) -> Result<Secret, String> {
    if s.is_empty() {
        return Err("a token cannot be empty (is PUBCAT_TOKEN set to nothing?)".to_string());
    }
    Ok(Secret::new(s.to_string()))
}

/// `30s`, `1m30s`, `500ms`; a bare number is seconds. At most a year.
fn rfc3339(s: &str) -> Result<std::time::SystemTime, String> {
    let t = chrono::DateTime::parse_from_rfc3339(s)
        .map_err(|e| format!("not an RFC 3339 time like 2026-12-05T10:00:00Z: {e}"))?;
    let t: std::time::SystemTime = t.with_timezone(&chrono::Utc).into();
    if t < std::time::SystemTime::now() {
        return Err("that time has passed".into());
    }
    Ok(t)
}

/// The most addresses `--bind` takes (a /16).
const MOST_SOURCE_ADDRESSES: usize = 1 << 16;

/// `--bind`'s addresses (one value, so a newtype: clap takes a `Vec` for
/// a flag given many times).
#[derive(Clone, Debug, PartialEq)]
pub struct SourceAddresses(pub Vec<std::net::IpAddr>);

/// `--bind`: addresses and IPv4 CIDR blocks, comma-separated (a block's
/// network and broadcast addresses left out, but for /31 and /32).
fn source_addresses(s: &str) -> Result<SourceAddresses, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('/') {
            None => out.push(
                part.parse()
                    .map_err(|_| format!("`{part}` is not an IP address"))?,
            ),
            Some((ip, bits)) => {
                let ip: std::net::Ipv4Addr = ip
                    .parse()
                    .map_err(|_| format!("`{part}` is not an IPv4 block like 127.0.0.0/28 (list IPv6 addresses one by one)"))?;
                let bits: u32 = bits
                    .parse()
                    .ok()
                    .filter(|b| *b <= 32)
                    .ok_or_else(|| format!("`{part}`: the prefix length must be 0 to 32"))?;
                let size = 1u64 << (32 - bits);
                let first = u64::from(u32::from(ip)) & !(size - 1);
                let (from, to) = if size > 2 {
                    (first + 1, first + size - 1)
                } else {
                    (first, first + size)
                };
                if (to - from) as usize + out.len() > MOST_SOURCE_ADDRESSES {
                    return Err(format!(
                        "`{part}` is more than {MOST_SOURCE_ADDRESSES} addresses"
                    ));
                }
                out.extend(
                    (from..to).map(|a| std::net::IpAddr::from(std::net::Ipv4Addr::from(a as u32))),
                );
            }
        }
    }
    if out.is_empty() {
        return Err("no addresses".into());
    }
    if out.len() > MOST_SOURCE_ADDRESSES {
        return Err(format!("more than {MOST_SOURCE_ADDRESSES} addresses"));
    }
    Ok(SourceAddresses(out))
}

fn shard(s: &str) -> Result<Shard, String> {
    let (i, n) = s
        .split_once('/')
        .ok_or("not I/N, e.g. 0/3 for the first of three shards")?;
    let index: usize = i
        .trim()
        .parse()
        .map_err(|_| format!("`{i}` is not a shard number (0, 1, ...)"))?;
    let count: usize = n
        .trim()
        .parse()
        .map_err(|_| format!("`{n}` is not a number of shards"))?;
    if count == 0 || count > 65535 {
        return Err("the number of shards must be between 1 and 65535".into());
    }
    if index >= count {
        return Err(format!(
            "shard {index} of {count}: shards count from 0, so the last is {}",
            count - 1
        ));
    }
    Ok(Shard { index, count })
}

fn gate(s: &str) -> Result<Gate, String> {
    Gate::parse(s)
}

pub fn duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let d = match s.parse::<f64>() {
        Ok(secs) if !(secs.is_finite() && secs >= 0.0) => {
            return Err(format!("`{s}` is not a duration"));
        }
        Ok(secs) if secs > MAX_DURATION.as_secs_f64() => None,
        Ok(secs) => Some(Duration::from_secs_f64(secs)),
        Err(_) => Some(
            humantime::parse_duration(s)
                .map_err(|e| format!("`{s}` is not a duration like 30s, 500ms or 2m: {e}"))?,
        ),
    };
    d.filter(|d| *d <= MAX_DURATION)
        .ok_or_else(|| format!("`{s}` is longer than a year, the longest duration pubcat takes"))
}

/// `MIN..MAX` of [`duration`]s (`200ms..600ms`, `1s..2s`), or one
/// duration for both.
pub fn duration_range(s: &str) -> Result<Span, String> {
    let (min, max) = match s.split_once("..") {
        Some((min, max)) => (duration(min)?, duration(max)?),
        None => {
            let d = duration(s)?;
            (d, d)
        }
    };
    if min > max {
        return Err(format!("`{s}`: MIN is more than MAX"));
    }
    Ok(Span { min, max })
}

/// A `--poll-timeout`: a long-poll held for less than a second is not one,
/// and one given no time at all (0) never gets its answer.
fn poll_timeout(s: &str) -> Result<Duration, String> {
    at_least(
        s,
        Duration::from_secs(1),
        "a long-poll needs at least 1s to be answered",
    )
}

/// A `--backoff-min`: without a wait, a server that is down would be
/// asked again as fast as the machine can.
fn backoff_min(s: &str) -> Result<Duration, String> {
    at_least(
        s,
        Duration::from_millis(10),
        "at least 10ms, or a server that is down is hammered with reconnects",
    )
}

/// A [`duration`] of `min` or more; shorter is refused, saying `why`.
fn at_least(s: &str, min: Duration, why: &str) -> Result<Duration, String> {
    let d = duration(s)?;
    if d < min {
        return Err(format!("`{s}` is too short: {why}"));
    }
    Ok(d)
}

/// Messages per second: 0 (as fast as possible), or at least one a year
/// (a slower rate waits longer than any duration pubcat takes).
/// `--rate`: one rate, or a ramp's `A..B`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateArg {
    pub from: f64,
    pub to: Option<f64>,
}

fn rate_range(s: &str) -> Result<RateArg, String> {
    match s.split_once("..") {
        Some((a, b)) => Ok(RateArg {
            from: per_second(a)?,
            to: Some(per_second(b)?),
        }),
        None => Ok(RateArg {
            from: per_second(s)?,
            to: None,
        }),
    }
}

pub fn per_second(s: &str) -> Result<f64, String> {
    let rate: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of messages per second"))?;
    if !(rate.is_finite() && rate >= 0.0) {
        return Err(format!(
            "`{s}` must be 0 (as fast as possible) or a positive number of messages per second"
        ));
    }
    if rate > 0.0 && 1.0 / rate > MAX_DURATION.as_secs_f64() {
        return Err(format!(
            "`{s}` is less than one message a year: use 0 for as fast as possible"
        ));
    }
    Ok(rate)
}

/// `65536`, `64K`, `16M`, `1G` (binary multiples).
pub fn byte_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let mult: usize = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'B' => 1,
                _ => return Err(format!("`{s}`: unknown size suffix (use K, M or G)")),
            };
            (&t[..i], mult)
        }
        _ => (t, 1),
    };
    num.trim()
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("`{s}` is not a size like 65536, 64K or 16M"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn source_addresses_are_listed_or_a_block() {
        let ips = |s: &str| -> Vec<String> {
            source_addresses(s)
                .unwrap()
                .0
                .iter()
                .map(|i| i.to_string())
                .collect()
        };
        assert_eq!(ips("127.0.0.2, 127.0.0.3"), ["127.0.0.2", "127.0.0.3"]);
        assert_eq!(ips("127.0.0.0/30"), ["127.0.0.1", "127.0.0.2"]);
        assert_eq!(ips("10.0.0.7/32"), ["10.0.0.7"]);
        assert_eq!(ips("::1"), ["::1"]);
        for bad in ["127.0.0.0/8", "::1/64", "127.0.0.1/33", "nonsense", ","] {
            assert!(source_addresses(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_and_sizes_parse() {
        assert_eq!(duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(duration("soon").is_err());
        assert!(duration("-1").is_err());
        assert_eq!(duration("1y"), Ok(MAX_DURATION));
        for long in [
            "99999999999s",
            "1e30",
            "18446744073709551615s",
            "366d",
            "NaN",
            "inf",
        ] {
            assert!(duration(long).is_err(), "{long}");
        }
        assert!(poll_timeout("0").is_err() && poll_timeout("1s").is_ok());
        assert!(backoff_min("0").is_err() && backoff_min("10ms").is_ok());
        assert_eq!(per_second("0"), Ok(0.0));
        assert_eq!(per_second("2.5"), Ok(2.5));
        for bad in ["NaN", "-1", "inf", "1e-300", "fast"] {
            assert!(per_second(bad).is_err(), "{bad}");
        }
        assert_eq!(byte_size("64K"), Ok(65536));
        assert_eq!(byte_size("16M"), Ok(16 << 20));
        assert_eq!(byte_size("100"), Ok(100));
        assert!(byte_size("0").is_err());
        assert!(byte_size("12Q").is_err());
    }

    #[test]
    fn duration_ranges_parse() {
        let ms = Duration::from_millis;
        let span = |min, max| Ok(Span { min, max });
        assert_eq!(duration_range("200ms..600ms"), span(ms(200), ms(600)));
        assert_eq!(duration_range(" 1s .. 1.5 "), span(ms(1000), ms(1500)));
        assert_eq!(duration_range("0..50ms"), span(ms(0), ms(50)));
        assert_eq!(duration_range("500ms"), span(ms(500), ms(500)));
        assert_eq!(duration_range("2s..2s"), span(ms(2000), ms(2000)));
        for bad in ["600ms..200ms", "..1s", "1s..", "soon..later", "1s...2s", ""] {
            assert!(duration_range(bad).is_err(), "{bad}");
        }
    }
}
