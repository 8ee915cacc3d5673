import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeFailure, runProcess } from './run-process';

/** The folder name prefix of createTestPki's temp folders. */
export const PKI_DIR_PREFIX = 'kafka-secure-pki-';

/** Password of every PKCS12 store the PKI writes. */
export const PKI_STORE_PASSWORD = 'changeit';

export interface TestCert {
  name: string;
  /** PEM, the leaf only. */
  cert: string;
  /** PEM, PKCS8, unencrypted. */
  key: string;
  /** PEM of the CA that signed it (for self-signed certs: the cert itself). */
  ca: string;
  certFile: string;
  keyFile: string;
  /** PKCS12 with key, leaf and (when CA-signed) the CA, alias = name, password PKI_STORE_PASSWORD. */
  p12File: string;
}

export type TestCertName =
  /** CA-signed, SAN DNS:localhost + IP:127.0.0.1, EKU serverAuth+clientAuth. */
  | 'broker'
  /** CA-signed, SAN DNS:wrong.example only. */
  | 'wrongHost'
  /** CA-signed, SAN DNS:localhost only (no IP entry): fails verification against 127.0.0.1. */
  | 'dnsOnly'
  /** Self-signed, SAN localhost/127.0.0.1: right names, unknown issuer. */
  | 'untrusted'
  /** CA-signed, SAN localhost/127.0.0.1, valid 2020-01-01 to 2020-01-02. */
  | 'expired'
  /** CA-signed, SAN localhost/127.0.0.1, valid from 2099-01-01. */
  | 'notYetValid'
  /** CA-signed, SAN localhost/127.0.0.1, EKU clientAuth only (a server presenting it is misusing it). */
  | 'noServerAuth'
  /** CA-signed, CN=alice-client, EKU clientAuth: maps to User:CN=alice-client on an mTLS listener. */
  | 'client'
  /** Self-signed, CN=mallory-client, EKU clientAuth. */
  | 'untrustedClient';

export interface TestPki {
  dir: string;
  /** PEM of the test CA (CN=kafka-test-ca). */
  ca: string;
  caFile: string;
  caKeyFile: string;
  /** PKCS12 truststore holding only the CA (alias test-ca). */
  truststoreFile: string;
  password: string;
  certs: Record<TestCertName, TestCert>;
}

interface LeafSpec {
  name: TestCertName;
  cn: string;
  san?: string;
  eku: string;
  signer: 'ca' | 'self';
  /** openssl ca dates (YYYYMMDDHHMMSSZ); without them the cert is valid from now for 30 days. */
  startDate?: string;
  endDate?: string;
}

const LOCAL_SAN = 'DNS:localhost,IP:127.0.0.1';

const LEAVES: LeafSpec[] = [
  { name: 'broker', cn: 'localhost', san: LOCAL_SAN, eku: 'serverAuth,clientAuth', signer: 'ca' },
  { name: 'wrongHost', cn: 'wrong.example', san: 'DNS:wrong.example', eku: 'serverAuth,clientAuth', signer: 'ca' },
  { name: 'dnsOnly', cn: 'localhost', san: 'DNS:localhost', eku: 'serverAuth,clientAuth', signer: 'ca' },
  { name: 'untrusted', cn: 'localhost', san: LOCAL_SAN, eku: 'serverAuth,clientAuth', signer: 'self' },
  { name: 'expired', cn: 'localhost', san: LOCAL_SAN, eku: 'serverAuth,clientAuth', signer: 'ca', startDate: '20200101000000Z', endDate: '20200102000000Z' },
  { name: 'notYetValid', cn: 'localhost', san: LOCAL_SAN, eku: 'serverAuth,clientAuth', signer: 'ca', startDate: '20990101000000Z', endDate: '20990201000000Z' },
  { name: 'noServerAuth', cn: 'localhost', san: LOCAL_SAN, eku: 'clientAuth', signer: 'ca' },
  { name: 'client', cn: 'alice-client', eku: 'clientAuth', signer: 'ca' },
  { name: 'untrustedClient', cn: 'mallory-client', eku: 'clientAuth', signer: 'self' },
];

/** P-256 keys: generated in microseconds, unlike RSA, and every TLS stack involved (JSSE, Node, openssl) takes them. */
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function openssl(cwd: string, args: string[]): Promise<void> {
  const r = await runProcess('openssl', args, { cwd, timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`kafka-testing: openssl failed:\n${describeFailure(r)}`);
}

/**
 * A throwaway PKI for TLS tests, made with the openssl and keytool command-line tools (no Node crypto,
 * so the fixtures do not share a TLS implementation with the client under test). Every cert is
 * issued by `openssl ca`, the one openssl 3.0 command that can backdate a certificate (x509 -req
 * has no -not_before before 3.4), which is what the expired and not-yet-valid fixtures need.
 */
export async function createTestPki(options: { dir?: string; baseDir?: string } = {}): Promise<TestPki> {
  const dir = options.dir ?? fs.mkdtempSync(path.join(options.baseDir ?? os.tmpdir(), PKI_DIR_PREFIX));
  fs.mkdirSync(dir, { recursive: true });
  const f = (name: string): string => path.join(dir, name);
  const caExt = ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'];
  await openssl(dir, ['req', '-x509', ...NEW_KEY, '-days', '30', '-subj', '/CN=kafka-test-ca', '-keyout', 'ca.key', '-out', 'ca.crt', ...caExt]);
  fs.writeFileSync(f('index.txt'), '');
  fs.writeFileSync(
    f('ca.cnf'),
    [
      '[ca]',
      'default_ca = test',
      '[test]',
      `dir = ${dir}`,
      'database = $dir/index.txt',
      'new_certs_dir = $dir',
      'serial = $dir/serial',
      'default_md = sha256',
      'default_days = 30',
      'policy = any',
      'unique_subject = no',
      'email_in_dn = no',
      'copy_extensions = none',
      '[any]',
      'commonName = supplied',
      '',
    ].join('\n'),
  );
  const ca = fs.readFileSync(f('ca.crt'), 'utf8');
  // Serial numbers must differ per cert, and openssl ca takes them from a file it then increments;
  // the leaves are issued one after another so that file is never raced.
  fs.writeFileSync(f('serial'), `${randomBytes(8).toString('hex').replace(/^[89a-f]/, '1')}\n`);
  const certs = {} as Record<TestCertName, TestCert>;
  for (const leaf of LEAVES) {
    const ext = f(`${leaf.name}.ext`);
    const lines = [`extendedKeyUsage=${leaf.eku}`, 'basicConstraints=CA:FALSE'];
    if (leaf.san !== undefined) lines.push(`subjectAltName=${leaf.san}`);
    fs.writeFileSync(ext, `${lines.join('\n')}\n`);
    const key = `${leaf.name}.key`;
    const crt = `${leaf.name}.crt`;
    if (leaf.signer === 'self') {
      await openssl(dir, ['req', '-x509', ...NEW_KEY, '-days', '30', '-subj', `/CN=${leaf.cn}`, '-keyout', key, '-out', crt, ...lines.flatMap((l) => ['-addext', l])]);
    } else {
      await openssl(dir, ['req', '-new', ...NEW_KEY, '-subj', `/CN=${leaf.cn}`, '-keyout', key, '-out', `${leaf.name}.csr`]);
      const dates = leaf.startDate !== undefined && leaf.endDate !== undefined ? ['-startdate', leaf.startDate, '-enddate', leaf.endDate] : ['-days', '30'];
      await openssl(dir, ['ca', '-batch', '-notext', '-config', 'ca.cnf', '-cert', 'ca.crt', '-keyfile', 'ca.key', '-in', `${leaf.name}.csr`, '-out', crt, '-extfile', ext, ...dates]);
    }
    const p12 = `${leaf.name}.p12`;
    const chain = leaf.signer === 'ca' ? ['-certfile', 'ca.crt'] : [];
    await openssl(dir, ['pkcs12', '-export', '-name', leaf.name, '-inkey', key, '-in', crt, ...chain, '-out', p12, '-passout', `pass:${PKI_STORE_PASSWORD}`]);
    const certPem = fs.readFileSync(f(crt), 'utf8');
    certs[leaf.name] = {
      name: leaf.name,
      cert: certPem,
      key: fs.readFileSync(f(key), 'utf8'),
      ca: leaf.signer === 'ca' ? ca : certPem,
      certFile: f(crt),
      keyFile: f(key),
      p12File: f(p12),
    };
  }
  // JSSE only trusts a PKCS12 certificate entry that carries Oracle's trusted-key-usage attribute,
  // which openssl 3.0 cannot write (-jdktrust came in 3.2); keytool writes it.
  const trust = await runProcess(
    keytoolBinary(),
    ['-importcert', '-noprompt', '-alias', 'test-ca', '-file', f('ca.crt'), '-keystore', f('truststore.p12'), '-storetype', 'PKCS12', '-storepass', PKI_STORE_PASSWORD],
    { cwd: dir, timeoutMs: 60_000 },
  );
  if (trust.code !== 0) throw new Error(`kafka-testing: keytool failed:\n${describeFailure(trust)}`);
  return { dir, ca, caFile: f('ca.crt'), caKeyFile: f('ca.key'), truststoreFile: f('truststore.p12'), password: PKI_STORE_PASSWORD, certs };
}

function keytoolBinary(): string {
  const home = process.env.JAVA_HOME;
  return home !== undefined && home !== '' ? path.join(home, 'bin', 'keytool') : 'keytool';
}
