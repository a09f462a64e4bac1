// One emulated OpenFlow 1.0 switch for the controller benchmark, cheap enough to share two cores
// with the controller under test: PACKET_INs are copied from one pre-encoded template with only
// xid, buffer_id, in_port and the two MACs patched; replies are counted from their headers
// (type, and buffer_id to know which packet-in they answer) without decoding. Only the
// handshake and the controller's occasional requests go through the codec.
import { connect, type Socket } from "node:net";
import { OFP_NO_BUFFER, OFP_VERSION, OFPBRC, OFPST, OFPT } from "../../src/ofchannel/constants.js";
import { decodeMessage, encodeMessage } from "../../src/ofchannel/codec.js";
import { OfpError, errorToMessage } from "../../src/ofchannel/errors.js";
import type { OfpMessage } from "../../src/ofchannel/messages.js";
import type { PhyPort } from "../../src/ofchannel/types.js";
import { FLOW_MOD, PACKET_IN, PACKET_OUT } from "../../src/ofchannel/structs.js";

export type Mode = "throughput" | "latency";

export interface SwitchConfig {
  host: string;
  port: number;
  datapathId: number;
  /** Distinct source MACs this switch sends packet-ins for. */
  macs: number;
  /** Packet-ins in flight (throughput mode; latency mode uses 1). */
  window: number;
  /** Ports the MACs are spread over, so a learned destination is on another port. */
  ports: number;
}

const FRAME_LEN = 60;
const PI_DATA = PACKET_IN.offsetOf.data;
const PI_LEN = PI_DATA + FRAME_LEN;
const PI_BUFFER_ID = PACKET_IN.offsetOf.bufferId;
const PI_IN_PORT = PACKET_IN.offsetOf.inPort;
const FM_BUFFER_ID = FLOW_MOD.offsetOf.bufferId;
const PO_BUFFER_ID = PACKET_OUT.offsetOf.bufferId;
/** Packet-ins unanswered this long are written off, so a controller that drops some (a full
 * queue) cannot shrink the window to nothing. */
const STALL_MS = 200;

/** An Ethernet/IPv4/UDP frame of 60 bytes (dst and src MACs patched per packet). */
function templateFrame(): Buffer {
  const f = Buffer.alloc(FRAME_LEN);
  f.writeUInt16BE(0x0800, 12);
  f.set([0x45, 0, 0, 46, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
  f.set([0x13, 0x88, 0x00, 0x35, 0, 26, 0, 0], 34); // UDP 5000 → 53
  return f;
}

export class EmulatedSwitch {
  /** FLOW_MOD + PACKET_OUT received (what cbench counts). */
  responses = 0;
  flowMods = 0;
  packetInsSent = 0;
  /** Packet-ins written off as unanswered (see STALL_MS). */
  writtenOff = 0;
  private readonly socket: Socket;
  private readonly template: Buffer;
  private running = false;
  private mode: Mode = "throughput";
  private outstanding = 0;
  private seq = 0;
  private lastProgress = 0;
  private leftover: Buffer | null = null;
  private readonly stallTimer: NodeJS.Timeout;
  readonly ready: Promise<void>;
  private markReady!: () => void;
  private fail!: (err: Error) => void;

  constructor(private readonly cfg: SwitchConfig) {
    this.ready = new Promise((resolve, reject) => {
      this.markReady = resolve;
      this.fail = reject;
    });
    this.template = encodeMessage({
      type: OFPT.PACKET_IN,
      xid: 0,
      bufferId: 0,
      totalLen: FRAME_LEN,
      inPort: 1,
      reason: 0,
      data: templateFrame(),
    });
    this.socket = connect({ host: cfg.host, port: cfg.port });
    this.socket.setNoDelay(true);
    this.socket.on("connect", () => this.sendControl(hello()));
    this.socket.on("data", (chunk: Buffer) => this.onData(chunk));
    this.socket.on("error", (err) => this.fail(err));
    this.socket.on("close", () => {
      this.running = false;
      this.fail(new Error(`switch ${cfg.datapathId}: connection closed`));
    });
    this.stallTimer = setInterval(() => this.checkStall(), STALL_MS);
  }

  start(mode: Mode): void {
    this.mode = mode;
    this.running = true;
    this.outstanding = 0;
    this.lastProgress = Date.now();
    this.fill();
  }

  stop(): void {
    this.running = false;
  }

  close(): void {
    clearInterval(this.stallTimer);
    this.running = false;
    this.socket.destroy();
  }

  private window(): number {
    return this.mode === "latency" ? 1 : this.cfg.window;
  }

  /** Writes packet-ins until the window is full, in one write. */
  private fill(): void {
    const n = this.window() - this.outstanding;
    if (!this.running || n <= 0) return;
    const out = Buffer.allocUnsafe(n * PI_LEN);
    const { macs, ports } = this.cfg;
    for (let i = 0; i < n; i++) {
      const off = i * PI_LEN;
      this.template.copy(out, off);
      const seq = this.seq++;
      const src = seq % macs;
      const dst = (seq + 1) % macs;
      out.writeUInt32BE(seq >>> 0, off + 4); // xid
      out.writeUInt32BE(seq & 0xffff, off + PI_BUFFER_ID);
      out.writeUInt16BE((src % ports) + 1, off + PI_IN_PORT);
      writeMac(out, off + PI_DATA, this.cfg.datapathId, dst);
      writeMac(out, off + PI_DATA + 6, this.cfg.datapathId, src);
    }
    this.outstanding += n;
    this.packetInsSent += n;
    this.socket.write(out);
  }

  private checkStall(): void {
    if (!this.running || this.outstanding === 0) return;
    if (Date.now() - this.lastProgress < STALL_MS) return;
    this.writtenOff += this.outstanding;
    this.outstanding = 0;
    this.lastProgress = Date.now();
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
      if (len < 8) throw new Error(`controller sent a message of length ${len}`);
      if (buf.length - off < len) break;
      const type = buf[off + 1];
      if (type === OFPT.FLOW_MOD || type === OFPT.PACKET_OUT) {
        this.responses++;
        if (type === OFPT.FLOW_MOD) this.flowMods++;
        const at = off + (type === OFPT.FLOW_MOD ? FM_BUFFER_ID : PO_BUFFER_ID);
        if (len >= at - off + 4 && buf.readUInt32BE(at) !== OFP_NO_BUFFER) answered++;
      } else {
        this.onControl(buf.subarray(off, off + len));
      }
      off += len;
    }
    if (off < buf.length) this.leftover = Buffer.from(buf.subarray(off));
    if (answered > 0) {
      this.outstanding = Math.max(0, this.outstanding - answered);
      this.lastProgress = Date.now();
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
        this.markReady();
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
