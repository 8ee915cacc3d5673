import type { Pacer } from './fault-frames';

/**
 * The FaultProxy's rules: what a test asks for, with the counters that say what really happened.
 * Frame rules pick frames by api key and position (nth, every, count); link rules (delay, blackhole,
 * throttle) cover every frame of a direction; churn acts on connections, not frames.
 */

export type FrameDirection = 'request' | 'response';

export type FaultRuleKind =
  | 'drop-response'
  | 'delay'
  | 'blackhole'
  | 'throttle'
  | 'truncate'
  | 'corrupt'
  | 'wrong-correlation-id'
  | 'swap'
  | 'oversized-frame'
  | 'churn';

/** A fault added by a test; it stays listed (with its counters) after it is used up or removed. */
export interface FaultRule {
  readonly kind: FaultRuleKind;
  /** Frames (churn: connections) the rule looked at and that matched its filter. */
  readonly matched: number;
  /** Frames (churn: connections) the fault was applied to. */
  readonly applied: number;
  /** True once the rule will never apply again (used up or removed). */
  readonly done: boolean;
  remove(): void;
}

/**
 * Which frames a frame rule takes, counted from when it is added, across connections (so a retry on
 * a new connection is the next match). A frame that an earlier rule already took (dropped, truncated,
 * …) is not seen by later ones: each frame suffers at most one frame fault.
 */
export interface FrameMatchOptions {
  /** Only frames of this api key (a response counts as its request's). Default: every api key. */
  apiKey?: number;
  /** 1-based: the first matching frame to take. Default 1. */
  nth?: number;
  /** After the nth, every `every`-th matching frame ("1 in N" is `{ every: N, count: Infinity }`). Default 1. */
  every?: number;
  /** How many frames to take in all; Infinity until removed. Default 1. */
  count?: number;
}

export interface DropResponseOptions extends FrameMatchOptions {
  apiKey: number;
}

export interface TruncateOptions extends FrameMatchOptions {
  /** Bytes of the frame to forward, its 4-byte length prefix included (at most the frame's length - 1). */
  bytes?: number;
  /** Or the share of the frame to forward, rounded down; default 0.5. Ignored when `bytes` is given. */
  fraction?: number;
}

export interface CorruptOptions extends FrameMatchOptions {
  /** Default 'response'. */
  direction?: FrameDirection;
  /**
   * The byte to change, as an index into the payload (after the length prefix; 0 is the first byte of
   * a response's correlation id or a request's api key); negative counts from the end (-1: the last
   * byte). Default: a random byte past the header (a response's correlation id; a request's api key,
   * version, correlation id and client id). A frame too short for the offset is left alone.
   */
  offset?: number;
  /** XOR mask for the byte, 1–255. Default 0xff. */
  xor?: number;
}

export interface WrongCorrelationIdOptions extends FrameMatchOptions {
  /**
   * What the response's correlation id becomes: 'in-flight' (default) the id of another request still
   * pending on that connection (the newest; an unknown id when there is none), 'unknown' an id no
   * pending request has, or a number.
   */
  to?: 'in-flight' | 'unknown' | number;
}

export interface SwapOptions extends FrameMatchOptions {
  /**
   * How long a taken response waits for the next response on its connection; if none comes it goes
   * out alone, unswapped (a 'swap-timeout' event; the rule stays due). Default 2000 ms.
   */
  holdMs?: number;
}

export interface OversizedFrameOptions extends FrameMatchOptions {
  /** The length prefix sent, as an unsigned 32-bit value: 0x7fffffff (default), 0x80000000 reads as negative. */
  length?: number;
  /** Bytes of garbage after the prefix. Default 16. */
  trailerBytes?: number;
  /**
   * How long the proxy then keeps the connection open, swallowing whatever the broker answers, before
   * closing it itself: the client must notice the garbage on its own. Default 5000 ms.
   */
  holdMs?: number;
}

export interface DirectionOptions {
  /** Default 'both'. */
  direction?: FrameDirection | 'both';
}

export interface ChurnOptions {
  /** Each connection lives a random time in [minMs, maxMs] (from its accept, or from now for open ones). Defaults 500 and 1500. */
  minMs?: number;
  maxMs?: number;
  /** Reset with a TCP RST (default) rather than a plain close. */
  rst?: boolean;
}

export abstract class Rule implements FaultRule {
  abstract readonly kind: FaultRuleKind;
  matched = 0;
  applied = 0;
  removed = false;
  constructor(private readonly onRemove: (rule: Rule) => void) {}
  get done(): boolean {
    return this.removed;
  }
  remove(): void {
    if (this.removed) return;
    this.removed = true;
    this.onRemove(this);
  }
}

interface Match {
  apiKey: number | undefined;
  nth: number;
  every: number;
  count: number;
}

/** Validates the shared filter; `what` names the method in the error. */
export function frameMatch(what: string, options: FrameMatchOptions): Match {
  const nth = options.nth ?? 1;
  const every = options.every ?? 1;
  const count = options.count ?? 1;
  const positive = (n: number): boolean => Number.isInteger(n) && n >= 1;
  if (!positive(nth) || !positive(every) || !(positive(count) || count === Infinity)) {
    throw new Error(`kafka-testing: ${what} needs integers nth >= 1, every >= 1 and count >= 1 (or Infinity), got ${nth}, ${every}, ${count}`);
  }
  return { apiKey: options.apiKey, nth, every, count };
}

export abstract class FrameRule extends Rule {
  abstract override readonly kind: Exclude<FaultRuleKind, 'delay' | 'blackhole' | 'throttle' | 'churn'>;
  readonly direction: FrameDirection = 'response';
  constructor(
    onRemove: (rule: Rule) => void,
    readonly match: Match,
  ) {
    super(onRemove);
  }
  override get done(): boolean {
    return this.removed || this.applied >= this.match.count;
  }
  /** Counts a frame of `apiKey` if it passes the filter, and says whether the fault is due for it. */
  take(apiKey: number | undefined): boolean {
    if (this.done || (this.match.apiKey !== undefined && apiKey !== this.match.apiKey)) return false;
    this.matched++;
    const { nth, every } = this.match;
    return this.matched >= nth && (this.matched - nth) % every === 0;
  }
}

export class DropResponseRule extends FrameRule {
  readonly kind = 'drop-response';
}

export class TruncateRule extends FrameRule {
  readonly kind = 'truncate';
  constructor(
    onRemove: (rule: Rule) => void,
    match: Match,
    private readonly bytes: number | undefined,
    private readonly fraction: number,
  ) {
    super(onRemove, match);
  }
  /** How many bytes of a frame of `length` bytes to forward: always at least one byte short. */
  cut(length: number): number {
    const wanted = this.bytes ?? Math.floor(length * this.fraction);
    return Math.max(0, Math.min(wanted, length - 1));
  }
}

export class CorruptRule extends FrameRule {
  readonly kind = 'corrupt';
  constructor(
    onRemove: (rule: Rule) => void,
    match: Match,
    override readonly direction: FrameDirection,
    private readonly offset: number | undefined,
    readonly xor: number,
  ) {
    super(onRemove, match);
  }
  /** The payload index to change, or null when the payload is too short for it. */
  position(payloadLength: number, headerLength: number): number | null {
    if (this.offset === undefined) {
      if (payloadLength <= headerLength) return null;
      return headerLength + Math.floor(Math.random() * (payloadLength - headerLength));
    }
    const at = this.offset < 0 ? payloadLength + this.offset : this.offset;
    return at >= 0 && at < payloadLength ? at : null;
  }
}

export class WrongCorrelationIdRule extends FrameRule {
  readonly kind = 'wrong-correlation-id';
  constructor(
    onRemove: (rule: Rule) => void,
    match: Match,
    readonly to: 'in-flight' | 'unknown' | number,
  ) {
    super(onRemove, match);
  }
}

export class SwapRule extends FrameRule {
  readonly kind = 'swap';
  /** Responses held right now, waiting for the one to overtake them. */
  holding = 0;
  constructor(
    onRemove: (rule: Rule) => void,
    match: Match,
    readonly holdMs: number,
  ) {
    super(onRemove, match);
  }
  override take(apiKey: number | undefined): boolean {
    // A swap is only counted once made; holding more than the rule still has to give would overshoot count.
    if (this.applied + this.holding >= this.match.count) return false;
    return super.take(apiKey);
  }
}

export class OversizedFrameRule extends FrameRule {
  readonly kind = 'oversized-frame';
  constructor(
    onRemove: (rule: Rule) => void,
    match: Match,
    readonly length: number,
    readonly trailerBytes: number,
    readonly holdMs: number,
  ) {
    super(onRemove, match);
  }
  /** The bytes sent instead of the response. */
  garbage(): Buffer {
    const out = Buffer.alloc(4 + this.trailerBytes, 0x41);
    out.writeUInt32BE(this.length >>> 0, 0);
    return out;
  }
}

export class DirectionalRule extends Rule {
  constructor(
    onRemove: (rule: Rule) => void,
    readonly kind: 'delay' | 'blackhole',
    readonly direction: FrameDirection | 'both',
    readonly ms: number,
  ) {
    super(onRemove);
  }
  covers(direction: FrameDirection): boolean {
    return !this.removed && (this.direction === 'both' || this.direction === direction);
  }
}

/** A bandwidth limit shared by every connection, one budget per direction (a link, not a socket). */
export class ThrottleRule extends Rule {
  readonly kind = 'throttle';
  private readonly pacers: Record<FrameDirection, Pacer>;
  constructor(
    onRemove: (rule: Rule) => void,
    readonly direction: FrameDirection | 'both',
    readonly bytesPerSecond: number,
  ) {
    super(onRemove);
    const pacer = (): Pacer => {
      let nextFreeAt = 0;
      return {
        bytesPerSecond,
        reserve: (bytes, now) => {
          const at = Math.max(now, nextFreeAt);
          nextFreeAt = at + (bytes / bytesPerSecond) * 1000;
          return at;
        },
      };
    };
    this.pacers = { request: pacer(), response: pacer() };
  }
  pacer(direction: FrameDirection): Pacer | null {
    return !this.removed && (this.direction === 'both' || this.direction === direction) ? this.pacers[direction] : null;
  }
}

export class ChurnRule extends Rule {
  readonly kind = 'churn';
  readonly timers = new Set<NodeJS.Timeout>();
  constructor(
    onRemove: (rule: Rule) => void,
    readonly minMs: number,
    readonly maxMs: number,
    readonly rst: boolean,
  ) {
    super(onRemove);
  }
  lifetimeMs(): number {
    return this.minMs + Math.random() * (this.maxMs - this.minMs);
  }
  override remove(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    super.remove();
  }
}
