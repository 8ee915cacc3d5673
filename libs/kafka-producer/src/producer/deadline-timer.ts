/**
 * One timer for the earliest of many deadlines (the waits keep thousands of records, each with its own
 * maxBlockMs deadline): `arm(at)` only ever moves the timer earlier; the callback rescans and re-arms.
 */
export class DeadlineTimer {
  private timer: NodeJS.Timeout | null = null;
  private at = Number.POSITIVE_INFINITY;

  constructor(private readonly onDue: (nowMs: number) => void) {}

  /** Makes sure the callback runs no later than `at` (epoch milliseconds). */
  arm(at: number): void {
    if (at >= this.at) return;
    this.clear();
    this.at = at;
    this.timer = setTimeout(this.fire, Math.max(at - Date.now(), 0));
  }

  clear(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.at = Number.POSITIVE_INFINITY;
  }

  private readonly fire = (): void => {
    this.timer = null;
    this.at = Number.POSITIVE_INFINITY;
    this.onDue(Date.now());
  };
}
