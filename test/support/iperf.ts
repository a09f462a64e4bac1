// iperf3 (TCP, one stream) between two hosts of a topology, through whatever switch joins them:
// the server is started in host `to`, the client runs in host `from` for `seconds`.
import { expect } from "vitest";
import type { Topology } from "./netns.js";

interface IperfJson {
  end?: { sum_received?: { bytes: number; bits_per_second: number } };
  error?: string;
}

/** Bytes received; prints the rate with `label`. */
export async function iperfBytes(
  topo: Topology,
  seconds: number,
  label: string,
  from = 0,
  to = 1,
): Promise<number> {
  const server = topo.spawnIn(to, "iperf3", ["-s", "-1"]);
  await server.waitListening(5201);
  const r = await topo.runIn(
    from,
    `iperf3 -c ${topo.hosts[to].ip} -t ${seconds} -J --connect-timeout 3000`,
    (seconds + 10) * 1000,
  );
  server.kill();
  const j = JSON.parse(r.stdout) as IperfJson;
  expect(j.error).toBeUndefined();
  const got = j.end?.sum_received;
  console.log(
    `iperf3 -t ${seconds} via ${label}: ${((got?.bits_per_second ?? 0) / 1e6).toFixed(0)} Mbit/s`,
  );
  return got?.bytes ?? 0;
}
