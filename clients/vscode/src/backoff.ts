// Restart policy after a daemon crash: exponential delays, and give up after too many crashes
// in a short window (a daemon that crashes on start would otherwise loop). No `vscode` import.

export interface BackoffOptions {
  baseMs: number; // first delay
  maxMs: number; // largest delay
  maxCrashes: number; // crashes tolerated within windowMs
  windowMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1000, maxMs: 30000, maxCrashes: 5, windowMs: 3 * 60 * 1000 };

export interface Decision {
  restart: boolean;
  delayMs: number;
  attempt: number; // crashes within the window, this one included
}

export class Backoff {
  private crashes: number[] = [];

  constructor(
    private readonly opts: BackoffOptions = DEFAULT_BACKOFF,
    private readonly now: () => number = Date.now,
  ) {}

  /** Call when the daemon exited without being asked to. */
  onCrash(): Decision {
    const t = this.now();
    this.crashes = this.crashes.filter((c) => t - c < this.opts.windowMs);
    this.crashes.push(t);
    const attempt = this.crashes.length;
    if (attempt > this.opts.maxCrashes) return { restart: false, delayMs: 0, attempt };
    const delayMs = Math.min(this.opts.maxMs, this.opts.baseMs * 2 ** (attempt - 1));
    return { restart: true, delayMs, attempt };
  }

  /** A restart the user asked for starts afresh. */
  reset(): void {
    this.crashes = [];
  }
}
