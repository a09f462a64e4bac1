// Where channels' sockets come from: the one place that opens connections (active targets) and
// listens for them (passive targets), for the switch and the controller alike. A new transport
// (TLS for ssl:/pssl:, Unix sockets for unix:/punix:) is added here and in targets.ts; what
// comes out is always a socket and the ByteSource its bytes arrive through (socket-reads.ts).
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { adoptAccepted, connectReading, type ByteSource } from "./socket-reads.js";
import type { ActiveTarget, PassiveTarget } from "./targets.js";

export interface TransportOptions {
  /** Read straight into slabs of our own instead of through 'data' events (default true;
   * socket-reads.ts says why and when it falls back). */
  directReads?: boolean;
}

/** A socket and where its bytes come from. */
export interface Transported {
  socket: Socket;
  source: ByteSource;
}

/** Starts connecting to `target`; the socket emits 'connect' or 'error'. */
export function openActive(target: ActiveTarget, opts: TransportOptions = {}): Transported {
  return connectReading({ host: target.host, port: target.port }, opts.directReads ?? true);
}

export interface PassiveOptions extends TransportOptions {
  /** Errors after the listener is up (it stays up); default: ignored. */
  onError?: (err: Error) => void;
}

/** A bound listener. */
export class PassiveListener {
  constructor(
    readonly target: PassiveTarget,
    private readonly server: Server,
  ) {}

  /** The bound port (the system's choice when the target said 0). */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Stops accepting; open connections are their owners' to close. */
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Listens on `target`, handing every accepted connection to `onConnection`; rejects if the
 * address cannot be bound. */
export function listenPassive(
  target: PassiveTarget,
  onConnection: (conn: Transported) => void,
  opts: PassiveOptions = {},
): Promise<PassiveListener> {
  const direct = opts.directReads ?? true;
  // Paused on accept: adoptAccepted may hand the socket's handle to one that reads directly.
  const server = createServer({ pauseOnConnect: true }, (accepted) =>
    onConnection(adoptAccepted(accepted, direct)),
  );
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: target.host, port: target.port, backlog: 511 }, () => {
      server.off("error", reject);
      server.on("error", (err) => opts.onError?.(err));
      resolve(new PassiveListener(target, server));
    });
  });
}
