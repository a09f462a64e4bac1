// Random-read latency of this machine by working-set size: one dependent read chain (pointer
// chase) and independent reads over an Int32Array, to explain flow-table lookup cost at scale.
// Run after `npx tsc -p .` as `node dist/bench/memory-latency.js`.
const READS = 2_000_000;
const INTS_PER_LINE = 16;

let seed = 12345;
const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
const cpuNs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};

for (const mb of [0.04, 1, 10, 80]) {
  const lines = Math.max(2, Math.floor((mb * 1024 * 1024) / 4 / INTS_PER_LINE));
  const a = new Int32Array(lines * INTS_PER_LINE);
  // One random cycle through every cache line.
  const order = Int32Array.from({ length: lines }, (_, i) => i);
  for (let i = lines - 1; i > 0; i--) {
    const j = rnd() % (i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (let i = 0; i < lines; i++)
    a[order[i] * INTS_PER_LINE] = order[(i + 1) % lines] * INTS_PER_LINE;
  let p = 0;
  const c0 = cpuNs();
  for (let i = 0; i < READS; i++) p = a[p];
  const dependent = (cpuNs() - c0) / READS;
  let sum = 0;
  const c1 = cpuNs();
  for (let i = 0; i < READS; i++) sum += a[(rnd() % lines) * INTS_PER_LINE];
  const independent = (cpuNs() - c1) / READS;
  console.log(
    `${String(mb).padStart(5)} MB: dependent ${dependent.toFixed(0)} ns/read, independent ${independent.toFixed(0)} ns/read (${(p ^ sum) & 1})`,
  );
}
