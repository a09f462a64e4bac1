#!/usr/bin/env node
// Regenerates test/fixtures/ofp-print/: for every golden case (test/openflow/golden-cases.ts),
// the encoded bytes (<name>.hex) and what `ovs-ofctl ofp-print` prints for them (<name>.txt).
// Run from the repository root after `npx tsc -p .`:  node scripts/gen-ofp-print-fixtures.mjs
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath, URL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const { GOLDEN_CASES } = await import(`${root}dist/test/openflow/golden-cases.js`);
const { encodeMessage } = await import(`${root}dist/src/openflow/of10/codec.js`);
const { ofpPrint, ovsOfctlVersion } = await import(`${root}dist/test/openflow/ofp-print.js`);

const dir = `${root}test/fixtures/ofp-print/`;
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}ovs-version.txt`, `${ovsOfctlVersion()}\n`);
for (const c of GOLDEN_CASES) {
  const wire = encodeMessage(c.msg);
  writeFileSync(`${dir}${c.name}.hex`, wire.toString("hex") + "\n");
  writeFileSync(`${dir}${c.name}.txt`, ofpPrint(wire));
}
console.log(`wrote ${GOLDEN_CASES.length} cases to ${dir}`);
