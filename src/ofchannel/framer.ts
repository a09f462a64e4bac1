// Cuts a TCP byte stream into whole OpenFlow messages, however the stream is chunked.
//
// Chunks are kept in a list and only copied when a message spans chunks, so buffering costs
// O(bytes), not O(n^2). A message that lies inside one chunk is returned as a view of it
// (zero-copy; Node hands each 'data' event a fresh Buffer, so the view stays valid).
//
// Bad headers (decided here, as Open vSwitch does in vconn/rconn):
// - length < 8: the stream cannot be resynchronised (there is no way to tell where the next
//   message starts). The framer reports a fatal error, stays at that header and returns the same
//   error on every later call; the connection should send OFPET_BAD_REQUEST/OFPBRC_BAD_LEN
//   (errorFrom gives it) and close. OVS likewise drops the connection.
// - length > maxMessageLen: the header is still trustworthy, so the message is reported as a
//   non-fatal error and its bytes are skipped as they arrive (never buffered); the stream goes on
//   with the next message.
import { OFP_MAX_MESSAGE_LEN, OFPBRC } from "../openflow/of10/constants.js";
import { OfpError } from "../openflow/of10/errors.js";

const HEADER_LEN = 8;

export interface FramerError {
  kind: "error";
  /** "short-length": length field < 8 (fatal); "too-long": length > maxMessageLen (skipped). */
  reason: "short-length" | "too-long";
  fatal: boolean;
  /** The length field as read. */
  length: number;
  /** The 8-byte header of the offending message. */
  header: Buffer;
  /** What was wrong, for logs. */
  detail: string;
}

export interface FramerMessage {
  kind: "message";
  /** Exactly one message, header included: input for decodeMessage. */
  data: Buffer;
}

export type FramerOutput = FramerMessage | FramerError;

export interface FramerOptions {
  /** Largest message accepted, in bytes (8..65535); default 65535. */
  maxMessageLen?: number;
}

export class MessageFramer {
  readonly maxMessageLen: number;
  private chunks: Buffer[] = [];
  /** Index of the first live chunk and the offset of the first live byte in it. */
  private head = 0;
  private headOff = 0;
  private buffered = 0;
  /** Bytes of an oversized message still to be discarded. */
  private skipping = 0;
  private failure: FramerError | null = null;

  constructor(options: FramerOptions = {}) {
    const max = options.maxMessageLen ?? OFP_MAX_MESSAGE_LEN;
    if (!Number.isInteger(max) || max < HEADER_LEN || max > OFP_MAX_MESSAGE_LEN) {
      throw new RangeError(`maxMessageLen must be 8..65535, not ${max}`);
    }
    this.maxMessageLen = max;
  }

  /** Bytes received and not yet returned (or skipped). */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** True once a fatal error was seen: the stream is unusable. */
  get failed(): boolean {
    return this.failure !== null;
  }

  /** Adds bytes from the stream. Follow with next() until it returns null. */
  push(chunk: Buffer): void {
    if (this.failure !== null || chunk.length === 0) return;
    if (this.skipping > 0) {
      const n = Math.min(this.skipping, chunk.length);
      this.skipping -= n;
      if (n === chunk.length) return;
      chunk = chunk.subarray(n);
    }
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next whole message or header error, or null if more bytes are needed. */
  next(): FramerOutput | null {
    if (this.failure !== null) return this.failure;
    if (this.buffered < HEADER_LEN) return null;
    const length = (this.byteAt(2) << 8) | this.byteAt(3);
    if (length < HEADER_LEN) {
      this.failure = this.headerError("short-length", length, true);
      return this.failure;
    }
    if (length > this.maxMessageLen) {
      const err = this.headerError("too-long", length, false);
      const now = Math.min(length, this.buffered);
      this.discard(now);
      this.skipping = length - now;
      return err;
    }
    if (this.buffered < length) return null;
    return { kind: "message", data: this.take(length) };
  }

  /** Calls `onOutput` for every complete message or error in `chunk` (push + next loop). */
  feed(chunk: Buffer, onOutput: (out: FramerOutput) => void): void {
    this.push(chunk);
    for (let out = this.next(); out !== null; out = this.next()) {
      onOutput(out);
      if (out.kind === "error" && out.fatal) return;
    }
  }

  private byteAt(i: number): number {
    let idx = this.head;
    let off = this.headOff + i;
    while (off >= this.chunks[idx].length) {
      off -= this.chunks[idx].length;
      idx++;
    }
    return this.chunks[idx][off];
  }

  private headerError(reason: FramerError["reason"], length: number, fatal: boolean): FramerError {
    const header = this.copyOut(HEADER_LEN);
    const detail =
      reason === "short-length"
        ? `header length ${length} is shorter than the 8-byte header; stream cannot be resynchronised`
        : `message of ${length} bytes exceeds the ${this.maxMessageLen}-byte limit; skipped`;
    return { kind: "error", reason, fatal, length, header, detail };
  }

  /** Copies the first n buffered bytes without consuming them. */
  private copyOut(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let idx = this.head;
    let off = this.headOff;
    let w = 0;
    while (w < n) {
      const c = this.chunks[idx];
      const k = Math.min(n - w, c.length - off);
      c.copy(out, w, off, off + k);
      w += k;
      idx++;
      off = 0;
    }
    return out;
  }

  /** Removes and returns the first n buffered bytes (a view when they lie in one chunk). */
  private take(n: number): Buffer {
    const first = this.chunks[this.head];
    let out: Buffer;
    if (first.length - this.headOff >= n) {
      out = first.subarray(this.headOff, this.headOff + n);
    } else {
      out = this.copyOut(n);
    }
    this.discard(n);
    return out;
  }

  private discard(n: number): void {
    this.buffered -= n;
    while (n > 0) {
      const left = this.chunks[this.head].length - this.headOff;
      if (n < left) {
        this.headOff += n;
        return;
      }
      n -= left;
      this.head++;
      this.headOff = 0;
    }
    // Drop consumed chunk references now and then, so the list does not grow without bound.
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
    } else if (this.head > 64) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }
}

/** The OfpError to answer a framing error with (BAD_REQUEST/BAD_LEN, data = the header). */
export function errorFrom(err: FramerError): OfpError {
  return OfpError.badRequest(OFPBRC.BAD_LEN, err.detail, err.header);
}
