import * as net from 'node:net';

/**
 * A TCP proxy in front of one broker that understands just enough of the Kafka framing to inject
 * faults at request/response granularity: every frame is a 4-byte big-endian length and a payload;
 * a request payload starts with apiKey (int16), apiVersion (int16) and correlationId (int32), a
 * response payload with the correlationId. Responses are matched to their request's api key by
 * correlation id, so a test can say "lose the 3rd Produce response" without knowing anything else
 * of the protocol. The product never sees this class: brokers advertise the proxy's port instead of
 * their own (KafkaCluster's `faultProxy` option).
 *
 * Faults are rules evaluated per frame, in the order blackhole → drop → delay. Everything the proxy
 * does to the traffic (and every connection it opens or loses) is appended to `events`, so a test
 * can assert that the fault it asked for really happened.
 */

export type FrameDirection = 'request' | 'response';

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
  | 'reset'
  | 'resume'
  | 'protocol-error'
  | 'unmatched-response';

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

/** A fault added by a test; it stays listed (with its counters) after it is used up or removed. */
export interface FaultRule {
  readonly kind: 'drop-response' | 'delay' | 'blackhole';
  /** Frames the rule looked at and that matched its filter. */
  readonly matched: number;
  /** Frames the fault was applied to. */
  readonly applied: number;
  /** True once the rule will never apply again (used up or removed). */
  readonly done: boolean;
  remove(): void;
}

export interface DropResponseOptions {
  apiKey: number;
  /** 1-based: the first matching response (counted from now, across connections) to drop. Default 1. */
  nth?: number;
  /** How many consecutive matching responses to drop, starting at `nth`. Default 1. */
  count?: number;
}

export interface DirectionOptions {
  /** Default 'both'. */
  direction?: FrameDirection | 'both';
}

export interface FaultProxyCounts {
  /** Frames forwarded, by api key. */
  requests: Record<number, number>;
  responses: Record<number, number>;
  connections: number;
}

const DEFAULT_MAX_FRAME_BYTES = 128 * 1024 * 1024;

abstract class Rule implements FaultRule {
  abstract readonly kind: FaultRule['kind'];
  matched = 0;
  applied = 0;
  removed = false;
  constructor(private readonly owner: FaultProxy) {}
  get done(): boolean {
    return this.removed;
  }
  remove(): void {
    this.removed = true;
    this.owner.forget(this);
  }
}

class DropResponseRule extends Rule {
  readonly kind = 'drop-response';
  constructor(
    owner: FaultProxy,
    readonly apiKey: number,
    readonly nth: number,
    readonly count: number,
  ) {
    super(owner);
  }
  override get done(): boolean {
    return this.removed || this.applied >= this.count;
  }
  /** Counts a matching response and says whether this one is to be dropped. */
  take(apiKey: number | undefined): boolean {
    if (this.done || apiKey !== this.apiKey) return false;
    this.matched++;
    if (this.matched < this.nth) return false;
    this.applied++;
    return true;
  }
}

class DirectionalRule extends Rule {
  constructor(
    owner: FaultProxy,
    readonly kind: 'delay' | 'blackhole',
    readonly direction: FrameDirection | 'both',
    readonly ms: number,
  ) {
    super(owner);
  }
  covers(direction: FrameDirection): boolean {
    return !this.removed && (this.direction === 'both' || this.direction === direction);
  }
}

/** Splits a byte stream into whole frames; holds a partial frame until the rest arrives. */
class FrameSplitter {
  private chunks: Buffer[] = [];
  private length = 0;

  constructor(
    private readonly minPayload: number,
    private readonly maxPayload: number,
  ) {}

  /** The frames completed by `chunk`, each with its length prefix; throws on an impossible length. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.length += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.length < 4) return frames;
      const head = this.chunks[0].length >= 4 ? this.chunks[0] : this.flatten();
      const size = head.readInt32BE(0);
      if (size < this.minPayload || size > this.maxPayload) throw new Error(`frame length ${size} outside [${this.minPayload}, ${this.maxPayload}]`);
      // Concatenate only once the frame is complete, so a 1 MiB request in 64 KiB reads is copied once.
      if (this.length < 4 + size) return frames;
      const all = this.flatten();
      frames.push(all.subarray(0, 4 + size));
      const rest = all.subarray(4 + size);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.length = rest.length;
    }
  }

  private flatten(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.length)];
    return this.chunks[0];
  }
}

/** Writes frames in arrival order, each no earlier than its release time (a delay never reorders). */
class OrderedWriter {
  private queue: Array<{ frame: Buffer; releaseAt: number }> = [];
  private timer: NodeJS.Timeout | null = null;
  private lastReleaseAt = 0;

  constructor(private readonly socket: net.Socket) {}

  write(frame: Buffer, delayMs: number): void {
    const now = Date.now();
    const releaseAt = Math.max(now + delayMs, this.lastReleaseAt);
    this.lastReleaseAt = releaseAt;
    if (this.queue.length === 0 && releaseAt <= now) {
      this.socket.write(frame);
      return;
    }
    this.queue.push({ frame, releaseAt });
    this.schedule();
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
  }

  private schedule(): void {
    if (this.timer !== null || this.queue.length === 0) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        const now = Date.now();
        while (this.queue.length > 0 && this.queue[0].releaseAt <= now) {
          const next = this.queue.shift() as { frame: Buffer };
          if (!this.socket.destroyed) this.socket.write(next.frame);
        }
        this.schedule();
      },
      Math.max(0, this.queue[0].releaseAt - Date.now()),
    );
  }
}

class ProxiedConnection {
  /** correlationId → the request it answers, for requests forwarded and not yet answered. */
  readonly inFlight = new Map<number, { apiKey: number; apiVersion: number }>();
  readonly upstream: net.Socket;
  private readonly toBroker: OrderedWriter;
  private readonly toClient: OrderedWriter;
  private readonly requests: FrameSplitter;
  private readonly responses: FrameSplitter;
  private closed = false;

  constructor(
    private readonly proxy: FaultProxy,
    readonly id: number,
    readonly client: net.Socket,
    target: { host: string; port: number },
    maxFrameBytes: number,
  ) {
    this.requests = new FrameSplitter(8, maxFrameBytes);
    this.responses = new FrameSplitter(4, maxFrameBytes);
    this.upstream = net.connect({ host: target.host, port: target.port });
    this.toBroker = new OrderedWriter(this.upstream);
    this.toClient = new OrderedWriter(client);
    client.setNoDelay(true);
    this.upstream.setNoDelay(true);
    client.on('data', (chunk: Buffer) => this.onData('request', chunk));
    this.upstream.on('data', (chunk: Buffer) => this.onData('response', chunk));
    client.on('error', () => undefined);
    this.upstream.on('error', (e) => {
      if (!this.closed) this.proxy.record({ kind: 'upstream-error', connectionId: id, detail: e.message });
    });
    client.on('close', () => this.close('client closed'));
    this.upstream.on('close', () => this.close('broker closed'));
  }

  /** Closes both sides; `rst` sends a TCP reset to the client instead of a FIN. */
  close(why: string, rst = false): void {
    if (this.closed) return;
    this.closed = true;
    this.toBroker.stop();
    this.toClient.stop();
    if (rst) this.client.resetAndDestroy();
    else this.client.destroy();
    this.upstream.destroy();
    this.proxy.record({ kind: 'close', connectionId: this.id, inFlight: this.inFlight.size, detail: why });
    this.proxy.closed(this);
  }

  private onData(direction: FrameDirection, chunk: Buffer): void {
    if (this.closed) return;
    let frames: Buffer[];
    try {
      frames = (direction === 'request' ? this.requests : this.responses).push(chunk);
    } catch (e) {
      this.proxy.record({ kind: 'protocol-error', connectionId: this.id, direction, detail: (e as Error).message });
      this.close(`protocol error in a ${direction}`);
      return;
    }
    for (const frame of frames) {
      if (this.closed) return;
      if (direction === 'request') this.onRequest(frame);
      else this.onResponse(frame);
    }
  }

  private onRequest(frame: Buffer): void {
    const header = { apiKey: frame.readInt16BE(4), apiVersion: frame.readInt16BE(6), correlationId: frame.readInt32BE(8) };
    const verdict = this.proxy.judge('request', header.apiKey);
    if (verdict.discard) {
      this.proxy.record({ kind: 'discard', connectionId: this.id, direction: 'request', ...header, inFlight: this.inFlight.size });
      return;
    }
    // Registered before the write: the response can only come after it.
    this.inFlight.set(header.correlationId, { apiKey: header.apiKey, apiVersion: header.apiVersion });
    this.proxy.forwarded('request', header.apiKey);
    this.toBroker.write(frame, verdict.delayMs);
  }

  private onResponse(frame: Buffer): void {
    const correlationId = frame.readInt32BE(4);
    const request = this.inFlight.get(correlationId);
    // Deleted first: the in-flight count in an event is "besides this one".
    this.inFlight.delete(correlationId);
    const header = { correlationId, apiKey: request?.apiKey, apiVersion: request?.apiVersion };
    if (request === undefined) this.proxy.record({ kind: 'unmatched-response', connectionId: this.id, direction: 'response', correlationId });
    const verdict = this.proxy.judge('response', request?.apiKey);
    if (verdict.discard) {
      this.proxy.record({ kind: 'discard', connectionId: this.id, direction: 'response', ...header, inFlight: this.inFlight.size });
      return;
    }
    if (verdict.drop) {
      // The broker has done the work and answered; the client only learns that its connection died.
      this.proxy.record({ kind: 'drop-response', connectionId: this.id, direction: 'response', ...header, inFlight: this.inFlight.size });
      this.close('response dropped');
      return;
    }
    if (request !== undefined) this.proxy.forwarded('response', request.apiKey);
    this.toClient.write(frame, verdict.delayMs);
  }
}

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
    const nth = options.nth ?? 1;
    const count = options.count ?? 1;
    if (!Number.isInteger(nth) || nth < 1 || !Number.isInteger(count) || count < 1) throw new Error(`kafka-testing: dropResponse needs integers nth >= 1 and count >= 1, got ${nth}, ${count}`);
    return this.add(new DropResponseRule(this, options.apiKey, nth, count));
  }

  /**
   * Holds every frame `ms` before forwarding it (order kept), until the rule is removed or resume().
   * Logged once here rather than per frame (a long delay touches thousands); the rule's `applied`
   * counts the frames.
   */
  delay(ms: number, options: DirectionOptions = {}): FaultRule {
    if (!Number.isFinite(ms) || ms < 0) throw new Error(`kafka-testing: delay needs ms >= 0, got ${ms}`);
    const rule = this.add(new DirectionalRule(this, 'delay', options.direction ?? 'both', ms));
    this.record({ kind: 'delay', detail: `${ms} ms, ${options.direction ?? 'both'}` });
    return rule;
  }

  /**
   * Connections stay open and new ones are accepted, but frames are silently discarded (a request
   * never reaches the broker, a response never reaches the client): what a dead network path looks like
   * to a client before its timeouts fire.
   */
  blackhole(options: DirectionOptions = {}): FaultRule {
    const rule = this.add(new DirectionalRule(this, 'blackhole', options.direction ?? 'both', 0));
    this.record({ kind: 'blackhole', detail: options.direction ?? 'both' });
    return rule;
  }

  /** Closes every open connection now, with a TCP reset (default) or a plain close. */
  reset(options: { rst?: boolean } = {}): number {
    const open = [...this.connections];
    this.record({ kind: 'reset', detail: `${open.length} connection(s)` });
    for (const c of open) c.close('reset', options.rst ?? true);
    return open.length;
  }

  /** Removes every rule: traffic flows untouched again (frames already delayed still wait their turn). */
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
      this.closing = new Promise<void>((resolve) => this.server.close(() => resolve()));
      for (const c of [...this.connections]) c.close('proxy closed');
    }
    return this.closing;
  }

  // ---- used by the connections --------------------------------------------------------------------

  /** @internal */
  judge(direction: FrameDirection, apiKey: number | undefined): { discard: boolean; drop: boolean; delayMs: number } {
    let discard = false;
    let drop = false;
    let delayMs = 0;
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
      }
    }
    // A discarded frame is not seen by drop rules, so "the nth response" counts responses that arrived.
    if (!discard && direction === 'response') for (const rule of this.rules) if (rule instanceof DropResponseRule && rule.take(apiKey)) drop = true;
    return { discard, drop, delayMs: discard || drop ? 0 : delayMs };
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

  /** @internal */
  forget(rule: Rule): void {
    const i = this.rules.indexOf(rule);
    if (i >= 0) this.rules.splice(i, 1);
  }

  private add<R extends Rule>(rule: R): R {
    this.rules.push(rule);
    return rule;
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
  }
}
