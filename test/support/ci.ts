// Skipping for a missing privilege, addon or peer: loud outside CI, a failure under CI=true
// (CI installs every peer, so a skip there means a broken setup, not an optional test).
import { it } from "vitest";
import { warnSkip } from "./netns.js";

/** True when the caller should skip; under CI=true registers a failing test instead. */
export function skipUnless(file: string, missing: string | undefined): boolean {
  if (missing === undefined) return false;
  if (process.env.CI === "true") {
    it(`has what it needs under CI (${file})`, () => {
      throw new Error(`${file}: ${missing}`);
    });
    return true;
  }
  warnSkip(file, missing);
  return true;
}

/** The first of `reasons` that is set: what is missing, or undefined when nothing is. */
export function firstMissing(...reasons: (string | undefined)[]): string | undefined {
  return reasons.find((r) => r !== undefined);
}
