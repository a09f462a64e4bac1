// A switch port on a system interface, composed of the interface's link state (LinkMonitor,
// sysfs) and a frame I/O provider (FrameIo: AF_PACKET ring or libpcap). The port keeps its
// identity (number, config, counters) while its interface goes down, comes back, changes MTU,
// or is deleted and created again; on every link poll it
//   - turns what changed into a PortRefresh for the Datapath (modified, deleted, added) and
//     one info log line per transition;
//   - opens the I/O when the interface is up, keeps it while the interface is down unless the
//     provider says its socket died (libpcap's does; an AF_PACKET socket is re-attached by the
//     kernel when the interface comes up, so it forwards again at once), closes it when the
//     interface is gone (a socket stays bound to the ifindex it was opened on) and opens a new
//     one when an interface of that name is up again;
//   - tells a down/up faster than a poll, which only the kernel's ENETDOWN on the socket shows,
//     as those two transitions ("bounced"); logs once any other socket error the link state
//     does not explain, and reopens the I/O when the error killed it;
//   - shows PORT_DOWN as the interface's administrative state, as Open vSwitch does:
//     setAdminUp (PORT_MOD) sets the interface down or up, and a poll that finds it set up by
//     someone else (`ip link set IF up`) clears the DOWN a PORT_MOD left in its config. Its
//     config's DOWN (which the datapath enforces) is only ever set by PORT_MOD: a down
//     interface passes no frames anyway, and frames flow as soon as the kernel has it up
//     again, not at the next poll.
import { FrameIoError, isPermissionError, type FrameIo, type FrameIoBinding } from "./frame-io.js";
import { setInterfaceUp, type SetAdminUp } from "./if-admin.js";
import { LinkMonitor, type LinkTransition } from "./link-monitor.js";
import {
  PORT_CONFIG,
  PortCounters,
  type FrameHandler,
  type Port,
  type PortInfo,
  type PortRefresh,
} from "./port.js";
import { ARPHRD_ETHER, type LinkInfo } from "./sysfs.js";

/** The logger a port reports its transitions to (pino's Logger is one). */
export interface PortLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface NetdevPortOptions {
  /** Where each transition is logged (info) and an I/O that cannot be opened (warn). */
  log?: PortLog;
  /** Called when the interface appears again after a deletion, before its I/O opens. */
  onRecreated?: (name: string) => void;
  /** For tests: where the interface directories live. */
  sysfsRoot?: string;
  /** For tests: how the interface is set up or down (default: if-admin.ts's setInterfaceUp). */
  setAdminUp?: SetAdminUp;
}

const MESSAGES: Record<LinkTransition["event"], string> = {
  created: "interface created",
  deleted: "interface deleted",
  replaced: "interface deleted (created again under the same name)",
  "admin-down": "link down (administratively)",
  "admin-up": "link up (administratively)",
  "carrier-down": "carrier lost",
  "carrier-up": "carrier back",
  mtu: "MTU changed",
  mac: "MAC address changed",
  speed: "speed changed",
};

const noLog: PortLog = { info() {}, warn() {} };

export class NetdevPort<Io extends FrameIo = FrameIo> implements Port {
  config = 0;
  readonly counters = new PortCounters();
  readonly link: LinkMonitor;
  /** Socket errors the provider got over, ones that killed the I/O, and reopens after those. */
  readonly ioStats = { transient: 0, failures: 0, reopens: 0 };
  /** The interface as the owner was last told (a "deleted" describes the port that went). */
  private shown: LinkInfo;
  /** False between "deleted" and the "added" of the interface that replaces it. */
  private present = true;
  private handler: FrameHandler | undefined;
  /** A socket error that killed the I/O since the last poll (errno name): reopened on the next. */
  private ioError: string | undefined;
  /** A socket error the provider got over since the last poll (errno name): logged if unexplained. */
  private ioNotice: string | undefined;
  /** Why the I/O last failed to open; logged once per distinct reason. */
  private openError: string | undefined;
  /** The owner was told the port is down because its I/O cannot be opened. */
  private shownIoDown = false;
  /** setAdminUp changed the interface since the last poll: that explains an ENETDOWN. */
  private adminSet = false;
  private readonly log: PortLog;
  private readonly binding: FrameIoBinding;

  constructor(
    readonly portNo: number,
    readonly name: string,
    readonly io: Io,
    private readonly opts: NetdevPortOptions = {},
  ) {
    this.link = new LinkMonitor(name, opts.sysfsRoot);
    if (!this.link.info.exists) throw new Error(`interface ${name} does not exist`);
    this.shown = this.link.info;
    this.log = opts.log ?? noLog;
    this.binding = {
      port: this,
      counters: this.counters,
      onFrame: (frame, length, port) => this.handler?.(frame, length, port),
      onFailure: (code) => this.ioFailed(code),
      onTransientError: (code) => {
        this.ioStats.transient++;
        this.ioNotice ??= code;
      },
    };
  }

  get hwAddr(): string {
    return this.shown.hwAddr;
  }

  get mtu(): number {
    return this.link.info.exists ? this.link.info.mtu : this.shown.mtu;
  }

  get offloads(): boolean {
    return this.io.offloads;
  }

  get rxOffload() {
    return this.io.rxOffload;
  }

  get pollSoon(): boolean {
    // A socket error (ENETDOWN: the interface went down or away) is news the link poll
    // should see soon: a deletion followed by a re-creation is then noticed within one short
    // poll instead of a long one.
    const waiting = !this.io.isOpen || this.ioError !== undefined || this.ioNotice !== undefined;
    return this.handler !== undefined && waiting && this.openError === undefined;
  }

  /** Starts delivering frames; throws when the system refuses the privilege to capture. */
  open(onFrame: FrameHandler): void {
    this.handler = onFrame;
    this.syncIo();
    this.shownIoDown = this.openError !== undefined;
    const why = this.openError;
    if (why !== undefined && isPermissionError(why.split(":")[0]))
      throw new Error(`${this.name}: ${why}`);
  }

  send(frame: Buffer, length: number): boolean {
    return this.io.send(frame, length);
  }

  sendOffload(
    frame: Buffer,
    length: number,
    gsoType: number,
    gsoSize: number,
    hdrLen: number,
    csumStart: number,
    csumOffset: number,
  ): boolean {
    if (this.io.sendOffload === undefined) return this.io.send(frame, length);
    return this.io.sendOffload(frame, length, gsoType, gsoSize, hdrLen, csumStart, csumOffset);
  }

  flush(): void {
    this.io.flush?.();
  }

  /**
   * Sets the interface administratively up or down (throws when the system refuses). What the
   * owner is shown changes at once (config; the link state follows on the next poll, as Open
   * vSwitch's PORT_STATUS after a PORT_MOD does); the next poll reports the link's change.
   */
  setAdminUp(up: boolean): void {
    (this.opts.setAdminUp ?? setInterfaceUp)(this.name, up);
    this.adminSet = true;
    this.shown = { ...this.shown, adminUp: up };
  }

  refresh(): PortRefresh {
    const adminSet = this.adminSet;
    this.adminSet = false;
    this.io.pollStats?.();
    const transitions = this.link.poll();
    const now = this.link.info;
    if (!this.present) {
      if (!now.exists) return "unchanged";
      this.present = true;
      this.shown = now;
      this.note({ event: "created", detail: { ifindex: now.ifindex, mac: now.hwAddr } });
      this.opts.onRecreated?.(this.name);
      this.syncIo();
      this.shownIoDown = this.handler !== undefined && this.openError !== undefined;
      return "back";
    }
    const gone = transitions.find((t) => t.event === "deleted" || t.event === "replaced");
    if (gone !== undefined) {
      this.note(gone);
      this.present = false;
      this.shown = { ...this.shown, linkUp: false };
      this.ioError = this.ioNotice = undefined;
      this.openError = undefined;
      this.syncIo();
      return "gone";
    }
    for (const t of transitions) this.note(t);
    // Set up by someone else after a PORT_MOD down: PORT_DOWN is cleared, as Open vSwitch.
    if (now.adminUp) this.config &= ~PORT_CONFIG.DOWN;
    // The kernel raises ENETDOWN on a socket whose interface goes down: that is the admin
    // transition (logged), setAdminUp's down (and up) since the last poll, or, when neither
    // explains it, a down and up between two polls.
    const explained =
      !now.adminUp ||
      adminSet ||
      transitions.some((t) => t.event === "admin-down" || t.event === "admin-up");
    const error = this.ioError ?? this.ioNotice;
    const died = this.ioError !== undefined;
    this.ioNotice = undefined;
    this.syncIo();
    // The kernel raises ENETDOWN on a packet socket when its interface is closed (set down,
    // or deleted: "gone" above): unexplained, the interface went down and up between two
    // polls. Told as those two transitions, as a poll between them would have told them.
    const bounced = error === "ENETDOWN" && !explained;
    if (bounced) {
      this.note({ event: "admin-down", detail: { seenAs: error } });
      this.note({ event: "admin-up", detail: { carrier: now.linkUp, seenAs: error } });
    } else if (error !== undefined && !explained) {
      const msg = !died
        ? "socket error: recovered"
        : this.io.isOpen
          ? "socket error: reopened"
          : "socket error: not reopened yet";
      this.log.info({ port: this.name, portNo: this.portNo, error }, msg);
    }
    // An interface it cannot open is a down port to the owner (and up again once it opens).
    const ioDown = this.handler !== undefined && this.openError !== undefined;
    if (!bounced && transitions.length === 0 && ioDown === this.shownIoDown) return "unchanged";
    this.shown = now;
    this.shownIoDown = ioDown;
    return bounced ? "bounced" : "changed";
  }

  info(): PortInfo {
    const i = this.shown;
    return {
      portNo: this.portNo,
      name: this.name,
      hwAddr: i.hwAddr,
      // As OVS: an interface that is administratively down shows as a port that is down.
      config: this.config | (i.adminUp ? 0 : PORT_CONFIG.DOWN),
      linkDown: !i.linkUp || this.shownIoDown,
      speedMbps: i.speedMbps,
      duplex: i.duplex,
    };
  }

  close(): void {
    this.handler = undefined;
    this.io.close();
  }

  private note(t: LinkTransition): void {
    this.log.info({ port: this.name, portNo: this.portNo, ...t.detail }, MESSAGES[t.event]);
  }

  private ioFailed(code: string): void {
    this.ioStats.failures++;
    this.ioError ??= code;
  }

  /**
   * Closes the I/O when its interface is gone or its socket died; opens it when the interface
   * is there and up ("check the state before calling into the provider": libpcap's socket on
   * a down interface fails at once).
   */
  private syncIo(): void {
    const i = this.link.info;
    const wanted = this.present && i.exists && this.handler !== undefined;
    const failed = this.ioError !== undefined;
    if (this.io.isOpen && (!wanted || failed)) this.io.close();
    if (!wanted || !i.adminUp) return;
    this.ioError = undefined;
    if (this.io.isOpen) return;
    try {
      // Frames of another link type (a tun's bare IP packets) are not Ethernet frames: such an
      // interface (given, or created under a port's name) is a down port, as libpcap's is.
      if (i.linkType !== ARPHRD_ETHER)
        throw new FrameIoError("EPROTONOSUPPORT", `link type ${i.linkType}, not Ethernet`);
      this.io.open(this.name, this.binding);
      if (failed) this.ioStats.reopens++;
      if (this.openError !== undefined)
        this.log.info({ port: this.name, portNo: this.portNo }, "port I/O opened");
      this.openError = undefined;
    } catch (e) {
      const why =
        e instanceof FrameIoError ? `${e.code}: ${e.message}` : `EIO: ${(e as Error).message}`;
      if (why !== this.openError) {
        this.openError = why;
        this.log.warn(
          { port: this.name, portNo: this.portNo, error: why },
          "cannot open the port's I/O; the port stays down and is retried on every link poll",
        );
      }
    }
  }
}
