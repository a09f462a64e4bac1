// Load generator for bench/port-io and bench/e2e: sends 60-byte UDP/IPv4 frames (64 on the wire)
// out of one interface through AF_PACKET sendmmsg for `seconds`, as fast as it can or, with
// --pps N, at a fixed offered rate (paced every millisecond, at most 10 ms of frames at once so
// a stall is not followed by a burst), then prints {"sent": N, "dropped": D, "seconds": S}.
// --count N stops after N frames (sent as fast as the socket takes them unless --pps).
// Run it inside a host's namespace:
//   ip netns exec NS node dist/bench/frame-blast.js --if IF --src-mac M --dst-mac M \
//     --src-ip A --dst-ip A --seconds 5 [--pps 400000]
import { parseArgs } from "node:util";
import { AfPacketPort } from "../src/datapath/afpacket-port.js";
import { eth, ipv4, udp } from "../test/support/frames.js";

const { values: o } = parseArgs({
  options: {
    if: { type: "string" },
    "src-mac": { type: "string" },
    "dst-mac": { type: "string" },
    "src-ip": { type: "string" },
    "dst-ip": { type: "string" },
    seconds: { type: "string", default: "5" },
    pps: { type: "string", default: "0" },
    count: { type: "string", default: "0" },
  },
});
if (!o.if || !o["src-mac"] || !o["dst-mac"] || !o["src-ip"] || !o["dst-ip"])
  throw new Error("frame-blast: --if --src-mac --dst-mac --src-ip --dst-ip are required");

const src = o["src-ip"];
const dst = o["dst-ip"];
// UDP to the discard port, payload 18 bytes: 14 + 20 + 8 + 18 = 60 bytes.
const frame = eth(
  { src: o["src-mac"], dst: o["dst-mac"], type: 0x0800 },
  ipv4({ proto: 17, src, dst }, udp({ src, dst, sport: 9999, dport: 9 }, new Array(18).fill(0))),
);
// Sends from this thread, as before the transmit threads: a generator paces itself, and a
// thread of its own would take CPU from the switch under test on a 2-core machine.
const port = new AfPacketPort(1, o.if, { batchSize: 16, ringBytes: 1 << 20, txThread: false });
port.open(() => {});
const seconds = Number(o.seconds);
const pps = Number(o.pps);
const count = Number(o.count);
const start = performance.now();
const deadline = start + seconds * 1000;
let queued = 0;

function burst(): void {
  const t = performance.now();
  let n =
    pps > 0
      ? Math.min(Math.floor(((t - start) / 1000) * pps) - queued, Math.ceil(pps / 100))
      : 2048;
  if (count > 0) n = Math.min(n, count - queued);
  for (let i = 0; i < n; i++) port.send(frame, frame.length);
  queued += Math.max(n, 0);
  port.flush();
  if (t < deadline && (count === 0 || queued < count)) setImmediate(burst);
  else {
    const elapsed = (t - start) / 1000;
    port.close(); // sends what is queued; the counters are final after it
    const c = port.counters;
    console.log(JSON.stringify({ sent: c.txPackets, dropped: c.txDropped, seconds: elapsed }));
  }
}
burst();
