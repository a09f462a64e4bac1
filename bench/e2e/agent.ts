// Traffic helpers the harness runs inside a host namespace (`ip netns exec NS node agent.js ...`):
//   frames  --if IF --src-mac M --dst-mac M --src IP --dst IP --pps N --seconds S
//           60-byte UDP frames (64 on the wire) written to IF through AF_PACKET at N per second
//   flows   --net A.B.C.D --port P --count N --rate R         N UDP packets to N distinct addresses
//   sample  --if IFNAME --seconds S --max-seconds M           rx_packets of IFNAME over time, for
//           at least S and at most M seconds, ending once the counter has been still for 1 s
// Each prints one JSON line on stdout when done. Times are process.hrtime (CLOCK_MONOTONIC, shared
// by all namespaces), in nanoseconds as numbers.
import dgram from "node:dgram";
import { AfPacketPort } from "../../src/datapath/afpacket-port.js";
import { eth, ipv4, udp } from "../../test/support/frames.js";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const now = () => Number(process.hrtime.bigint());

function args() {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      dst: { type: "string" },
      net: { type: "string" },
      port: { type: "string" },
      seconds: { type: "string" },
      "max-seconds": { type: "string" },
      count: { type: "string" },
      rate: { type: "string" },
      if: { type: "string" },
      "src-mac": { type: "string" },
      "dst-mac": { type: "string" },
      src: { type: "string" },
      pps: { type: "string" },
    },
  });
  const num = (name: keyof typeof values) => {
    const v = Number(values[name]);
    if (!Number.isFinite(v)) throw new Error(`--${name} must be a number`);
    return v;
  };
  return { mode: positionals[0], values, num };
}

function ipToInt(ip: string): number {
  return ip.split(".").reduce((acc, part) => (acc << 8) | Number(part), 0) >>> 0;
}
const intToIp = (n: number) => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join(".");

/**
 * A fixed offered rate, paced every millisecond and sent in batches (sendmmsg), so the generator
 * is cheap enough to offer more than the switches deliver; a UDP socket sending one datagram per
 * system call was the limit here. Frames the ring refuses are counted as not sent.
 */
function frames(
  ifname: string,
  srcMac: string,
  dstMac: string,
  src: string,
  dst: string,
  pps: number,
  seconds: number,
): void {
  const frame = eth(
    { src: srcMac, dst: dstMac, type: 0x0800 },
    ipv4({ proto: 17, src, dst }, udp({ src, dst, sport: 9999, dport: 9 }, new Array(18).fill(0))),
  );
  const port = new AfPacketPort(1, ifname, { ringBytes: 1 << 20 });
  port.open(() => {});
  const start = now();
  const end = start + seconds * 1e9;
  let due = 0;
  let sent = 0;
  let refused = 0;
  const tick = () => {
    const t = now();
    due = Math.min(Math.floor(((t - start) / 1e9) * pps), Math.ceil(seconds * pps));
    // Never more than ~10 ms of frames at once, so a stall is not followed by a burst.
    const n = Math.min(due - sent - refused, Math.ceil(pps / 100));
    for (let i = 0; i < n; i++) {
      if (port.send(frame, frame.length)) sent++;
      else refused++;
    }
    port.flush();
    if (t < end) setImmediate(tick);
    else {
      port.close();
      print({ sent, refused, seconds: (t - start) / 1e9 });
    }
  };
  tick();
}

/** Packet i goes to base+i: every packet is a new 12-tuple for the switch. Paced at `rate`. */
function flows(net: string, port: number, count: number, rate: number): void {
  const socket = dgram.createSocket("udp4");
  const payload = Buffer.alloc(18, 0x46);
  const base = ipToInt(net);
  socket.on("error", () => {});
  socket.bind(0, () => {
    const start = now();
    let sent = 0;
    const tick = () => {
      const due = Math.min(count, Math.floor(((now() - start) / 1e9) * rate) + 1);
      for (; sent < due; sent++) socket.send(payload, port, intToIp(base + sent));
      if (sent < count) setImmediate(tick);
      else {
        const end = now();
        socket.close(() => print({ sent, startNs: start, endNs: end }));
      }
    };
    tick();
  });
}

/** Records (time, rx_packets) each time the counter moves, polling every ~1 ms. */
function sample(ifname: string, minSeconds: number, maxSeconds: number): void {
  const path = `/sys/class/net/${ifname}/statistics/rx_packets`;
  const read = () => Number(readFileSync(path, "utf8"));
  const start = now();
  const startRx = read();
  let last = startRx;
  let lastChange = start;
  const changes: [number, number][] = [];
  process.stdout.write("ready\n");
  const timer = setInterval(() => {
    const t = now();
    const rx = read();
    if (rx !== last) {
      changes.push([t, (last = rx)]);
      lastChange = t;
    }
    const quiet = t - start > minSeconds * 1e9 && t - lastChange > QUIET_NS;
    if (quiet || t - start > maxSeconds * 1e9) {
      clearInterval(timer);
      print({ startNs: start, startRx, changes });
    }
  }, 1);
}

const QUIET_NS = 1e9;

function print(result: object): void {
  process.stdout.write(JSON.stringify(result) + "\n");
}

const { mode, values, num } = args();
if (mode === "frames")
  frames(
    values.if!,
    values["src-mac"]!,
    values["dst-mac"]!,
    values.src!,
    values.dst!,
    num("pps"),
    num("seconds"),
  );
else if (mode === "flows") flows(values.net!, num("port"), num("count"), num("rate"));
else if (mode === "sample") sample(values.if!, num("seconds"), num("max-seconds"));
else {
  console.error("usage: agent.js frames|flows|sample ...");
  process.exit(2);
}
