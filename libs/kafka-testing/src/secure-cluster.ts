import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { Reader } from '../../kafka-producer/src/protocol/primitives/reader';
import { Writer } from '../../kafka-producer/src/protocol/primitives/writer';
import { ExtraListener, KafkaCluster, KafkaClusterOptions } from './kafka-cluster';
import { runJavaTool } from './java-tools';
import { decodeMetadataV4, Endpoint, encodeRequest, MetadataResult, parseEndpoint, pollUntil } from './probe';
import { isAlive } from './process-registry';
import { describeFailure, RunResult } from './run-process';
import { createTestPki, PKI_DIR_PREFIX, TestPki } from './test-pki';
import { ConsumedRecord, ConsumeOptions } from './verifier';

/** The listeners of a SecureKafkaCluster; each value is the listener's advertised "host:port". */
export interface SecureListeners {
  /** PLAINTEXT, also the inter-broker listener: User:ANONYMOUS, a super user. For admin tooling and read-back only. */
  admin: string;
  /** SASL_PLAINTEXT: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER. Advertised 127.0.0.1. */
  saslPlaintext: string;
  /** SSL, broker cert (SAN localhost + 127.0.0.1). Advertised localhost. Principal User:ANONYMOUS (a super user). */
  ssl: string;
  /** SASL_SSL, broker cert, the same mechanisms as saslPlaintext. Advertised localhost. */
  saslSsl: string;
  /** SSL presenting the wrongHost cert (CA-signed, SAN DNS:wrong.example only). Advertised localhost. */
  badHost: string;
  /** SSL presenting the expired cert (CA-signed, 2020-01-01 to 2020-01-02). Advertised localhost. */
  expired: string;
  /** SSL presenting the notYetValid cert (CA-signed, from 2099). Advertised localhost. */
  notYetValid: string;
  /** SSL presenting the untrusted self-signed cert (right SAN, unknown issuer). Advertised localhost. */
  untrusted: string;
  /** SSL presenting the noServerAuth cert (CA-signed, right SAN, EKU clientAuth only). Advertised localhost. */
  noServerAuth: string;
  /** SSL with ssl.client.auth=required, client certs checked against the CA; principal User:CN=<client CN>. Advertised localhost. */
  mtls: string;
  /** SSL limited to TLSv1.2. Advertised localhost. */
  tls12: string;
  /** SASL_PLAINTEXT offering PLAIN only. Advertised 127.0.0.1. */
  plainOnly: string;
  /** SSL presenting the dnsOnly cert (SAN DNS:localhost, no IP entry), advertised as 127.0.0.1: fails IP verification. */
  ipSsl: string;
}

export type SecureListenerName = keyof SecureListeners;

export interface SecureUsers {
  /** PLAIN (JAAS) and SCRAM-SHA-256/512 (format time). No ACLs: grant them with addAcl. */
  alice: string;
  bob: string;
  mallory: string;
  /** A super user (super.users=User:ANONYMOUS;User:admin), PLAIN and SCRAM. */
  admin: string;
}

export interface SecureKafkaClusterOptions {
  /** Passwords, merged over DEFAULT_SECURE_USERS. Any Unicode survives; see README for the escaping. */
  users?: Partial<SecureUsers>;
  /** Broker `connections.max.reauth.ms` (KIP-368); unset by default (no re-authentication). */
  connectionsMaxReauthMs?: number;
  /** Extra server.properties entries, applied last. */
  brokerConfig?: Record<string, string>;
  /** Passed to KafkaCluster.start (heap, jvmProfile, logLevel, version, baseDir, log, …). */
  cluster?: Omit<KafkaClusterOptions, 'nodes' | 'brokerConfig' | 'extraListeners' | 'formatArgs' | 'faultProxy'>;
}

export const DEFAULT_SECURE_USERS: SecureUsers = {
  alice: 'alice-secret',
  bob: 'bob-secret',
  mallory: 'mallory-secret',
  admin: 'admin-secret',
};

export type AclOperation =
  | 'Read'
  | 'Write'
  | 'Create'
  | 'Delete'
  | 'Alter'
  | 'Describe'
  | 'ClusterAction'
  | 'DescribeConfigs'
  | 'AlterConfigs'
  | 'IdempotentWrite'
  | 'All';

export interface AclSpec {
  /** e.g. 'User:alice', 'User:CN=alice-client', 'User:*'. */
  principal: string;
  operations: readonly AclOperation[];
  /** Exactly one resource: topic, transactionalId, group or cluster. */
  topic?: string;
  transactionalId?: string;
  group?: string;
  cluster?: boolean;
  /** Pattern type PREFIXED instead of LITERAL. */
  prefixed?: boolean;
  /** A DENY entry (deny wins over any ALLOW). */
  deny?: boolean;
  /** Default '*'. */
  host?: string;
}

/** One ACL entry as AclCommand --list prints it. */
export interface AclEntry {
  resourceType: string;
  resourceName: string;
  patternType: string;
  principal: string;
  host: string;
  operation: string;
  permissionType: string;
}

export type ScramMechanismName = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
export type SaslMechanismName = 'PLAIN' | ScramMechanismName | 'OAUTHBEARER';

export type SaslCredentials =
  | { mechanism: 'PLAIN' | ScramMechanismName; username: string; password: string }
  | { mechanism: 'OAUTHBEARER'; token: string };

export interface SaslProbeResult {
  /** True when SaslAuthenticate (and for SCRAM the server signature) succeeded. */
  ok: boolean;
  /** The stage that decided: the handshake (mechanism refused) or the authentication. */
  stage: 'handshake' | 'authenticate';
  errorCode: number;
  errorMessage: string | null;
  /** What the broker listed in SaslHandshake. */
  enabledMechanisms: string[];
  /** SaslAuthenticate session_lifetime_ms (non-zero when connections.max.reauth.ms is set). */
  sessionLifetimeMs: number;
  /** OAUTHBEARER only: the JSON error the broker sent as a challenge for a rejected token. */
  oauthError?: string;
}

/** Upper-case broker listener names; the lower-case forms prefix the per-listener settings. */
const LISTENER_NAMES: Record<Exclude<SecureListenerName, 'admin'>, string> = {
  saslPlaintext: 'SASLP',
  ssl: 'SSL',
  saslSsl: 'SASLS',
  badHost: 'BADHOST',
  expired: 'EXPIRED',
  notYetValid: 'NOTYETVALID',
  untrusted: 'UNTRUSTED',
  noServerAuth: 'NOSERVERAUTH',
  mtls: 'MTLS',
  tls12: 'TLS12',
  plainOnly: 'PLAINONLY',
  ipSsl: 'IPSSL',
};

const ALL_MECHANISMS: readonly SaslMechanismName[] = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'];

const UNSECURED_VALIDATOR = 'org.apache.kafka.common.security.oauthbearer.internals.unsecured.OAuthBearerUnsecuredValidatorCallbackHandler';

/** A JAAS option value: Kafka's JaasConfig tokenizer (java.io.StreamTokenizer) honours backslash escapes inside quotes. */
export function jaasQuote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * An unsigned JWT ({"alg":"none"}, empty signature) that Kafka's OAuthBearerUnsecuredValidatorCallbackHandler
 * accepts: `sub` is the principal, `iat`/`exp` in seconds (the validator requires exp).
 */
export function unsecuredJwt(sub: string, lifetimeMs: number, extraClaims: Record<string, unknown> = {}): string {
  const nowSec = Date.now() / 1000;
  const enc = (o: unknown): string => Buffer.from(JSON.stringify(o), 'utf8').toString('base64url');
  return `${enc({ alg: 'none' })}.${enc({ sub, iat: Math.floor(nowSec), exp: Math.floor(nowSec + lifetimeMs / 1000), ...extraClaims })}.`;
}

/**
 * One KRaft broker+controller with a listener per security scenario (see SecureListeners), a fresh
 * test PKI, SCRAM users created at format time, PLAIN users in JAAS, unsecured OAUTHBEARER, and
 * StandardAuthorizer with no ACLs (deny by default). Only the admin listener (PLAINTEXT, also used
 * between broker and controller) is anonymous super user, and the harness's tools use it alone.
 */
export class SecureKafkaCluster {
  private stopped = false;

  private constructor(
    /** The underlying KafkaCluster; its `directBootstrapServers` is the admin listener, so its tools and read-back go there. */
    readonly kafka: KafkaCluster,
    readonly pki: TestPki,
    readonly listeners: SecureListeners,
    readonly users: SecureUsers,
  ) {}

  static async start(options: SecureKafkaClusterOptions = {}): Promise<SecureKafkaCluster> {
    const users: SecureUsers = { ...DEFAULT_SECURE_USERS, ...(options.users ?? {}) };
    // A quoted JAAS value ends at a raw line break (StreamTokenizer), so no escaping can carry one.
    for (const [name, pw] of Object.entries(users)) if (/[\r\n]/.test(pw)) throw new Error(`kafka-testing: the password of ${name} contains a line break, which a JAAS value cannot carry`);
    const baseDir = options.cluster?.baseDir ?? os.tmpdir();
    removeStalePkiDirs(baseDir);
    const pki = await createTestPki({ baseDir });
    fs.writeFileSync(path.join(pki.dir, OWNER_FILE), String(process.pid));
    try {
      const extraListeners: ExtraListener[] = [
        { name: 'SASLP', securityProtocol: 'SASL_PLAINTEXT' },
        { name: 'SSL', securityProtocol: 'SSL', advertisedHost: 'localhost' },
        { name: 'SASLS', securityProtocol: 'SASL_SSL', advertisedHost: 'localhost' },
        { name: 'BADHOST', securityProtocol: 'SSL', advertisedHost: 'localhost' },
        { name: 'EXPIRED', securityProtocol: 'SSL', advertisedHost: 'localhost' },
        { name: 'NOTYETVALID', securityProtocol: 'SSL', advertisedHost: 'localhost' },
        { name: 'UNTRUSTED', securityProtocol: 'SSL', advertisedHost: 'localhost' },
        { name: 'NOSERVERAUTH', securityProtocol: 'SSL', advertisedHost: 'localhost' },
        { name: 'MTLS', securityProtocol: 'SSL', advertisedHost: 'localhost' },
        { name: 'TLS12', securityProtocol: 'SSL', advertisedHost: 'localhost' },
        { name: 'PLAINONLY', securityProtocol: 'SASL_PLAINTEXT' },
        { name: 'IPSSL', securityProtocol: 'SSL' },
      ];
      const kafka = await KafkaCluster.start({
        ...options.cluster,
        nodes: 1,
        extraListeners,
        formatArgs: scramFormatArgs(users),
        brokerConfig: { ...secureBrokerConfig(pki, users, options), ...(options.brokerConfig ?? {}) },
      });
      const info = kafka.nodeInfo(1);
      const ports = info.extraPorts ?? {};
      const advertised = new Map(extraListeners.map((l) => [l.name, `${l.advertisedHost ?? info.host}:${ports[l.name]}`]));
      const listeners = { admin: `${info.host}:${info.port}` } as SecureListeners;
      for (const [key, name] of Object.entries(LISTENER_NAMES)) listeners[key as SecureListenerName] = advertised.get(name) as string;
      return new SecureKafkaCluster(kafka, pki, listeners, users);
    } catch (e) {
      fs.rmSync(pki.dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** The admin listener, for tools. */
  get adminBootstrap(): string {
    return this.listeners.admin;
  }

  /** Kills the JVM, removes the cluster folder and the PKI. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    try {
      await this.kafka.stop();
    } finally {
      fs.rmSync(this.pki.dir, { recursive: true, force: true });
    }
  }

  async createTopic(name: string, partitions = 1, configs?: Record<string, string>): Promise<void> {
    await this.kafka.createTopic({ name, partitions, replicationFactor: 1, configs });
  }

  /** Read-back with the Java consumer over the admin listener (no code shared with the producer). */
  consume(topic: string, options: Omit<ConsumeOptions, 'topic'> = {}): Promise<ConsumedRecord[]> {
    return this.kafka.consumeWithJava({ ...options, topic });
  }

  /** Adds the ACL entries and resolves once AclCommand --list on the broker shows all of them. */
  async addAcl(spec: AclSpec, timeoutMs = 30_000): Promise<void> {
    await this.aclCommand(['--add', ...aclArgs(spec)]);
    // CreateAcls returns once the controller has committed the change; the broker's authorizer applies
    // it when it replays the metadata log, a moment later. DescribeAcls is answered from that copy.
    await pollUntil(`ACL ${describeAcl(spec)} visible`, async () => (containsAll(await this.listAcls(spec), spec) ? true : undefined), { timeoutMs, intervalMs: 250 });
  }

  /** Removes the ACL entries and resolves once none of them is listed any more. */
  async removeAcl(spec: AclSpec, timeoutMs = 30_000): Promise<void> {
    await this.aclCommand(['--remove', '--force', ...aclArgs(spec)]);
    await pollUntil(`ACL ${describeAcl(spec)} gone`, async () => (containsNone(await this.listAcls(spec), spec) ? true : undefined), { timeoutMs, intervalMs: 250 });
  }

  /** The ACL entries on the spec's resource (or every entry without a resource in the spec). */
  async listAcls(spec?: Partial<AclSpec>): Promise<AclEntry[]> {
    const args = ['--list'];
    if (spec !== undefined) args.push(...resourceArgs(spec, false));
    return parseAclList((await this.aclCommand(args)).stdout);
  }

  /**
   * Creates or replaces a SCRAM user at runtime (Admin.alterUserScramCredentials over the admin
   * listener; any password, see SCRAM_UPSERT_JAVA) and resolves once the broker accepts a SCRAM login
   * with it on the SASL_PLAINTEXT listener, for every mechanism given.
   */
  async addScramUser(
    username: string,
    password: string,
    options: { mechanisms?: readonly ScramMechanismName[]; iterations?: number; timeoutMs?: number } = {},
  ): Promise<void> {
    const mechanisms = options.mechanisms ?? ['SCRAM-SHA-256', 'SCRAM-SHA-512'];
    await this.scramAlter('upsert', username, password, mechanisms, options.iterations ?? 8192);
    const endpoint = parseEndpoint(this.listeners.saslPlaintext);
    for (const mechanism of mechanisms) {
      await pollUntil(
        `SCRAM user ${username} (${mechanism}) usable`,
        async () => ((await saslProbe(endpoint, { mechanism, username, password })).ok ? true : undefined),
        { timeoutMs: options.timeoutMs ?? 30_000, intervalMs: 200 },
      );
    }
  }

  /** Deletes SCRAM credentials and resolves once a login with them fails (password: the one in use, to check). */
  async removeScramUser(username: string, password: string, mechanisms: readonly ScramMechanismName[] = ['SCRAM-SHA-256', 'SCRAM-SHA-512'], timeoutMs = 30_000): Promise<void> {
    await this.scramAlter('delete', username, '', mechanisms, 0);
    const endpoint = parseEndpoint(this.listeners.saslPlaintext);
    for (const mechanism of mechanisms) {
      await pollUntil(
        `SCRAM user ${username} (${mechanism}) removed`,
        async () => ((await saslProbe(endpoint, { mechanism, username, password })).ok ? undefined : true),
        { timeoutMs, intervalMs: 200 },
      );
    }
  }

  private async scramAlter(op: 'upsert' | 'delete', username: string, password: string, mechanisms: readonly ScramMechanismName[], iterations: number): Promise<void> {
    if (/[\r\n]/.test(username) || /[\r\n]/.test(password)) throw new Error('kafka-testing: a SCRAM user name or password with a line break is not supported');
    const source = path.join(this.pki.dir, 'ScramUpsert.java');
    if (!fs.existsSync(source)) fs.writeFileSync(source, SCRAM_UPSERT_JAVA);
    const r = await runJavaTool(this.kafka.jars, source, mechanisms, {
      input: `${this.adminBootstrap}\n${username}\n${op}\n${iterations}\n${password}\n`,
      timeoutMs: 60_000,
    });
    if (r.code !== 0) throw new Error(`kafka-testing: SCRAM ${op} for ${username} failed:\n${redact(describeFailure(r), password)}`);
  }

  /** A SASL login on one of the SASL listeners, with the harness's own minimal client (see saslProbe). */
  saslProbe(listener: 'saslPlaintext' | 'saslSsl' | 'plainOnly', credentials: SaslCredentials, timeoutMs?: number): Promise<SaslProbeResult> {
    const endpoint = parseEndpoint(this.listeners[listener]);
    return saslProbe(endpoint, credentials, { timeoutMs, tls: listener === 'saslSsl' ? { ca: this.pki.ca } : undefined });
  }

  /**
   * Metadata straight from one listener (after a SASL login when `credentials` are given), with TLS
   * trusting the test CA (and the client cert on mtls); `tls` overrides, e.g. { rejectUnauthorized:
   * false } for the listeners whose certificate is bad on purpose. Its brokers are what that listener
   * advertises.
   */
  listenerMetadata(listener: SecureListenerName, options: { credentials?: SaslCredentials; tls?: tls.ConnectionOptions; timeoutMs?: number } = {}): Promise<MetadataResult> {
    const protocol = listenerProtocol(listener);
    const client = this.pki.certs.client;
    const tlsOptions =
      protocol === 'SSL' || protocol === 'SASL_SSL' ? { ca: this.pki.ca, ...(listener === 'mtls' ? { cert: client.cert, key: client.key } : {}), ...(options.tls ?? {}) } : undefined;
    return listenerMetadata(parseEndpoint(this.listeners[listener]), { credentials: options.credentials, tls: tlsOptions, timeoutMs: options.timeoutMs });
  }

  /**
   * Client properties for a Java tool (--command-config / --producer.config) on a listener, e.g.
   * javaClientConfig('saslPlaintext', { mechanism: 'SCRAM-SHA-512', username: 'alice', password }).
   * SSL listeners get the PKCS12 truststore; mtls also the client keystore.
   */
  javaClientConfig(listener: SecureListenerName, sasl?: SaslCredentials | { mechanism: 'OAUTHBEARER'; sub: string }): Record<string, string> {
    const protocol = listenerProtocol(listener);
    const props: Record<string, string> = { 'bootstrap.servers': this.listeners[listener], 'security.protocol': protocol };
    if (protocol === 'SSL' || protocol === 'SASL_SSL') {
      props['ssl.truststore.type'] = 'PKCS12';
      props['ssl.truststore.location'] = this.pki.truststoreFile;
      props['ssl.truststore.password'] = this.pki.password;
      if (listener === 'mtls') {
        props['ssl.keystore.type'] = 'PKCS12';
        props['ssl.keystore.location'] = this.pki.certs.client.p12File;
        props['ssl.keystore.password'] = this.pki.password;
      }
    }
    if (sasl !== undefined) {
      props['sasl.mechanism'] = sasl.mechanism;
      if (sasl.mechanism === 'OAUTHBEARER') {
        // The client-side unsecured login module makes its own unsigned token; 'sub' names the principal.
        const sub = 'sub' in sasl ? sasl.sub : 'alice';
        props['sasl.jaas.config'] = `org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub=${jaasQuote(sub)};`;
      } else {
        const module = sasl.mechanism === 'PLAIN' ? 'org.apache.kafka.common.security.plain.PlainLoginModule' : 'org.apache.kafka.common.security.scram.ScramLoginModule';
        props['sasl.jaas.config'] = `${module} required username=${jaasQuote(sasl.username)} password=${jaasQuote(sasl.password)};`;
      }
    }
    return props;
  }

  /** Writes javaClientConfig(...) to a properties file in the PKI folder (removed by stop()); returns its path. */
  writeJavaClientConfig(fileName: string, props: Record<string, string>): string {
    const file = `${this.pki.dir}/${fileName}`;
    fs.writeFileSync(file, propertiesText(props), { mode: 0o600 });
    return file;
  }

  /** Any Kafka main class; `{admin}` in args becomes the admin listener. */
  runJavaTool(className: string, args: readonly string[], options?: Parameters<typeof runJavaTool>[3]): Promise<RunResult> {
    return runJavaTool(
      this.kafka.jars,
      className,
      args.map((a) => a.split('{admin}').join(this.adminBootstrap)),
      options,
    );
  }

  private async aclCommand(args: string[]): Promise<RunResult> {
    const r = await runJavaTool(this.kafka.jars, aclCommandClass(this.kafka.jars.version), ['--bootstrap-server', this.adminBootstrap, ...args], { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`kafka-testing: AclCommand failed:\n${describeFailure(r)}`);
    return r;
  }
}

const OWNER_FILE = 'owner.pid';

/**
 * A run that died without stop() leaves its PKI folder behind (its JVM and cluster folder are
 * KafkaCluster's to clean up): remove those whose owning process is gone.
 */
function removeStalePkiDirs(baseDir: string): void {
  let entries: string[];
  try {
    entries = fs.readdirSync(baseDir).filter((e) => e.startsWith(PKI_DIR_PREFIX));
  } catch {
    return;
  }
  for (const entry of entries) {
    const dir = path.join(baseDir, entry);
    let owner: number;
    try {
      owner = Number(fs.readFileSync(path.join(dir, OWNER_FILE), 'utf8'));
    } catch {
      continue;
    }
    if (Number.isInteger(owner) && owner > 0 && !isAlive(owner)) fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---- broker configuration ------------------------------------------------------------------------

function secureBrokerConfig(pki: TestPki, users: SecureUsers, options: SecureKafkaClusterOptions): Record<string, string> {
  const p: Record<string, string> = {
    'sasl.enabled.mechanisms': ALL_MECHANISMS.join(','),
    'ssl.keystore.type': 'PKCS12',
    'ssl.keystore.location': pki.certs.broker.p12File,
    'ssl.keystore.password': pki.password,
    'ssl.key.password': pki.password,
    'ssl.truststore.type': 'PKCS12',
    'ssl.truststore.location': pki.truststoreFile,
    'ssl.truststore.password': pki.password,
    'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    'allow.everyone.if.no.acl.found': 'false',
    // KRaft: the broker reaches the controller, and itself, as User:ANONYMOUS over PLAINTEXT; it must
    // be a super user or the broker never registers.
    'super.users': 'User:ANONYMOUS;User:admin',
    'auto.create.topics.enable': 'false',
  };
  const plainUsers = Object.entries(users)
    .map(([name, password]) => `user_${name}=${jaasQuote(password)}`)
    .join(' ');
  for (const listener of ['saslp', 'sasls', 'plainonly']) {
    p[`listener.name.${listener}.plain.sasl.jaas.config`] = `org.apache.kafka.common.security.plain.PlainLoginModule required ${plainUsers};`;
    if (listener === 'plainonly') continue;
    p[`listener.name.${listener}.scram-sha-256.sasl.jaas.config`] = 'org.apache.kafka.common.security.scram.ScramLoginModule required;';
    p[`listener.name.${listener}.scram-sha-512.sasl.jaas.config`] = 'org.apache.kafka.common.security.scram.ScramLoginModule required;';
    // The broker logs in too (it would need a token for inter-broker OAUTHBEARER), hence a sub claim.
    p[`listener.name.${listener}.oauthbearer.sasl.jaas.config`] =
      'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="admin";';
    p[`listener.name.${listener}.oauthbearer.sasl.server.callback.handler.class`] = UNSECURED_VALIDATOR;
  }
  p['listener.name.plainonly.sasl.enabled.mechanisms'] = 'PLAIN';
  const keystore = (listener: string, cert: keyof TestPki['certs']): void => {
    p[`listener.name.${listener}.ssl.keystore.type`] = 'PKCS12';
    p[`listener.name.${listener}.ssl.keystore.location`] = pki.certs[cert].p12File;
    p[`listener.name.${listener}.ssl.keystore.password`] = pki.password;
    p[`listener.name.${listener}.ssl.key.password`] = pki.password;
  };
  keystore('badhost', 'wrongHost');
  keystore('expired', 'expired');
  keystore('notyetvalid', 'notYetValid');
  keystore('untrusted', 'untrusted');
  keystore('noserverauth', 'noServerAuth');
  keystore('ipssl', 'dnsOnly');
  p['listener.name.mtls.ssl.client.auth'] = 'required';
  p['listener.name.tls12.ssl.enabled.protocols'] = 'TLSv1.2';
  p['listener.name.tls12.ssl.protocol'] = 'TLSv1.2';
  if (options.connectionsMaxReauthMs !== undefined) p['connections.max.reauth.ms'] = String(options.connectionsMaxReauthMs);
  return p;
}

/**
 * The credentials go in pre-salted (salt + saltedpassword, base64) rather than as `password=`: the
 * --add-scram value is a comma-separated list inside brackets with no escape for ',' or ']', and a
 * JVM whose locale is not UTF-8 turns every non-ASCII argv character into U+FFFD. Base64 has neither
 * problem, so any password survives. Kafka's ScramFormatter salts the UTF-8 bytes of the password.
 */
export function scramFormatArgs(users: SecureUsers | Record<string, string>, iterations = 8192): string[] {
  const args: string[] = [];
  for (const [name, password] of Object.entries(users)) {
    if (/[,\]"=]/.test(name)) throw new Error(`kafka-testing: SCRAM user name ${JSON.stringify(name)} cannot be passed to kafka-storage --add-scram`);
    for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
      const salt = randomBytes(16);
      const salted = saltedPassword(mechanism, password, salt, iterations);
      args.push('--add-scram', `${mechanism}=[name=${name},iterations=${iterations},salt="${salt.toString('base64')}",saltedpassword="${salted.toString('base64')}"]`);
    }
  }
  return args;
}

function saltedPassword(mechanism: ScramMechanismName, password: string, salt: Buffer, iterations: number): Buffer {
  const hash = mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512';
  return pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, hash === 'sha256' ? 32 : 64, hash);
}

/**
 * A runtime SCRAM upsert through the Admin API, run by the JDK's source launcher: the password goes
 * through stdin as UTF-8 (argv would need a UTF-8 locale, and ConfigCommand's --add-config cannot
 * carry ',' or ']'). The class is written next to the PKI and compiled in memory on each run.
 */
const SCRAM_UPSERT_JAVA = `
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.util.*;
import org.apache.kafka.clients.admin.*;

public class ScramUpsert {
  public static void main(String[] args) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String bootstrap = in.readLine(), user = in.readLine(), op = in.readLine();
    int iterations = Integer.parseInt(in.readLine());
    String password = in.readLine();
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (Admin admin = Admin.create(p)) {
      // One request per mechanism: the broker refuses two alterations of one user in a request
      // (DuplicateResourceException), even for different mechanisms.
      for (String m : args) {
        ScramMechanism mechanism = ScramMechanism.fromMechanismName(m);
        UserScramCredentialAlteration change = op.equals("delete")
            ? new UserScramCredentialDeletion(user, mechanism)
            : new UserScramCredentialUpsertion(user, new ScramCredentialInfo(mechanism, iterations), password);
        admin.alterUserScramCredentials(List.of(change)).all().get();
      }
    }
  }
}
`;
function redact(text: string, secret: string): string {
  return secret === '' ? text : text.split(secret).join('[password]');
}

function listenerProtocol(listener: SecureListenerName): 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL' {
  if (listener === 'admin') return 'PLAINTEXT';
  if (listener === 'saslPlaintext' || listener === 'plainOnly') return 'SASL_PLAINTEXT';
  if (listener === 'saslSsl') return 'SASL_SSL';
  return 'SSL';
}

function aclCommandClass(version: string): string {
  return Number(version.split('.')[0]) >= 4 ? 'org.apache.kafka.tools.AclCommand' : 'kafka.admin.AclCommand';
}

/** Java properties text; non-ASCII as \uXXXX because Properties.load(InputStream) reads ISO-8859-1. */
export function propertiesText(props: Record<string, string>): string {
  const esc = (s: string): string =>
    s
      .replace(/\\/g, '\\\\')
      .replace(/\n/g, '\\n')
      .replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `${Object.entries(props)
    .map(([k, v]) => `${k}=${esc(v)}`)
    .join('\n')}\n`;
}

// ---- ACL helpers -------------------------------------------------------------------------------------

function resourceArgs(spec: Partial<AclSpec>, requireOne: boolean): string[] {
  const args: string[] = [];
  if (spec.topic !== undefined) args.push('--topic', spec.topic);
  if (spec.transactionalId !== undefined) args.push('--transactional-id', spec.transactionalId);
  if (spec.group !== undefined) args.push('--group', spec.group);
  if (spec.cluster === true) args.push('--cluster');
  const count = args.filter((a) => a.startsWith('--')).length;
  if (count > 1 || (requireOne && count === 0)) throw new Error('kafka-testing: an ACL names exactly one of topic, transactionalId, group, cluster');
  if (spec.prefixed === true) args.push('--resource-pattern-type', 'prefixed');
  return args;
}

function aclArgs(spec: AclSpec): string[] {
  if (spec.operations.length === 0) throw new Error('kafka-testing: an ACL needs at least one operation');
  const args = [spec.deny === true ? '--deny-principal' : '--allow-principal', spec.principal];
  if (spec.host !== undefined) args.push(spec.deny === true ? '--deny-host' : '--allow-host', spec.host);
  for (const op of spec.operations) args.push('--operation', op);
  return [...args, ...resourceArgs(spec, true)];
}

const RESOURCE_LINE = /^Current ACLs for resource `ResourcePattern\(resourceType=(\w+), name=(.*), patternType=(\w+)\)`:/;
const ENTRY_LINE = /^\s*\(principal=(.*), host=(.*), operation=(\w+), permissionType=(\w+)\)\s*$/;

/** Parses AclCommand's "Current ACLs for resource `ResourcePattern(...)`:" blocks. Exported for tests. */
export function parseAclList(output: string): AclEntry[] {
  const entries: AclEntry[] = [];
  let resource: { resourceType: string; resourceName: string; patternType: string } | undefined;
  for (const line of output.split('\n')) {
    const r = RESOURCE_LINE.exec(line.trim());
    if (r !== null) {
      resource = { resourceType: r[1], resourceName: r[2], patternType: r[3] };
      continue;
    }
    const e = ENTRY_LINE.exec(line);
    // "Adding ACLs for resource …" echoes the request, which says nothing about what the broker has.
    if (e === null && line.trim() !== '') resource = undefined;
    if (e !== null && resource !== undefined) entries.push({ ...resource, principal: e[1], host: e[2], operation: e[3], permissionType: e[4] });
  }
  return entries;
}

/** AclCommand prints operations as Kafka's enum names (IdempotentWrite → IDEMPOTENT_WRITE). */
function operationName(op: AclOperation): string {
  return op.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase();
}

function specEntries(spec: AclSpec): Array<Pick<AclEntry, 'resourceType' | 'resourceName' | 'patternType' | 'principal' | 'operation' | 'permissionType' | 'host'>> {
  const [resourceType, resourceName] =
    spec.topic !== undefined
      ? ['TOPIC', spec.topic]
      : spec.transactionalId !== undefined
        ? ['TRANSACTIONAL_ID', spec.transactionalId]
        : spec.group !== undefined
          ? ['GROUP', spec.group]
          : ['CLUSTER', 'kafka-cluster'];
  return spec.operations.map((op) => ({
    resourceType,
    resourceName,
    patternType: spec.prefixed === true ? 'PREFIXED' : 'LITERAL',
    principal: spec.principal,
    host: spec.host ?? '*',
    operation: operationName(op),
    permissionType: spec.deny === true ? 'DENY' : 'ALLOW',
  }));
}

function sameEntry(a: AclEntry, b: ReturnType<typeof specEntries>[number]): boolean {
  return (
    a.resourceType === b.resourceType &&
    a.resourceName === b.resourceName &&
    a.patternType === b.patternType &&
    a.principal === b.principal &&
    a.host === b.host &&
    a.operation === b.operation &&
    a.permissionType === b.permissionType
  );
}

function containsAll(list: AclEntry[], spec: AclSpec): boolean {
  return specEntries(spec).every((want) => list.some((e) => sameEntry(e, want)));
}

function containsNone(list: AclEntry[], spec: AclSpec): boolean {
  return specEntries(spec).every((want) => !list.some((e) => sameEntry(e, want)));
}

function describeAcl(spec: AclSpec): string {
  return `${spec.deny === true ? 'DENY' : 'ALLOW'} ${spec.principal} ${spec.operations.join('+')} on ${resourceArgs(spec, true).join(' ')}`;
}

// ---- a minimal SASL client -------------------------------------------------------------------------

const API_METADATA = 3;
const API_SASL_HANDSHAKE = 17;
const API_SASL_AUTHENTICATE = 36;

/**
 * One frame-at-a-time Kafka connection for the harness's SASL checks: request header v1, the
 * non-flexible SaslHandshake v1 and SaslAuthenticate v1. Written separately from the producer's SASL
 * code on purpose, so a check made with it does not inherit the producer's mistakes.
 */
class ProbeConnection {
  private buffered = Buffer.alloc(0);
  private waiter: { resolve: (b: Buffer) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;
  private correlationId = 0;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, d]);
      this.deliver();
    });
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new Error('connection closed by the broker')));
  }

  static open(endpoint: Endpoint, options: { tls?: tls.ConnectionOptions; timeoutMs: number }): Promise<ProbeConnection> {
    return new Promise((resolve, reject) => {
      // The listeners bind 127.0.0.1 only, and "localhost" may resolve to ::1 first; the name is still
      // what the certificate is checked against (servername).
      const host = endpoint.host === 'localhost' ? '127.0.0.1' : endpoint.host;
      const socket =
        options.tls !== undefined
          ? tls.connect({ host, port: endpoint.port, servername: net.isIP(endpoint.host) === 0 ? endpoint.host : undefined, ...options.tls })
          : net.connect({ host, port: endpoint.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${endpoint.host}:${endpoint.port} timed out`));
      }, options.timeoutMs);
      socket.once(options.tls !== undefined ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        resolve(new ProbeConnection(socket));
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  async request(apiKey: number, version: number, body: (w: Writer) => void, timeoutMs: number): Promise<Reader> {
    const id = ++this.correlationId;
    this.socket.write(encodeRequest(apiKey, version, id, body));
    const frame = await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no response to api ${apiKey} within ${timeoutMs} ms`)), timeoutMs);
      this.waiter = {
        resolve: (b) => {
          clearTimeout(timer);
          resolve(b);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.deliver();
    });
    const r = new Reader(frame);
    const got = r.int32();
    if (got !== id) throw new Error(`correlation id ${got}, expected ${id}`);
    return r;
  }

  close(): void {
    this.socket.destroy();
  }

  private deliver(): void {
    if (this.waiter === null) return;
    if (this.buffered.length >= 4) {
      const size = this.buffered.readInt32BE(0);
      if (this.buffered.length >= 4 + size) {
        const frame = this.buffered.subarray(4, 4 + size);
        this.buffered = this.buffered.subarray(4 + size);
        const w = this.waiter;
        this.waiter = null;
        w.resolve(Buffer.from(frame));
        return;
      }
    }
    if (this.failure !== null) {
      const w = this.waiter;
      this.waiter = null;
      w.reject(this.failure);
    }
  }

  private fail(e: Error): void {
    if (this.failure === null) this.failure = e;
    this.deliver();
  }
}

/**
 * Logs in once on a SASL_PLAINTEXT (or, with `tls`, SASL_SSL) listener and reports what the broker
 * said: the handshake's mechanism list and the SaslAuthenticate error code and message. SCRAM also
 * checks the server signature, so `ok` means both sides proved themselves.
 */
export async function saslProbe(
  endpoint: Endpoint,
  credentials: SaslCredentials,
  options: { timeoutMs?: number; tls?: tls.ConnectionOptions } = {},
): Promise<SaslProbeResult> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const conn = await ProbeConnection.open(endpoint, { tls: options.tls, timeoutMs });
  try {
    return await saslLogin(conn, credentials, timeoutMs);
  } finally {
    conn.close();
  }
}

/**
 * Metadata v4 (no topics) over any listener, after a SASL login when `credentials` are given: the
 * brokers it lists are that listener's advertised endpoints.
 */
export async function listenerMetadata(
  endpoint: Endpoint,
  options: { credentials?: SaslCredentials; tls?: tls.ConnectionOptions; timeoutMs?: number } = {},
): Promise<MetadataResult> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const conn = await ProbeConnection.open(endpoint, { tls: options.tls, timeoutMs });
  try {
    if (options.credentials !== undefined) {
      const login = await saslLogin(conn, options.credentials, timeoutMs);
      if (!login.ok) throw new Error(`kafka-testing: SASL login failed (${login.errorCode}): ${login.errorMessage ?? ''}`);
    }
    const r = await conn.request(API_METADATA, 4, (w) => w.int32(0).bool(false), timeoutMs);
    return decodeMetadataV4(r);
  } finally {
    conn.close();
  }
}

async function saslLogin(conn: ProbeConnection, credentials: SaslCredentials, timeoutMs: number): Promise<SaslProbeResult> {
  const hs = await conn.request(API_SASL_HANDSHAKE, 1, (w) => w.string(credentials.mechanism), timeoutMs);
  const hsError = hs.int16();
  const n = hs.arrayLength(false) ?? 0;
  const enabledMechanisms: string[] = [];
  for (let i = 0; i < n; i++) enabledMechanisms.push(hs.string());
  if (hsError !== 0) return { ok: false, stage: 'handshake', errorCode: hsError, errorMessage: null, enabledMechanisms, sessionLifetimeMs: 0 };
  const authenticate = async (bytes: Buffer): Promise<{ errorCode: number; errorMessage: string | null; bytes: Buffer; sessionLifetimeMs: number }> => {
    const r = await conn.request(API_SASL_AUTHENTICATE, 1, (w) => w.bytes(bytes), timeoutMs);
    return { errorCode: r.int16(), errorMessage: r.nullableString(), bytes: r.bytes(), sessionLifetimeMs: Number(r.int64()) };
  };
  const result = (a: { errorCode: number; errorMessage: string | null; sessionLifetimeMs: number }, ok: boolean): SaslProbeResult => ({
    ok: ok && a.errorCode === 0,
    stage: 'authenticate',
    errorCode: a.errorCode,
    errorMessage: a.errorMessage,
    enabledMechanisms,
    sessionLifetimeMs: a.sessionLifetimeMs,
  });
  if (credentials.mechanism === 'OAUTHBEARER') {
    // RFC 7628 initial client response: GS2 header, then auth=Bearer <token>, ^A-separated.
    const a = await authenticate(Buffer.from(`n,,\x01auth=Bearer ${credentials.token}\x01\x01`, 'utf8'));
    if (a.errorCode !== 0 || a.bytes.length === 0) return result(a, true);
    // A rejected token is not an error yet: RFC 7628 §3.2.2 has the server send a JSON error as a
    // challenge (error code 0), which the client acknowledges with a lone ^A to get the failure.
    const challenge = a.bytes.toString('utf8');
    const final = await authenticate(Buffer.from('\x01', 'utf8'));
    return { ...result(final, false), oauthError: challenge };
  }
  if (credentials.mechanism === 'PLAIN') {
    const a = await authenticate(Buffer.from(`\0${credentials.username}\0${credentials.password}`, 'utf8'));
    return result(a, true);
  }
  const hash = credentials.mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512';
  const saslName = credentials.username.replace(/=/g, '=3D').replace(/,/g, '=2C');
  const clientNonce = randomBytes(18).toString('base64url');
  const clientFirstBare = `n=${saslName},r=${clientNonce}`;
  const first = await authenticate(Buffer.from(`n,,${clientFirstBare}`, 'utf8'));
  if (first.errorCode !== 0) return result(first, false);
  const serverFirst = first.bytes.toString('utf8');
  const attrs = new Map(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)]));
  const nonce = attrs.get('r') ?? '';
  const salt = Buffer.from(attrs.get('s') ?? '', 'base64');
  const iterations = Number(attrs.get('i'));
  if (!nonce.startsWith(clientNonce) || !Number.isInteger(iterations) || iterations < 1) throw new Error(`bad SCRAM server-first message: ${serverFirst}`);
  const salted = pbkdf2Sync(Buffer.from(credentials.password, 'utf8'), salt, iterations, hash === 'sha256' ? 32 : 64, hash);
  const clientKey = createHmac(hash, salted).update('Client Key').digest();
  const storedKey = createHash(hash).update(clientKey).digest();
  const withoutProof = `c=biws,r=${nonce}`;
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const signature = createHmac(hash, storedKey).update(authMessage).digest();
  const proof = Buffer.from(clientKey.map((b, i) => b ^ signature[i]));
  const final = await authenticate(Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8'));
  if (final.errorCode !== 0) return result(final, false);
  const serverKey = createHmac(hash, salted).update('Server Key').digest();
  const expected = createHmac(hash, serverKey).update(authMessage).digest('base64');
  return result(final, final.bytes.toString('utf8') === `v=${expected}`);
}
