// Byte copies on the frame path. Buffer.prototype.copy with a source range builds a Uint8Array
// view of the range on every call (Node's _copyActual): at a few hundred thousand frames a
// second that was 25-30 MB/s of garbage and a young-generation collection every ~100 ms under
// one TCP stream. The AF_PACKET addon's memmove allocates nothing; without the addon (not
// Linux, not built) Buffer.copy does the job.
import { loadAfPacket, type AfPacketNative } from "./afpacket-native.js";

function bufferCopy(
  dst: Uint8Array,
  dstOffset: number,
  src: Uint8Array,
  srcOffset: number,
  length: number,
): void {
  if (dstOffset + length > dst.length || srcOffset + length > src.length)
    throw new RangeError("copyBytes: range outside an array");
  Buffer.from(src.buffer, src.byteOffset, src.byteLength).copy(
    dst,
    dstOffset,
    srcOffset,
    srcOffset + length,
  );
}

/** Copies `length` bytes from src[srcOffset..] to dst[dstOffset..] (overlap allowed). */
export const copyBytes: AfPacketNative["copy"] = loadAfPacket().native?.copy ?? bufferCopy;
