// Transmission onto a port, making up for what offloads left undone. Senders on veths and
// NICs with TSO/GSO and checksum offload hand the stack TCP frames far above the MTU and
// TCP/UDP checksums holding only the pseudo-header sum; pcap shows both exactly so. Sent
// back out through a packet socket those frames are too long (EMSGSIZE) or fail the
// receiver's checksum check. Here, per output:
//   - a frame within the egress MTU whose checksum is partial (an O(1) test) is completed;
//   - a TCP/IPv4 frame above the MTU is segmented in software (fresh checksums per segment);
//   - any other frame above the MTU is counted in oversizeDrops and dropped.
// Frames within the MTU with complete checksums cost one pseudo-header sum.
// A port that passes offloads through (AfPacketPort with virtio-net headers) is instead handed
// the frame whole with what the kernel needs to finish it, as a bridge would (see
// transmitOffload); the JavaScript path above stays for ports that cannot take that.
import { MAX_FRAME } from "./actions.js";
import {
  computeIpv4Checksum,
  computeL4Checksum,
  fold,
  isPartialChecksum,
  l4Length,
  pseudoHeaderSum,
} from "../packet/checksum.js";
import { ETH_HEADER_LEN, L4, PacketLayout, VLAN_TAG_LEN } from "../packet/parse.js";
import type { Port } from "./port.js";
import { VNET_GSO, type RxOffload } from "./vnet.js";
import { copyBytes } from "./copy-bytes.js";

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
  /** Frames above the MTU handed whole to an offloading port for the kernel to segment. */
  gsoSent = 0;
  /** Frames within the MTU sent with a partial checksum for the kernel (or receiver) to finish. */
  checksumsOffloaded = 0;
}

const TCP_CSUM_OFFSET = 16;
const UDP_CSUM_OFFSET = 6;

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
  /** The frame's offload state from its input port (see setIngress), or undefined. */
  rx: RxOffload | undefined = undefined;
  /** ethTypeOffset when received: a tag pushed or popped since moves csum_start with it. */
  rxEthTypeOffset = 0;

  constructor(opts: EgressOptions = {}) {
    this.complete = opts.completeChecksums ?? true;
    this.segment = opts.segmentTcp ?? true;
  }

  /** The Datapath calls this once per frame, after parsing, before running its actions. */
  setIngress(rx: RxOffload | undefined, layout: PacketLayout): void {
    this.rx = rx;
    this.rxEthTypeOffset = layout.ethTypeOffset;
  }

  transmit(port: Port, frame: Buffer, length: number, layout: PacketLayout): void {
    if (port.offloads === true && this.transmitOffload(port, frame, length, layout)) return;
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
      !layout.ipv4 ||
      layout.l4 !== L4.TCP ||
      fragmented ||
      !this.segmentTcp(port, frame, layout)
    ) {
      this.stats.oversizeDrops++;
      port.counters.txDropped++;
    }
  }

  /**
   * Sends through port.sendOffload when the frame needs an offload: false (nothing sent) when
   * it does not, or when it cannot be described safely, and the JavaScript path takes it.
   *   - TCP/UDP over IPv4 within the MTU, checksum partial by the kernel's word and still by
   *     the O(1) test (rewrites keep partial sums partial): NEEDS_CSUM at the L4 header;
   *   - TCP/IPv4 above the MTU: GSO TCPV4 with the input's gso_size (at most the egress MSS)
   *     and NEEDS_CSUM, after turning a complete checksum into the pseudo-header sum;
   *   - UDP/IPv4 above the MTU: only a UDP GSO frame (UDP_L4) whose checksum is still partial;
   *   - anything else the kernel marked (IPv6 GSO, ...): its header as received, csum_start
   *     moved by a pushed or popped tag (the actions rewrite nothing else in such frames).
   */
  private transmitOffload(
    port: Port,
    frame: Buffer,
    length: number,
    layout: PacketLayout,
  ): boolean {
    const rx = this.rx;
    const maxLen = port.mtu + ETH_HEADER_LEN + (layout.vlanOffset >= 0 ? VLAN_TAG_LEN : 0);
    const l4 = layout.l4;
    if (layout.ipv4 && (l4 === L4.TCP || l4 === L4.UDP)) {
      const l3 = layout.l3Offset;
      const l4Off = layout.l4Offset;
      const hdrLen = layout.payloadOffset;
      const ckOff = l4 === L4.TCP ? TCP_CSUM_OFFSET : UDP_CSUM_OFFSET;
      if (length <= maxLen) {
        if (rx === undefined || !rx.csumPartial || !isPartialChecksum(frame, layout)) return false;
        this.stats.checksumsOffloaded++;
        port.sendOffload?.(frame, length, VNET_GSO.NONE, 0, hdrLen, l4Off, ckOff);
        return true;
      }
      // Trailing bytes beyond the IP datagram would become payload of the last segment.
      if (layout.l3End !== length || ((frame[l3 + 6] & 0x3f) | frame[l3 + 7]) !== 0) return false;
      if (l4 === L4.UDP) {
        if (rx === undefined || rx.gsoType !== VNET_GSO.UDP_L4 || !rx.csumPartial) return false;
        if (!isPartialChecksum(frame, layout)) return false;
        this.stats.gsoSent++;
        port.sendOffload?.(frame, length, rx.gsoType, rx.gsoSize, hdrLen, l4Off, ckOff);
        return true;
      }
      const mss = port.mtu - (hdrLen - l3);
      if (mss <= 0 || hdrLen >= length) return false;
      let gsoSize = mss;
      let ecn = (frame[l4Off + 13] & TCP_CWR) !== 0 ? VNET_GSO.ECN : 0;
      if (rx !== undefined && (rx.gsoType & ~VNET_GSO.ECN) === VNET_GSO.TCPV4) {
        if (rx.gsoSize > 0 && rx.gsoSize < mss) gsoSize = rx.gsoSize;
        ecn = rx.gsoType & VNET_GSO.ECN;
      }
      if (!isPartialChecksum(frame, layout)) {
        const sum = fold(pseudoHeaderSum(frame, l3, l4Length(frame, layout)));
        frame[l4Off + ckOff] = sum >>> 8;
        frame[l4Off + ckOff + 1] = sum & 0xff;
      }
      this.stats.gsoSent++;
      port.sendOffload?.(frame, length, VNET_GSO.TCPV4 | ecn, gsoSize, hdrLen, l4Off, ckOff);
      return true;
    }
    if (rx === undefined || (rx.gsoType === VNET_GSO.NONE && !rx.csumPartial)) return false;
    if (rx.gsoType === VNET_GSO.NONE && length > maxLen) return false;
    let start = -1;
    if (rx.csumPartial) {
      start = rx.csumStart + layout.ethTypeOffset - this.rxEthTypeOffset;
      if (start < ETH_HEADER_LEN || start + rx.csumOffset + 2 > length) return false;
    }
    if (rx.gsoType !== VNET_GSO.NONE) this.stats.gsoSent++;
    else this.stats.checksumsOffloaded++;
    port.sendOffload?.(frame, length, rx.gsoType, rx.gsoSize, 0, start, rx.csumOffset);
    return true;
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
    copyBytes(seg, 0, frame, 0, hdrLen);
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
      copyBytes(seg, hdrLen, frame, off, n);
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
