import * as net from 'node:net';

/** A broker as metadata describes it. The one broker address type of the library. */
export interface BrokerAddress {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
}

/** Where to open a socket when no node id is known yet: a bootstrap server. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** `host:port`, with IPv6 literals in brackets so the port stays unambiguous. */
export function formatAddress(host: string, port: number): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}
