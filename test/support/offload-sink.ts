// A MemoryPort that passes offloads through, as an AfPacketPort with virtio-net headers does:
// it records what it is handed with GSO/NEEDS_CSUM metadata and finishes NEEDS_CSUM as the
// kernel would; `rxOffload` is what it reports for the frame it delivers.
import { fold, sumBytes } from "../../src/packet/checksum.js";
import { MemoryPort } from "./memory-port.js";
import type { RxOffload } from "../../src/datapath/vnet.js";

export interface Sent {
  frame: Buffer;
  gsoType: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}

/** A MemoryPort that takes offload metadata and finishes NEEDS_CSUM as the kernel does. */
export class OffloadSink extends MemoryPort {
  readonly offloads = true;
  rxOffload: RxOffload | undefined;
  readonly sent: Sent[] = [];
  /** Frames sent without metadata (an all-zero header). */
  readonly plain: Buffer[] = [];
  override send(frame: Buffer, length: number): boolean {
    this.plain.push(Buffer.from(frame.subarray(0, length)));
    return true;
  }
  sendOffload(
    frame: Buffer,
    length: number,
    gsoType: number,
    gsoSize: number,
    _hdrLen: number,
    csumStart: number,
    csumOffset: number,
  ): boolean {
    const f = Buffer.from(frame.subarray(0, length));
    if (csumStart >= 0) {
      const c = ~fold(sumBytes(f, csumStart, length, 0)) & 0xffff;
      f.writeUInt16BE(c, csumStart + csumOffset);
    }
    this.sent.push({ frame: f, gsoType, gsoSize, csumStart, csumOffset });
    return true;
  }
}
