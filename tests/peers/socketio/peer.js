// The official socket.io-client as a peer of pubcat in tests/interop/socketio.rs.
//
//   node peer.js receive URL ROOM N   join ROOM (emit "subscribe" with an ack),
//                                     print "ready", then one line per "message"
//                                     event: its data argument as JSON, or
//                                     "b64:<base64>" for binary; exit after N
//   node peer.js publish URL ROOM DATA   emit "publish"(ROOM, DATA) with an ack
//                                     until the server says a receiver got it;
//                                     DATA is JSON, or "b64:<base64>" for bytes
//
// URL is the namespace URL (http://127.0.0.1:18087/chat); TRANSPORTS (env,
// comma-separated) limits the client's transports.
"use strict";
const { io } = require("socket.io-client");

const [mode, url, room, arg] = process.argv.slice(2);
const transports = process.env.TRANSPORTS ? process.env.TRANSPORTS.split(",") : undefined;
const socket = io(url, { reconnection: false, forceNew: true, timeout: 10000, ...(transports ? { transports } : {}) });
const fail = (why) => { console.error(`peer.js: ${why}`); process.exit(1); };
socket.on("connect_error", (e) => fail(`connect_error: ${e.message}`));
setTimeout(() => fail("timed out after 60s"), 60000).unref();

const show = (d) => (Buffer.isBuffer(d) ? `b64:${d.toString("base64")}` : JSON.stringify(d));
const parse = (s) => (s.startsWith("b64:") ? Buffer.from(s.slice(4), "base64") : JSON.parse(s));

socket.on("connect", async () => {
  if (mode === "receive") {
    let left = Number(arg);
    socket.on("message", (channel, data) => {
      if (channel !== room) return;
      console.log(show(data));
      if (--left === 0) { socket.disconnect(); process.exit(0); }
    });
    await socket.emitWithAck("subscribe", room);
    console.log("ready");
  } else if (mode === "publish") {
    const data = parse(arg);
    for (let i = 0; i < 600; i++) {
      const r = await socket.emitWithAck("publish", room, data);
      if (r.receivers > 0) { console.log(JSON.stringify(r)); socket.disconnect(); process.exit(0); }
      await new Promise((ok) => setTimeout(ok, 50));
    }
    fail(`nobody in room ${room}`);
  } else {
    fail(`unknown mode ${mode}`);
  }
});
