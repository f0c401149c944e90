// Socket.IO v4 test peer for the pub/sub CLI.
//
// pubcat's copy of shared/peers/socketio/server.js, extended with the
// "/private" namespace (a middleware that refuses a CONNECT whose auth is not
// {"token":"s3cret"}, so CONNECT_ERROR can be tested) and the "flood" event
// (the benchmark's source of many small events, sent fast enough that the
// server is not what is measured: see ticks() and corkFlushes()).
//
// Listens on 127.0.0.1:$SOCKETIO_PORT (default 18087), path /socket.io/,
// transports: HTTP long-polling and websocket (polling -> websocket upgrade, or
// websocket straight away). Namespaces "/", "/chat" and "/private" behave the
// same, except that "/private" first checks the CONNECT's auth payload: anything
// but {"token":"s3cret"} is refused with CONNECT_ERROR
// {"message":"not authorized","data":{"reason":"bad token"}}:
//
//   client -> server events (every one takes an optional acknowledgement callback)
//     subscribe   (channel)        join room <channel>            ack {ok, channel}
//     unsubscribe (channel)        leave room <channel>           ack {ok, channel}
//     publish     (channel, data)  -> "message"(channel, data) to every socket in
//                                  room <channel> of this namespace   ack {ok, receivers}
//     join / leave (room)          aliases of subscribe / unsubscribe
//     echo        (...args)        ack(...args) if an ack is asked, else emit "echo"(...args)
//     broadcast   (data)           -> "broadcast"(data) to every socket of the namespace
//                                  (sender included)               ack {ok, receivers}
//     ask         (question)       server calls the client: emitWithAck("question", q);
//                                  the client's answer comes back as ack {answer}
//     flood       (count)          sends "tick"({seq, text}) count times (at most
//                                  1e6) to this socket, seq 1..count, in batches
//                                  of 1000; ack {ok, sent} after the last one is
//                                  queued (the benchmark's source: see ticks())
//   server -> client on connect: "welcome" {id, nsp, transport}
//
//   HTTP: GET /health -> "ok";  POST /publish/<channel>[?ns=/chat][&event=message]
//         body = data (JSON if Content-Type is application/json, else a string)
//         -> emits event(channel, data) to room <channel>; answers {"receivers": n}
//
// Env: SOCKETIO_PORT, SOCKETIO_HOST (127.0.0.1), SOCKETIO_RECOVERY=1 turns on
// connectionStateRecovery (then broadcasts carry an extra offset argument).
"use strict";
const http = require("http");
const { Server } = require("socket.io");

const PORT = Number(process.env.SOCKETIO_PORT || 18087);
const HOST = process.env.SOCKETIO_HOST || "127.0.0.1";
const NAMESPACES = ["/", "/chat", "/private"];

const httpServer = http.createServer(async (req, res) => {
  const url = new URL(req.url, `http://${req.headers.host || "localhost"}`);
  if (req.method === "GET" && url.pathname === "/health") {
    res.writeHead(200, { "Content-Type": "text/plain" });
    return res.end("ok\n");
  }
  const m = url.pathname.match(/^\/publish\/([^/]+)$/);
  if (req.method === "POST" && m) {
    const ns = url.searchParams.get("ns") || "/";
    if (!NAMESPACES.includes(ns)) {
      res.writeHead(404, { "Content-Type": "text/plain" });
      return res.end(`unknown namespace ${ns}\n`);
    }
    const chunks = [];
    for await (const c of req) chunks.push(c);
    let data = Buffer.concat(chunks).toString("utf8");
    if ((req.headers["content-type"] || "").startsWith("application/json")) {
      try { data = JSON.parse(data); } catch (e) {
        res.writeHead(400, { "Content-Type": "text/plain" });
        return res.end(`bad JSON: ${e.message}\n`);
      }
    }
    const channel = decodeURIComponent(m[1]);
    const nsp = io.of(ns);
    const receivers = (await nsp.in(channel).fetchSockets()).length;
    nsp.to(channel).emit(url.searchParams.get("event") || "message", channel, data);
    res.writeHead(200, { "Content-Type": "application/json" });
    return res.end(JSON.stringify({ ok: true, ns, channel, receivers }) + "\n");
  }
  // everything under /socket.io/ is handled by socket.io itself
  if (!url.pathname.startsWith("/socket.io/")) {
    res.writeHead(404, { "Content-Type": "text/plain" });
    res.end("not found; Socket.IO lives at /socket.io/\n");
  }
});

const io = new Server(httpServer, {
  path: "/socket.io/",
  transports: ["polling", "websocket"],
  allowUpgrades: true,
  cors: { origin: "*" },
  pingInterval: Number(process.env.SOCKETIO_PING_INTERVAL_MS || 25000),
  pingTimeout: Number(process.env.SOCKETIO_PING_TIMEOUT_MS || 20000),
  maxHttpBufferSize: 1e6,
  ...(process.env.SOCKETIO_RECOVERY === "1"
    ? { connectionStateRecovery: { maxDisconnectionDuration: 120000, skipMiddlewares: true } }
    : {}),
});

function reply(ack, value) {
  if (typeof ack === "function") ack(value);
}

// The "tick" packets of a flood, encoded once per namespace and count: what
// socket.emit("tick", {seq, text}) would write, made the way socket.io's own
// broadcast makes them (its encoder, and the websocket frame built once with
// ws's Sender.frame), so that the server is not the bottleneck of a receive
// benchmark. writeToEngine is the call the broadcast path uses to send them.
const WebSocket = require("ws"); // engine.io's websocket library, pinned by the lock
const floods = new Map();
function ticks(nsp, n) {
  const key = `${nsp} ${n}`;
  if (!floods.has(key)) {
    const packets = [];
    for (let seq = 1; seq <= n; seq++) {
      const [encoded] = io.encoder.encode({ type: 2, nsp, data: ["tick", { seq, text: "hello world" }] });
      const frame = WebSocket.Sender.frame(Buffer.from("4" + encoded), {
        readOnly: false, mask: false, rsv1: false, opcode: 1, fin: true,
      });
      packets.push({ encoded, opts: { wsPreEncodedFrame: frame } });
    }
    floods.set(key, packets);
  }
  return floods.get(key);
}

// engine.io writes each websocket frame with its own socket write, so a
// server sending many small events spends its time in syscalls and becomes
// the bottleneck of a receive benchmark (~90k events/s here, below what the
// clients can take). Corking the TCP socket while engine.io flushes its buffer
// makes those writes one writev; the frames and their bytes are unchanged.
function corkFlushes(conn) {
  if (conn.corked) return;
  conn.corked = true;
  const flush = conn.flush.bind(conn);
  conn.flush = () => {
    const tcp = conn.transport && conn.transport.socket && conn.transport.socket._socket;
    if (!tcp || typeof tcp.cork !== "function") return flush();
    tcp.cork();
    flush();
    process.nextTick(() => tcp.uncork());
  };
}

function wire(nsp) {
  nsp.on("connection", (socket) => {
    const log = (...a) => { if (process.env.SOCKETIO_VERBOSE) console.log(nsp.name, socket.id, ...a); };
    log("connect", socket.conn.transport.name);
    socket.conn.on("upgrade", (t) => log("upgrade", t.name));
    socket.emit("welcome", { id: socket.id, nsp: nsp.name, transport: socket.conn.transport.name });

    const join = (channel, ack) => {
      socket.join(String(channel));
      reply(ack, { ok: true, channel: String(channel) });
    };
    const leave = (channel, ack) => {
      socket.leave(String(channel));
      reply(ack, { ok: true, channel: String(channel) });
    };
    socket.on("subscribe", join);
    socket.on("join", join);
    socket.on("unsubscribe", leave);
    socket.on("leave", leave);

    socket.on("publish", async (channel, data, ack) => {
      if (typeof data === "function") { ack = data; data = undefined; }
      channel = String(channel);
      const receivers = (await nsp.in(channel).fetchSockets()).length;
      nsp.to(channel).emit("message", channel, data);
      reply(ack, { ok: true, receivers });
    });

    socket.on("broadcast", async (data, ack) => {
      const receivers = (await nsp.fetchSockets()).length;
      nsp.emit("broadcast", data);
      reply(ack, { ok: true, receivers });
    });

    socket.on("echo", (...args) => {
      const ack = typeof args[args.length - 1] === "function" ? args.pop() : null;
      if (ack) ack(...args);
      else socket.emit("echo", ...args);
    });

    socket.on("ask", async (question, ack) => {
      try {
        const answer = await socket.timeout(5000).emitWithAck("question", question);
        reply(ack, { ok: true, answer });
      } catch (e) {
        reply(ack, { ok: false, error: "client did not acknowledge within 5s" });
      }
    });

    socket.on("flood", (count, ack) => {
      const n = Math.min(1e6, Math.max(0, Math.floor(Number(count) || 0)));
      const packets = ticks(nsp.name, n);
      corkFlushes(socket.conn);
      let seq = 0;
      const batch = () => {
        const end = Math.min(n, seq + 1000);
        for (; seq < end; seq++) socket.client.writeToEngine(packets[seq].encoded, packets[seq].opts);
        if (seq < n && socket.connected) setImmediate(batch);
        else reply(ack, { ok: true, sent: seq });
      };
      batch();
    });

    socket.on("disconnect", (reason) => log("disconnect", reason));
  });
}

io.of("/private").use((socket, next) => {
  const auth = socket.handshake.auth || {};
  if (auth.token === "s3cret") return next();
  const err = new Error("not authorized");
  err.data = { reason: "bad token" };
  next(err);
});

NAMESPACES.forEach((n) => wire(io.of(n)));

httpServer.listen(PORT, HOST, () => {
  console.log(`socket.io ${require("socket.io/package.json").version} listening on http://${HOST}:${PORT}/socket.io/ (namespaces ${NAMESPACES.join(" ")})`);
});

const shutdown = () => { io.close(); httpServer.close(() => process.exit(0)); setTimeout(() => process.exit(0), 2000).unref(); };
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
