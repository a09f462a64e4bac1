// The virtio-net header (struct virtio_net_hdr, linux/virtio_net.h) that an AF_PACKET socket
// with PACKET_VNET_HDR puts before every frame: which frames are GSO (several segments behind
// one set of headers) and which transport checksums are partial, in both directions. Fields
// are little-endian (virtio 1.0, and what the kernel uses on little-endian hosts).

/** Field offsets and the header size. */
export const VNET_HDR = {
  FLAGS: 0,
  GSO_TYPE: 1,
  HDR_LEN: 2,
  GSO_SIZE: 4,
  CSUM_START: 6,
  CSUM_OFFSET: 8,
  SIZE: 10,
} as const;

export const VNET_F = {
  /** The checksum at csum_start + csum_offset holds the pseudo-header sum; finish it. */
  NEEDS_CSUM: 1,
  DATA_VALID: 2,
} as const;

export const VNET_GSO = {
  NONE: 0,
  TCPV4: 1,
  UDP: 3,
  TCPV6: 4,
  UDP_L4: 5,
  /** Or-ed in: the frame carries CWR and must keep ECN semantics when split. */
  ECN: 0x80,
} as const;

/**
 * Offload state of the frame a port is delivering, as its kernel described it; valid only
 * inside the frame handler (one instance per port, rewritten per frame, never allocated).
 */
export class RxOffload {
  /** VNET_GSO value (ECN bit included); NONE when the frame is a single segment. */
  gsoType = 0;
  /** Payload bytes per segment for a GSO frame. */
  gsoSize = 0;
  /** The transport checksum is partial (NEEDS_CSUM / TP_STATUS_CSUMNOTREADY). */
  csumPartial = false;
  /** Where checksumming starts (from the first byte of the frame as delivered, tag included). */
  csumStart = 0;
  /** Where the checksum field is, from csumStart. */
  csumOffset = 0;
}

/** Writes a header at `at`; csumStart < 0 means no NEEDS_CSUM. */
export function writeVnetHdr(
  buf: Buffer,
  at: number,
  gsoType: number,
  gsoSize: number,
  hdrLen: number,
  csumStart: number,
  csumOffset: number,
): void {
  const partial = csumStart >= 0;
  buf[at + VNET_HDR.FLAGS] = partial ? VNET_F.NEEDS_CSUM : 0;
  buf[at + VNET_HDR.GSO_TYPE] = gsoType;
  buf.writeUInt16LE(hdrLen, at + VNET_HDR.HDR_LEN);
  buf.writeUInt16LE(gsoSize, at + VNET_HDR.GSO_SIZE);
  buf.writeUInt16LE(partial ? csumStart : 0, at + VNET_HDR.CSUM_START);
  buf.writeUInt16LE(partial ? csumOffset : 0, at + VNET_HDR.CSUM_OFFSET);
}
