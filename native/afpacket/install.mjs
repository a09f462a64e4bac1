// Builds the AF_PACKET addon; run by `npm ci` / `npm install` as the root package's install
// script (and by `npm run build:native`). A failed build does not fail the install: ports
// then use libpcap (cap), and the port factory warns when it falls back.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

if (process.platform !== "linux") {
  console.log("afpacket: not Linux, the AF_PACKET addon is not built (libpcap is used)");
  process.exit(0);
}
const args = ["rebuild", "--loglevel=warn"];
// Without a configured nodedir, node-gyp downloads headers; Node's own (Debian's nodejs
// package puts them in /usr/include/node) work offline.
const prefix = dirname(dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(join(prefix, "include/node/node_api.h")))
  args.push(`--nodedir=${prefix}`);
// npm's bundled node-gyp: named by npm when it runs this script, else next to Node.
const bundled = join(prefix, "lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js");
const gyp = process.env.npm_config_node_gyp ?? (existsSync(bundled) ? bundled : undefined);
const [cmd, cmdArgs] = gyp ? [process.execPath, [gyp, ...args]] : ["node-gyp", args];
const r = spawnSync(cmd, cmdArgs, {
  cwd: dirname(fileURLToPath(import.meta.url)),
  stdio: "inherit",
});
if (r.status !== 0)
  console.warn(
    "afpacket: WARNING: the AF_PACKET addon did not build; switch ports will use libpcap (cap)",
  );
