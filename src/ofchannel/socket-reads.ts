// How the bytes a peer sends reach its channel: straight from the socket into slabs of our own
// ("direct"), or through Node's Readable stream ('data' events). The controller and the switch
// read their peers the same way (transport.ts opens and accepts every socket).
//
// Why: per read, the stream path allocates a 64 KiB buffer (malloc, then realloc to what was
// read, freed by V8's ArrayBuffer sweeper), wraps it in a Buffer, pushes it through Readable's
// state machine, emits 'data' and schedules a process.nextTick (maybeReadMore). In cbench's
// latency mode (one packet-in, one read, one response) that was the difference between
// ovs-testcontroller and us: with perf attached, 11.1 µs of CPU per response through 'data',
// 7.9 µs direct, 7.9 µs for ovs-testcontroller (docs/performance.md). Node's `onread` socket
// option skips all of it: the socket reads into a buffer we give it and calls us with the count.
//
// Slabs, not one reused buffer: each read gets the free rest of a 256 KiB slab, and a fresh slab
// is started when less than 64 KiB is left, so bytes once delivered are never overwritten: the
// framer holds a message split across reads as views of the reads' bytes. (Decoded messages copy
// their data out anyway, so applications may keep them.)
//
// `onread` is public for sockets we create (net.connect), but Node has no public way to give it
// to a socket a server accepts. For those the server is created with pauseOnConnect and we wrap the
// accepted socket's native handle (`socket._handle`, undocumented; Node's own child_process and
// cluster hand sockets over this way) in a new net.Socket that has `onread`. If this Node's
// accepted sockets do not look as expected, or `directReads: false` is set, the stream path is
// used: same behaviour, more CPU per read.
import { Socket, connect, type NetConnectOpts } from "node:net";

/** Where a channel's bytes come from; it calls start() once, when it is ready for them. */
export interface ByteSource {
  readonly direct: boolean;
  start(onChunk: (chunk: Buffer) => void): void;
}

const SLAB = 256 * 1024;
/** A read gets at least this much room; less left in the slab starts a new one. */
const MIN_READ = 64 * 1024;
/** A connection's first reads go into a buffer of this size (its HELLO and FEATURES_REPLY, and
 * more), and its first slab comes once that is nearly full (a flooding switch's first read
 * fills it), so a connection that sends little (a quiet switch, one that never completes its
 * handshake, a port scan) holds 16 KiB, not a 256 KiB slab. */
const FIRST_READ = 16 * 1024;
/** Reads go on into that first buffer while this much of it is left. */
const FIRST_MIN_READ = 4 * 1024;

/** The `onread` option of a socket that reads into slabs, and the source it feeds. */
class SlabReads implements ByteSource {
  readonly direct = true;
  private slab = Buffer.allocUnsafeSlow(FIRST_READ);
  private off = 0;
  private onChunk: ((chunk: Buffer) => void) | null = null;
  /** Reads that arrive before start() (none should: the socket is created just before). */
  private early: Buffer[] = [];

  readonly option = {
    // Node calls this once before the first read and again after each.
    buffer: (): Uint8Array => {
      const min = this.slab.length === FIRST_READ ? FIRST_MIN_READ : MIN_READ;
      if (this.slab.length - this.off < min) {
        this.slab = Buffer.allocUnsafeSlow(SLAB);
        this.off = 0;
      }
      return this.slab.subarray(this.off);
    },
    // true: keep reading (pausing is the ReadGate's, through socket.pause()).
    callback: (n: number, buf: Uint8Array): boolean => {
      const chunk = Buffer.from(buf.buffer, buf.byteOffset, n);
      this.off += n;
      if (this.onChunk !== null) this.onChunk(chunk);
      else this.early.push(chunk);
      return true;
    },
  };

  start(onChunk: (chunk: Buffer) => void): void {
    this.onChunk = onChunk;
    for (const c of this.early.splice(0)) onChunk(c);
  }
}

/** The Readable stream path: 'data' events. */
export function streamReads(socket: Socket): ByteSource {
  return {
    direct: false,
    start: (onChunk) => void socket.on("data", onChunk),
  };
}

/** The native handle of an accepted socket, if this Node exposes it as expected. */
function takeHandle(socket: Socket): object | null {
  const holder = socket as unknown as { _handle?: unknown };
  const h = holder._handle as Record<string, unknown> | null | undefined;
  const usable =
    typeof h === "object" &&
    h !== null &&
    typeof h.readStart === "function" &&
    typeof h.readStop === "function" &&
    typeof h.useUserBuffer === "function" &&
    h.reading !== true; // pauseOnConnect: nothing read into the old socket yet
  if (!usable) return null;
  holder._handle = null;
  return h;
}

/** For a socket accepted by a server created with `pauseOnConnect: true`: the same connection
 * as a socket that reads directly into slabs, or the socket itself on the stream path. */
export function adoptAccepted(
  socket: Socket,
  direct: boolean,
): { socket: Socket; source: ByteSource } {
  const handle = direct ? takeHandle(socket) : null;
  if (handle === null) {
    socket.resume(); // paused by pauseOnConnect
    return { socket, source: streamReads(socket) };
  }
  const reads = new SlabReads();
  const wrapped = new Socket({
    handle,
    readable: true,
    writable: true,
    onread: reads.option,
  } as unknown as ConstructorParameters<typeof Socket>[0]);
  // The husk, without its handle: destroying it keeps the server's connection count right.
  socket.destroy();
  return { socket: wrapped, source: reads };
}

/** Connects to `opts` with a socket that reads directly into slabs (the public route), or on
 * the stream path. */
export function connectReading(
  opts: NetConnectOpts,
  direct: boolean,
): { socket: Socket; source: ByteSource } {
  if (!direct) {
    const socket = connect(opts);
    return { socket, source: streamReads(socket) };
  }
  const reads = new SlabReads();
  return { socket: connect({ ...opts, onread: reads.option }), source: reads };
}
