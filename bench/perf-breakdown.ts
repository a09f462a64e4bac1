// Where the CPU goes while one TCP stream (offloads off) crosses a switch: `perf record` of the
// whole machine during an iperf3 run on the e2e harness's topology, samples grouped by who
// (the switch's event loop, its transmit threads, iperf3's two ends, the kernel's softirq
// threads) and by what (the hosts' TCP/IP stacks, the packet sockets, the veth and device
// layer, wake-ups and scheduling, system call entry, socket buffer allocation, copies,
// JavaScript, ...). As root, with `perf` on PATH:
//   node dist/bench/perf-breakdown.js [--peers ofswitch,bridge] [--seconds 10]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { parseIperfTcp } from "./e2e/measure.js";
import { installForwarding } from "./e2e/ofctl.js";
import { inNs, run, sleep, Teardown, waitFor } from "./e2e/proc.js";
import { markdownTable } from "./e2e/report.js";
import {
  listening,
  startLinuxBridge,
  startOfswitch,
  type SwitchUnderTest,
} from "./e2e/switches.js";
import { createTopology, setOffloads, type Topology } from "./e2e/topology.js";

/** What a kernel or user symbol is doing, by name. First match wins. */
const CATEGORIES: [string, RegExp][] = [
  [
    "wake-ups, scheduling, futex",
    /^(finish_task_switch|__?schedule|try_to_wake_up|ttwu|__wake_up|wake_up|futex|_raw_spin_unlock_irqrestore|sock_def_(readable|write_space)|pick_next|enqueue_task|dequeue_task|update_curr|__cond_resched|select_task_rq|psi_|hrtimer|tick_|__x64_sys_futex|do_futex|raw_spin_rq)/,
  ],
  [
    "system call entry, iovecs",
    /^(entry_SYSCALL|do_syscall_64|syscall_|__x64_sys|__sys_|___sys_|____sys_|copy_msghdr|__import_iovec|import_iovec|__check_object_size|__get_user|sockfd_lookup|__fdget|fput|__fsnotify|exit_to_user|syscall_exit)/,
  ],
  [
    "packet sockets (AF_PACKET)",
    /^(packet_|tpacket_|__packet|prb_|run_filter|skb_set_owner_w|sock_wfree|sock_alloc_send|__skb_flow_dissect|skb_flow_dissect|sk_filter|bpf_)/,
  ],
  [
    "hosts' TCP/IP input and output",
    /^(tcp_|__tcp|ip_|__ip|ipv4_|inet_|__inet|raw_local_deliver|icmp|udp_|__udp|skb_copy_datagram|csum_|__skb_checksum|skb_checksum|dst_|rt_|fib_|__fib|nf_|sk_|__sk_|release_sock|lock_sock|bictcp|bbr_|cubictcp|skb_try_coalesce|skb_segment|__skb_gso|skb_mac_gso|inet_gso|tcp4_gso)/,
  ],
  [
    "veth, device and backlog layer",
    /^(veth_|__dev_|dev_|netif_|__netif|net_rx_action|process_backlog|napi_|__napi|eth_|validate_xmit|enqueue_to_backlog|rps_|__local_bh|local_bh|do_softirq|handle_softirqs|__do_softirq|__rcu|rcu_|br_|skb_defer|skb_scrub|__copy_skb|skb_push|skb_pull)/,
  ],
  [
    "socket buffers (alloc, free)",
    /^(kmem_cache|__kmem|kmalloc|__kmalloc|kfree|__alloc_skb|alloc_skb|__slab|slab_|skb_release|__kfree_skb|kfree_skb|consume_skb|napi_consume|__free_pages|free_unref|get_page|put_page|__build_skb|build_skb|skb_free|___slab|memcg_|obj_cgroup|mod_objcg|__mod_memcg|page_frag|skb_clone)/,
  ],
  [
    "copies",
    /(memcpy|memmove|memset|copy_user|_copy_from_iter|_copy_to_iter|copy_page|rep_movs|__pi_mem)/,
  ],
];

/** Who a sample belongs to: the threads recorded are the switch's and iperf3's. */
function who(tid: number, comm: string, switchPid: number | undefined): string {
  if (comm === "afpacket-tx") return "switch: transmit threads";
  if (tid === switchPid) return "switch: event loop";
  if (comm === "iperf3") return "iperf3 (both ends)";
  return "switch: other threads";
}

function what(dso: string, sym: string): string {
  const kernel = dso === "[kernel.kallsyms]";
  for (const [name, re] of CATEGORIES)
    if (re.test(sym)) return kernel || name === "copies" ? name : `user: ${name}`;
  if (!kernel) {
    if (dso.startsWith("[JIT]") || dso === "perf-jit") return "JavaScript (JIT)";
    if (dso.endsWith("/node") || dso === "node") return "Node and V8 runtime";
    if (dso.includes("afpacket.node")) return "addon (ring, queue)";
    return "other user code";
  }
  return "other kernel";
}

interface Row {
  who: string;
  what: string;
  /** CPU seconds (samples / sampling frequency). */
  cpuS: number;
}

/** Parses `perf report --stdio --no-children -g none -n --sort pid,comm,dso,sym` lines. */
export function parseReport(text: string, switchPid: number | undefined, hz: number): Row[] {
  const rows: Row[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*[\d.]+%\s+(\d+)\s+(\d+):(\S+)\s+(\S+)\s+(\S+)\s+\[[.k]\]\s+(\S+)/.exec(line);
    if (!m) continue;
    const [, samples, tid, , comm, dso, sym] = m;
    rows.push({
      who: who(Number(tid), comm, switchPid),
      what: what(dso, sym),
      cpuS: Number(samples) / hz,
    });
  }
  return rows;
}

const HZ = 997;

async function profileOne(peer: "ofswitch" | "linux_bridge", seconds: number, root: string) {
  const teardown = new Teardown();
  const dir = mkdtempSync(join(tmpdir(), "perf-breakdown-"));
  try {
    const topo: Topology = await createTopology(
      `pb${process.pid.toString(16).slice(-4)}`,
      teardown,
    );
    const sw: SwitchUnderTest =
      peer === "linux_bridge"
        ? await startLinuxBridge(topo)
        : await startOfswitch(topo, teardown, {
            root,
            runDir: dir,
            listenPort: 16699,
            mode: { kind: "proactive" },
            nodeFlags: [],
          });
    if (sw.of) await installForwarding(sw.of, topo);
    await setOffloads(topo, false);
    const [h1, h2] = topo.hosts;
    await waitFor(
      "ping",
      async () =>
        (
          await run(inNs(h1.ns, ["ping", "-c1", "-W1", h2.ip]), {
            timeoutMs: 3000,
            allowFail: true,
          })
        ).code === 0,
      15_000,
    );
    const srv = teardown.start("iperf3 -s", inNs(h2.ns, ["iperf3", "-s", "-1", "-p", "5299"]));
    await waitFor("iperf3 server", () => listening(h2.ns, 5299), 5000, 50);
    const client = teardown.start(
      "iperf3 -c",
      inNs(h1.ns, ["iperf3", "-c", h2.ip, "-p", "5299", "-t", String(seconds + 2), "-J"]),
    );
    await sleep(1500);
    const data = join(dir, "perf.data");
    // Only the switch's threads and iperf3's: other processes on the machine are not ours.
    const pids = [...sw.pids, srv.pid, client.pid].join(",");
    const recorded = await run(
      ["perf", "record", "-F", String(HZ), "-p", pids, "-o", data, "--", "sleep", String(seconds)],
      // perf ends its workload when the recorded processes exit (SIGTERM): not an error here.
      { timeoutMs: (seconds + 30) * 1000, allowFail: true },
    );
    await client.exited;
    if (!client.stdout) throw new Error("iperf3 -c printed nothing");
    const gbps = parseIperfTcp(client.stdout);
    await srv.stop();
    const report = await run(
      ["perf", "report", "-i", data, "--stdio", "--no-children", "-g", "none", "-n"].concat([
        "--sort",
        "pid,comm,dso,sym",
        "--percent-limit",
        "0",
      ]),
      { timeoutMs: 120_000 },
    );
    await sw.stop();
    return { gbps, wallS: recorded.ms / 1000, rows: parseReport(report.stdout, sw.pids[0], HZ) };
  } finally {
    await teardown.runAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      peers: { type: "string", default: "ofswitch,bridge" },
      seconds: { type: "string", default: "10" },
    },
  });
  const root = resolve(fileURLToPath(import.meta.url), "../../..");
  const seconds = Number(values.seconds);
  for (const p of values.peers!.split(",")) {
    const peer = p === "bridge" ? "linux_bridge" : "ofswitch";
    const { gbps, wallS, rows } = await profileOne(peer, seconds, root);
    const sum = (f: (r: Row) => boolean) => rows.filter(f).reduce((n, r) => n + r.cpuS, 0);
    const busy = sum(() => true);
    const whos = [...new Set(rows.map((r) => r.who))].sort();
    const whats = [...new Set(rows.map((r) => r.what))];
    // Cores kept busy on average over the recording (CPU seconds / wall seconds).
    const cores = (s: number) => (s / wallS < 0.005 ? "" : (s / wallS).toFixed(2));
    const table = whats
      .map((w) => ({
        w,
        all: sum((r) => r.what === w),
        per: whos.map((o) => sum((r) => r.what === w && r.who === o)),
      }))
      .filter((r) => r.all / wallS >= 0.01)
      .sort((a, b) => b.all - a.all);
    const perGbit = (busy / wallS / gbps).toFixed(2);
    console.log(
      `\n${p}: ${gbps.toFixed(2)} Gbit/s; ${cores(busy)} cores busy (switch and iperf3), ${perGbit} core-seconds per Gbit\n`,
    );
    console.log(
      markdownTable(
        ["cores busy with", ...whos, "all"],
        [
          ...table.map((r) => [r.w, ...r.per.map(cores), cores(r.all)]),
          ["all", ...whos.map((o) => cores(sum((r) => r.who === o))), cores(busy)],
        ],
      ),
    );
  }
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
