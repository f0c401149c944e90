// The socket.io-client side of benches/socketio.rs: connect, ask the server
// for N "tick" events (the "flood" event), count them, exit after the Nth.
// It only counts (no output per event), the least work a consumer can do.
//
//   node bench.js URL N websocket|polling
// Prints "received N last SEQ" on stdout when done.
"use strict";
const { io } = require("socket.io-client");

const [url, n, transport] = process.argv.slice(2);
const want = Number(n);
const socket = io(url, { transports: [transport], reconnection: false, forceNew: true, timeout: 10000 });
let got = 0;
let last = 0;
socket.on("tick", (tick) => {
  got++;
  last = tick.seq;
  if (got === want) {
    console.log(`received ${got} last ${last}`);
    socket.disconnect();
    process.exit(0);
  }
});
socket.on("connect", () => socket.emit("flood", want));
socket.on("connect_error", (e) => { console.error(`bench.js: ${e.message}`); process.exit(1); });
