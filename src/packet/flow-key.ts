// The parsed OpenFlow 1.0 12-tuple of one packet, laid out as nine 32-bit words so the
// classifier can mask and hash it without allocating. The datapath's parser fills one
// preallocated FlowKey per packet; fields that do not apply to the packet's protocol are zero.
//
//   word 0: in_port(16)  | dl_vlan(16)          dl_vlan is OFP_VLAN_NONE (0xffff) when untagged
//   word 1: dl_src[0..3]
//   word 2: dl_src[4..5] | dl_dst[0..1]
//   word 3: dl_dst[2..5]
//   word 4: dl_type(16)  | dl_vlan_pcp(8) | nw_tos(8)
//   word 5: nw_proto(8)  (upper 24 bits zero)
//   word 6: nw_src
//   word 7: nw_dst
//   word 8: tp_src(16)   | tp_dst(16)

export const FLOW_KEY_WORDS = 9;

// The key's values for "no VLAN tag" and "not an Ethernet II frame" are OpenFlow 1.0's
// (OFP_VLAN_NONE, OFP_DL_TYPE_NOT_ETH_TYPE): the 12-tuple is OF1.0's, so the switch passes
// these through unchanged. Declared here so parsing does not depend on the wire codec.
export const VLAN_NONE = 0xffff;
/** dl_type values below this are 802.3 lengths, not EtherTypes. */
export const ETH_TYPE_MIN = 0x0600;
export const DL_TYPE_NOT_ETH_TYPE = 0x05ff;

export class FlowKey {
  readonly words = new Uint32Array(FLOW_KEY_WORDS);

  clear(): void {
    this.words.fill(0);
  }

  copyFrom(other: FlowKey): void {
    this.words.set(other.words);
  }

  get inPort(): number {
    return this.words[0] >>> 16;
  }
  set inPort(v: number) {
    this.words[0] = ((v & 0xffff) << 16) | (this.words[0] & 0xffff);
  }
  get dlVlan(): number {
    return this.words[0] & 0xffff;
  }
  set dlVlan(v: number) {
    this.words[0] = (this.words[0] & 0xffff0000) | (v & 0xffff);
  }

  /** Writes dl_src from six bytes of `buf` at `off` (a frame's Ethernet header). */
  setDlSrcFrom(buf: Uint8Array, off: number): void {
    const w = this.words;
    w[1] = ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
    w[2] = ((buf[off + 4] << 24) | (buf[off + 5] << 16) | (w[2] & 0xffff)) >>> 0;
  }
  setDlDstFrom(buf: Uint8Array, off: number): void {
    const w = this.words;
    w[2] = ((w[2] & 0xffff0000) | (buf[off] << 8) | buf[off + 1]) >>> 0;
    w[3] = ((buf[off + 2] << 24) | (buf[off + 3] << 16) | (buf[off + 4] << 8) | buf[off + 5]) >>> 0;
  }
  /** Copies dl_src into six bytes of `out` at `off`. */
  dlSrcInto(out: Uint8Array, off: number): void {
    const w = this.words;
    out[off] = w[1] >>> 24;
    out[off + 1] = (w[1] >>> 16) & 0xff;
    out[off + 2] = (w[1] >>> 8) & 0xff;
    out[off + 3] = w[1] & 0xff;
    out[off + 4] = w[2] >>> 24;
    out[off + 5] = (w[2] >>> 16) & 0xff;
  }
  dlDstInto(out: Uint8Array, off: number): void {
    const w = this.words;
    out[off] = (w[2] >>> 8) & 0xff;
    out[off + 1] = w[2] & 0xff;
    out[off + 2] = w[3] >>> 24;
    out[off + 3] = (w[3] >>> 16) & 0xff;
    out[off + 4] = (w[3] >>> 8) & 0xff;
    out[off + 5] = w[3] & 0xff;
  }

  get dlType(): number {
    return this.words[4] >>> 16;
  }
  set dlType(v: number) {
    this.words[4] = ((v & 0xffff) << 16) | (this.words[4] & 0xffff);
  }
  get dlVlanPcp(): number {
    return (this.words[4] >>> 8) & 0xff;
  }
  set dlVlanPcp(v: number) {
    this.words[4] = (this.words[4] & 0xffff00ff) | ((v & 0xff) << 8);
  }
  get nwTos(): number {
    return this.words[4] & 0xff;
  }
  set nwTos(v: number) {
    this.words[4] = (this.words[4] & 0xffffff00) | (v & 0xff);
  }
  get nwProto(): number {
    return this.words[5] & 0xff;
  }
  set nwProto(v: number) {
    this.words[5] = v & 0xff;
  }
  get nwSrc(): number {
    return this.words[6];
  }
  set nwSrc(v: number) {
    this.words[6] = v >>> 0;
  }
  get nwDst(): number {
    return this.words[7];
  }
  set nwDst(v: number) {
    this.words[7] = v >>> 0;
  }
  get tpSrc(): number {
    return this.words[8] >>> 16;
  }
  set tpSrc(v: number) {
    this.words[8] = ((v & 0xffff) << 16) | (this.words[8] & 0xffff);
  }
  get tpDst(): number {
    return this.words[8] & 0xffff;
  }
  set tpDst(v: number) {
    this.words[8] = (this.words[8] & 0xffff0000) | (v & 0xffff);
  }
  /** Both ports in one word, tp_src in the high half: as the two sit on the wire (one read). */
  set tpPorts(v: number) {
    this.words[8] = v >>> 0;
  }
}
