import * as net from 'node:net';
import { FrameSplitter, OrderedWriter, type Pacer } from './fault-frames';
import type { FaultProxy, FaultProxyEvent } from './fault-proxy';
import { CorruptRule, DropResponseRule, OversizedFrameRule, SwapRule, TruncateRule, WrongCorrelationIdRule, type ChurnRule, type FrameDirection } from './fault-rules';

/**
 * One client connection through a FaultProxy and its upstream connection to the broker: splits both
 * streams into frames, asks the proxy's rules what to do with each, and applies the verdict.
 */

/** How a connection is closed: plain close, TCP reset, or a FIN after whatever was already written. */
type CloseMode = 'destroy' | 'rst' | 'end';

export interface LinkVerdict {
  discard: boolean;
  delayMs: number;
  pacer: Pacer | null;
}

interface Held {
  frame: Buffer;
  correlationId: number;
  apiKey: number | undefined;
  rule: SwapRule;
  timer: NodeJS.Timeout;
}

const hex = (b: number): string => `0x${b.toString(16).padStart(2, '0')}`;

export class ProxiedConnection {
  /** correlationId → the request it answers, for requests forwarded and not yet answered. */
  readonly inFlight = new Map<number, { apiKey: number; apiVersion: number }>();
  readonly upstream: net.Socket;
  private readonly toBroker: OrderedWriter;
  private readonly toClient: OrderedWriter;
  private readonly requests: FrameSplitter;
  private readonly responses: FrameSplitter;
  /** Timers of this connection (churn, holds), with the churn rule that owns each, if any. */
  private readonly timers = new Map<NodeJS.Timeout, ChurnRule | null>();
  /** A response a swap rule holds back until the next one has gone out. */
  private held: Held | null = null;
  /**
   * Set once the client's byte stream is broken on purpose (a truncated frame, an oversized length):
   * nothing more may reach the client, or it would be read as the rest of the broken frame.
   */
  private poisoned = false;
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

  /** Runs `fn` after `ms` unless the connection closes first. */
  after(ms: number, fn: () => void, churn: ChurnRule | null = null): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      churn?.timers.delete(timer);
      if (!this.closed) fn();
    }, ms);
    this.timers.set(timer, churn);
    churn?.timers.add(timer);
    return timer;
  }

  close(why: string, how: CloseMode = 'destroy'): void {
    if (this.closed) return;
    this.closed = true;
    this.releaseHeld(false);
    for (const [timer, churn] of this.timers) {
      clearTimeout(timer);
      churn?.timers.delete(timer);
    }
    this.timers.clear();
    this.toBroker.stop();
    this.toClient.stop();
    if (how === 'rst') this.client.resetAndDestroy();
    else if (how === 'end') {
      // A FIN after the bytes already written, so the client reads the cut frame before the close.
      this.client.end();
      setTimeout(() => this.client.destroy(), 2000).unref();
    } else this.client.destroy();
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
    const link = this.proxy.link('request');
    if (link.discard) {
      this.proxy.record({ kind: 'discard', connectionId: this.id, direction: 'request', ...header, inFlight: this.inFlight.size });
      return;
    }
    let out = frame;
    const fault = this.proxy.frameFault('request', header.apiKey);
    if (fault instanceof CorruptRule) {
      // Past the header means past the client id too (int16 length, -1 for null, then its bytes).
      const clientIdLength = frame.length >= 14 ? Math.max(0, frame.readInt16BE(12)) : 0;
      out = this.corrupt(fault, frame, 10 + clientIdLength, { direction: 'request', ...header });
    }
    // Registered before the write: the response can only come after it.
    this.inFlight.set(header.correlationId, { apiKey: header.apiKey, apiVersion: header.apiVersion });
    this.proxy.forwarded('request', header.apiKey);
    this.toBroker.write(out, link.delayMs, link.pacer);
  }

  private onResponse(frame: Buffer): void {
    const correlationId = frame.readInt32BE(4);
    const request = this.inFlight.get(correlationId);
    // Deleted first: the in-flight count in an event is "besides this one".
    this.inFlight.delete(correlationId);
    const header = { direction: 'response' as const, correlationId, apiKey: request?.apiKey, apiVersion: request?.apiVersion };
    if (request === undefined) this.proxy.record({ kind: 'unmatched-response', connectionId: this.id, direction: 'response', correlationId });
    // The client is about to drop this connection anyway; its responses no longer count for any rule.
    if (this.poisoned) return;
    const link = this.proxy.link('response');
    const event = { connectionId: this.id, ...header, inFlight: this.inFlight.size };
    if (link.discard) {
      this.proxy.record({ kind: 'discard', ...event });
      return;
    }
    const fault = this.proxy.frameFault('response', request?.apiKey);
    if (fault instanceof DropResponseRule) {
      // The broker has done the work and answered; the client only learns that its connection died.
      fault.applied++;
      this.proxy.record({ kind: 'drop-response', ...event });
      this.close('response dropped');
      return;
    }
    if (fault instanceof OversizedFrameRule) {
      fault.applied++;
      const garbage = fault.garbage();
      this.proxy.record({
        kind: 'oversized-frame',
        ...event,
        detail: `length prefix 0x${(fault.length >>> 0).toString(16)} (${garbage.readInt32BE(0)} as int32) and ${fault.trailerBytes} bytes instead of the response; connection held ${fault.holdMs} ms`,
      });
      this.poison();
      this.toClient.write(garbage, link.delayMs, link.pacer);
      this.after(fault.holdMs, () => this.close('oversized-frame hold over'));
      return;
    }
    if (fault instanceof TruncateRule) {
      fault.applied++;
      const cut = fault.cut(frame.length);
      this.proxy.record({ kind: 'truncate', ...event, detail: `forwarded ${cut} of ${frame.length} bytes, then closed` });
      this.poison();
      this.toClient.write(frame.subarray(0, cut), link.delayMs, link.pacer, () => this.close('response truncated', 'end'));
      return;
    }
    let out = frame;
    if (fault instanceof WrongCorrelationIdRule) {
      fault.applied++;
      const others = [...this.inFlight.keys()];
      // Bit 30 flipped: stays a non-negative int32 and is far from any id this connection will reach.
      const unknown = correlationId ^ 0x40000000;
      let to: number;
      let why: string;
      if (typeof fault.to === 'number') [to, why] = [fault.to, 'given'];
      else if (fault.to === 'in-flight' && others.length > 0) [to, why] = [others[others.length - 1], 'of another request in flight'];
      else [to, why] = [unknown, fault.to === 'in-flight' ? 'unknown: no other request in flight' : 'unknown'];
      out = Buffer.from(frame);
      out.writeInt32BE(to, 4);
      this.proxy.record({ kind: 'wrong-correlation-id', ...event, detail: `rewritten to ${to} (${why})` });
    } else if (fault instanceof CorruptRule) {
      out = this.corrupt(fault, frame, 4, header);
    } else if (fault instanceof SwapRule && this.held === null) {
      fault.holding++;
      const timer = this.after(fault.holdMs, () => this.releaseHeld(true));
      this.held = { frame, correlationId, apiKey: request?.apiKey, rule: fault, timer };
      return;
    }
    this.deliver(out, request?.apiKey, link);
  }

  private deliver(frame: Buffer, apiKey: number | undefined, link: LinkVerdict): void {
    if (apiKey !== undefined) this.proxy.forwarded('response', apiKey);
    this.toClient.write(frame, link.delayMs, link.pacer);
    const held = this.held;
    if (held === null) return;
    this.held = null;
    clearTimeout(held.timer);
    this.timers.delete(held.timer);
    held.rule.holding--;
    held.rule.applied++;
    this.proxy.record({
      kind: 'swap',
      connectionId: this.id,
      direction: 'response',
      correlationId: held.correlationId,
      apiKey: held.apiKey,
      inFlight: this.inFlight.size,
      detail: `delivered after the response to correlation id ${frame.readInt32BE(4)}`,
    });
    if (held.apiKey !== undefined) this.proxy.forwarded('response', held.apiKey);
    this.toClient.write(held.frame, link.delayMs, link.pacer);
  }

  /** Lets a held response go (`send`: alone, unswapped, after holdMs) or forgets it (the connection closes). */
  private releaseHeld(send: boolean): void {
    const held = this.held;
    if (held === null) return;
    this.held = null;
    clearTimeout(held.timer);
    this.timers.delete(held.timer);
    held.rule.holding--;
    if (!send) return;
    this.proxy.record({ kind: 'swap-timeout', connectionId: this.id, direction: 'response', correlationId: held.correlationId, apiKey: held.apiKey, detail: `no other response within ${held.rule.holdMs} ms; delivered unswapped` });
    if (held.apiKey !== undefined) this.proxy.forwarded('response', held.apiKey);
    const link = this.proxy.link('response');
    this.toClient.write(held.frame, link.delayMs, link.pacer);
  }

  private poison(): void {
    this.poisoned = true;
    this.releaseHeld(false);
  }

  /** A copy of `frame` with one payload byte flipped past `headerLength`; the frame itself if it is too short. */
  private corrupt(rule: CorruptRule, frame: Buffer, headerLength: number, header: Partial<FaultProxyEvent>): Buffer {
    const at = rule.position(frame.length - 4, headerLength);
    if (at === null) return frame;
    rule.applied++;
    const out = Buffer.from(frame);
    out[4 + at] ^= rule.xor;
    this.proxy.record({ kind: 'corrupt', connectionId: this.id, ...header, inFlight: this.inFlight.size, detail: `payload byte ${at} of ${frame.length - 4}: ${hex(frame[4 + at])} -> ${hex(out[4 + at])}` });
    return out;
  }
}
