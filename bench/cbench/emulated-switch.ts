// One emulated OpenFlow 1.0 switch for the controller benchmark, behaving as cbench's fakeswitch
// does: it sends HELLO as soon as TCP connects, answers FEATURES_REQUEST and, in the same breath,
// starts sending PACKET_INs, whether or not the controller has taken its FEATURES_REPLY in yet or
// any other switch has joined. Throughput mode keeps the socket full (cbench keeps a 64 KiB out
// buffer topped up and writes whenever the socket takes more); latency mode keeps one packet-in
// outstanding. Cheap enough to share two cores with the controller under test: PACKET_INs are
// copied from one pre-encoded template with only xid, buffer_id, in_port and the two MACs
// patched; replies are counted from their headers without decoding. Only the handshake and the
// controller's occasional requests go through the codec.
import { connect, type Socket } from "node:net";
import {
  OFP_NO_BUFFER,
  OFP_VERSION,
  OFPBRC,
  OFPFC,
  OFPST,
  OFPT,
} from "../../src/openflow/of10/constants.js";
import { decodeMessage, encodeMessage } from "../../src/openflow/of10/codec.js";
import { OfpError, errorToMessage } from "../../src/openflow/of10/errors.js";
import type { OfpMessage } from "../../src/openflow/of10/messages.js";
import type { PhyPort } from "../../src/openflow/of10/types.js";
import { FLOW_MOD, PACKET_IN, PACKET_OUT } from "../../src/openflow/of10/structs.js";

export type Mode = "throughput" | "latency";

export interface SwitchConfig {
  host: string;
  port: number;
  datapathId: number;
  /** Distinct source MACs this switch sends packet-ins for. */
  macs: number;
  /** Ports the MACs are spread over, so a learned destination is on another port. */
  ports: number;
  mode: Mode;
}

const FRAME_LEN = 60;
const PI_DATA = PACKET_IN.offsetOf.data;
const PI_LEN = PI_DATA + FRAME_LEN;
const PI_BUFFER_ID = PACKET_IN.offsetOf.bufferId;
const PI_IN_PORT = PACKET_IN.offsetOf.inPort;
const FM_COMMAND = FLOW_MOD.offsetOf.command;
const FM_BUFFER_ID = FLOW_MOD.offsetOf.bufferId;
const PO_BUFFER_ID = PACKET_OUT.offsetOf.bufferId;
/** cbench's out buffer (BUFLEN): packet-ins kept queued in user space in throughput mode. */
const OUT_BUFFER = 65536;
/** buffer_ids cycle through this many values (cbench: NUM_BUFFER_IDS). */
const BUFFER_IDS = 100_000;
/** Latency mode: a packet-in unanswered this long is written off and the next one sent, so a
 * controller that drops one (a full queue, or a packet it chose not to answer) cannot stop the
 * switch for good (cbench would wait forever). */
const STALL_MS = 200;

/** An Ethernet/IPv4/UDP frame of 60 bytes (dst and src MACs patched per packet). */
function templateFrame(): Buffer {
  const f = Buffer.alloc(FRAME_LEN);
  f.writeUInt16BE(0x0800, 12);
  f.set([0x45, 0, 0, 46, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
  f.set([0x13, 0x88, 0x00, 0x35, 0, 26, 0, 0], 34); // UDP 5000 → 53
  return f;
}

const TEMPLATE = encodeMessage({
  type: OFPT.PACKET_IN,
  xid: 0,
  bufferId: 0,
  totalLen: FRAME_LEN,
  inPort: 1,
  reason: 0,
  data: templateFrame(),
});

export class EmulatedSwitch {
  /** FLOW_MOD (ADD or MODIFY_STRICT) + PACKET_OUT received: what cbench counts. */
  responses = 0;
  flowMods = 0;
  packetInsSent = 0;
  /** Latency mode: packet-ins written off as unanswered (see STALL_MS). */
  writtenOff = 0;
  /** ms from the start of the TCP connect to the FEATURES_REQUEST (-1: not yet). */
  joinMs = -1;
  /** Why the connection ended before close() was called (the controller closed it, an error). */
  lostReason: string | null = null;
  private readonly socket: Socket;
  private readonly startedAt = performance.now();
  private sending = false;
  private stopped = false;
  private fillScheduled = false;
  private outstanding = 0;
  private seq = 0;
  private lastProgress = 0;
  private leftover: Buffer | null = null;
  private readonly stallTimer: NodeJS.Timeout | null;
  private readonly fillBound = () => {
    this.fillScheduled = false;
    this.fill();
  };

  constructor(private readonly cfg: SwitchConfig) {
    this.socket = connect({ host: cfg.host, port: cfg.port });
    // cbench disables Nagle only in latency mode; in throughput mode full segments are the point.
    this.socket.setNoDelay(cfg.mode === "latency");
    this.socket.on("connect", () => this.sendControl(hello()));
    this.socket.on("data", (chunk: Buffer) => this.onData(chunk));
    this.socket.on("drain", () => this.scheduleFill());
    this.socket.on("error", (err) => this.lose(`socket error: ${err.message}`));
    this.socket.on("close", () => this.lose("connection closed by the controller"));
    this.stallTimer =
      cfg.mode === "latency" ? setInterval(() => this.checkStall(), STALL_MS) : null;
  }

  get joined(): boolean {
    return this.joinMs >= 0;
  }

  /** Stops sending packet-ins (replies are still counted). */
  stop(): void {
    this.stopped = true;
  }

  close(): void {
    this.stop();
    if (this.stallTimer !== null) clearInterval(this.stallTimer);
    this.socket.removeAllListeners("close");
    this.socket.on("error", () => undefined);
    this.socket.destroy();
  }

  private lose(reason: string): void {
    this.lostReason ??= reason;
    this.stop();
  }

  /** Throughput: tops the out buffer up to OUT_BUFFER in one write, and comes back on the next
   * event-loop turn (or on 'drain' when the socket is full), as cbench does on every POLLOUT.
   * Latency: sends one packet-in when none is outstanding. */
  private fill(): void {
    if (!this.sending || this.stopped) return;
    let n: number;
    if (this.cfg.mode === "latency") {
      n = this.outstanding === 0 ? 1 : 0;
    } else {
      n = Math.floor((OUT_BUFFER - this.socket.writableLength) / PI_LEN);
    }
    if (n <= 0) return;
    const out = Buffer.allocUnsafe(n * PI_LEN);
    const { macs, ports } = this.cfg;
    for (let i = 0; i < n; i++) {
      const off = i * PI_LEN;
      TEMPLATE.copy(out, off);
      const seq = this.seq++;
      const src = seq % macs;
      const dst = (seq + 1) % macs;
      out.writeUInt32BE(seq >>> 0, off + 4); // xid
      out.writeUInt32BE(seq % BUFFER_IDS, off + PI_BUFFER_ID);
      out.writeUInt16BE((src % ports) + 1, off + PI_IN_PORT);
      writeMac(out, off + PI_DATA, this.cfg.datapathId, dst);
      writeMac(out, off + PI_DATA + 6, this.cfg.datapathId, src);
    }
    this.outstanding += n;
    this.packetInsSent += n;
    // Full socket: 'drain' calls back. Otherwise come back next turn, after the other switches.
    if (this.socket.write(out) && this.cfg.mode === "throughput") this.scheduleFill();
  }

  private scheduleFill(): void {
    if (this.fillScheduled) return;
    this.fillScheduled = true;
    setImmediate(this.fillBound);
  }

  private checkStall(): void {
    if (!this.sending || this.stopped || this.outstanding === 0) return;
    if (performance.now() - this.lastProgress < STALL_MS) return;
    this.writtenOff += this.outstanding;
    this.outstanding = 0;
    this.lastProgress = performance.now();
    this.fill();
  }

  private onData(chunk: Buffer): void {
    let buf = chunk;
    if (this.leftover !== null) {
      buf = Buffer.concat([this.leftover, chunk]);
      this.leftover = null;
    }
    let off = 0;
    let answered = 0;
    while (buf.length - off >= 8) {
      const len = buf.readUInt16BE(off + 2);
      if (len < 8) {
        this.lose(`controller sent a message of length ${len}`);
        this.socket.destroy();
        return;
      }
      if (buf.length - off < len) break;
      const type = buf[off + 1];
      if (type === OFPT.FLOW_MOD || type === OFPT.PACKET_OUT) {
        const flowMod = type === OFPT.FLOW_MOD;
        const command = flowMod && len >= FM_COMMAND + 2 ? buf.readUInt16BE(off + FM_COMMAND) : -1;
        if (!flowMod || command === OFPFC.ADD || command === OFPFC.MODIFY_STRICT) {
          this.responses++;
          if (flowMod) this.flowMods++;
          const at = flowMod ? FM_BUFFER_ID : PO_BUFFER_ID;
          if (len >= at + 4 && buf.readUInt32BE(off + at) !== OFP_NO_BUFFER) answered++;
        }
      } else {
        this.onControl(buf.subarray(off, off + len));
      }
      off += len;
    }
    if (off < buf.length) this.leftover = Buffer.from(buf.subarray(off));
    if (answered > 0 && this.cfg.mode === "latency") {
      this.outstanding = Math.max(0, this.outstanding - answered);
      this.lastProgress = performance.now();
      this.fill();
    }
  }

  /** The handshake and whatever else the controller asks (echo, config, barrier, desc). */
  private onControl(bytes: Buffer): void {
    let msg: OfpMessage;
    try {
      msg = decodeMessage(bytes);
    } catch (e) {
      this.sendControl(errorToMessage(e as OfpError));
      return;
    }
    const xid = msg.xid;
    switch (msg.type) {
      case OFPT.FEATURES_REQUEST:
        this.sendControl({
          type: OFPT.FEATURES_REPLY,
          xid,
          datapathId: BigInt(this.cfg.datapathId),
          nBuffers: 65536,
          nTables: 1,
          capabilities: 0,
          actions: 0xfff,
          ports: Array.from({ length: this.cfg.ports }, (_, i) => port(i + 1)),
        });
        if (this.joinMs < 0) this.joinMs = performance.now() - this.startedAt;
        if (!this.sending) {
          this.sending = true;
          this.lastProgress = performance.now();
          this.fill();
        }
        return;
      case OFPT.ECHO_REQUEST:
        this.sendControl({ type: OFPT.ECHO_REPLY, xid, data: msg.data });
        return;
      case OFPT.GET_CONFIG_REQUEST:
        this.sendControl({ type: OFPT.GET_CONFIG_REPLY, xid, flags: 0, missSendLen: 128 });
        return;
      case OFPT.BARRIER_REQUEST:
        this.sendControl({ type: OFPT.BARRIER_REPLY, xid });
        return;
      case OFPT.STATS_REQUEST:
        if (msg.statsType === OFPST.DESC) {
          this.sendControl({
            type: OFPT.STATS_REPLY,
            xid,
            flags: 0,
            statsType: OFPST.DESC,
            desc: DESC,
          });
        } else {
          this.sendControl(errorToMessage(OfpError.badRequest(OFPBRC.BAD_STAT, "", bytes)));
        }
        return;
      case OFPT.VENDOR:
        this.sendControl(errorToMessage(OfpError.badRequest(OFPBRC.BAD_VENDOR, "", bytes)));
        return;
      default: // HELLO, ECHO_REPLY, SET_CONFIG, ERROR, ...: nothing to answer
        return;
    }
  }

  private sendControl(msg: OfpMessage): void {
    this.socket.write(encodeMessage(msg));
  }
}

const DESC = {
  mfrDesc: "ofswitch",
  hwDesc: "cbench",
  swDesc: "emulated",
  serialNum: "0",
  dpDesc: "",
};

function hello(): OfpMessage {
  return { type: OFPT.HELLO, xid: 1, version: OFP_VERSION, body: Buffer.alloc(0) };
}

/** A locally administered unicast MAC naming (switch, host): 02:SS:SS:HH:HH:HH. */
function writeMac(buf: Buffer, off: number, sw: number, host: number): void {
  buf[off] = 0x02;
  buf[off + 1] = (sw >>> 8) & 0xff;
  buf[off + 2] = sw & 0xff;
  buf[off + 3] = (host >>> 16) & 0xff;
  buf[off + 4] = (host >>> 8) & 0xff;
  buf[off + 5] = host & 0xff;
}

function port(portNo: number): PhyPort {
  return {
    portNo,
    hwAddr: `02:ff:00:00:00:${portNo.toString(16).padStart(2, "0")}`,
    name: `cb${portNo}`,
    config: 0,
    state: 0,
    curr: 0,
    advertised: 0,
    supported: 0,
    peer: 0,
  };
}
