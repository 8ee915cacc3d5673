import * as net from 'node:net';
import { InvalidArgumentError } from '../errors';
import { formatAddress, type HostPort } from './address';
import { BrokerConnection, type BrokerConnectionOptions } from './broker-connection';
import { AuthenticationError, BootstrapError, type BootstrapAttempt } from './errors';

/**
 * Parses `bootstrapServers`: an array of `host:port`, or one comma-separated string of them (the Java
 * form). IPv6 literals go in brackets (`[::1]:9092`); like Java's Utils.getHost/getPort, an unbracketed
 * address splits at its last colon. Blank entries are skipped and exact duplicates dropped, keeping the
 * first occurrence's position.
 */
export function parseBootstrapServers(servers: string | readonly string[]): HostPort[] {
  const entries = typeof servers === 'string' ? servers.split(',') : servers.flatMap((s) => s.split(','));
  const seen = new Set<string>();
  const out: HostPort[] = [];
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry === '') continue;
    const address = parseAddress(entry);
    const key = formatAddress(address.host, address.port);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(address);
  }
  if (out.length === 0) throw new InvalidArgumentError('bootstrapServers must list at least one host:port');
  return out;
}

function parseAddress(entry: string): HostPort {
  let host: string;
  let portText: string;
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(entry);
  if (bracketed !== null) {
    host = bracketed[1];
    portText = bracketed[2];
    if (!net.isIPv6(host)) throw new InvalidArgumentError(`bootstrapServers entry '${entry}': '${host}' in brackets is not an IPv6 address`);
  } else {
    const colon = entry.lastIndexOf(':');
    if (colon <= 0 || colon === entry.length - 1) {
      throw new InvalidArgumentError(`bootstrapServers entry '${entry}' is not host:port`);
    }
    host = entry.slice(0, colon);
    portText = entry.slice(colon + 1);
    if (host.includes('[') || host.includes(']')) throw new InvalidArgumentError(`bootstrapServers entry '${entry}' is not host:port`);
  }
  if (!/^\d+$/.test(portText)) throw new InvalidArgumentError(`bootstrapServers entry '${entry}' has an invalid port '${portText}'`);
  const port = Number(portText);
  if (port < 1 || port > 65535) throw new InvalidArgumentError(`bootstrapServers entry '${entry}' has port ${port} outside 1-65535`);
  return { host, port };
}

export interface BootstrapOptions extends Omit<BrokerConnectionOptions, 'host' | 'port' | 'nodeId'> {
  /**
   * Try the addresses in random order, spreading many clients' first connections over the bootstrap
   * list. Off by default so the order (and so the behaviour) is deterministic.
   */
  shuffle?: boolean;
  /** Random source in [0, 1) for the shuffle; Math.random by default. */
  random?: () => number;
}

export interface FirstReachableOptions {
  shuffle?: boolean;
  random?: () => number;
  /** Stops after the attempt under way (which `open` is expected to abort too). */
  signal?: AbortSignal;
}

/**
 * Tries `open` on each address in turn until one succeeds. Fails with one BootstrapError listing
 * every address tried and its error. Connect failures, setup timeouts and DNS failures of unknown
 * hosts all count as "try the next one"; an AuthenticationError does not, since every broker of a
 * cluster shares the credentials it refused.
 */
export async function firstReachable<T>(
  addresses: readonly HostPort[],
  open: (address: HostPort) => Promise<T>,
  options: FirstReachableOptions = {},
): Promise<T> {
  const order = options.shuffle === true ? shuffled(addresses, options.random ?? Math.random) : addresses;
  const attempts: BootstrapAttempt[] = [];
  for (const address of order) {
    if (options.signal?.aborted === true) break;
    try {
      return await open(address);
    } catch (error) {
      attempts.push({ address: formatAddress(address.host, address.port), error });
      if (error instanceof AuthenticationError) break;
    }
  }
  throw new BootstrapError(attempts);
}

/** Opens a BrokerConnection (connected, versions negotiated) to the first reachable bootstrap server. */
export function connectBootstrap(servers: string | readonly string[], options: BootstrapOptions = {}): Promise<BrokerConnection> {
  let addresses: HostPort[];
  try {
    addresses = parseBootstrapServers(servers);
  } catch (err) {
    return Promise.reject(err);
  }
  const { shuffle, random, ...connectionOptions } = options;
  return firstReachable(addresses, (a) => BrokerConnection.open({ ...connectionOptions, host: a.host, port: a.port }), {
    shuffle,
    random,
    signal: connectionOptions.signal,
  });
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = out[i];
    out[i] = out[j];
    out[j] = tmp;
  }
  return out;
}
