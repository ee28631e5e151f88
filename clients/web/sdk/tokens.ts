// The bearer token: asked of the app's getToken() when there is none, when the one held
// expires within a margin (its JWT "exp", when it can be read), and after the server
// refused it (close 4001/4002, HTTP 401). Concurrent callers share one request.

export type TokenReason = 'initial' | 'expired' | 'refused';
export type GetToken = (reason: TokenReason) => Promise<string> | string;

export function jwtExpiry(token: string): number | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const text = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
    const claims: unknown = JSON.parse(text);
    if (typeof claims === 'object' && claims !== null && typeof (claims as { exp?: unknown }).exp === 'number') {
      return (claims as { exp: number }).exp * 1000;
    }
  } catch {
    // not a JWT we can read: rely on the server's answers
  }
  return null;
}

export class TokenSource {
  private token: string | null = null;
  private expires: number | null = null;
  private reason: TokenReason = 'initial';
  private inflight: Promise<string> | null = null;

  constructor(
    private readonly getToken: GetToken,
    private readonly now: () => number = Date.now,
    private readonly marginMs = 30_000,
  ) {}

  async get(): Promise<string> {
    if (this.token && (this.expires === null || this.expires - this.marginMs > this.now())) return this.token;
    if (this.token) this.reason = 'expired';
    if (!this.inflight) {
      const reason = this.reason;
      this.inflight = Promise.resolve()
        .then(() => this.getToken(reason))
        .then((t) => {
          if (typeof t !== 'string' || t.length === 0) throw new Error('getToken() returned no token');
          this.token = t;
          this.expires = jwtExpiry(t);
          return t;
        })
        .finally(() => {
          this.inflight = null;
        });
    }
    return this.inflight;
  }

  // The server refused the token: the next get() asks the app for a new one.
  refused(): void {
    this.token = null;
    this.reason = 'refused';
  }
}
