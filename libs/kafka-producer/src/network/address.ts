import * as net from 'node:net';

export interface BrokerAddress {
  readonly host: string;
  readonly port: number;
}

/** `host:port`, with IPv6 literals in brackets so the port stays unambiguous. */
export function formatAddress(host: string, port: number): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}
