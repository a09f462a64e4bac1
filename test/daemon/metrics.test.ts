// The metrics exporter against a snapshot of our own: every metric the issue names is exposed
// with the right type, labels and value; one snapshot is taken per scrape, none in between.
import { describe, expect, it } from "vitest";
import { MetricsServer, metricsRegistry } from "../../src/daemon/metrics.js";
import type { SwitchSnapshot } from "../../src/switch/snapshot.js";
import { memoryLogger } from "../support/log-sink.js";

function snapshot(over: Partial<SwitchSnapshot> = {}): SwitchSnapshot {
  return {
    datapathId: "00000000000000ab",
    failMode: "secure",
    standaloneActive: false,
    ports: [
      {
        portNo: 1,
        name: "eth1",
        hwAddr: "02:00:00:00:00:01",
        linkUp: true,
        adminDown: false,
        noFlood: false,
        rxPackets: 10,
        rxBytes: 1000,
        rxDropped: 1,
        rxErrors: 2,
        txPackets: 20,
        txBytes: 2000,
        txDropped: 3,
        txErrors: 4,
      },
      {
        portNo: 7,
        name: "eth7",
        hwAddr: "02:00:00:00:00:07",
        linkUp: false,
        adminDown: true,
        noFlood: true,
        rxPackets: 0,
        rxBytes: 0,
        rxDropped: 0,
        rxErrors: 0,
        txPackets: 0,
        txBytes: 0,
        txDropped: 0,
        txErrors: 0,
      },
    ],
    waitingPorts: [],
    table: {
      entries: 5,
      emergencyEntries: 1,
      maxEntries: 1000,
      emergencyMode: false,
      lookups: 200,
      matched: 150,
      cacheHits: 50,
    },
    controllers: [
      {
        target: "tcp:127.0.0.1:6653",
        kind: "active",
        role: "primary",
        sessions: 1,
        sendQueueBytes: 77,
        packetInsSent: 9,
        packetInsRateLimited: 2,
        packetInsQueueDropped: 3,
      },
      {
        target: "ptcp:6634:127.0.0.1",
        kind: "listener",
        role: "service",
        sessions: 0,
        sendQueueBytes: 0,
        packetInsSent: 0,
        packetInsRateLimited: 0,
        packetInsQueueDropped: 0,
      },
    ],
    missesDropped: 11,
    standaloneForwarded: 12,
    datapathDrops: { runt: 1, fault: 0 },
    ...over,
  };
}

describe("metrics exporter", () => {
  it("exposes the switch's counters and gauges with their types and labels", async () => {
    const text = await metricsRegistry(() => snapshot()).metrics();
    const has = (line: string) => expect(text.split("\n")).toContain(line);
    has("# TYPE ofswitch_port_rx_packets_total counter");
    has('ofswitch_port_rx_packets_total{port="1",name="eth1"} 10');
    has('ofswitch_port_rx_bytes_total{port="1",name="eth1"} 1000');
    has('ofswitch_port_rx_dropped_total{port="1",name="eth1"} 1');
    has('ofswitch_port_rx_errors_total{port="1",name="eth1"} 2');
    has('ofswitch_port_tx_packets_total{port="1",name="eth1"} 20');
    has('ofswitch_port_tx_bytes_total{port="1",name="eth1"} 2000');
    has('ofswitch_port_tx_dropped_total{port="1",name="eth1"} 3');
    has('ofswitch_port_tx_errors_total{port="1",name="eth1"} 4');
    has('ofswitch_port_rx_packets_total{port="7",name="eth7"} 0');
    has('ofswitch_port_link_up{port="7",name="eth7"} 0');
    has("# TYPE ofswitch_flow_table_entries gauge");
    has("ofswitch_flow_table_entries 5");
    has("ofswitch_flow_table_emergency_entries 1");
    has("ofswitch_flow_table_max_entries 1000");
    has("ofswitch_flow_table_lookups_total 200");
    has("ofswitch_flow_table_matched_total 150");
    has("ofswitch_flow_cache_hits_total 50");
    has("ofswitch_flow_cache_hit_ratio 0.25");
    has('ofswitch_packet_ins_sent_total{controller="tcp:127.0.0.1:6653"} 9');
    has('ofswitch_packet_ins_dropped_total{controller="tcp:127.0.0.1:6653",reason="rate_limit"} 2');
    has('ofswitch_packet_ins_dropped_total{controller="tcp:127.0.0.1:6653",reason="send_queue"} 3');
    has('ofswitch_controller_send_queue_bytes{controller="tcp:127.0.0.1:6653"} 77');
    has('ofswitch_controller_connected{controller="tcp:127.0.0.1:6653",role="primary"} 1');
    has('ofswitch_controller_connected{controller="ptcp:6634:127.0.0.1",role="service"} 0');
    has("ofswitch_table_misses_dropped_total 11");
    has("ofswitch_standalone_forwarded_total 12");
    has("ofswitch_standalone_active 0");
    has('ofswitch_datapath_drops_total{reason="runt"} 1');
    has('ofswitch_info{dpid="00000000000000ab",version="0.1.0",fail_mode="secure"} 1');
    // prom-client's process metrics: CPU and memory.
    expect(text).toMatch(/^process_cpu_seconds_total \d/m);
    expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
  });

  it("a port that went away disappears from the next scrape; a fresh table has ratio 0", async () => {
    let snap = snapshot();
    const registry = metricsRegistry(() => snap);
    expect(await registry.metrics()).toContain('name="eth7"');
    snap = snapshot({
      ports: snapshot().ports.slice(0, 1),
      table: { ...snapshot().table, lookups: 0, cacheHits: 0 },
    });
    const text = await registry.metrics();
    expect(text).not.toContain('name="eth7"');
    expect(text).toContain("ofswitch_flow_cache_hit_ratio 0\n");
  });

  it("takes one snapshot per scrape, even when scrapes overlap", async () => {
    let taken = 0;
    const server = new MetricsServer(
      {
        snapshot: () => {
          taken++;
          return snapshot({ missesDropped: taken });
        },
      },
      { host: "127.0.0.1", port: 0 },
      memoryLogger().log,
    );
    const texts = await Promise.all([server.render(), server.render(), server.render()]);
    expect(taken).toBe(3);
    expect(texts.map((t) => /ofswitch_table_misses_dropped_total (\d+)/.exec(t)?.[1])).toEqual([
      "1",
      "2",
      "3",
    ]);
    expect(taken).toBe(3); // nothing collected between scrapes
  });

  it("serves /metrics over HTTP and says so once it is bound", async () => {
    const { log, lines } = memoryLogger();
    const server = new MetricsServer(
      { snapshot: () => snapshot() },
      { host: "127.0.0.1", port: 0 },
      log,
    );
    const bound = await server.start();
    try {
      const res = await fetch(`http://127.0.0.1:${bound.port}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain("ofswitch_flow_table_entries 5");
      expect(
        lines.some(
          (l) => l.msg === "serving metrics" && l.url === `http://127.0.0.1:${bound.port}/metrics`,
        ),
      ).toBe(true);
      const busy = new MetricsServer({ snapshot: () => snapshot() }, bound, log);
      await expect(busy.start()).rejects.toThrow(
        /cannot serve metrics on 127\.0\.0\.1:\d+: .*EADDRINUSE/,
      );
    } finally {
      await server.stop();
    }
  });
});
