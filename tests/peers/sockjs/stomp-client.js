// STOMP over SockJS with sockjs-client 1.6.1, the reference SockJS client:
// pubcat's tests run it against `pubcat serve`'s /_/sockjs endpoint.
//
//   node stomp-client.js BASE_URL TRANSPORT DESTINATION
//
// Connects with only TRANSPORT allowed (websocket, xhr-streaming,
// xhr-polling), sends CONNECT, SUBSCRIBEs to DESTINATION (with a receipt),
// then SENDs one message there; prints the body of the MESSAGE that comes
// back, DISCONNECTs with a receipt and prints "disconnected". Anything else
// (an ERROR frame, a close, 15 s passing) exits 1 with the reason.
"use strict";
const SockJS = require("sockjs-client");

const [base, transport, destination] = process.argv.slice(2);
if (!base || !transport || !destination) {
  console.error("usage: node stomp-client.js BASE_URL TRANSPORT DESTINATION");
  process.exit(2);
}
const fail = (why) => { console.error(`stomp-client: ${why}`); process.exit(1); };
setTimeout(() => fail("timed out"), 15000).unref();

const frame = (command, headers, body = "") =>
  command + "\n" + Object.entries(headers).map(([k, v]) => `${k}:${v}`).join("\n") + "\n\n" + body + "\0";
const parse = (text) => {
  const [head, ...rest] = text.replace(/^\n+/, "").split("\n\n");
  const [command, ...lines] = head.split("\n");
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1)]));
  return { command, headers, body: rest.join("\n\n").replace(/\0\n*$/, "") };
};

const sock = new SockJS(base, null, { transports: [transport] });
sock.onopen = () => {
  if (sock.transport !== transport) fail(`opened over ${sock.transport}, not ${transport}`);
  sock.send(frame("CONNECT", { "accept-version": "1.2", host: "/" }));
};
sock.onmessage = (e) => {
  if (e.data === "\n") return; // a heart-beat
  const f = parse(e.data);
  if (f.command === "CONNECTED") {
    sock.send(frame("SUBSCRIBE", { id: "s", destination, receipt: "subscribed" }));
  } else if (f.command === "RECEIPT" && f.headers["receipt-id"] === "subscribed") {
    sock.send(frame("SEND", { destination, "content-type": "text/plain" }, `hello over ${transport}`));
  } else if (f.command === "MESSAGE") {
    console.log(f.body);
    sock.send(frame("DISCONNECT", { receipt: "bye" }));
  } else if (f.command === "RECEIPT" && f.headers["receipt-id"] === "bye") {
    console.log("disconnected");
    sock.close();
    process.exit(0);
  } else if (f.command === "ERROR") {
    fail(`ERROR ${f.headers.message}: ${f.body}`);
  }
};
sock.onclose = (e) => fail(`closed ${e.code} ${e.reason}`);
