// Runs node-gyp (npm's bundled copy) in a directory, offline when Node's own headers are
// installed; shared by the AF_PACKET addon build and the cap patch.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

/** `node-gyp rebuild` in `cwd`; returns its exit status (null when it could not run). */
export function nodeGypRebuild(cwd) {
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
  return spawnSync(cmd, cmdArgs, { cwd, stdio: "inherit" }).status;
}
