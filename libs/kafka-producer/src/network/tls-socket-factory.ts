import * as net from 'node:net';
import * as tls from 'node:tls';
import type { SocketFactory } from './connection';

/**
 * TLS options as Node's tls.connect takes them (ca, cert, key, passphrase, pfx, minVersion, ...),
 * without what the connection decides per broker (host, port, socket).
 */
export type TlsOptions = Omit<tls.ConnectionOptions, 'host' | 'port' | 'path' | 'socket' | 'timeout'>;

/** Below TLS 1.2 nothing is safe, and no Kafka broker since 2.x needs it. */
const ACCEPTED_VERSIONS: readonly string[] = ['TLSv1.2', 'TLSv1.3'];

/** Why these options cannot make a TLS connection, or null. Names fields only, never their values. */
export function tlsOptionsProblems(options: TlsOptions): string[] {
  const problems: string[] = [];
  for (const key of ['minVersion', 'maxVersion'] as const) {
    const v = options[key];
    // echoed only when it looks like a version name: anything else may be a secret in the wrong field
    if (v !== undefined && !ACCEPTED_VERSIONS.includes(v)) problems.push(`ssl.${key} must be TLSv1.2 or TLSv1.3 (older versions are not safe)${/^TLSv[\d.]{1,4}$/.test(String(v)) ? `, got ${JSON.stringify(v)}` : ''}`);
  }
  if (options.rejectUnauthorized !== undefined && typeof options.rejectUnauthorized !== 'boolean') problems.push('ssl.rejectUnauthorized must be a boolean');
  if (options.checkServerIdentity !== undefined && typeof options.checkServerIdentity !== 'function') problems.push('ssl.checkServerIdentity must be a function');
  if (options.servername !== undefined && (typeof options.servername !== 'string' || net.isIP(options.servername) !== 0)) {
    problems.push('ssl.servername must be a DNS name (SNI cannot carry an IP address)');
  }
  if (problems.length === 0 && options.secureContext === undefined) {
    try {
      tls.createSecureContext(options);
    } catch (err) {
      // OpenSSL's reason (bad decrypt, no start line, ...) names the problem, never the material
      problems.push(`ssl: the CA, certificate or key could not be loaded: ${(err as Error).message}`);
    }
  }
  return problems;
}

/**
 * Opens every broker connection over TLS with the user's material, verifying by default whatever
 * NODE_TLS_REJECT_UNAUTHORIZED says: the certificate must chain to a trusted CA and name the host
 * being connected to, which is the broker's advertised host from metadata, not the bootstrap one.
 * SNI carries that host when it is a DNS name and is left out for an IP literal (RFC 6066 forbids
 * it). The key material is loaded once, into a secure context, and only that context is handed to
 * each socket, so the private key and its passphrase live nowhere a socket (or util.inspect of it)
 * could show them.
 */
export function tlsSocketFactory(options: TlsOptions): SocketFactory {
  const { servername, checkServerIdentity, rejectUnauthorized, secureContext, ...material } = options;
  const context = secureContext ?? tls.createSecureContext(material);
  const check = checkServerIdentity ?? tls.checkServerIdentity;
  const verify = rejectUnauthorized !== false;
  return ({ host, port, keepAlive }) => {
    const socket = tls.connect({
      host,
      port,
      secureContext: context,
      servername: servername ?? (net.isIP(host) === 0 ? host : undefined),
      rejectUnauthorized: verify,
      checkServerIdentity: (_name, cert) => check(host, cert),
      ALPNProtocols: material.ALPNProtocols,
      session: material.session,
    });
    socket.setKeepAlive(keepAlive);
    return socket;
  };
}
