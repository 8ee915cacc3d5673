import * as net from 'node:net';
import * as tls from 'node:tls';
import { opensslAvailable, selfSignedCertificate } from '../../test/support/test-certificates';
import { Connection } from './connection';
import { tlsOptionsProblems, tlsSocketFactory } from './tls-socket-factory';

const describeWithOpenssl = opensslAvailable() ? describe : describe.skip;

describeWithOpenssl('tlsSocketFactory', () => {
  let localhostOnly: { key: Buffer; cert: Buffer };
  let server: tls.Server;
  let port: number;
  // recorded by SNICallback, which runs before the server's certificate goes out, so before the client settles
  const servernames: string[] = [];
  const open: Connection[] = [];

  beforeAll(async () => {
    localhostOnly = selfSignedCertificate('DNS:localhost');
    const context = tls.createSecureContext({ key: localhostOnly.key, cert: localhostOnly.cert });
    server = tls.createServer(
      {
        key: localhostOnly.key,
        cert: localhostOnly.cert,
        SNICallback: (name, callback) => {
          servernames.push(name);
          callback(null, context);
        },
      },
      (socket) => socket.on('error', () => {}),
    );
    server.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
    servernames.length = 0;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  function connect(host: string, options: Parameters<typeof tlsSocketFactory>[0]): Promise<void> {
    const c = new Connection({ host, port, socketFactory: tlsSocketFactory(options) });
    open.push(c);
    return c.connect();
  }

  it('verifies the certificate against the host connected to, and sends it as SNI when it is a DNS name', async () => {
    await connect('localhost', { ca: localhostOnly.cert });
    expect(servernames).toEqual(['localhost']);
  });

  it('sends no SNI for an IP literal, and refuses a certificate that does not name that IP (no fallback to the DNS name)', async () => {
    await expect(connect('127.0.0.1', { ca: localhostOnly.cert })).rejects.toMatchObject({
      code: 'TLS_HANDSHAKE_FAILED',
      retriable: false,
      cause: expect.objectContaining({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' }),
    });
    expect(servernames).toEqual([]);
  });

  it('checks the connected host even when a servername is configured for SNI', async () => {
    await expect(connect('127.0.0.1', { ca: localhostOnly.cert, servername: 'localhost' })).rejects.toMatchObject({ code: 'TLS_HANDSHAKE_FAILED' });
    expect(servernames).toEqual(['localhost']);
  });

  it('verifies by default: with no CA the self-signed certificate is refused, whatever NODE_TLS_REJECT_UNAUTHORIZED says', async () => {
    const saved = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    try {
      await expect(connect('localhost', {})).rejects.toMatchObject({ code: 'TLS_HANDSHAKE_FAILED', retriable: false });
    } finally {
      if (saved === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
      else process.env.NODE_TLS_REJECT_UNAUTHORIZED = saved;
    }
  });

  it('connects without verification only when rejectUnauthorized is false', async () => {
    await expect(connect('127.0.0.1', { rejectUnauthorized: false })).resolves.toBeUndefined();
  });

  it('fails against a TLS 1.2-only server when the floor is TLS 1.3', async () => {
    const tls12 = tls.createServer({ key: localhostOnly.key, cert: localhostOnly.cert, maxVersion: 'TLSv1.2' }, (s) => s.on('error', () => {}));
    tls12.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => tls12.listen(0, '127.0.0.1', resolve));
    try {
      const c = new Connection({ host: 'localhost', port: (tls12.address() as net.AddressInfo).port, socketFactory: tlsSocketFactory({ ca: localhostOnly.cert, minVersion: 'TLSv1.3' }) });
      open.push(c);
      await expect(c.connect()).rejects.toMatchObject({ code: 'TLS_HANDSHAKE_FAILED', retriable: false });
    } finally {
      await new Promise<void>((resolve) => tls12.close(() => resolve()));
    }
  });

  it('hands the socket a secure context only: neither the key nor its passphrase is reachable from it', async () => {
    const secret = 'pass-phrase-7781';
    const encrypted = selfSignedCertificate('DNS:localhost', secret);
    const factory = tlsSocketFactory({ ca: localhostOnly.cert, key: encrypted.key, cert: encrypted.cert, passphrase: secret });
    const socket = factory({ host: 'localhost', port, noDelay: true, keepAlive: true, writableHighWaterMark: 16384 });
    try {
      const { inspect } = await import('node:util');
      const shown = inspect(socket, { depth: 6, showHidden: true });
      expect(shown).not.toContain(secret);
      expect(shown).not.toContain(encrypted.key.toString('utf8').split('\n')[1]);
    } finally {
      socket.destroy();
    }
  });
});

describe('tlsOptionsProblems', () => {
  it.each(['TLSv1', 'TLSv1.1'])('refuses a TLS floor of %s', (v) => {
    expect(tlsOptionsProblems({ minVersion: v as tls.SecureVersion })).toEqual([`ssl.minVersion must be TLSv1.2 or TLSv1.3 (older versions are not safe), got "${v}"`]);
  });

  it('refuses a secureProtocol that pins a version (it would bypass the TLS 1.2 floor)', () => {
    expect(tlsOptionsProblems({ secureProtocol: 'TLSv1_method' })).toEqual(['ssl.secureProtocol pins a protocol version; use minVersion / maxVersion (TLSv1.2, TLSv1.3) instead']);
    expect(tlsOptionsProblems({ secureProtocol: 'TLS_client_method' })).toEqual([]);
  });

  it('refuses an IP address as servername (SNI carries DNS names only)', () => {
    expect(tlsOptionsProblems({ servername: '10.0.0.1' })).toEqual(['ssl.servername must be a DNS name (SNI cannot carry an IP address)']);
  });

  it('reports a passphrase of the wrong type without Node\'s "Received ..." echo of its value', () => {
    const problems = tlsOptionsProblems({ key: 'x', passphrase: 918273645 as unknown as string });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/passphrase/);
    expect(problems[0]).not.toContain('918273645');
  });

  it('refuses a ca that holds no PEM certificate (Node would ignore it silently)', () => {
    expect(tlsOptionsProblems({ ca: 'not a certificate' })).toEqual(['ssl.ca must hold PEM certificates (-----BEGIN CERTIFICATE-----); an entry holds none']);
  });

  it('reports a key that cannot be loaded at construction, without printing it', () => {
    const key = '-----BEGIN PRIVATE KEY-----\nbm90LWEta2V5LXNlY3JldA==\n-----END PRIVATE KEY-----\n';
    const problems = tlsOptionsProblems({ key, cert: key });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^ssl: the CA, certificate or key could not be loaded: /);
    expect(problems[0]).not.toContain('bm90LWEta2V5LXNlY3JldA');
  });
});
