// Frame I/O through libpcap (the `cap` binding): received frames only, non-blocking, a large
// kernel buffer for bursts, and cap's snaplen of 65535 (enough for the 64 KiB GSO/GRO frames
// seen on veths). cap has no pcap_setdirection; the BPF filter `inbound` lost the first frame
// of every burst here (libpcap 1.10.3), so the filter is `not ether src <the port's MAC>`: it
// drops what the local stack sends on the interface, and the frames this port itself sends
// never reach its own socket anyway.
//
// cap is loaded on first use, never at import: the AF_PACKET backend must run where cap did
// not build. Stock cap aborts the process (assert in its poll callback) when the kernel
// raises a socket error, which it does whenever a captured interface goes down or away;
// native/cap/patch.mjs makes it emit "pollerror" instead (docs/datapath.md, "libpcap and
// interface events"). This provider only opens on an interface that is up.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { errnoName, FrameIoError, type FrameIo, type FrameIoBinding } from "./frame-io.js";
import { MAX_FRAME } from "./actions.js";

/** The part of cap's native Cap object this provider uses. */
interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  send(buffer: Buffer, length: number): void;
  close(): void;
  on(event: "packet", listener: (nbytes: number, truncated: boolean) => void): void;
  on(event: "pollerror", listener: (errno: number) => void): void;
  removeAllListeners(event?: string): void;
}

type CapConstructor = new () => CapHandle;

/** What native/cap/patch.mjs writes next to the rebuilt binding. */
export const CAP_PATCH_ID = "ofswitch-pollerror-1";

export interface CapBinding {
  Cap?: CapConstructor;
  /** Why cap cannot be used (not built, failed to load). */
  reason?: string;
  /** False when the loaded cap is stock: an interface going down then aborts the process. */
  patched: boolean;
}

let cached: CapBinding | undefined;

/** cap, loaded once; never throws. */
export function loadCap(): CapBinding {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  try {
    const { Cap } = require("cap") as { Cap: CapConstructor };
    const stamp = join(dirname(require.resolve("cap/package.json")), "build/Release/ofswitch.json");
    const patched =
      existsSync(stamp) &&
      (JSON.parse(readFileSync(stamp, "utf8")) as { patch?: string }).patch === CAP_PATCH_ID;
    return (cached = { Cap, patched });
  } catch (e) {
    return (cached = { reason: (e as Error).message.split("\n")[0], patched: false });
  }
}

/**
 * Closed cap handles, kept reachable for the life of the process: cap's native destructor
 * crashes Node when the garbage collector runs it (Pcap::~Pcap -> AsyncWrap::EmitDestroy,
 * SIGSEGV, seen under vitest after a few ports were closed). About 200 bytes each.
 */
const retiredCaps: CapHandle[] = [];

/** cap throws libpcap's text; the port needs an errno name. */
function codeOf(message: string): string {
  if (/not permitted|permission/i.test(message)) return "EPERM";
  if (/no such device or address/i.test(message)) return "ENXIO";
  if (/no such device/i.test(message)) return "ENODEV";
  if (/not up|network is down/i.test(message)) return "ENETDOWN";
  return "EIO";
}

export interface PcapIoOptions {
  /** libpcap's kernel buffer (bytes); bursts beyond it are dropped by the kernel. */
  bufferSize?: number;
}

export class PcapIo implements FrameIo {
  readonly offloads = false;
  readonly rxOffload = undefined;
  private cap: CapHandle | undefined;
  private binding: FrameIoBinding | undefined;
  private readonly rxBuffer = Buffer.alloc(MAX_FRAME);
  private failed = false;

  constructor(private readonly opts: PcapIoOptions = {}) {}

  get isOpen(): boolean {
    return this.cap !== undefined;
  }

  open(ifname: string, binding: FrameIoBinding): void {
    if (this.cap) return;
    const { Cap, reason } = loadCap();
    if (!Cap) throw new FrameIoError("ENOSYS", `libpcap binding (cap) unavailable: ${reason}`);
    const cap = new Cap();
    const filter = `not ether src ${binding.port.hwAddr}`;
    let linkType: string;
    try {
      linkType = cap.open(ifname, filter, this.opts.bufferSize ?? 16 << 20, this.rxBuffer);
    } catch (e) {
      this.retire(cap);
      const msg = (e as Error).message;
      throw new FrameIoError(codeOf(msg), `libpcap ${ifname}: ${msg}`);
    }
    if (linkType !== "ETHERNET") {
      this.retire(cap);
      throw new FrameIoError("EPROTONOSUPPORT", `${ifname}: link type ${linkType}, not Ethernet`);
    }
    const rx = this.rxBuffer;
    const c = binding.counters;
    cap.on("packet", (nbytes, truncated) => {
      c.rxPackets++;
      c.rxBytes += nbytes;
      if (truncated) {
        c.rxOverErr++;
        c.rxErrors++;
        return;
      }
      binding.onFrame(rx, nbytes, binding.port);
    });
    // Only the patched binding emits this (with SO_ERROR). libuv has stopped polling the socket,
    // which cap cannot restart: the handle is dead and the port opens a new one.
    cap.on("pollerror", (errno) => this.fail(errno > 0 ? errnoName(errno) : "EIO"));
    this.cap = cap;
    this.binding = binding;
    this.failed = false;
  }

  close(): void {
    const cap = this.cap;
    this.cap = undefined;
    if (cap) this.retire(cap);
  }

  private retire(cap: CapHandle): void {
    retiredCaps.push(cap);
    try {
      cap.removeAllListeners();
      cap.close();
    } catch {
      // the interface may already be gone; the handle is released either way
    }
  }

  private fail(code: string): void {
    if (this.failed) return;
    this.failed = true;
    this.binding?.onFailure(code);
  }

  send(frame: Buffer, length: number): boolean {
    const cap = this.cap;
    const c = this.binding?.counters;
    if (!cap || !c || this.failed) {
      if (c) c.txDropped++;
      return false;
    }
    try {
      cap.send(frame, length);
    } catch (e) {
      // EMSGSIZE is the frame's fault; ENETDOWN/ENXIO/ENODEV the socket's: counted, never thrown
      c.txErrors++;
      const code = codeOf((e as Error).message);
      if (code !== "EIO") this.fail(code);
      return false;
    }
    c.txPackets++;
    c.txBytes += length;
    return true;
  }
}
