// Traffic helpers the harness runs inside a host namespace (`ip netns exec NS node agent.js ...`):
//   flows   --net A.B.C.D --port P --count N --rate R         N UDP packets to N distinct addresses
//   sample  --if IFNAME --seconds S --max-seconds M           rx_packets of IFNAME over time, for
//           at least S and at most M seconds, ending once the counter has been still for 1 s
// Each prints one JSON line on stdout when done. Times are process.hrtime (CLOCK_MONOTONIC, shared
// by all namespaces), in nanoseconds as numbers.
import dgram from "node:dgram";
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
if (mode === "flows") flows(values.net!, num("port"), num("count"), num("rate"));
else if (mode === "sample") sample(values.if!, num("seconds"), num("max-seconds"));
else {
  console.error("usage: agent.js flows|sample ...");
  process.exit(2);
}
