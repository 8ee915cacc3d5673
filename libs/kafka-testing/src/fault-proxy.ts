import * as net from 'node:net';
import { ProxiedConnection, type LinkVerdict } from './fault-connection';
import type { Pacer } from './fault-frames';
import {
  ChurnRule,
  CorruptRule,
  DirectionalRule,
  DropResponseRule,
  frameMatch,
  FrameRule,
  OversizedFrameRule,
  Rule,
  SwapRule,
  ThrottleRule,
  TruncateRule,
  WrongCorrelationIdRule,
  type ChurnOptions,
  type CorruptOptions,
  type DirectionOptions,
  type DropResponseOptions,
  type FaultRule,
  type FrameDirection,
  type OversizedFrameOptions,
  type SwapOptions,
  type TruncateOptions,
  type WrongCorrelationIdOptions,
} from './fault-rules';

export type {
  ChurnOptions,
  CorruptOptions,
  DirectionOptions,
  DropResponseOptions,
  FaultRule,
  FaultRuleKind,
  FrameDirection,
  FrameMatchOptions,
  OversizedFrameOptions,
  SwapOptions,
  TruncateOptions,
  WrongCorrelationIdOptions,
} from './fault-rules';

/**
 * A TCP proxy in front of one broker that understands just enough of the Kafka framing to inject
 * faults at request/response granularity: every frame is a 4-byte big-endian length and a payload;
 * a request payload starts with apiKey (int16), apiVersion (int16) and correlationId (int32), a
 * response payload with the correlationId. Responses are matched to their request's api key by
 * correlation id, so a test can say "lose the 3rd Produce response" without knowing anything else
 * of the protocol. The product never sees this class: brokers advertise the proxy's port instead of
 * their own (KafkaCluster's `faultProxy` option).
 *
 * Per frame, link rules come first (blackhole, then delay and throttle), then at most one frame fault,
 * in the order drop → oversized frame → truncate → wrong correlation id → corrupt → swap. Churn resets
 * connections on timers. Everything the proxy does to the traffic (and every connection it opens or
 * loses) is appended to `events`, so a test can assert that the fault it asked for really happened.
 */

export interface FaultProxyOptions {
  /** The broker listener to forward to. */
  target: { host: string; port: number };
  /** Listen address. Default 127.0.0.1. */
  host?: string;
  /** Listen port; 0 (the default) picks a free one. */
  port?: number;
  /** Names the proxy in events and errors, e.g. 'node-2'. */
  name?: string;
  /**
   * A frame announcing more than this is treated as a protocol error (both sides closed) rather than
   * buffered: the proxy must never be the one that allocates a garbage length. Default 128 MiB.
   */
  maxFrameBytes?: number;
}

export type FaultProxyEventKind =
  | 'connect'
  | 'close'
  | 'upstream-error'
  | 'drop-response'
  | 'discard'
  | 'delay'
  | 'blackhole'
  | 'throttle'
  | 'reset'
  | 'resume'
  | 'protocol-error'
  | 'unmatched-response'
  | 'truncate'
  | 'corrupt'
  | 'wrong-correlation-id'
  | 'swap'
  | 'swap-timeout'
  | 'oversized-frame'
  | 'churn'
  | 'churn-reset';

export interface FaultProxyEvent {
  /** Date.now() when it happened. */
  at: number;
  kind: FaultProxyEventKind;
  /** The proxied connection (1, 2, … in accept order); absent for proxy-wide events. */
  connectionId?: number;
  direction?: FrameDirection;
  apiKey?: number;
  apiVersion?: number;
  correlationId?: number;
  /** Requests forwarded to the broker on this connection whose responses had not come back yet. */
  inFlight?: number;
  detail?: string;
}

export interface FaultProxyCounts {
  /** Frames forwarded, by api key. */
  requests: Record<number, number>;
  responses: Record<number, number>;
  connections: number;
}

const DEFAULT_MAX_FRAME_BYTES = 128 * 1024 * 1024;

/** Frame faults by precedence: a frame goes to the first rule, in this order, that takes it. */
const FAULT_ORDER: ReadonlyArray<FrameRule['kind']> = ['drop-response', 'oversized-frame', 'truncate', 'wrong-correlation-id', 'corrupt', 'swap'];

export class FaultProxy {
  /** Everything the proxy did, in order. */
  readonly events: FaultProxyEvent[] = [];
  readonly name: string;
  private readonly rules: Rule[] = [];
  private readonly connections = new Set<ProxiedConnection>();
  private readonly requestCounts: Record<number, number> = {};
  private readonly responseCounts: Record<number, number> = {};
  private accepted = 0;
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly server: net.Server,
    private readonly options: FaultProxyOptions,
  ) {
    this.name = options.name ?? `proxy->${options.target.host}:${options.target.port}`;
    server.on('connection', (socket) => this.accept(socket));
  }

  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new FaultProxy(server, options);
  }

  /** Where clients connect. */
  get host(): string {
    return (this.server.address() as net.AddressInfo).address;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get target(): { host: string; port: number } {
    return { ...this.options.target };
  }

  /** Connections currently open through the proxy. */
  get openConnections(): number {
    return this.connections.size;
  }

  counts(): FaultProxyCounts {
    return { requests: { ...this.requestCounts }, responses: { ...this.responseCounts }, connections: this.accepted };
  }

  /** The rules not yet used up or removed. */
  activeRules(): FaultRule[] {
    return this.rules.filter((r) => !r.done);
  }

  /**
   * Lets the request reach the broker (so it is executed: a Produce is written to the log) but, when
   * its response comes back, closes the client's connection instead of delivering it. Every other
   * response still pending on that connection is lost with it, as with a real connection loss.
   */
  dropResponse(options: DropResponseOptions): FaultRule {
    return this.add(new DropResponseRule(this.forgetRule, frameMatch('dropResponse', options)));
  }

  /**
   * Forwards only the first bytes of a matching response (a cut mid-frame), then closes the client
   * connection once they are written; nothing after them reaches the client.
   */
  truncateResponse(options: TruncateOptions = {}): FaultRule {
    const { bytes, fraction = 0.5 } = options;
    if (bytes !== undefined && !(Number.isInteger(bytes) && bytes >= 0)) throw new Error(`kafka-testing: truncateResponse needs an integer bytes >= 0, got ${bytes}`);
    if (!(fraction >= 0 && fraction < 1)) throw new Error(`kafka-testing: truncateResponse needs 0 <= fraction < 1, got ${fraction}`);
    return this.add(new TruncateRule(this.forgetRule, frameMatch('truncateResponse', options), bytes, fraction));
  }

  /** XORs one byte of a matching response (default) or request and forwards it; the connection stays open. */
  corrupt(options: CorruptOptions = {}): FaultRule {
    const xor = options.xor ?? 0xff;
    if (!(Number.isInteger(xor) && xor >= 1 && xor <= 255)) throw new Error(`kafka-testing: corrupt needs an integer xor in [1, 255], got ${xor}`);
    if (options.offset !== undefined && !Number.isInteger(options.offset)) throw new Error(`kafka-testing: corrupt needs an integer offset, got ${options.offset}`);
    return this.add(new CorruptRule(this.forgetRule, frameMatch('corrupt', options), options.direction ?? 'response', options.offset, xor));
  }

  /** Rewrites the correlation id of a matching response (see WrongCorrelationIdOptions.to) and forwards it. */
  wrongCorrelationId(options: WrongCorrelationIdOptions = {}): FaultRule {
    const to = options.to ?? 'in-flight';
    if (typeof to === 'number' && !(Number.isInteger(to) && to >= -0x80000000 && to <= 0x7fffffff)) throw new Error(`kafka-testing: wrongCorrelationId needs an int32, got ${to}`);
    return this.add(new WrongCorrelationIdRule(this.forgetRule, frameMatch('wrongCorrelationId', options), to));
  }

  /** Holds a matching response and delivers it right after the next response on its connection (two responses reordered). */
  swapResponses(options: SwapOptions = {}): FaultRule {
    const holdMs = options.holdMs ?? 2000;
    if (!(Number.isFinite(holdMs) && holdMs >= 0)) throw new Error(`kafka-testing: swapResponses needs holdMs >= 0, got ${holdMs}`);
    return this.add(new SwapRule(this.forgetRule, frameMatch('swapResponses', options), holdMs));
  }

  /**
   * Instead of a matching response, sends a length prefix announcing a huge frame (2 GiB by default)
   * and a few bytes, then swallows everything the broker answers on that connection and keeps it open
   * for holdMs: a client must refuse the length itself, without allocating it, and drop the connection.
   */
  oversizedFrame(options: OversizedFrameOptions = {}): FaultRule {
    const { length = 0x7fffffff, trailerBytes = 16, holdMs = 5000 } = options;
    if (!(Number.isInteger(length) && length >= 0 && length <= 0xffffffff)) throw new Error(`kafka-testing: oversizedFrame needs a uint32 length, got ${length}`);
    if (!(Number.isInteger(trailerBytes) && trailerBytes >= 0)) throw new Error(`kafka-testing: oversizedFrame needs an integer trailerBytes >= 0, got ${trailerBytes}`);
    if (!(Number.isFinite(holdMs) && holdMs >= 0)) throw new Error(`kafka-testing: oversizedFrame needs holdMs >= 0, got ${holdMs}`);
    return this.add(new OversizedFrameRule(this.forgetRule, frameMatch('oversizedFrame', options), length, trailerBytes, holdMs));
  }

  /**
   * Holds every frame `ms` before forwarding it (order kept), until the rule is removed or resume().
   * Logged once here rather than per frame (a long delay touches thousands); the rule's `applied`
   * counts the frames.
   */
  delay(ms: number, options: DirectionOptions = {}): FaultRule {
    if (!Number.isFinite(ms) || ms < 0) throw new Error(`kafka-testing: delay needs ms >= 0, got ${ms}`);
    const rule = this.add(new DirectionalRule(this.forgetRule, 'delay', options.direction ?? 'both', ms));
    this.record({ kind: 'delay', detail: `${ms} ms, ${options.direction ?? 'both'}` });
    return rule;
  }

  /**
   * Limits the bytes forwarded per second in a direction ('both': that much each way), shared by all
   * the proxy's connections as on one link; order is kept. Logged once; `applied` counts frames paced.
   */
  throttle(bytesPerSecond: number, options: DirectionOptions = {}): FaultRule {
    if (!(Number.isFinite(bytesPerSecond) && bytesPerSecond > 0)) throw new Error(`kafka-testing: throttle needs bytesPerSecond > 0, got ${bytesPerSecond}`);
    const rule = this.add(new ThrottleRule(this.forgetRule, options.direction ?? 'both', bytesPerSecond));
    this.record({ kind: 'throttle', detail: `${bytesPerSecond} B/s, ${options.direction ?? 'both'}` });
    return rule;
  }

  /**
   * Connections stay open and new ones are accepted, but frames are silently discarded (a request
   * never reaches the broker, a response never reaches the client): what a dead network path looks like
   * to a client before its timeouts fire.
   */
  blackhole(options: DirectionOptions = {}): FaultRule {
    const rule = this.add(new DirectionalRule(this.forgetRule, 'blackhole', options.direction ?? 'both', 0));
    this.record({ kind: 'blackhole', detail: options.direction ?? 'both' });
    return rule;
  }

  /**
   * Resets every client connection, open now or accepted later, after a random lifetime in
   * [minMs, maxMs], until the rule is removed (franz-go's chaos connections). Each reset is a
   * 'churn-reset' event; `matched` counts connections scheduled, `applied` the resets.
   */
  churn(options: ChurnOptions = {}): FaultRule {
    const { minMs = 500, maxMs = 1500, rst = true } = options;
    if (!(Number.isFinite(minMs) && Number.isFinite(maxMs) && minMs >= 0 && maxMs >= minMs)) throw new Error(`kafka-testing: churn needs 0 <= minMs <= maxMs, got ${minMs}, ${maxMs}`);
    const rule = this.add(new ChurnRule(this.forgetRule, minMs, maxMs, rst));
    this.record({ kind: 'churn', detail: `${minMs}-${maxMs} ms, ${rst ? 'rst' : 'close'}` });
    for (const c of this.connections) this.scheduleChurn(rule, c);
    return rule;
  }

  /** Closes every open connection now, with a TCP reset (default) or a plain close. */
  reset(options: { rst?: boolean } = {}): number {
    const open = [...this.connections];
    this.record({ kind: 'reset', detail: `${open.length} connection(s)` });
    for (const c of open) c.close('reset', (options.rst ?? true) ? 'rst' : 'destroy');
    return open.length;
  }

  /** Removes every rule: traffic flows untouched again (frames already delayed or held still wait their turn). */
  resume(): void {
    for (const r of [...this.rules]) r.remove();
    this.record({ kind: 'resume' });
  }

  /** The events of one kind, for assertions. */
  eventsOf(kind: FaultProxyEventKind): FaultProxyEvent[] {
    return this.events.filter((e) => e.kind === kind);
  }

  /** Stops listening and closes every connection. */
  close(): Promise<void> {
    if (this.closing === null) {
      for (const r of this.rules) if (r instanceof ChurnRule) r.remove();
      this.closing = new Promise<void>((resolve) => this.server.close(() => resolve()));
      for (const c of [...this.connections]) c.close('proxy closed');
    }
    return this.closing;
  }

  // ---- used by the connections --------------------------------------------------------------------

  /** @internal The link rules' verdict for one frame. */
  link(direction: FrameDirection): LinkVerdict {
    let discard = false;
    let delayMs = 0;
    let pacer: Pacer | null = null;
    for (const rule of this.rules) {
      if (rule instanceof DirectionalRule && rule.covers(direction)) {
        rule.matched++;
        if (rule.kind === 'blackhole' && !discard) {
          discard = true;
          rule.applied++;
        } else if (rule.kind === 'delay' && !discard) {
          delayMs = Math.max(delayMs, rule.ms);
          rule.applied++;
        }
      } else if (rule instanceof ThrottleRule && pacer === null && !discard) {
        const p = rule.pacer(direction);
        if (p !== null) {
          rule.matched++;
          rule.applied++;
          pacer = p;
        }
      }
    }
    return discard ? { discard, delayMs: 0, pacer: null } : { discard, delayMs, pacer };
  }

  /** @internal The frame rule that takes this frame, if any (see FAULT_ORDER). */
  frameFault(direction: FrameDirection, apiKey: number | undefined): FrameRule | null {
    for (const kind of FAULT_ORDER) {
      for (const rule of this.rules) {
        if (rule instanceof FrameRule && rule.kind === kind && rule.direction === direction && rule.take(apiKey)) return rule;
      }
    }
    return null;
  }

  /** @internal */
  record(event: Omit<FaultProxyEvent, 'at'>): void {
    const clean: FaultProxyEvent = { at: Date.now(), kind: event.kind };
    for (const [k, v] of Object.entries(event)) if (v !== undefined) (clean as unknown as Record<string, unknown>)[k] = v;
    this.events.push(clean);
  }

  /** @internal */
  forwarded(direction: FrameDirection, apiKey: number): void {
    const counts = direction === 'request' ? this.requestCounts : this.responseCounts;
    counts[apiKey] = (counts[apiKey] ?? 0) + 1;
  }

  /** @internal */
  closed(connection: ProxiedConnection): void {
    this.connections.delete(connection);
  }

  private readonly forgetRule = (rule: Rule): void => {
    const i = this.rules.indexOf(rule);
    if (i >= 0) this.rules.splice(i, 1);
  };

  private add<R extends Rule>(rule: R): R {
    this.rules.push(rule);
    return rule;
  }

  private scheduleChurn(rule: ChurnRule, connection: ProxiedConnection): void {
    rule.matched++;
    const lifetimeMs = rule.lifetimeMs();
    connection.after(
      lifetimeMs,
      () => {
        if (rule.removed) return;
        rule.applied++;
        this.record({ kind: 'churn-reset', connectionId: connection.id, inFlight: connection.inFlight.size, detail: `after ${Math.round(lifetimeMs)} ms` });
        connection.close('churn', rule.rst ? 'rst' : 'destroy');
      },
      rule,
    );
  }

  private accept(socket: net.Socket): void {
    if (this.closing !== null) {
      socket.destroy();
      return;
    }
    const id = ++this.accepted;
    const connection = new ProxiedConnection(this, id, socket, this.options.target, this.options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
    this.connections.add(connection);
    this.record({ kind: 'connect', connectionId: id, detail: `from ${socket.remotePort ?? '?'}` });
    for (const rule of this.rules) if (rule instanceof ChurnRule && !rule.removed) this.scheduleChurn(rule, connection);
  }
}
