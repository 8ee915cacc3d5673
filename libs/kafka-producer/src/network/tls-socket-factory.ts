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

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0';

/** A custom checkServerIdentity's refusal is final like Node's own: give it the code that says so. */
function withCode(err: Error | undefined): Error | undefined {
  if (err !== undefined && (err as NodeJS.ErrnoException).code === undefined) Object.assign(err, { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  return err;
}

/**
 * A certificate that restricts its use (extended key usage) to anything but server authentication
 * is not meant to identify a server; OpenSSL's default client verification does not look at it.
 */
function serverAuthProblem(cert: tls.PeerCertificate): Error | undefined {
  const usages = cert.ext_key_usage;
  if (usages === undefined || usages.length === 0 || usages.includes(SERVER_AUTH) || usages.includes(ANY_EXTENDED_KEY_USAGE)) return undefined;
  return Object.assign(new Error(`the broker's certificate (${cert.subject?.CN ?? 'no CN'}) is not for server authentication: its extended key usage lacks serverAuth`), {
    code: 'INVALID_PURPOSE',
  });
}

/** Why these options cannot make a TLS connection, or null. Names fields only, never their values. */
export function tlsOptionsProblems(options: TlsOptions): string[] {
  const problems: string[] = [];
  for (const key of ['minVersion', 'maxVersion'] as const) {
    const v = options[key];
    // echoed only when it looks like a version name: anything else may be a secret in the wrong field
    if (v !== undefined && !ACCEPTED_VERSIONS.includes(v)) problems.push(`ssl.${key} must be TLSv1.2 or TLSv1.3 (older versions are not safe)${/^TLSv[\d.]{1,4}$/.test(String(v)) ? `, got ${JSON.stringify(v)}` : ''}`);
  }
  // secureProtocol pins one version and bypasses minVersion (TLSv1_method would be TLS 1.0)
  if (options.secureProtocol !== undefined && !['TLS_method', 'TLS_client_method'].includes(options.secureProtocol)) {
    problems.push('ssl.secureProtocol pins a protocol version; use minVersion / maxVersion (TLSv1.2, TLSv1.3) instead');
  }
  if (options.rejectUnauthorized !== undefined && typeof options.rejectUnauthorized !== 'boolean') problems.push('ssl.rejectUnauthorized must be a boolean');
  if (options.checkServerIdentity !== undefined && typeof options.checkServerIdentity !== 'function') problems.push('ssl.checkServerIdentity must be a function');
  if (options.servername !== undefined && (typeof options.servername !== 'string' || net.isIP(options.servername) !== 0)) {
    problems.push('ssl.servername must be a DNS name (SNI cannot carry an IP address)');
  }
  const ca = options.ca === undefined ? [] : Array.isArray(options.ca) ? options.ca : [options.ca];
  if (ca.some((c) => (typeof c === 'string' || Buffer.isBuffer(c)) && !c.toString().includes('-----BEGIN CERTIFICATE-----'))) {
    // Node ignores such an entry without a word; the handshake would then fail as "untrusted" instead
    problems.push('ssl.ca must hold PEM certificates (-----BEGIN CERTIFICATE-----); an entry holds none');
  }
  if (problems.length === 0 && options.secureContext === undefined) {
    try {
      tls.createSecureContext(options);
    } catch (err) {
      // OpenSSL's reason (bad decrypt, no start line, ...) names the problem; Node's type errors end in
      // "Received ..." with the value itself, which may be the passphrase: cut it
      const reason = (err as Error).message.replace(/\.?\s*Received[\s\S]*$/, '');
      problems.push(`ssl: the CA, certificate or key could not be loaded: ${reason}`);
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
  // the floor is set explicitly: tls.DEFAULT_MIN_VERSION (--tls-min-v1.0) must not lower it
  const context = secureContext ?? tls.createSecureContext({ ...material, minVersion: material.minVersion ?? 'TLSv1.2' });
  const check = checkServerIdentity ?? tls.checkServerIdentity;
  const verify = rejectUnauthorized !== false;
  return ({ host, port, keepAlive }) => {
    const socket = tls.connect({
      host,
      port,
      secureContext: context,
      servername: servername ?? (net.isIP(host) === 0 ? host : undefined),
      rejectUnauthorized: verify,
      checkServerIdentity: (_name, cert) => withCode(check(host, cert)) ?? serverAuthProblem(cert),
      ALPNProtocols: material.ALPNProtocols,
      session: material.session,
    });
    socket.setKeepAlive(keepAlive);
    return socket;
  };
}
