// Where channels' sockets come from: the one place that opens connections (active targets) and
// listens for them (passive targets), for the switch and the controller alike: TCP (tcp:,
// ptcp:), TLS with Node's `tls` module (ssl:, pssl:) and Unix sockets (unix:, punix:). What
// comes out is always a socket and the ByteSource its bytes arrive through (socket-reads.ts),
// and only once the peer is who it should be: a TLS peer whose certificate does not verify
// against the CA never reaches a channel.
import { lstatSync, chmodSync, existsSync, unlinkSync } from "node:fs";
import {
  connect as netConnect,
  createServer,
  type AddressInfo,
  type Server,
  type Socket,
} from "node:net";
import { dirname } from "node:path";
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from "node:tls";
import { adoptAccepted, connectReading, streamReads, type ByteSource } from "./socket-reads.js";
import type { ActiveTarget, PassiveTarget, PassiveUnixTarget } from "./targets.js";
import type { TlsCredentials } from "./tls.js";

/** A TLS handshake that has not completed after this long is given up (a client that connects
 * and says nothing holds a socket no longer than this). */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

export interface TransportOptions {
  /** Read straight into slabs of our own instead of through 'data' events (default true;
   * socket-reads.ts says why and when it falls back). TLS sockets always use 'data'. */
  directReads?: boolean;
  /** Key, certificate and CA for ssl: and pssl: targets. */
  tls?: TlsCredentials;
}

/** A socket and where its bytes come from. */
export interface Transported {
  socket: Socket;
  source: ByteSource;
}

/** A connection being opened. */
export interface Opening extends Transported {
  /** The socket event after which the channel may start: "connect", or for TLS
   * "secureConnect" (the handshake is done and the peer's certificate verified). */
  readonly readyEvent: "connect" | "secureConnect";
}

/** Who the peer of `socket` is, for logs: ADDRESS:PORT, or "local" on a Unix socket. */
export function peerName(socket: Socket): string {
  const { remoteAddress, remotePort } = socket;
  if (remoteAddress === undefined) return "local";
  return remoteAddress.includes(":")
    ? `[${remoteAddress}]:${remotePort}`
    : `${remoteAddress}:${remotePort}`;
}

function credentials(target: { label: string }, tls: TlsCredentials | undefined): TlsCredentials {
  if (tls === undefined) {
    throw new Error(`${target.label} needs a private key, a certificate and a CA certificate`);
  }
  return tls;
}

/** Starts connecting to `target`; the socket emits `readyEvent` or 'error'. */
export function openActive(target: ActiveTarget, opts: TransportOptions = {}): Opening {
  const direct = opts.directReads ?? true;
  if (target.kind === "unix") {
    return { ...connectReading({ path: target.path }, direct), readyEvent: "connect" };
  }
  if (target.kind === "tcp") {
    return {
      ...connectReading({ host: target.host, port: target.port }, direct),
      readyEvent: "connect",
    };
  }
  const { key, cert, ca } = credentials(target, opts.tls);
  const socket = tlsConnect({
    host: target.host,
    port: target.port,
    key,
    cert,
    ca,
    // As Open vSwitch: the peer is whoever the CA vouches for; its name is not checked
    // against the host it was reached by (OVS's certificates carry no host names).
    checkServerIdentity: () => undefined,
  });
  return { socket, source: streamReads(socket), readyEvent: "secureConnect" };
}

export interface PassiveOptions extends TransportOptions {
  /** Errors after the listener is up (it stays up); default: ignored. */
  onError?: (err: Error) => void;
  /** A TLS peer was refused (no certificate, one the CA did not sign, an expired one, or no
   * TLS at all): `peer` as peerName() gives it, `reason` in a few words. */
  onRefused?: (peer: string, reason: string) => void;
  /** A stale Unix socket (its owner died without removing it) was removed before binding. */
  onStale?: (path: string) => void;
}

/** A bound listener. */
export class PassiveListener {
  constructor(
    readonly target: PassiveTarget,
    private readonly server: Server,
  ) {}

  /** The bound port (the system's choice when the target said 0); 0 for a Unix socket. */
  get port(): number {
    const addr = this.server.address();
    return typeof addr === "object" && addr !== null ? (addr as AddressInfo).port : 0;
  }

  /** Stops accepting (a Unix socket's file is removed); open connections are their owners'
   * to close. */
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** What stands at a Unix socket's path before we bind it. */
export type SocketPathState = "free" | "stale" | "in use" | "not a socket" | "no directory";

/** Looks at `path`: free, a socket nobody listens on (stale), one a live process listens on,
 * something that is not a socket, or a path whose directory does not exist. */
export async function socketPathState(path: string): Promise<SocketPathState> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return existsSync(dirname(path)) ? "free" : "no directory";
  }
  if (!isSocket) return "not a socket";
  return new Promise((resolve) => {
    const probe = netConnect({ path });
    const done = (state: SocketPathState) => {
      probe.destroy();
      resolve(state);
    };
    probe.once("connect", () => done("in use"));
    // ECONNREFUSED: bound once, nobody listening now. Anything else (EACCES: someone else's):
    // not ours to remove.
    probe.once("error", (err: NodeJS.ErrnoException) =>
      done(err.code === "ECONNREFUSED" ? "stale" : "in use"),
    );
  });
}

/** Why `state` stops a listener on `target`, or undefined when it does not. */
export function socketPathProblem(
  target: PassiveUnixTarget,
  state: SocketPathState,
): string | undefined {
  const p = target.path;
  switch (state) {
    case "not a socket":
      return `${target.label}: ${p} exists and is not a socket (remove it or choose another path)`;
    case "no directory":
      return `${target.label}: directory ${dirname(p)} does not exist`;
    case "in use":
      return `${target.label}: ${p} is in use by another process`;
    default:
      return undefined;
  }
}

/** Binds `server` to `target`; rejects with the system's error if it cannot. */
function bind(server: Server, target: PassiveTarget, opts: PassiveOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    const bound = () => {
      server.off("error", reject);
      server.on("error", (err) => opts.onError?.(err));
      resolve();
    };
    if (target.kind !== "punix") {
      server.listen({ host: target.host, port: target.port, backlog: 511 }, bound);
      return;
    }
    // Owner only from the moment it exists: bind under umask 077 (the bind is synchronous),
    // then chmod, in case the file system ignores the umask for sockets.
    const umask = process.umask(0o177);
    try {
      server.listen({ path: target.path, backlog: 511 }, () => {
        try {
          chmodSync(target.path, 0o600);
          bound();
        } catch (err) {
          server.close();
          reject(err);
        }
      });
    } finally {
      process.umask(umask);
    }
  });
}

/** The server for `target`: TLS servers verify the client's certificate before a channel
 * sees a byte of it. */
function serverFor(
  target: PassiveTarget,
  onConnection: (conn: Transported) => void,
  opts: PassiveOptions,
): Server {
  const direct = opts.directReads ?? true;
  if (target.kind !== "pssl") {
    // Paused on accept: adoptAccepted may hand the socket's handle to one that reads directly.
    return createServer({ pauseOnConnect: true }, (accepted) =>
      onConnection(adoptAccepted(accepted, direct)),
    );
  }
  const { key, cert, ca } = credentials(target, opts.tls);
  // rejectUnauthorized is ours to apply, below: Node's own would drop the socket before
  // saying why, and the reason (and the peer's address) is what the log needs.
  const server = createTlsServer({
    key,
    cert,
    ca,
    requestCert: true,
    rejectUnauthorized: false,
    handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
  });
  server.on("secureConnection", (socket: TLSSocket) => {
    if (!socket.authorized) {
      const why = socket.authorizationError as Error | string | null;
      const reason =
        socket.getPeerCertificate().subject === undefined
          ? "no client certificate"
          : verifyFailure(String(why instanceof Error ? why.message : why));
      opts.onRefused?.(peerName(socket), reason);
      socket.destroy();
      return;
    }
    onConnection({ socket, source: streamReads(socket) });
  });
  server.on("tlsClientError", (err: NodeJS.ErrnoException, socket: TLSSocket) => {
    opts.onRefused?.(peerName(socket), connectionError(err));
  });
  return server;
}

/** What the certificate checks an operator meets most often mean, by OpenSSL's code. */
const VERIFY_FAILURES: Record<string, string> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "certificate not signed by a trusted CA",
  UNABLE_TO_GET_ISSUER_CERT: "certificate not signed by a trusted CA",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "certificate not signed by a trusted CA",
  SELF_SIGNED_CERT_IN_CHAIN: "certificate chain ends in a CA that is not trusted",
  DEPTH_ZERO_SELF_SIGNED_CERT: "self-signed certificate that is not trusted",
  CERT_HAS_EXPIRED: "certificate has expired",
  CERT_NOT_YET_VALID: "certificate is not valid yet",
  CERT_SIGNATURE_FAILURE: "certificate signature does not verify",
};

/** A certificate check that failed, in words, with OpenSSL's code. */
function verifyFailure(code: string): string {
  const words = VERIFY_FAILURES[code];
  return words === undefined ? code : `${words} (${code})`;
}

/** Why a connection or its TLS handshake failed, in a few words: a certificate check in words,
 * an OpenSSL error without its source location, or the system's message. */
export function connectionError(err: NodeJS.ErrnoException): string {
  if (err.code !== undefined && err.code in VERIFY_FAILURES) return verifyFailure(err.code);
  const first = err.message.split("\n")[0];
  const ssl = /:SSL routines:[^:]*:([^:]+):/.exec(first);
  return ssl ? ssl[1] : first;
}

/** Listens on `target`, handing every accepted connection to `onConnection`; rejects if the
 * address cannot be bound, or (punix:) if its path is taken by something else. */
export async function listenPassive(
  target: PassiveTarget,
  onConnection: (conn: Transported) => void,
  opts: PassiveOptions = {},
): Promise<PassiveListener> {
  if (target.kind === "punix") {
    const state = await socketPathState(target.path);
    const problem = socketPathProblem(target, state);
    if (problem !== undefined) throw new Error(problem);
    if (state === "stale") {
      unlinkSync(target.path);
      opts.onStale?.(target.path);
    }
  }
  const server = serverFor(target, onConnection, opts);
  await bind(server, target, opts);
  return new PassiveListener(target, server);
}
