#!/usr/bin/env node
// Regenerates test/fixtures/of10-normalisation.json: what Open vSwitch (ovs-vswitchd, userspace
// datapath, OpenFlow 1.0 bridge, in a network namespace of its own) reports for every case of
// test/support/of10-normalisation.ts: flow stats match, FLOW_REMOVED match, ovs-ofctl text.
// Run as root from the repository root after `npx tsc -p .`:
//   node scripts/gen-of10-normalisation-fixtures.mjs
import { writeFileSync } from "node:fs";
import { fileURLToPath, URL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const { NORMALISATION_CASES, probeNormalisation, startOvsBridge } = await import(
  `${root}dist/test/support/of10-normalisation.js`
);
const { ovsOfctlVersion } = await import(`${root}dist/test/openflow/ofp-print.js`);

const ovs = startOvsBridge("gnorm", "172.30.251");
try {
  const reported = await probeNormalisation(ovs.host, ovs.port);
  const fixture = {
    source: `${ovsOfctlVersion()}: ovs-vswitchd, netdev bridge, protocols=OpenFlow10`,
    regenerate: "node scripts/gen-of10-normalisation-fixtures.mjs",
    cases: NORMALISATION_CASES.map((c) => ({ ...c, ovs: reported[c.name] })),
  };
  const path = `${root}test/fixtures/of10-normalisation.json`;
  writeFileSync(path, JSON.stringify(fixture, null, 2) + "\n");
  console.log(`wrote ${NORMALISATION_CASES.length} cases to ${path}`);
} finally {
  ovs.stop();
}
