// The CLI's argument handling, through the built binary: a bad argument prints exactly one
// line on stderr and exits 2; --help and --version exit 0.
import { spawnSync } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { resolveBackend } from "../../src/datapath/port-factory.js";
import { parseArgs, UsageError } from "../../src/daemon/options.js";
import { isLoopback } from "../../src/ofchannel/targets.js";
import { CLI, ensureBuilt } from "../support/daemon.js";
import { rootMissing, skipWithout } from "../support/prereq.js";

function run(args: string[]) {
  const r = spawnSync("node", [CLI, ...args], { encoding: "utf8", timeout: 15_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => ensureBuilt(), 120_000);

describe("ofswitch command line (built binary)", () => {
  const bad: [string[], RegExp][] = [
    [[], /required option '-i, --interface/],
    [["-i"], /argument missing/],
    [["-i", "lo", "--bogus"], /unknown option '--bogus'/],
    [["-i", "lo", "--fail-mode", "open"], /--fail-mode must be secure or standalone/],
    [["-i", "lo", "-c", "udp:1.2.3.4"], /controller "udp:1.2.3.4": expected tcp:HOST\[:PORT\]/],
    [["-i", "lo", "-c", "tcp:1.2.3.4:70000"], /port 70000 is out of range/],
    [["-i", "lo", "-l", "ptcp:66x"], /listener "ptcp:66x"/],
    [["-i", "lo", "-l", "ptcp:6634:nowhere"], /is not an IP address/],
    [["-i", "lo", "--dpid", "xyz"], /--dpid must be 1 to 16 hex digits/],
    [["-i", "lo", "--dpid", "12345678901234567"], /--dpid/],
    [
      ["-i", "lo", "--miss-send-len", "70000"],
      /--miss-send-len must be an integer from 0 to 65535/,
    ],
    [["-i", "lo", "--max-flows", "0"], /--max-flows/],
    [["-i", "lo", "--log-level", "loud"], /--log-level must be one of/],
    [["-i", "lo", "--packet-in-rate", "-5"], /--packet-in-rate/],
    [["-i", "lo", "--probe-interval", "0"], /--probe-interval/],
    [["-i", "lo=0"], /port number of -i lo=0/],
    [["-i", "lo", "-i", "lo"], /interface lo is given twice/],
    [["-i", "a=2", "-i", "b"], /port number 2 is used by both a and b/],
    [["-i", "lo", "stray"], /too many arguments/],
    [["-i", "ofs-no-such-if0"], /interface ofs-no-such-if0 does not exist/],
    [["-i", "lo", "--metrics", "nine"], /the port of --metrics must be an integer/],
    [["-i", "lo", "--metrics", "9100:1.2.3.4"], /--metrics must be \[IP:\]PORT/],
    [["-i", "lo", "--metrics", "::1:9100"], /--metrics must be \[IP:\]PORT/],
    [
      ["-i", "lo", "--metrics", "70000"],
      /the port of --metrics must be an integer from 0 to 65535/,
    ],
    [["-i", "lo", "--ctl-socket", "/tmp/"], /--ctl-socket must be a file path/],
    [
      ["-i", "lo", "-l", "ptcp:6634:0.0.0.0"],
      /listener "ptcp:6634:0.0.0.0" would let anyone .* without authentication: .*--allow-insecure-listen/,
    ],
    [["-i", "lo", "-l", "ptcp:6634:[::]"], /listener "ptcp:6634:\[::\]" would let anyone/],
    [
      ["-i", "lo", "-c", "ssl:127.0.0.1"],
      /ssl:127\.0\.0\.1:6653 needs --private-key, --certificate and --ca-cert \(missing: --private-key, --certificate, --ca-cert\)/,
    ],
    [
      ["-i", "lo", "-l", "pssl:", "--private-key", "/nonexistent.pem", "--certificate", "x"],
      /missing: --ca-cert/,
    ],
    [
      [
        "-i",
        "lo",
        "-l",
        "pssl:",
        "--private-key",
        "/nonexistent.pem",
        "--certificate",
        "/x",
        "--ca-cert",
        "/y",
      ],
      /--private-key \/nonexistent\.pem: no such file/,
    ],
    [["-i", "lo", "--ca-cert", "/nonexistent.pem"], /--ca-cert \/nonexistent\.pem: no such file/],
    [["-i", "lo", "-l", "punix:"], /listener "punix:": the path is missing/],
    [["-i", "lo", "-l", "unix:/tmp/x"], /listener "unix:\/tmp\/x": expected ptcp:/],
    [["-i", "lo", "-c", "punix:/tmp/x"], /controller "punix:\/tmp\/x": expected tcp:/],
  ];
  for (const [args, message] of bad) {
    it(`exits 2 with one line for: ${args.join(" ") || "(no arguments)"}`, () => {
      const r = run(args);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      const lines = r.stderr.split("\n").filter((l) => l !== "");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^ofswitch: /);
      expect(lines[0]).toMatch(message);
    });
  }

  it.skipIf(skipWithout(import.meta.url, rootMissing()))(
    "says what to do when run without the capture privilege",
    () => {
      const r = spawnSync(
        "setpriv",
        [
          "--reuid=65534",
          "--regid=65534",
          "--clear-groups",
          "--inh-caps=-all",
          "node",
          CLI,
          "-i",
          "lo",
        ],
        { encoding: "utf8", timeout: 15_000 },
      );
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(/needs root or CAP_NET_RAW: run ofswitch with sudo/);
    },
  );

  it("prints help and the version with exit code 0", () => {
    const help = run(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/-i, --interface <IFACE\[=N\]>/);
    expect(help.stdout).toMatch(/--fail-mode/);
    const version = run(["--version"]);
    expect([version.code, version.stdout.trim()]).toEqual([0, "0.1.0"]);
  });

  it("--help names the frame I/O backend auto resolves to here, not always libpcap", () => {
    const help = run(["--help"]).stdout;
    const { backend, reason } = resolveBackend("auto");
    if (process.env.CI === "true") expect(backend).toBe("afpacket"); // the addon builds in CI
    expect(help).toContain(
      backend === "afpacket"
        ? "Frame I/O on this machine: AF_PACKET rings (native addon loaded)."
        : `Frame I/O on this machine: libpcap (AF_PACKET addon unavailable: ${reason}`,
    );
    expect(help).not.toMatch(/Linux interfaces \(libpcap\)/);
  });
});

describe("parseArgs", () => {
  it("numbers interfaces by position unless told, and fills the defaults", () => {
    const cfg = parseArgs(["-i", "eth1", "-i", "eth2=7", "-c", "tcp:10.0.0.9", "-l", "ptcp:6634"]);
    expect(cfg.interfaces).toEqual([
      { name: "eth1", portNo: 1 },
      { name: "eth2", portNo: 7 },
    ]);
    expect(cfg.controllers[0]).toMatchObject({ host: "10.0.0.9", port: 6653 });
    expect(cfg.listeners[0]).toMatchObject({ host: "127.0.0.1", port: 6634 });
    expect(cfg).toMatchObject({
      failMode: "standalone",
      missSendLen: 128,
      packetInRate: 0,
      probeIntervalMs: 5000,
      maxBackoffMs: 8000,
      logLevel: "info",
      keepIpv6: false,
      allowInsecureListen: false,
    });
    expect(parseArgs(["-i", "x", "--dpid", "0x00000000000000ab"]).datapathId).toBe(0xabn);
    expect(parseArgs(["-i", "x", "--probe-interval", "0.25"]).probeIntervalMs).toBe(250);
  });

  it("--metrics: loopback unless an address is given; off by default", () => {
    expect(parseArgs(["-i", "x"]).metrics).toBeUndefined();
    expect(parseArgs(["-i", "x", "--metrics", "9100"]).metrics).toEqual({
      host: "127.0.0.1",
      port: 9100,
    });
    expect(parseArgs(["-i", "x", "--metrics", "0.0.0.0:9100"]).metrics).toEqual({
      host: "0.0.0.0",
      port: 9100,
    });
    expect(parseArgs(["-i", "x", "--metrics", "[::1]:9100"]).metrics).toEqual({
      host: "::1",
      port: 9100,
    });
    expect(() => parseArgs(["-i", "x", "--metrics", "[10.0.0.1]:9100"])).toThrow(UsageError);
  });

  it("--ctl-socket: a path, none, or the default", () => {
    expect(parseArgs(["-i", "x"]).ctlSocket).toBeUndefined();
    expect(parseArgs(["-i", "x", "--ctl-socket", "none"]).ctlSocket).toBeNull();
    expect(parseArgs(["-i", "x", "--ctl-socket", "/tmp/s.ctl"]).ctlSocket).toBe("/tmp/s.ctl");
    expect(() => parseArgs(["-i", "x", "--ctl-socket", `/tmp/${"x".repeat(120)}`])).toThrow(
      UsageError,
    );
  });

  it("starts a plain-TCP listener on a non-loopback address only with --allow-insecure-listen", () => {
    for (const host of ["0.0.0.0", "10.1.2.3", "[::]", "[fe80::1]", "[::ffff:10.0.0.1]"]) {
      expect(() => parseArgs(["-i", "x", "-l", `ptcp:6634:${host}`]), host).toThrow(
        /without authentication/,
      );
      const cfg = parseArgs(["-i", "x", "-l", `ptcp:6634:${host}`, "--allow-insecure-listen"]);
      expect(cfg.allowInsecureListen).toBe(true);
    }
    for (const host of [
      "127.0.0.1",
      "127.9.9.9",
      "[::1]",
      "[0:0:0:0:0:0:0:1]",
      "[::ffff:127.0.0.1]",
    ]) {
      expect(parseArgs(["-i", "x", "-l", `ptcp:6634:${host}`]).listeners, host).toHaveLength(1);
    }
    expect(isLoopback("localhost")).toBe(false); // names are not resolved here: IPs only
  });

  it("throws UsageError for bad values", () => {
    expect(() => parseArgs(["-i", "x", "--packet-in-burst", "0"])).toThrow(UsageError);
  });
});
