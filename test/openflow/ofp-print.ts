// Runs the real peer's decoder: `ovs-ofctl ofp-print HEX`.
import { execFileSync, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export const OVS_OFCTL = "ovs-ofctl";
/** Where the stored outputs live (the fixture script writes there from the source tree). */
export const FIXTURE_DIR = fileURLToPath(new URL("../fixtures/ofp-print/", import.meta.url));

export const haveOvsOfctl: boolean =
  spawnSync(OVS_OFCTL, ["--version"], { timeout: 5000 }).status === 0;

/** The first line of `ovs-ofctl --version` ("ovs-ofctl (Open vSwitch) 3.1.0"), or null. */
export function ovsOfctlVersion(): string | null {
  if (!haveOvsOfctl) return null;
  return execFileSync(OVS_OFCTL, ["--version"], { encoding: "utf8", timeout: 5000 }).split("\n")[0];
}

/** ovs-ofctl's rendering of one message (stdout only; its log lines go to stderr). */
export function ofpPrint(bytes: Buffer): string {
  return execFileSync(OVS_OFCTL, ["ofp-print", bytes.toString("hex")], {
    encoding: "utf8",
    timeout: 10_000,
    stdio: ["ignore", "pipe", "pipe"],
  });
}
