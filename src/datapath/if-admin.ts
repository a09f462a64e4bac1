// Sets an interface administratively up or down, as Open vSwitch does for PORT_MOD's PORT_DOWN
// (netdev_turn_flags_on/off NETDEV_UP). With the AF_PACKET addon (whichever frame I/O backend
// the port uses: the call is an ioctl, SIOCGIFFLAGS/SIOCSIFFLAGS, on a socket of its own) it is
// one synchronous system call; without it (a libpcap-only installation) it runs
// `ip link set dev IF up|down`, synchronously too and bounded by a timeout, so that the change
// is made, or has failed, when the call returns. Either needs CAP_NET_ADMIN (the daemon runs
// as root). Failures throw a FrameIoError with an errno name (ENODEV, EPERM, ...).
import { execFileSync } from "node:child_process";
import { loadAfPacket } from "./afpacket-native.js";
import { errnoName, FrameIoError } from "./frame-io.js";

/** Sets interface `name` administratively up or down; throws a FrameIoError when it cannot. */
export type SetAdminUp = (name: string, up: boolean) => void;

/** How long `ip link set` may take before the request counts as failed. */
export const IP_LINK_TIMEOUT_MS = 2000;

/** The addon's ioctl when it is loaded (and new enough to have it), else `ip link set`. */
export function setInterfaceUp(name: string, up: boolean): void {
  const native = loadAfPacket().native;
  if (typeof native?.setIfUp === "function") setUpByIoctl(native.setIfUp, name, up);
  else setUpByIp(name, up);
}

function setUpByIoctl(setIfUp: (name: string, up: number) => void, name: string, up: boolean) {
  try {
    setIfUp(name, up ? 1 : 0);
  } catch (e) {
    const errno = (e as { errno?: number }).errno;
    throw new FrameIoError(errno ? errnoName(errno) : "EINVAL", (e as Error).message);
  }
}

/** What `ip`'s message says, as an errno name. */
const IP_ERRORS: readonly [RegExp, string][] = [
  [/cannot find device|no such device/i, "ENODEV"],
  [/operation not permitted/i, "EPERM"],
  [/permission denied/i, "EACCES"],
];

/** `ip link set dev NAME up|down`, bounded by IP_LINK_TIMEOUT_MS; exported for tests. */
export function setUpByIp(name: string, up: boolean, ip = "ip"): void {
  try {
    execFileSync(ip, ["link", "set", "dev", name, up ? "up" : "down"], {
      timeout: IP_LINK_TIMEOUT_MS,
      stdio: ["ignore", "ignore", "pipe"],
    });
  } catch (e) {
    const err = e as { code?: string; stderr?: Buffer; signal?: string; message: string };
    const text = err.stderr?.toString().trim() || err.message;
    // A system error (ENOENT: no `ip`; ETIMEDOUT), a signal, or what `ip` said on exit.
    const code =
      typeof err.code === "string"
        ? err.code
        : err.signal
          ? "ETIMEDOUT"
          : (IP_ERRORS.find(([re]) => re.test(text))?.[1] ?? "EIO");
    throw new FrameIoError(code, `${ip} link set dev ${name} ${up ? "up" : "down"}: ${text}`);
  }
}
