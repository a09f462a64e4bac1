// Requests awaiting a reply, by xid. A request is settled by its reply (a STATS_REPLY only once
// the part without OFPSF_REPLY_MORE arrives: the parts are joined), rejected by an OFPT_ERROR
// carrying its xid, by a timeout, or by the connection going away.
import { OFPSF_REPLY_MORE, OFPT, type OfpType } from "../openflow/of10/constants.js";
import { errorPairName } from "../openflow/of10/errors.js";
import type { MessageOf, OfpMessage } from "../openflow/of10/messages.js";

type StatsReply = MessageOf<typeof OFPT.STATS_REPLY>;

/** The switch answered a request with OFPT_ERROR. */
export class SwitchError extends Error {
  override readonly name = "SwitchError";
  /** e.g. "OFPET_BAD_REQUEST/OFPBRC_BAD_STAT". */
  readonly pair: string;
  constructor(
    readonly errType: number,
    readonly code: number,
    readonly data: Buffer,
    readonly xid: number,
  ) {
    const pair = errorPairName(errType, code);
    super(`switch answered xid ${xid} with ${pair}`);
    this.pair = pair;
  }
}

/** A request that will not be answered: timeout, disconnect, or refused by the send queue. */
export class RequestFailed extends Error {
  override readonly name = "RequestFailed";
  constructor(
    readonly reason: "timeout" | "disconnected" | "queue-full" | "bad-reply",
    message: string,
  ) {
    super(message);
  }
}

interface Pending {
  replyType: OfpType;
  resolve: (reply: OfpMessage[]) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  parts: OfpMessage[];
}

export class PendingRequests {
  private readonly byXid = new Map<number, Pending>();

  get size(): number {
    return this.byXid.size;
  }

  /** Waits for the reply of type `replyType` to `xid` (all parts, for STATS_REPLY). */
  wait(xid: number, replyType: OfpType, timeoutMs: number): Promise<OfpMessage[]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.byXid.delete(xid);
        reject(new RequestFailed("timeout", `no reply to xid ${xid} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.byXid.set(xid, { replyType, resolve, reject, timer, parts: [] });
    });
  }

  /** Offers a received message; true if it belonged to a pending request. */
  settle(msg: OfpMessage): boolean {
    if (this.byXid.size === 0) return false; // the common case: a packet-in, nothing pending
    const p = this.byXid.get(msg.xid);
    if (p === undefined) return false;
    if (msg.type === OFPT.ERROR) {
      this.finish(msg.xid, p);
      p.reject(new SwitchError(msg.errType, msg.code, msg.data, msg.xid));
      return true;
    }
    if (msg.type !== p.replyType) return false;
    p.parts.push(msg);
    if (msg.type === OFPT.STATS_REPLY && (msg.flags & OFPSF_REPLY_MORE) !== 0) return true;
    this.finish(msg.xid, p);
    p.resolve(p.parts);
    return true;
  }

  /** Rejects one request (e.g. its message could not be queued). */
  fail(xid: number, err: Error): void {
    const p = this.byXid.get(xid);
    if (p === undefined) return;
    this.finish(xid, p);
    p.reject(err);
  }

  /** Rejects every request. */
  failAll(err: Error): void {
    for (const [xid, p] of this.byXid) {
      this.finish(xid, p);
      p.reject(err);
    }
  }

  private finish(xid: number, p: Pending): void {
    clearTimeout(p.timer);
    this.byXid.delete(xid);
  }
}

/** The entries of a multipart STATS_REPLY, in order. */
export function joinStatsParts<K extends "flows" | "tables" | "ports" | "queues">(
  parts: OfpMessage[],
  key: K,
): Extract<StatsReply, Record<K, unknown>>[K] {
  const out: unknown[] = [];
  for (const part of parts) {
    const entries = (part as unknown as Record<K, unknown[] | undefined>)[key];
    if (entries === undefined) throw new TypeError(`stats reply part without ${key}`);
    for (const e of entries) out.push(e);
  }
  return out as Extract<StatsReply, Record<K, unknown>>[K];
}
