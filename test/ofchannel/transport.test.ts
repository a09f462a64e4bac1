// The transports below the channel: TLS (pssl: verifies the client's certificate before a
// channel sees a byte, and says why it refused; ssl: verifies the server's), Unix sockets
// (punix: owner-only, a stale socket replaced, anything else at the path refused), and the
// active connector's reports of an unreachable peer and its backoff for sessions that flap.
import { spawnSync } from "node:child_process";
import { lstatSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { connect as netConnect, createServer, type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ActiveConnector } from "../../src/ofchannel/active.js";
import { parseActiveTarget, parsePassiveTarget } from "../../src/ofchannel/targets.js";
import { loadTlsCredentials, type TlsCredentials } from "../../src/ofchannel/tls.js";
import {
  connectionError,
  listenPassive,
  openActive,
  peerName,
  type Transported,
} from "../../src/ofchannel/transport.js";
import { memoryLogger } from "../support/log-sink.js";
import { makeTestPki, type KeyPair, type TestPki } from "../support/pki.js";
import { programsMissing, skipWithout } from "../support/prereq.js";

const skip = skipWithout(import.meta.url, programsMissing("openssl"));

const creds = (pki: TestPki, who: KeyPair, ca = pki.caCert): TlsCredentials =>
  loadTlsCredentials({ privateKey: who.key, certificate: who.cert, caCert: ca }, "test");

/** The first bytes `conn` receives, or undefined if it closes first (bounded). */
function firstBytes(conn: Transported): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(undefined), 3000);
    conn.source.start((chunk) => {
      clearTimeout(t);
      resolve(Buffer.from(chunk));
    });
    conn.socket.once("close", () => resolve(undefined));
  });
}

describe.skipIf(skip)("TLS transports", () => {
  let pki: TestPki;
  beforeAll(() => {
    pki = makeTestPki();
  });
  afterAll(() => pki?.remove());

  it("pssl: hands over only peers the CA vouches for, and says why it refused the others", async () => {
    const accepted: Transported[] = [];
    const refused: [string, string][] = [];
    const listener = await listenPassive(parsePassiveTarget("pssl:0"), (c) => accepted.push(c), {
      tls: creds(pki, pki.switch),
      onRefused: (peer, reason) => refused.push([peer, reason]),
    });
    const port = listener.port;
    const client = (who?: KeyPair) =>
      new Promise<Socket>((resolve) => {
        const s = tlsConnect({
          host: "127.0.0.1",
          port,
          ca: readFileSync(pki.caCert),
          ...(who ? { key: readFileSync(who.key), cert: readFileSync(who.cert) } : {}),
          checkServerIdentity: () => undefined,
        });
        s.on("error", () => undefined);
        s.once("secureConnect", () => {
          s.write("hello");
          resolve(s);
        });
        s.once("close", () => resolve(s));
      });
    try {
      const good = await client(pki.controller);
      await expect.poll(() => accepted.length).toBe(1);
      expect(await firstBytes(accepted[0])).toEqual(Buffer.from("hello"));
      expect(peerName(accepted[0].socket)).toMatch(/^127\.0\.0\.1:\d+$/);
      good.destroy();
      for (const who of [pki.foreign, pki.expired, undefined]) (await client(who)).destroy();
      const plain = netConnect({ host: "127.0.0.1", port });
      plain.on("error", () => undefined);
      plain.write(Buffer.from("0100000800000001", "hex")); // an OpenFlow HELLO in the clear
      await expect.poll(() => refused.length, { timeout: 5000 }).toBe(4);
      plain.destroy();
      expect(refused.map(([, reason]) => reason)).toEqual([
        "certificate not signed by a trusted CA (UNABLE_TO_VERIFY_LEAF_SIGNATURE)",
        "certificate has expired (CERT_HAS_EXPIRED)",
        "no client certificate",
        "wrong version number",
      ]);
      expect(refused.every(([peer]) => /^127\.0\.0\.1:\d+$/.test(peer))).toBe(true);
      expect(accepted).toHaveLength(1);
    } finally {
      await listener.close();
    }
  });

  it("ssl: verifies the server's certificate; a server from another CA is an error, not a session", async () => {
    for (const [server, expected] of [
      [pki.switch, "secureConnect"],
      [pki.foreign, "certificate not signed by a trusted CA (UNABLE_TO_VERIFY_LEAF_SIGNATURE)"],
    ] as const) {
      const listener = await listenPassive(parsePassiveTarget("pssl:0"), () => undefined, {
        tls: creds(pki, server),
      });
      const opening = openActive(parseActiveTarget(`ssl:127.0.0.1:${listener.port}`), {
        tls: creds(pki, pki.controller),
      });
      expect(opening.readyEvent).toBe("secureConnect");
      const outcome = await new Promise<string>((resolve) => {
        opening.socket.once("secureConnect", () => resolve("secureConnect"));
        opening.socket.once("error", (e) => resolve(connectionErrorOf(e)));
      });
      opening.socket.destroy();
      await listener.close();
      expect(outcome).toBe(expected);
    }
  });

  it("refuses ssl: and pssl: without credentials", async () => {
    expect(() => openActive(parseActiveTarget("ssl:127.0.0.1:1"))).toThrow(
      /ssl:127.0.0.1:1 needs a private key/,
    );
    await expect(listenPassive(parsePassiveTarget("pssl:0"), () => undefined)).rejects.toThrow(
      /pssl:0:127.0.0.1 needs a private key/,
    );
  });
});

const connectionErrorOf = (e: Error) => connectionError(e as NodeJS.ErrnoException);

describe("Unix socket transports", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "ofswitch-unix-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("punix: owner-only from the start, unix: reaches it both ways, the file goes with the listener", async () => {
    const path = join(dir, "a.sock");
    const accepted: Transported[] = [];
    const listener = await listenPassive(parsePassiveTarget(`punix:${path}`), (c) =>
      accepted.push(c),
    );
    try {
      expect(lstatSync(path).isSocket()).toBe(true);
      expect((lstatSync(path).mode & 0o777).toString(8)).toBe("600");
      expect(listener.port).toBe(0);
      const opening = openActive(parseActiveTarget(`unix:${path}`));
      await new Promise((r) => opening.socket.once(opening.readyEvent, r));
      opening.socket.write("ping");
      await expect.poll(() => accepted.length).toBe(1);
      expect(await firstBytes(accepted[0])).toEqual(Buffer.from("ping"));
      expect(peerName(accepted[0].socket)).toBe("local");
      accepted[0].socket.write("pong");
      expect(await firstBytes(opening)).toEqual(Buffer.from("pong"));
      opening.socket.destroy();
    } finally {
      await listener.close();
    }
    expect(() => lstatSync(path)).toThrow(/ENOENT/);
  });

  it("punix: a stale socket is replaced; a live one, a file or a missing directory is refused", async () => {
    const path = join(dir, "b.sock");
    // stale: bound by a process that exited without removing it (as after a crash)
    spawnSync(
      "node",
      [
        "-e",
        `require("net").createServer().listen(${JSON.stringify(path)}, () => process.exit(0))`,
      ],
      { timeout: 10_000 },
    );
    expect(lstatSync(path).isSocket()).toBe(true);
    const stale: string[] = [];
    const a = await listenPassive(parsePassiveTarget(`punix:${path}`), () => undefined, {
      onStale: (p) => stale.push(p),
    });
    expect(stale).toEqual([path]);
    await expect(
      listenPassive(parsePassiveTarget(`punix:${path}`), () => undefined),
    ).rejects.toThrow(`punix:${path}: ${path} is in use by another process`);
    await a.close();
    const file = join(dir, "file");
    writeFileSync(file, "x");
    await expect(
      listenPassive(parsePassiveTarget(`punix:${file}`), () => undefined),
    ).rejects.toThrow(`${file} exists and is not a socket`);
    expect(readFileSync(file, "utf8")).toBe("x");
    await expect(
      listenPassive(parsePassiveTarget(`punix:${join(dir, "none", "c.sock")}`), () => undefined),
    ).rejects.toThrow(/directory .*none does not exist/);
  });
});

describe("ActiveConnector: an unreachable peer, and sessions that flap", () => {
  it("warns once with the error while it stays unreachable, then once at info when a session comes up", async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const { log, lines } = memoryLogger("info");
    const sessions: Socket[] = [];
    const a = new ActiveConnector(
      parseActiveTarget(`tcp:127.0.0.1:${port}`),
      (conn, session) => {
        sessions.push(conn.socket);
        session.up();
      },
      log,
      { minMs: 20, maxMs: 40 },
    );
    a.start();
    await expect.poll(() => a.attempts, { timeout: 3000 }).toBeGreaterThanOrEqual(5);
    expect(a.unreachable).toBe(true);
    expect(lines).toEqual([
      expect.objectContaining({
        level: 40,
        msg: "controller unreachable",
        controller: `tcp:127.0.0.1:${port}`,
        error: `connect ECONNREFUSED 127.0.0.1:${port}`,
      }),
    ]);
    const server = createServer((s) => s.on("error", () => undefined));
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    try {
      await expect.poll(() => sessions.length, { timeout: 3000 }).toBe(1);
      expect(a.unreachable).toBe(false);
      expect(lines[1]).toMatchObject({
        level: 30,
        msg: expect.stringMatching(/^controller reachable again after/),
      });
      expect(lines[1].failedAttempts).toBeGreaterThanOrEqual(4);
    } finally {
      a.stop();
      for (const s of sessions) s.destroy();
      server.close();
    }
  });

  it("reconnects at once after a session that lasted, and backs off across sessions that end at once", async () => {
    const server = createServer((s) => s.on("error", () => undefined));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    const { log } = memoryLogger("info");
    const opened: number[] = [];
    const a = new ActiveConnector(
      parseActiveTarget(`tcp:127.0.0.1:${port}`),
      (conn, session) => {
        opened.push(performance.now());
        session.up();
        // every session ends at once, as with a peer that drops it on arrival
        setImmediate(() => {
          conn.socket.destroy();
          session.ended(true, "connection closed by peer");
        });
      },
      log,
      { minMs: 100, maxMs: 400, afterUpMs: 10 },
    );
    a.start();
    try {
      await expect.poll(() => opened.length, { timeout: 5000 }).toBeGreaterThanOrEqual(5);
    } finally {
      a.stop();
      server.close();
    }
    const gaps = opened.slice(1, 5).map((t, i) => t - opened[i]);
    // the first short session: again at once; then 100, 200, 400 ms
    expect(gaps[0]).toBeLessThan(90);
    [100, 200, 400].forEach((ms, i) => expect(gaps[i + 1]).toBeGreaterThanOrEqual(ms - 5));
    expect(a.flaps).toBeGreaterThanOrEqual(4);
  });
});
