// Switch state kept per controller session (OVS keeps miss_send_len and the packet buffers per
// connection), and the switch's counters.
import type { SessionRole } from "../ofchannel/targets.js";
import { PacketBufferPool } from "./packet-buffers.js";
import { TokenBucket } from "./token-bucket.js";

export class Session {
  readonly buffers = new PacketBufferPool();
  readonly limiter: TokenBucket;

  constructor(
    /** Primary controller or service session (as OVS's ofconn type). */
    readonly role: SessionRole,
    public missSendLen: number,
    packetInRate: number,
    packetInBurst: number,
  ) {
    this.limiter = new TokenBucket(packetInRate, packetInBurst);
  }
}

export class SwitchStats {
  /** Table misses dropped because no controller was connected (fail mode secure). */
  missesDropped = 0;
  /** Misses forwarded by MAC learning in standalone mode. */
  standaloneForwarded = 0;
  packetInsSent = 0;
  /** Packet-ins refused by a session's token bucket. */
  packetInsRateLimited = 0;
  /** Packet-ins dropped because the controller was not reading fast enough. */
  packetInsQueueDropped = 0;
  flowRemovedSent = 0;
  errorsSent = 0;
}
