// A small seedable random number generator: mulberry32 (Tommy Ettinger, public domain).
// Its whole state is one 32-bit integer, so a run can save `state()` in a checkpoint and resume
// the exact same stream with `Rng.fromState`. It uses only 32-bit integer arithmetic
// (Math.imul, >>>), so every JS engine produces the same numbers.

export class Rng {
  private s: number;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new Error(`Rng: seed must be a finite number, got ${seed}`);
    // Fold non-integers and numbers beyond 32 bits into the state instead of silently truncating
    // them to the same value (seed 1.5 and 1 differ; 2**32 + 1 and 1 differ).
    const low = seed >>> 0;
    const high = Math.floor(seed / 4294967296) >>> 0;
    const frac = Math.round((seed - Math.floor(seed)) * 4294967296) >>> 0;
    this.s = (low ^ Math.imul(high, 0x9e3779b1) ^ Math.imul(frac, 0x85ebca6b)) >>> 0;
  }

  /** Uniform in [0, 1), 32 bits of randomness. */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`Rng.int: n must be a positive integer, got ${n}`);
    return Math.floor(this.next() * n);
  }

  /** Normal(mean, std) by Box–Muller; uses two draws and keeps no spare, so state() stays complete. */
  normal(mean = 0, std = 1): number {
    const u1 = 1 - this.next(); // (0, 1]: log(0) would be -Infinity
    const u2 = this.next();
    return mean + std * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** The whole generator state: `Rng.fromState(rng.state())` continues the same stream. */
  state(): number {
    return this.s;
  }

  static fromState(state: number): Rng {
    if (!Number.isInteger(state) || state < 0 || state > 0xffffffff) {
      throw new Error(`Rng.fromState: state must be a 32-bit unsigned integer, got ${state}`);
    }
    const rng = new Rng(0);
    rng.s = state;
    return rng;
  }
}
