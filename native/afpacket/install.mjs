// Builds the AF_PACKET addon; run by `npm ci` / `npm install` as the root package's install
// script (and by `npm run build:native`). A failed build does not fail the install: ports
// then use libpcap (cap), and the port factory warns when it falls back.
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { nodeGypRebuild } from "../node-gyp.mjs";

if (process.platform !== "linux") {
  console.log("afpacket: not Linux, the AF_PACKET addon is not built (libpcap is used)");
  process.exit(0);
}
if (nodeGypRebuild(dirname(fileURLToPath(import.meta.url))) !== 0)
  console.warn(
    "afpacket: WARNING: the AF_PACKET addon did not build; switch ports will use libpcap (cap)",
  );
