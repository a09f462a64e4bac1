// A switch port on a real interface through libpcap (the `cap` binding): received frames only,
// non-blocking, a large kernel buffer for bursts, and cap's snaplen of 65535 (enough for the
// 64 KiB GSO/GRO frames seen on veths). cap has no pcap_setdirection; the BPF filter
// `inbound` lost the first frame of every burst here (libpcap 1.10.3), so the filter is
// `not ether src <this interface's MAC>`: it drops what the local stack sends on the
// interface, and the frames this port itself sends never reach its own socket anyway.
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { OFPPS } from "../ofchannel/constants.js";
import type { PhyPort } from "../ofchannel/types.js";
import { MAX_FRAME } from "./actions.js";
import { PortCounters, type FrameHandler, type Port, type PortRefresh } from "./port.js";
import { readLinkInfo, type LinkInfo } from "./sysfs.js";

/** The part of cap's native Cap object this port uses. */
interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  send(buffer: Buffer, length: number): void;
  close(): void;
  on(event: "packet", listener: (nbytes: number, truncated: boolean) => void): void;
  on(event: "pollerror", listener: (errno: number) => void): void;
  removeAllListeners(event?: string): void;
}

const require = createRequire(import.meta.url);
const { Cap } = require("cap") as { Cap: new () => CapHandle };

/**
 * Closed cap handles, kept reachable for the life of the process: cap's native destructor
 * crashes Node when the garbage collector runs it (Pcap::~Pcap -> AsyncWrap::EmitDestroy,
 * SIGSEGV, seen under vitest after a few ports were closed).
 */
const retiredCaps: CapHandle[] = [];

export interface PcapPortOptions {
  /** libpcap's kernel buffer (bytes); bursts beyond it are dropped by the kernel. */
  bufferSize?: number;
  /** Turn GRO/LRO off on the interface while the port is open (restored on close). */
  disableGro?: boolean;
  /** For tests: where the interface directories live. */
  sysfsRoot?: string;
}

export class PcapPort implements Port {
  config = 0;
  readonly counters = new PortCounters();
  private cap: CapHandle | undefined;
  private readonly rxBuffer = Buffer.alloc(MAX_FRAME);
  private info: LinkInfo;
  protected handler: FrameHandler | undefined;
  private restoreOffloads: string[] = [];

  constructor(
    readonly portNo: number,
    readonly name: string,
    private readonly opts: PcapPortOptions = {},
  ) {
    this.info = readLinkInfo(name, opts.sysfsRoot);
    if (!this.info.exists) throw new Error(`interface ${name} does not exist`);
  }

  get hwAddr(): string {
    return this.info.hwAddr;
  }

  get mtu(): number {
    return this.info.mtu;
  }

  open(onFrame: FrameHandler): void {
    this.handler = onFrame;
    if (this.opts.disableGro) this.turnOffGro();
    this.startCapture();
  }

  protected startCapture(): void {
    const cap = new Cap();
    const filter = `not ether src ${this.info.hwAddr}`;
    const linkType = cap.open(this.name, filter, this.opts.bufferSize ?? 16 << 20, this.rxBuffer);
    if (linkType !== "ETHERNET") {
      cap.close();
      throw new Error(`${this.name}: link type ${linkType}, not Ethernet`);
    }
    const rx = this.rxBuffer;
    const c = this.counters;
    cap.on("packet", (nbytes, truncated) => {
      c.rxPackets++;
      c.rxBytes += nbytes;
      if (truncated) {
        c.rxOverErr++;
        c.rxErrors++;
        return;
      }
      this.handler?.(rx, nbytes, this);
    });
    // Emitted by the patched binding (native/cap/patch.mjs) instead of aborting: a socket error
    // (ENETDOWN when the interface goes down or away) stopped the poll for good. refresh()
    // opens a new capture once the interface is up again.
    cap.on("pollerror", () => {
      if (this.cap === cap) this.stopCapture();
    });
    this.cap = cap;
  }

  protected stopCapture(): void {
    const cap = this.cap;
    this.cap = undefined;
    if (!cap) return;
    try {
      retiredCaps.push(cap);
      cap.removeAllListeners("packet");
      cap.close();
    } catch {
      // the interface may already be gone; the handle is released either way
    }
  }

  /** True while frames are being captured (subclasses with another capture override it). */
  protected get capturing(): boolean {
    return this.cap !== undefined;
  }

  send(frame: Buffer, length: number): boolean {
    const cap = this.cap;
    if (!cap) {
      this.counters.txDropped++;
      return false;
    }
    try {
      cap.send(frame, length);
    } catch {
      // ENETDOWN, EMSGSIZE, ENXIO of a vanished interface: counted, never thrown
      this.counters.txErrors++;
      return false;
    }
    this.counters.txPackets++;
    this.counters.txBytes += length;
    return true;
  }

  refresh(): PortRefresh {
    const prev = this.info;
    const now = readLinkInfo(this.name, this.opts.sysfsRoot);
    if (!now.exists) {
      if (!prev.exists) return "unchanged";
      this.info = { ...prev, exists: false, linkUp: false };
      this.stopCapture();
      return "gone";
    }
    this.info = now;
    if (!this.capturing && this.handler && now.adminUp) {
      try {
        this.startCapture();
      } catch {
        // retried on the next poll
      }
    }
    const same =
      prev.exists &&
      prev.linkUp === now.linkUp &&
      prev.adminUp === now.adminUp &&
      prev.mtu === now.mtu &&
      prev.hwAddr === now.hwAddr &&
      prev.currFeatures === now.currFeatures;
    return same ? "unchanged" : "changed";
  }

  phyPort(): PhyPort {
    const i = this.info;
    return {
      portNo: this.portNo,
      hwAddr: i.hwAddr,
      name: this.name.slice(0, 15),
      config: this.config,
      state: i.linkUp ? 0 : OFPPS.LINK_DOWN,
      curr: i.currFeatures,
      advertised: 0,
      supported: i.currFeatures,
      peer: 0,
    };
  }

  close(): void {
    this.handler = undefined;
    this.stopCapture();
    if (this.restoreOffloads.length > 0 && readLinkInfo(this.name, this.opts.sysfsRoot).exists) {
      try {
        execFileSync("ethtool", ["-K", this.name, ...this.restoreOffloads], { stdio: "ignore" });
      } catch {
        // best effort: the interface may be gone
      }
    }
    this.restoreOffloads = [];
  }

  /** Turns GRO/LRO off, remembering which were on so close() can restore them. */
  private turnOffGro(): void {
    try {
      const features = execFileSync("ethtool", ["-k", this.name], { encoding: "utf8" });
      const on = (name: string) => new RegExp(`^${name}: on(?! \\[fixed\\])`, "m").test(features);
      const off: string[] = [];
      if (on("generic-receive-offload")) off.push("gro");
      if (on("large-receive-offload")) off.push("lro");
      if (off.length === 0) return;
      execFileSync("ethtool", ["-K", this.name, ...off.flatMap((f) => [f, "off"])], {
        stdio: "ignore",
      });
      this.restoreOffloads = off.flatMap((f) => [f, "on"]);
    } catch {
      // no ethtool or not permitted: large frames are segmented in software anyway
    }
  }
}
