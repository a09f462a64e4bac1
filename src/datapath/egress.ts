// Transmission onto a port, making up for what offloads left undone. Senders on veths and
// NICs with TSO/GSO and checksum offload hand the stack TCP frames far above the MTU and
// TCP/UDP checksums holding only the pseudo-header sum; pcap shows both exactly so. Sent
// back out through a packet socket those frames are too long (EMSGSIZE) or fail the
// receiver's checksum check. Here, per output:
//   - a frame within the egress MTU whose checksum is partial (an O(1) test) is completed;
//   - a TCP/IPv4 frame above the MTU is segmented in software (fresh checksums per segment);
//   - any other frame above the MTU is counted in oversizeDrops and dropped.
// Frames within the MTU with complete checksums cost one pseudo-header sum.
import { MAX_FRAME } from "./actions.js";
import { computeIpv4Checksum, computeL4Checksum, isPartialChecksum } from "./checksum.js";
import { ETH_HEADER_LEN, L4, PacketLayout, VLAN_TAG_LEN } from "./parse.js";
import type { Port } from "./port.js";

const TCP_FIN = 0x01;
const TCP_PSH = 0x08;
const TCP_CWR = 0x80;

export class EgressStats {
  /** Partial TCP/UDP checksums completed in software. */
  checksumsCompleted = 0;
  /** Oversized TCP frames split into MTU-sized segments, and the segments sent. */
  tcpSegmented = 0;
  segmentsSent = 0;
  /** Frames above the egress MTU that could not be segmented (non-TCP, fragments). */
  oversizeDrops = 0;
}

/** Both on by default; switching one off exists to measure what it is for. */
export interface EgressOptions {
  completeChecksums?: boolean;
  segmentTcp?: boolean;
}

export class Egress {
  readonly stats = new EgressStats();
  private readonly seg = Buffer.alloc(MAX_FRAME);
  private readonly segLayout = new PacketLayout();
  private readonly complete: boolean;
  private readonly segment: boolean;

  constructor(opts: EgressOptions = {}) {
    this.complete = opts.completeChecksums ?? true;
    this.segment = opts.segmentTcp ?? true;
  }

  transmit(port: Port, frame: Buffer, length: number, layout: PacketLayout): void {
    const maxLen = port.mtu + ETH_HEADER_LEN + (layout.vlanOffset >= 0 ? VLAN_TAG_LEN : 0);
    if (length <= maxLen) {
      if (
        this.complete &&
        (layout.l4 === L4.TCP || layout.l4 === L4.UDP) &&
        isPartialChecksum(frame, layout)
      ) {
        computeL4Checksum(frame, layout);
        this.stats.checksumsCompleted++;
      }
      port.send(frame, length);
      return;
    }
    const l3 = layout.l3Offset;
    const fragmented = layout.ipv4 && ((frame[l3 + 6] & 0x3f) | frame[l3 + 7]) !== 0;
    if (
      !this.segment ||
      layout.l4 !== L4.TCP ||
      fragmented ||
      !this.segmentTcp(port, frame, layout)
    ) {
      this.stats.oversizeDrops++;
      port.counters.txDropped++;
    }
  }

  /** Splits a TCP/IPv4 frame into segments that fit the port's MTU, as TSO would. */
  private segmentTcp(port: Port, frame: Buffer, layout: PacketLayout): boolean {
    const l3 = layout.l3Offset;
    const l4 = layout.l4Offset;
    const hdrLen = layout.payloadOffset;
    const end = layout.l3End;
    const mss = port.mtu - (hdrLen - l3);
    if (mss <= 0 || end <= hdrLen) return false;
    const seg = this.seg;
    const sl = this.segLayout;
    frame.copy(seg, 0, 0, hdrLen);
    sl.l3Offset = l3;
    sl.l4Offset = l4;
    sl.l4 = L4.TCP;
    sl.ipv4 = true;
    const id0 = (frame[l3 + 4] << 8) | frame[l3 + 5];
    const seq0 = frame.readUInt32BE(l4 + 4);
    const flags0 = frame[l4 + 13];
    let i = 0;
    for (let off = hdrLen; off < end; off += mss, i++) {
      const n = Math.min(mss, end - off);
      frame.copy(seg, hdrLen, off, off + n);
      const total = hdrLen - l3 + n;
      seg[l3 + 2] = total >>> 8;
      seg[l3 + 3] = total & 0xff;
      const id = (id0 + i) & 0xffff;
      seg[l3 + 4] = id >>> 8;
      seg[l3 + 5] = id & 0xff;
      computeIpv4Checksum(seg, l3);
      seg.writeUInt32BE((seq0 + (off - hdrLen)) >>> 0, l4 + 4);
      let flags = flags0;
      if (off + n < end) flags &= ~(TCP_FIN | TCP_PSH);
      if (i > 0) flags &= ~TCP_CWR;
      seg[l4 + 13] = flags;
      sl.l3End = hdrLen + n;
      computeL4Checksum(seg, sl);
      port.send(seg, hdrLen + n);
      this.stats.segmentsSent++;
    }
    this.stats.tcpSegmented++;
    return true;
  }
}
