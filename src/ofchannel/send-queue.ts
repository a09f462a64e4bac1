// The outbound side of one controller session: encoded messages are queued and written once
// per event-loop turn as one buffer (few syscalls under load). Back-pressure comes from the
// socket: while a write is unflushed (write() returned false, waiting for 'drain') messages
// collect here. Packet-ins are dropped first when the peer is slow; a peer that does not read
// at all is given up on once the queue passes a hard limit, so memory stays bounded. A producer
// of long replies (flow dumps) waits on onWritable() and so is paced by the peer's reading.
import type { Socket } from "node:net";

export interface SendQueueLimits {
  /** Unsent bytes beyond which new packet-ins are dropped (default 256 KiB). */
  packetInBytes?: number;
  /** Unsent bytes beyond which the peer is considered stuck (default 16 MiB). */
  totalBytes?: number;
}

export class SendQueueStats {
  messages = 0;
  bytes = 0;
  writes = 0;
  /** Packet-ins not queued because the peer was not keeping up. */
  packetInDrops = 0;
}

export class SendQueue {
  readonly stats = new SendQueueStats();
  private readonly packetInLimit: number;
  private readonly totalLimit: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private blocked = false;
  private scheduled = false;
  private closed = false;
  /** onWritable() callbacks and the unsent-bytes level each waits for. */
  private waiters: { below: number; resume: () => void }[] = [];

  constructor(
    private readonly socket: Socket,
    /** Called once when the hard limit is passed; the owner closes the session. */
    private readonly onOverflow: () => void,
    limits: SendQueueLimits = {},
  ) {
    this.packetInLimit = limits.packetInBytes ?? 256 * 1024;
    this.totalLimit = limits.totalBytes ?? 16 * 1024 * 1024;
    socket.on("drain", () => {
      this.blocked = false;
      if (this.pending.length > 0) this.flush();
      else this.notify();
    });
  }

  /** Bytes accepted but not yet handed to the kernel (ours plus the socket's buffer). */
  get unsentBytes(): number {
    return this.pendingBytes + this.socket.writableLength;
  }

  /** Queues one encoded message; false if the session is closed or the queue overflowed. */
  push(data: Buffer): boolean {
    if (this.closed) return false;
    if (this.unsentBytes + data.length > this.totalLimit) {
      this.closed = true;
      this.onOverflow();
      return false;
    }
    this.pending.push(data);
    this.pendingBytes += data.length;
    this.stats.messages++;
    this.stats.bytes += data.length;
    if (!this.scheduled && !this.blocked) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    }
    return true;
  }

  /**
   * Calls `resume` once fewer than `below` bytes are unsent (our queue plus the socket's
   * buffer): after a flush that the kernel took, or when the socket drains. `below` should be at
   * least the socket's high-water mark (16 KiB), below which no 'drain' event comes.
   */
  onWritable(below: number, resume: () => void): void {
    if (this.closed) return;
    this.waiters.push({ below, resume });
    if (!this.blocked && this.pending.length === 0) this.notify();
  }

  private notify(): void {
    if (this.waiters.length === 0 || this.closed) return;
    const unsent = this.unsentBytes;
    const ready = this.waiters.filter((w) => unsent < w.below);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => unsent >= w.below);
    for (const w of ready) w.resume();
  }

  /** Whether a packet-in of `length` bytes should be queued now. */
  admitsPacketIn(length: number): boolean {
    if (this.closed || this.unsentBytes + length > this.packetInLimit) {
      this.stats.packetInDrops++;
      return false;
    }
    return true;
  }

  /** Writes everything queued (also while blocked: used once at close). */
  flush(force = false): void {
    if (this.pending.length === 0 || (this.blocked && !force)) return;
    if (this.socket.destroyed || !this.socket.writable) {
      this.pending = [];
      this.pendingBytes = 0;
      return;
    }
    const data = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    this.stats.writes++;
    if (!this.socket.write(data)) this.blocked = true;
    else this.notify();
  }

  close(): void {
    this.flush(true);
    this.closed = true;
    this.waiters = [];
  }
}
