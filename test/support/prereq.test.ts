// The prerequisite gate itself: skip (loudly) outside CI, fail under CI=true.
import { afterEach, describe, expect, it, vi } from "vitest";
import { skipWithout } from "./prereq.js";

describe("skipWithout", () => {
  const saved = process.env.CI;
  afterEach(() => {
    if (saved === undefined) delete process.env.CI;
    else process.env.CI = saved;
    vi.restoreAllMocks();
  });

  it("runs the tests when nothing is missing, in CI or not", () => {
    process.env.CI = "true";
    expect(skipWithout(import.meta.url, undefined)).toBe(false);
    delete process.env.CI;
    expect(skipWithout(import.meta.url, undefined)).toBe(false);
  });

  it("skips with a loud warning outside CI", () => {
    delete process.env.CI;
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    expect(skipWithout(import.meta.url, "not running as root")).toBe(true);
    expect(warn).toHaveBeenCalledWith(
      expect.stringMatching(/SKIPPING test\/support\/prereq\.test\.ts: not running as root/),
    );
  });

  it("fails under CI=true instead of skipping", () => {
    process.env.CI = "true";
    expect(() => skipWithout(import.meta.url, "the AF_PACKET addon is unavailable")).toThrow(
      /prereq\.test\.ts: the AF_PACKET addon is unavailable\. Under CI=true every integration test must run/,
    );
  });
});
