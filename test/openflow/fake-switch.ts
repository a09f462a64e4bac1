// A minimal OpenFlow 1.0 "switch" on 127.0.0.1 built from the codec alone, for letting the real
// ovs-ofctl connect: it sends HELLO, decodes everything ovs-ofctl sends, and answers with replies
// encoded by the codec. Every wait is bounded and ovs-ofctl is killed by PID.
import { spawn } from "node:child_process";
import net from "node:net";
import { OFPBRC, OFPST, OFPT } from "../../src/openflow/of10/constants.js";
import { decodeMessage, encodeMessage } from "../../src/openflow/of10/codec.js";
import { errorToMessage, OfpError } from "../../src/openflow/of10/errors.js";
import { MessageFramer } from "../../src/ofchannel/framer.js";
import type { OfpMessage, StatsReplyBody } from "../../src/openflow/of10/messages.js";
import type { PhyPort } from "../../src/openflow/of10/types.js";

/** Replies to one decoded message (raw: its bytes); undefined or [] sends nothing. */
export type Responder = (m: OfpMessage, raw: Buffer) => OfpMessage[] | undefined;

export interface OfctlRun {
  /** Everything ovs-ofctl sent, over all its connections, in order. */
  received: OfpMessage[];
  /** Anything that did not decode (must stay empty). */
  decodeErrors: string[];
  stdout: string;
  stderr: string;
  code: number | null;
}

/** Answers the stats request of body's type with one STATS_REPLY carrying `body`. */
export function answerStats(body: StatsReplyBody): Responder {
  return (m) =>
    m.type === OFPT.STATS_REQUEST && m.statsType === body.statsType
      ? [{ type: OFPT.STATS_REPLY, xid: m.xid, flags: 0, ...body }]
      : undefined;
}

/** The fake switch's two ports. */
export const PORTS: PhyPort[] = [1, 2].map((n) => ({
  portNo: n,
  hwAddr: `02:00:00:00:00:0${n}`,
  name: `of-p${n}`,
  config: 0,
  state: 0,
  curr: 0,
  advertised: 0,
  supported: 0,
  peer: 0,
}));

/** The replies every OF1.0 switch owes, whatever the command (a test's responder goes first). */
export function defaultReplies(m: OfpMessage, raw: Buffer): OfpMessage[] {
  switch (m.type) {
    case OFPT.ECHO_REQUEST:
      return [{ type: OFPT.ECHO_REPLY, xid: m.xid, data: m.data }];
    case OFPT.BARRIER_REQUEST:
      return [{ type: OFPT.BARRIER_REPLY, xid: m.xid }];
    case OFPT.VENDOR: // a plain OF1.0 switch: no Nicira extensions, so ovs-ofctl falls back
      return [errorToMessage(OfpError.badRequest(OFPBRC.BAD_VENDOR, "", raw))];
    case OFPT.FEATURES_REQUEST:
      return [
        {
          type: OFPT.FEATURES_REPLY,
          xid: m.xid,
          datapathId: 0xfeedn,
          nBuffers: 256,
          nTables: 1,
          capabilities: 0x87,
          actions: 0xfff,
          ports: PORTS,
        },
      ];
    case OFPT.GET_CONFIG_REQUEST:
      return [{ type: OFPT.GET_CONFIG_REPLY, xid: m.xid, flags: 0, missSendLen: 128 }];
    case OFPT.STATS_REQUEST:
      if (m.statsType === OFPST.TABLE) {
        return [
          { type: OFPT.STATS_REPLY, xid: m.xid, flags: 0, statsType: OFPST.TABLE, tables: [] },
        ];
      }
      return [];
    default:
      return [];
  }
}

export async function runOfctl(
  args: string[],
  respond: Responder = () => undefined,
  timeoutMs = 10_000,
): Promise<OfctlRun> {
  const run: OfctlRun = { received: [], decodeErrors: [], stdout: "", stderr: "", code: null };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on("error", () => sock.destroy());
    sock.write(encodeMessage({ type: OFPT.HELLO, xid: 0, version: 1, body: Buffer.alloc(0) }));
    const framer = new MessageFramer();
    sock.on("data", (chunk: Buffer) =>
      framer.feed(chunk, (out) => {
        if (out.kind === "error") {
          run.decodeErrors.push(out.detail);
          return;
        }
        let m: OfpMessage;
        try {
          m = decodeMessage(out.data);
        } catch (e) {
          run.decodeErrors.push(`${String(e)}: ${out.data.toString("hex")}`);
          return;
        }
        run.received.push(m);
        try {
          const replies =
            m.type === OFPT.HELLO ? [] : (respond(m, out.data) ?? defaultReplies(m, out.data));
          for (const r of replies) sock.write(encodeMessage(r));
        } catch (e) {
          // a bug in a responder must fail the test, not leave ovs-ofctl waiting
          run.decodeErrors.push(`responder: ${String(e)}`);
          sock.destroy();
        }
      }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const port = (server.address() as net.AddressInfo).port;
  const target = `tcp:127.0.0.1:${port}`;
  const child = spawn(
    "ovs-ofctl",
    args.map((a) => (a === "TARGET" ? target : a)),
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let timer: NodeJS.Timeout | undefined;
  try {
    child.stdout.on("data", (d: Buffer) => (run.stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (run.stderr += d.toString()));
    run.code = await new Promise<number | null>((resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`ovs-ofctl ${args.join(" ")} did not finish in ${timeoutMs} ms`)),
        timeoutMs,
      );
      child.once("error", reject);
      child.once("exit", (code) => resolve(code));
    });
    return run;
  } finally {
    clearTimeout(timer);
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      process.kill(child.pid, "SIGKILL");
    }
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
