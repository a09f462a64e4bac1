// A switch port (host 2's switch end) set down and up every `periodMs` under iperf3 load from
// host 1 to host 2: what forwarding, and the switch process's descriptors and memory (when it
// has a process: `pid`), look like before, during and after. Shared by the
// flap test (test/daemon/port-flap.integration.test.ts) and its 60-s bench (bench/port-flap.ts).
import { runSync, type Topology } from "./netns.js";
import { fdCount, iperf, msUntilPing, rssKiB } from "./switch-lab.js";
import { sleep } from "./wait.js";

export interface FlapResult {
  flaps: number;
  /** The switch's open descriptors after warm-up and after the run (link up again); 0 without a process. */
  fdsBefore: number;
  fdsAfter: number;
  /** Its resident memory (KiB) after warm-up, at the end, and the largest sample. */
  rssBefore: number;
  rssAfter: number;
  rssMax: number;
  /** iperf3 running through the whole run: bytes per 1-s interval. */
  loadIntervals: number[];
  loadError?: string;
  /** After the last flap: ms until ping came back, and a fresh 2-s iperf3 run. */
  pingBackMs: number;
  finalBps: number;
}

export async function flapUnderLoad(
  topo: Topology,
  pid: number | undefined,
  seconds: number,
  periodMs = 2000,
): Promise<FlapResult> {
  const fds = () => (pid === undefined ? 0 : fdCount(pid));
  const rss = () => (pid === undefined ? 0 : rssKiB(pid));
  const s2 = topo.hosts[1].switchIf;
  // Warm-up: ARP, the JIT and the heap settle before the first sample.
  await msUntilPing(topo);
  await iperf(topo, 2);
  const fdsBefore = fds();
  const rssBefore = rss();
  let rssMax = rssBefore;
  // The load outlives the flapping by a few seconds, so its end shows forwarding again.
  const load = iperf(topo, seconds + 4);
  await sleep(1000); // connected before the first flap
  const end = performance.now() + seconds * 1000;
  let flaps = 0;
  while (performance.now() < end) {
    runSync("ip", ["link", "set", s2, "down"]);
    await sleep(periodMs / 2);
    runSync("ip", ["link", "set", s2, "up"]);
    flaps++;
    await sleep(periodMs / 2);
    rssMax = Math.max(rssMax, rss());
  }
  const run = await load;
  const pingBackMs = await msUntilPing(topo);
  // A server of its own: the load's may still be finishing a run that TCP's backoff stalled.
  const server = topo.spawnIn(1, "iperf3", ["-s", "-1", "-p", "5299"]);
  await server.waitListening(5299);
  const final = await iperf(topo, 2, 5299);
  server.kill();
  await sleep(500);
  return {
    flaps,
    fdsBefore,
    fdsAfter: fds(),
    rssBefore,
    rssAfter: rss(),
    rssMax: Math.max(rssMax, rss()),
    loadIntervals: run.intervals,
    loadError: run.error,
    pingBackMs,
    finalBps: final.bps,
  };
}
