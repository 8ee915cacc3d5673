import { spawn } from 'node:child_process';
import * as net from 'node:net';
import { probeMetadata, SecureKafkaCluster, SecureListenerName, unsecuredJwt } from '@app/kafka-testing';

/**
 * The secured broker of libs/kafka-testing (secure-cluster.ts), checked with openssl s_client, Kafka's
 * own Java tools and the harness's minimal SASL probe only: nothing here uses the TypeScript producer,
 * so a failure points at the fixture, not at the client under test.
 */

const ALICE_PASSWORD = 'S3cr3t-Ø-%s-MARKER';

interface SClientResult {
  code: number | null;
  output: string;
}

/**
 * `openssl s_client` against a listener. stdin stays open for `holdMs` so that an alert the server
 * sends after the client's Finished (TLS 1.3 client-certificate failures) is still read and reported.
 */
function sClient(hostPort: string, args: string[], holdMs = 800): Promise<SClientResult> {
  const port = hostPort.split(':')[1];
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => chunks.push(b));
    child.stderr.on('data', (b: Buffer) => chunks.push(b));
    const hold = setTimeout(() => child.stdin.end(), holdMs);
    const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(hold);
      clearTimeout(kill);
      resolve({ code, output: Buffer.concat(chunks).toString('utf8') });
    });
  });
}

function tcpOpen(hostPort: string): Promise<boolean> {
  const [host, port] = hostPort.split(':');
  return new Promise((resolve) => {
    const s = net.connect({ host: host === 'localhost' ? '127.0.0.1' : host, port: Number(port) });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('SecureKafkaCluster (libs/kafka-testing), checked with openssl and Java tools', () => {
  let cluster: SecureKafkaCluster;
  let ca: string;

  beforeAll(async () => {
    cluster = await SecureKafkaCluster.start({ users: { alice: ALICE_PASSWORD } });
    ca = cluster.pki.caFile;
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('came up with every listener bound, each advertising its own address', async () => {
    const md = await probeMetadata({ host: '127.0.0.1', port: Number(cluster.listeners.admin.split(':')[1]) }, []);
    expect(md.brokers.map((b) => `${b.host}:${b.port}`)).toEqual([cluster.listeners.admin]);
    const names = Object.keys(cluster.listeners) as SecureListenerName[];
    expect(names.sort()).toEqual(
      ['admin', 'badHost', 'expired', 'ipSsl', 'mtls', 'noServerAuth', 'notYetValid', 'plainOnly', 'saslPlaintext', 'saslSsl', 'ssl', 'tls12', 'untrusted'].sort(),
    );
    const ports = new Set(names.map((n) => cluster.listeners[n].split(':')[1]));
    expect(ports.size).toBe(names.length);
    for (const n of names) expect(await tcpOpen(cluster.listeners[n])).toBe(true);
    expect(cluster.listeners.ssl.startsWith('localhost:')).toBe(true);
    expect(cluster.listeners.ipSsl.startsWith('127.0.0.1:')).toBe(true);
    // A client bootstrapping on a listener is sent back to that same listener.
    const scram = { mechanism: 'SCRAM-SHA-256', username: 'bob', password: 'bob-secret' } as const;
    const plain = { mechanism: 'PLAIN', username: 'mallory', password: 'mallory-secret' } as const;
    const lax = { rejectUnauthorized: false };
    const via: Array<[SecureListenerName, Parameters<SecureKafkaCluster['listenerMetadata']>[1]]> = [
      ['ssl', {}],
      ['tls12', {}],
      ['mtls', {}],
      ['saslPlaintext', { credentials: scram }],
      ['saslSsl', { credentials: scram }],
      ['plainOnly', { credentials: plain }],
      ['badHost', { tls: lax }],
      ['expired', { tls: lax }],
      ['notYetValid', { tls: lax }],
      ['untrusted', { tls: lax }],
      ['noServerAuth', { tls: lax }],
      ['ipSsl', { tls: lax }],
    ];
    for (const [name, options] of via) {
      const brokers = (await cluster.listenerMetadata(name, options)).brokers.map((b) => `${b.host}:${b.port}`);
      expect([name, brokers]).toEqual([name, [cluster.listeners[name]]]);
    }
  });

  it('the PKI holds what it says (expired is expired, the client cert chains to the CA)', async () => {
    const run = (args: string[]): Promise<number | null> =>
      new Promise((resolve) => {
        const c = spawn('openssl', args, { stdio: 'ignore' });
        c.on('close', resolve);
      });
    const certs = cluster.pki.certs;
    expect(await run(['x509', '-in', certs.expired.certFile, '-noout', '-checkend', '0'])).not.toBe(0);
    expect(await run(['x509', '-in', certs.broker.certFile, '-noout', '-checkend', '86400'])).toBe(0);
    expect(await run(['verify', '-CAfile', ca, '-purpose', 'sslclient', certs.client.certFile])).toBe(0);
    expect(await run(['verify', '-CAfile', ca, certs.untrusted.certFile])).not.toBe(0);
    expect(certs.broker.cert).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(certs.broker.key).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(certs.client.ca).toBe(cluster.pki.ca);
  });

  it('each TLS listener presents the expected certificate', async () => {
    const l = cluster.listeners;
    const strict = ['-CAfile', ca, '-verify_return_error', '-servername', 'localhost'];
    const [ssl, saslSsl, badHost, expired, notYetValid, untrusted, noServerAuth, ipSsl, tls12, tls12v13] = await Promise.all([
      sClient(l.ssl, [...strict, '-verify_hostname', 'localhost']),
      sClient(l.saslSsl, [...strict, '-verify_hostname', 'localhost']),
      sClient(l.badHost, [...strict, '-verify_hostname', 'localhost']),
      sClient(l.expired, [...strict, '-verify_hostname', 'localhost']),
      sClient(l.notYetValid, [...strict, '-verify_hostname', 'localhost']),
      sClient(l.untrusted, [...strict, '-verify_hostname', 'localhost']),
      sClient(l.noServerAuth, [...strict, '-verify_hostname', 'localhost']),
      sClient(l.ipSsl, ['-CAfile', ca, '-verify_return_error', '-verify_ip', '127.0.0.1']),
      sClient(l.tls12, [...strict, '-verify_hostname', 'localhost']),
      sClient(l.tls12, [...strict, '-tls1_3']),
    ]);
    expect(ssl.output).toMatch(/Verify return code: 0 \(ok\)/);
    expect(ssl.output).toMatch(/subject=CN ?= ?localhost/);
    expect(ssl.output).toMatch(/issuer=CN ?= ?kafka-test-ca/);
    expect(ssl.code).toBe(0);
    expect(saslSsl.output).toMatch(/Verify return code: 0 \(ok\)/);
    expect(saslSsl.code).toBe(0);
    expect(badHost.code).not.toBe(0);
    expect(badHost.output).toMatch(/hostname mismatch/);
    expect(expired.code).not.toBe(0);
    expect(expired.output).toMatch(/certificate has expired/);
    expect(notYetValid.code).not.toBe(0);
    expect(notYetValid.output).toMatch(/certificate is not yet valid/);
    expect(untrusted.code).not.toBe(0);
    expect(untrusted.output).toMatch(/self.signed certificate/);
    expect(noServerAuth.code).not.toBe(0);
    expect(noServerAuth.output).toMatch(/unsuitable certificate purpose/);
    expect(ipSsl.code).not.toBe(0);
    expect(ipSsl.output).toMatch(/IP address mismatch/);
    expect(tls12.code).toBe(0);
    expect(tls12.output).toMatch(/Protocol\s*:\s*TLSv1\.2/);
    expect(tls12v13.code).not.toBe(0);
    expect(tls12v13.output).toMatch(/alert protocol version/);
  });

  it('the mTLS listener refuses a handshake without a client cert or with an untrusted one', async () => {
    const l = cluster.listeners;
    const certs = cluster.pki.certs;
    const base = ['-CAfile', ca, '-verify_return_error', '-servername', 'localhost'];
    const [none, none12, good, bad] = await Promise.all([
      sClient(l.mtls, base, 1500),
      sClient(l.mtls, [...base, '-tls1_2'], 1500),
      sClient(l.mtls, [...base, '-cert', certs.client.certFile, '-key', certs.client.keyFile], 1500),
      sClient(l.mtls, [...base, '-cert', certs.untrustedClient.certFile, '-key', certs.untrustedClient.keyFile], 1500),
    ]);
    expect(none.output).toMatch(/Acceptable client certificate CA names\s+CN ?= ?kafka-test-ca/);
    expect(none.code).not.toBe(0);
    expect(none.output).toMatch(/alert (bad certificate|certificate required|handshake failure)/);
    expect(none12.code).not.toBe(0);
    expect(bad.code).not.toBe(0);
    expect(bad.output).toMatch(/alert (certificate unknown|bad certificate|unknown ca)/);
    expect(good.code).toBe(0);
    expect(good.output).not.toMatch(/alert/);
  });

  it('SASL logins: SCRAM and PLAIN with the marker password, unsupported mechanism, unsigned JWT', async () => {
    const ok = await cluster.saslProbe('saslPlaintext', { mechanism: 'SCRAM-SHA-512', username: 'alice', password: ALICE_PASSWORD });
    expect(ok).toMatchObject({ ok: true, errorCode: 0 });
    expect(ok.enabledMechanisms.sort()).toEqual(['OAUTHBEARER', 'PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']);
    expect((await cluster.saslProbe('saslSsl', { mechanism: 'SCRAM-SHA-256', username: 'alice', password: ALICE_PASSWORD })).ok).toBe(true);
    expect((await cluster.saslProbe('saslPlaintext', { mechanism: 'PLAIN', username: 'alice', password: ALICE_PASSWORD })).ok).toBe(true);
    const wrong = await cluster.saslProbe('saslPlaintext', { mechanism: 'SCRAM-SHA-512', username: 'alice', password: 'nope' });
    expect(wrong).toMatchObject({ ok: false, stage: 'authenticate', errorCode: 58 });
    expect(wrong.errorMessage).toMatch(/invalid credentials with SASL mechanism SCRAM-SHA-512/);
    const plainOnly = await cluster.saslProbe('plainOnly', { mechanism: 'SCRAM-SHA-512', username: 'alice', password: ALICE_PASSWORD });
    expect(plainOnly).toMatchObject({ ok: false, stage: 'handshake', errorCode: 33, enabledMechanisms: ['PLAIN'] });
    const jwt = await cluster.saslProbe('saslPlaintext', { mechanism: 'OAUTHBEARER', token: unsecuredJwt('alice', 60_000) });
    expect(jwt).toMatchObject({ ok: true, errorCode: 0 });
    const expiredJwt = await cluster.saslProbe('saslPlaintext', { mechanism: 'OAUTHBEARER', token: unsecuredJwt('alice', -60_000) });
    expect(expiredJwt).toMatchObject({ ok: false, errorCode: 58, oauthError: '{"status":"invalid_token"}' });
  });

  it('a Java console producer (SCRAM-SHA-512 as alice, mTLS as CN=alice-client, OAUTHBEARER) writes where an ACL allows, and is read back', async () => {
    const producer = cluster.kafka.jars.profile.classes.consoleProducer;
    await cluster.createTopic('sec-smoke');
    await cluster.createTopic('sec-smoke-denied');
    await cluster.addAcl({ principal: 'User:alice', operations: ['Write', 'Describe'], topic: 'sec-smoke' });
    await cluster.addAcl({ principal: 'User:CN=alice-client', operations: ['Write', 'Describe'], topic: 'sec-smoke' });
    const acls = await cluster.listAcls({ topic: 'sec-smoke' });
    expect(acls.filter((a) => a.permissionType === 'ALLOW').map((a) => `${a.principal} ${a.operation}`).sort()).toEqual(
      ['User:CN=alice-client DESCRIBE', 'User:CN=alice-client WRITE', 'User:alice DESCRIBE', 'User:alice WRITE'],
    );
    const produce = (listener: SecureListenerName, file: string, topic: string, lines: string[]): ReturnType<SecureKafkaCluster['runJavaTool']> => {
      const config =
        listener === 'saslPlaintext'
          ? cluster.javaClientConfig(listener, { mechanism: 'SCRAM-SHA-512', username: 'alice', password: ALICE_PASSWORD })
          : listener === 'saslSsl'
            ? cluster.javaClientConfig(listener, { mechanism: 'OAUTHBEARER', sub: 'alice' })
            : cluster.javaClientConfig(listener);
      const path = cluster.writeJavaClientConfig(file, config);
      return cluster.runJavaTool(producer, ['--bootstrap-server', cluster.listeners[listener], '--topic', topic, '--command-config', path, '--sync', '--max-block-ms', '10000'], {
        input: `${lines.join('\n')}\n`,
      });
    };
    const [scram, mtls, oauth, denied] = await Promise.all([
      produce('saslPlaintext', 'scram.properties', 'sec-smoke', ['scram-1', 'scram-2']),
      produce('mtls', 'mtls.properties', 'sec-smoke', ['mtls-1']),
      produce('saslSsl', 'oauth.properties', 'sec-smoke', ['oauth-1']),
      produce('saslPlaintext', 'scram-denied.properties', 'sec-smoke-denied', ['nope']),
    ]);
    expect(scram.code).toBe(0);
    expect(mtls.code).toBe(0);
    expect(oauth.code).toBe(0);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr + denied.stdout).toMatch(/TopicAuthorizationException: Not authorized to access topics: \[sec-smoke-denied\]/);
    // The password never reaches a tool's output.
    for (const r of [scram, denied]) expect(r.stderr + r.stdout).not.toContain(ALICE_PASSWORD);
    const records = await cluster.consume('sec-smoke', { expectedCount: 4, timeoutMs: 20_000 });
    expect(records.map((r) => r.value?.toString()).sort()).toEqual(['mtls-1', 'oauth-1', 'scram-1', 'scram-2']);
    expect(await cluster.consume('sec-smoke-denied', { timeoutMs: 5_000 })).toEqual([]);
  });
});
