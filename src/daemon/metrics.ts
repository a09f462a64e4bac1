// Prometheus metrics (`--metrics [IP:]PORT`): prom-client renders the text format; every
// ofswitch metric is collected when scraped, from one SwitchSnapshot per scrape (counters the
// switch keeps anyway), so the packet path does no extra work. Process CPU and memory are
// prom-client's default metrics.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import type { ControllerSnapshot, PortSnapshot, SwitchSnapshot } from "../switch/snapshot.js";
import { SOFTWARE_VERSION } from "../switch/switch-features.js";

export interface MetricsSource {
  snapshot(): SwitchSnapshot;
}

export interface MetricsEndpoint {
  host: string;
  port: number;
}

type PortCounter = Exclude<
  keyof PortSnapshot,
  "portNo" | "name" | "hwAddr" | "linkUp" | "adminDown" | "noFlood"
>;
type Kind = "counter" | "gauge";
type Labels = Record<string, string>;

const PORT_COUNTERS: readonly [string, PortCounter, string][] = [
  ["rx_packets", "rxPackets", "Packets received on the port"],
  ["rx_bytes", "rxBytes", "Bytes received on the port"],
  ["rx_dropped", "rxDropped", "Received packets dropped (port down or no-recv)"],
  ["rx_errors", "rxErrors", "Receive errors (e.g. frames shorter than an Ethernet header)"],
  ["tx_packets", "txPackets", "Packets sent on the port"],
  ["tx_bytes", "txBytes", "Bytes sent on the port"],
  ["tx_dropped", "txDropped", "Packets not sent (port down, no-fwd, or the kernel refused)"],
  ["tx_errors", "txErrors", "Transmit errors"],
];

/** Metrics without labels: one value from the snapshot. */
const SCALARS: readonly [Kind, string, string, (s: SwitchSnapshot) => number][] = [
  ["gauge", "ofswitch_flow_table_entries", "Flow entries in the table", (s) => s.table.entries],
  [
    "gauge",
    "ofswitch_flow_table_emergency_entries",
    "Entries in the emergency table",
    (s) => s.table.emergencyEntries,
  ],
  [
    "gauge",
    "ofswitch_flow_table_max_entries",
    "Flow table capacity (--max-flows)",
    (s) => s.table.maxEntries,
  ],
  [
    "counter",
    "ofswitch_flow_table_lookups_total",
    "Packets looked up in the flow table",
    (s) => s.table.lookups,
  ],
  [
    "counter",
    "ofswitch_flow_table_matched_total",
    "Lookups that matched a flow entry",
    (s) => s.table.matched,
  ],
  [
    "counter",
    "ofswitch_flow_cache_hits_total",
    "Lookups answered by the exact-match cache in front of the classifier",
    (s) => s.table.cacheHits,
  ],
  [
    "gauge",
    "ofswitch_flow_cache_hit_ratio",
    "Exact-match cache hits per lookup since the start (rate() of the counters gives it per interval)",
    (s) => (s.table.lookups === 0 ? 0 : s.table.cacheHits / s.table.lookups),
  ],
  [
    "counter",
    "ofswitch_table_misses_dropped_total",
    "Table misses dropped because no controller took them (fail mode secure)",
    (s) => s.missesDropped,
  ],
  [
    "counter",
    "ofswitch_standalone_forwarded_total",
    "Table misses forwarded by MAC learning (fail mode standalone without a controller)",
    (s) => s.standaloneForwarded,
  ],
  [
    "gauge",
    "ofswitch_standalone_active",
    "1 while misses are forwarded by MAC learning",
    (s) => (s.standaloneActive ? 1 : 0),
  ],
];

/** Metrics with one value per configured controller target (label `controller`). */
const PER_CONTROLLER: readonly [Kind, string, string, (c: ControllerSnapshot) => number][] = [
  [
    "counter",
    "ofswitch_packet_ins_sent_total",
    "PACKET_IN messages queued for a controller",
    (c) => c.packetInsSent,
  ],
  [
    "gauge",
    "ofswitch_controller_send_queue_bytes",
    "Bytes queued for a controller and not yet taken by the kernel",
    (c) => c.sendQueueBytes,
  ],
  [
    "gauge",
    "ofswitch_controller_sessions",
    "OpenFlow sessions up for this target (a listener may have several)",
    (c) => c.sessions,
  ],
];

/**
 * A registry of every ofswitch metric plus prom-client's process metrics. `snap` is called by
 * each metric's collect(); the caller makes it return one snapshot per scrape.
 */
export function metricsRegistry(snap: () => SwitchSnapshot): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  /** A metric whose values are read from the snapshot on every scrape. */
  const metric = (
    kind: Kind,
    name: string,
    help: string,
    labelNames: readonly string[],
    rows: (s: SwitchSnapshot) => [Labels, number][],
  ): void => {
    const config = { name, help, labelNames, registers: [registry] };
    if (kind === "counter") {
      new Counter({
        ...config,
        collect() {
          this.reset();
          for (const [labels, v] of rows(snap())) this.inc(labels, v);
        },
      });
    } else {
      new Gauge({
        ...config,
        collect() {
          this.reset();
          for (const [labels, v] of rows(snap())) this.set(labels, v);
        },
      });
    }
  };
  const portLabels = (p: PortSnapshot) => ({ port: String(p.portNo), name: p.name });

  metric(
    "gauge",
    "ofswitch_info",
    "The switch: datapath id, version, fail mode",
    ["dpid", "version", "fail_mode"],
    (s) => [[{ dpid: s.datapathId, version: SOFTWARE_VERSION, fail_mode: s.failMode }, 1]],
  );
  for (const [suffix, field, help] of PORT_COUNTERS) {
    metric("counter", `ofswitch_port_${suffix}_total`, help, ["port", "name"], (s) =>
      s.ports.map((p) => [portLabels(p), p[field]]),
    );
  }
  metric("gauge", "ofswitch_port_link_up", "1 when the port's link is up", ["port", "name"], (s) =>
    s.ports.map((p) => [portLabels(p), p.linkUp ? 1 : 0]),
  );
  for (const [kind, name, help, value] of SCALARS) {
    metric(kind, name, help, [], (s) => [[{}, value(s)]]);
  }
  for (const [kind, name, help, value] of PER_CONTROLLER) {
    metric(kind, name, help, ["controller"], (s) =>
      s.controllers.map((c) => [{ controller: c.target }, value(c)]),
    );
  }
  metric(
    "counter",
    "ofswitch_packet_ins_dropped_total",
    "PACKET_IN messages not sent: over the rate limit, or the controller's send queue was full",
    ["controller", "reason"],
    (s) =>
      s.controllers.flatMap((c): [Labels, number][] => [
        [{ controller: c.target, reason: "rate_limit" }, c.packetInsRateLimited],
        [{ controller: c.target, reason: "send_queue" }, c.packetInsQueueDropped],
      ]),
  );
  metric(
    "gauge",
    "ofswitch_controller_connected",
    "1 while at least one OpenFlow session with this controller target is up",
    ["controller", "role"],
    (s) =>
      s.controllers.map((c) => [{ controller: c.target, role: c.role }, c.sessions > 0 ? 1 : 0]),
  );
  metric(
    "counter",
    "ofswitch_datapath_drops_total",
    "Frames or outputs dropped by the datapath outside the port counters, by reason",
    ["reason"],
    (s) => Object.entries(s.datapathDrops).map(([reason, v]) => [{ reason }, v]),
  );
  return registry;
}

/** The HTTP endpoint serving GET /metrics. */
export class MetricsServer {
  private readonly registry: Registry;
  private current: SwitchSnapshot | undefined;
  private server: Server | undefined;
  /** Scrapes run one after another, so each sees one snapshot. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly source: MetricsSource,
    private readonly endpoint: MetricsEndpoint,
    private readonly log: Logger,
  ) {
    this.registry = metricsRegistry(() => (this.current ??= this.source.snapshot()));
  }

  /** The exposition text, from a fresh snapshot. */
  render(): Promise<string> {
    const next = this.chain.then(async () => {
      this.current = undefined;
      try {
        return await this.registry.metrics();
      } finally {
        this.current = undefined;
      }
    });
    this.chain = next.catch(() => {});
    return next;
  }

  /** Listens; rejects when the address cannot be bound. Resolves with the bound address. */
  async start(): Promise<MetricsEndpoint> {
    const server = createServer((req, res) => this.handle(req, res));
    const { host, port } = this.endpoint;
    await new Promise<void>((resolve, reject) => {
      server.once("error", (err) =>
        reject(new Error(`cannot serve metrics on ${host}:${port}: ${err.message}`)),
      );
      server.listen(port, host, () => {
        server.removeAllListeners("error");
        resolve();
      });
    });
    server.on("error", (err) => this.log.error({ err }, "metrics server error"));
    this.server = server;
    const addr = server.address() as AddressInfo;
    const bound = { host: addr.address, port: addr.port };
    const shown = bound.host.includes(":") ? `[${bound.host}]` : bound.host;
    this.log.info({ url: `http://${shown}:${bound.port}/metrics` }, "serving metrics");
    return bound;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD", "Content-Type": "text/plain" });
      res.end("method not allowed\n");
      return;
    }
    if (path === "/") {
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.end("ofswitch: Prometheus metrics at /metrics\n");
      return;
    }
    if (path !== "/metrics") {
      res.writeHead(404, { "Content-Type": "text/plain" });
      res.end("not found: metrics are at /metrics\n");
      return;
    }
    this.render().then(
      (text) => {
        res.writeHead(200, { "Content-Type": this.registry.contentType });
        res.end(req.method === "HEAD" ? undefined : text);
      },
      (err: unknown) => {
        this.log.error({ err }, "metrics collection failed");
        res.writeHead(500, { "Content-Type": "text/plain" });
        res.end("metrics collection failed\n");
      },
    );
  }
}
