// Exponential backoff with full jitter (a random delay between 0 and min(cap, base * 2^n)),
// so that a fleet of devices coming back after an outage does not reconnect in lockstep.

export interface BackoffOptions {
  baseMs: number;
  capMs: number;
  random?: () => number; // [0, 1); injectable for tests
}

export class Backoff {
  private attempt = 0;
  constructor(private readonly options: BackoffOptions) {}

  // The delay before the next try, and counts the try.
  next(): number {
    const ceiling = this.ceiling(this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    return Math.floor((this.options.random ?? Math.random)() * ceiling);
  }

  // The upper bound of the delay of try n (0-based).
  ceiling(n: number): number {
    return Math.min(this.options.capMs, this.options.baseMs * 2 ** Math.min(n, 30));
  }

  get attempts(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
  }
}
