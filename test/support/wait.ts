// Bounded waiting for integration tests: poll a condition while the event loop runs.

/**
 * Resolves once `cond()` holds; rejects with `what` after `timeoutMs` (a function is called
 * then, so the message can say what was seen). `pollMs`: the pause between two looks (longer
 * for a condition that runs a process).
 */
export async function waitFor(
  cond: () => boolean,
  what: string | (() => string),
  timeoutMs = 5000,
  pollMs = 5,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${typeof what === "string" ? what : what()}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
