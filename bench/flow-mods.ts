// The switch's cost per FLOW_MOD in bulk (a controller pushing a table), with its channel's input
// budget (50 messages per session per turn, the default) and without one, side by side: per
// measurement a fresh switch process (so that no measurement inherits another's heap) runs the
// switch, a client process sends N pre-encoded FLOW_MOD ADDs and a BARRIER in one go, and the
// switch process reports its own CPU time from the client's first byte to the BARRIER_REPLY.
// Run: npx tsc -p . && node dist/bench/flow-mods.js [flows, default 200000] [rounds, default 6]
import { fork } from "node:child_process";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { encodeMessage } from "../src/openflow/of10/codec.js";
import { OFPT } from "../src/openflow/of10/constants.js";
import { dlSrcFlowMod } from "./flow-mod-load.js";
import { MessageFramer } from "../src/ofchannel/framer.js";
import { parsePassiveTarget } from "../src/ofchannel/targets.js";
import { OpenFlowSwitch } from "../src/switch/switch.js";

/** The client: HELLO, then every FLOW_MOD and a BARRIER in one write; reports to the parent. */
async function client(port: number, n: number): Promise<void> {
  const parts: Buffer[] = [];
  for (let i = 0; i < n; i++) parts.push(encodeMessage(dlSrcFlowMod(i)));
  parts.push(encodeMessage({ type: OFPT.BARRIER_REQUEST, xid: 0xfffffff0 }));
  const all = Buffer.concat(parts);
  const socket = connect({ port, host: "127.0.0.1" });
  await new Promise((r) => socket.once("connect", r));
  socket.write(encodeMessage({ type: OFPT.HELLO, xid: 1, version: 1, body: Buffer.alloc(0) }));
  const framer = new MessageFramer();
  socket.on("data", (chunk: Buffer) =>
    framer.feed(chunk, (out) => {
      if (out.kind !== "message") return;
      if (out.data[1] === OFPT.HELLO) {
        process.send!("go");
        socket.write(all);
      } else if (out.data[1] === OFPT.BARRIER_REPLY) {
        process.send!("done");
        socket.destroy();
        process.exit(0);
      }
    }),
  );
}

/** One measurement: CPU microseconds of the switch per FLOW_MOD, and the wall time. */
async function measure(n: number, inputBudget: number): Promise<{ us: number; ms: number }> {
  const sw = new OpenFlowSwitch({
    log: pino({ level: "silent" }),
    listeners: [{ ...parsePassiveTarget("ptcp:0"), role: "primary" }],
    failMode: "secure",
    maxFlows: n + 10,
    inputBudget,
  });
  await sw.start();
  const self = fileURLToPath(import.meta.url);
  const child = fork(self, ["--client", String(sw.connmgr.listenPorts()[0]), String(n)]);
  let t0 = 0;
  let c0 = process.cpuUsage();
  await new Promise<void>((resolve, reject) => {
    child.on("message", (m) => {
      if (m === "go") {
        t0 = performance.now();
        c0 = process.cpuUsage();
      } else if (m === "done") resolve();
    });
    child.on("exit", (code) => (code === 0 ? undefined : reject(new Error(`client ${code}`))));
  });
  const c = process.cpuUsage(c0);
  const ms = performance.now() - t0;
  if (sw.table.activeCount !== n) throw new Error(`${sw.table.activeCount} of ${n} flows`);
  await sw.stop();
  return { us: (c.user + c.system) / n, ms };
}

/** Runs measure() in a fresh process. */
function measureApart(n: number, inputBudget: number): Promise<{ us: number; ms: number }> {
  const child = fork(fileURLToPath(import.meta.url), ["--switch", String(n), String(inputBudget)]);
  return new Promise((resolve, reject) => {
    child.once("message", (m) => resolve(m as { us: number; ms: number }));
    child.once("exit", (code) => reject(new Error(`switch process exited with ${code}`)));
  });
}

if (process.argv[2] === "--client") {
  await client(Number(process.argv[3]), Number(process.argv[4]));
} else if (process.argv[2] === "--switch") {
  process.send!(await measure(Number(process.argv[3]), Number(process.argv[4])));
  process.exit(0);
} else {
  const n = Number(process.argv[2] ?? 200_000);
  const rounds = Number(process.argv[3] ?? 6);
  const budgets: [string, number][] = [
    ["budget 50 (default)", 50],
    ["no budget", Number.MAX_SAFE_INTEGER],
  ];
  const results = new Map<string, { us: number; ms: number }[]>(budgets.map(([k]) => [k, []]));
  for (let r = 1; r <= rounds; r++) {
    // Alternate the order, so that neither setting always runs second.
    for (const [name, budget] of r % 2 === 1 ? budgets : [...budgets].reverse()) {
      const m = await measureApart(n, budget);
      results.get(name)!.push(m);
      console.log(
        `round ${r} ${name}: ${m.us.toFixed(2)} µs CPU per FLOW_MOD, ${m.ms.toFixed(0)} ms`,
      );
    }
  }
  const median = (v: number[]) => {
    const s = [...v].sort((a, b) => a - b);
    return (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2;
  };
  for (const [name, ms] of results) {
    const us = ms.map((m) => m.us);
    console.log(
      `${name}: ${n} FLOW_MODs, CPU per FLOW_MOD median ${median(us).toFixed(2)} µs ` +
        `[${Math.min(...us).toFixed(2)}–${Math.max(...us).toFixed(2)}], wall median ` +
        `${median(ms.map((m) => m.ms)).toFixed(0)} ms`,
    );
  }
}
