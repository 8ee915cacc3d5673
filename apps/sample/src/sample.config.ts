import * as fs from 'node:fs';
import type { KafkaProducerOptions, SaslMechanismName, SecurityProtocol } from '@app/kafka-producer';
import type { KafkaProduceConfigSource } from '@app/nestjs-kafka-producer';

/** What the producers get to reach a secured cluster; empty for a plaintext one. */
export type SampleKafkaSecurity = Pick<KafkaProducerOptions<unknown, unknown>, 'securityProtocol' | 'ssl' | 'sasl'>;

/** How the config reads files; a test gives its own. */
export interface SampleFileReader {
  (path: string): Buffer;
}

const PROTOCOLS: readonly SecurityProtocol[] = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'];
const MECHANISMS: readonly SaslMechanismName[] = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'];
const SSL_VARIABLES = ['KAFKA_SSL_CA_FILE', 'KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE', 'KAFKA_SSL_KEY_PASSPHRASE', 'KAFKA_SSL_REJECT_UNAUTHORIZED'] as const;
const SASL_VARIABLES = ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD', 'KAFKA_SASL_PASSWORD_FILE', 'KAFKA_SASL_OAUTHBEARER_TOKEN_FILE'] as const;

/** Boot stops with this when the environment cannot configure the app; the message names every bad variable. */
export class SampleConfigException extends Error {
  constructor(readonly problems: string[]) {
    super(`the sample app cannot start: ${problems.join('; ')}`);
    this.name = 'SampleConfigException';
  }
}

/**
 * The sample's configuration, read from the environment once, when Nest builds the provider (so a test
 * sets the variables before it compiles the module):
 * - KAFKA_BOOTSTRAP_SERVERS (required): `host:port[,host:port...]`; the app never guesses a broker, so a
 *   forgotten variable fails at boot instead of producing into somebody's local Kafka.
 * - PORT (default 3000), SAMPLE_TOPIC (default `orders`).
 * - KAFKA_TRANSACTIONAL_ID (default `orders-sample-shipping`): the transactionalId of the shipping
 *   producer. It must be stable across restarts of one app instance (a restarted instance fences its
 *   predecessor and aborts what it left open) and different for every instance running at once (two
 *   instances with one id fence each other).
 * - SAMPLE_SHIPMENTS_TOPIC (default `shipments`), SAMPLE_INVOICES_TOPIC (default `invoices`): the two
 *   topics POST /orders/:id/ship writes to in one transaction.
 *
 *
 * A secured cluster (see README.md, "Connecting to a secured cluster"); every variable is optional and
 * unset means plaintext:
 * - KAFKA_SECURITY_PROTOCOL: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL; derived from the others when
 *   unset (any KAFKA_SSL_* means TLS, KAFKA_SASL_MECHANISM means SASL).
 * - KAFKA_SSL_CA_FILE: PEM file of the CA(s) that signed the brokers' certificates (default: the
 *   system's trusted CAs). KAFKA_SSL_CERT_FILE + KAFKA_SSL_KEY_FILE (+ KAFKA_SSL_KEY_PASSPHRASE when
 *   the key is encrypted): the client certificate for mutual TLS.
 * - KAFKA_SSL_REJECT_UNAUTHORIZED: only `false` turns certificate verification off (for a throwaway
 *   test cluster; the producer warns at every start).
 * - KAFKA_SASL_MECHANISM: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER. With a password
 *   mechanism, KAFKA_SASL_USERNAME and either KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE (read at
 *   every authentication, so a rotated password is used by the next connection). With OAUTHBEARER,
 *   KAFKA_SASL_OAUTHBEARER_TOKEN_FILE: read at every authentication, so a sidecar can rotate the token.
 * Files are read at boot (the password and token files again at each authentication); a problem names
 * the variable and the path, never what a file holds, and no secret's value is ever printed.
 *
 * It is also the KAFKA_PRODUCE_CONFIG source, so `@Produce({ topic: { config: 'SAMPLE_TOPIC' } })` gets
 * the same topic as everything else.
 */
export class SampleConfig implements KafkaProduceConfigSource {
  constructor(
    readonly bootstrapServers: string,
    readonly port: number,
    readonly topic: string,
    readonly transactionalId: string = 'orders-sample-shipping',
    readonly shipmentsTopic: string = 'shipments',
    readonly invoicesTopic: string = 'invoices',
    /** Spread into every producer's options; it holds secrets, so it is never logged. */
    readonly kafkaSecurity: SampleKafkaSecurity = {},
  ) {}

  /** What a log line may say about the security settings: protocol and mechanism, nothing else. */
  get securityLabel(): string {
    const protocol = this.kafkaSecurity.securityProtocol ?? (this.kafkaSecurity.ssl ? (this.kafkaSecurity.sasl ? 'SASL_SSL' : 'SSL') : this.kafkaSecurity.sasl ? 'SASL_PLAINTEXT' : 'PLAINTEXT');
    return this.kafkaSecurity.sasl ? `${protocol}/${this.kafkaSecurity.sasl.mechanism}` : protocol;
  }

  static fromEnv(env: NodeJS.ProcessEnv = process.env, readFile: SampleFileReader = fs.readFileSync): SampleConfig {
    const problems: string[] = [];
    const bootstrapServers = env.KAFKA_BOOTSTRAP_SERVERS?.trim() ?? '';
    if (bootstrapServers === '') problems.push('KAFKA_BOOTSTRAP_SERVERS is not set (e.g. KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092, or use `npm run start:sample`, which starts a local Kafka)');
    const portText = env.PORT?.trim() || '3000';
    const port = Number(portText);
    if (!Number.isInteger(port) || port < 0 || port > 65535) problems.push(`PORT must be an integer from 0 to 65535, not "${portText}"`);
    const topic = env.SAMPLE_TOPIC?.trim() || 'orders';
    const transactionalId = env.KAFKA_TRANSACTIONAL_ID?.trim() || 'orders-sample-shipping';
    const shipmentsTopic = env.SAMPLE_SHIPMENTS_TOPIC?.trim() || 'shipments';
    const invoicesTopic = env.SAMPLE_INVOICES_TOPIC?.trim() || 'invoices';
    const kafkaSecurity = securityFromEnv(env, readFile, problems);
    if (problems.length > 0) throw new SampleConfigException(problems);
    return new SampleConfig(bootstrapServers, port, topic, transactionalId, shipmentsTopic, invoicesTopic, kafkaSecurity);
  }

  get(key: string): unknown {
    const values: Record<string, string> = { SAMPLE_TOPIC: this.topic, SAMPLE_SHIPMENTS_TOPIC: this.shipmentsTopic, SAMPLE_INVOICES_TOPIC: this.invoicesTopic };
    return values[key];
  }
}

/**
 * The security settings from KAFKA_SECURITY_PROTOCOL, KAFKA_SSL_* and KAFKA_SASL_*. Pushes a problem
 * for each bad variable (its name, and a file's path, never a secret or a file's contents); what
 * remains to check across the settings is the producer's, at module build.
 */
export function securityFromEnv(env: NodeJS.ProcessEnv, readFile: SampleFileReader, problems: string[]): SampleKafkaSecurity {
  const text = (name: string): string | undefined => (env[name]?.trim() ? env[name]!.trim() : undefined);
  // a secret is used as given: a trailing space may be part of a password
  const secret = (name: string): string | undefined => (env[name] ? env[name] : undefined);
  const file = (name: string): Buffer | undefined => {
    const path = text(name);
    if (path === undefined) return undefined;
    try {
      return readFile(path);
    } catch (e) {
      // the code only: a parser's message could quote what it read
      problems.push(`${name}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? 'unreadable'})`);
      return undefined;
    }
  };
  /** A file read again at every call (a rotated secret); checked readable now so a wrong path fails at boot. */
  const liveFile = (name: string): (() => string) | undefined => {
    const path = text(name);
    if (path === undefined) return undefined;
    if (file(name) === undefined) return undefined;
    return () => readFile(path).toString('utf8').trim();
  };

  let securityProtocol: SecurityProtocol | undefined;
  const protocolText = text('KAFKA_SECURITY_PROTOCOL');
  if (protocolText !== undefined) {
    if (PROTOCOLS.includes(protocolText.toUpperCase() as SecurityProtocol)) securityProtocol = protocolText.toUpperCase() as SecurityProtocol;
    else problems.push(`KAFKA_SECURITY_PROTOCOL must be one of ${PROTOCOLS.join(', ')}, not "${protocolText}"`);
  }
  const wantsTls = securityProtocol === 'SSL' || securityProtocol === 'SASL_SSL';
  const wantsSasl = securityProtocol === 'SASL_PLAINTEXT' || securityProtocol === 'SASL_SSL';

  // ssl
  const sslSet = SSL_VARIABLES.filter((name) => text(name) !== undefined);
  if (securityProtocol !== undefined && !wantsTls && sslSet.length > 0) problems.push(`${sslSet.join(', ')} set, but KAFKA_SECURITY_PROTOCOL ${securityProtocol} does not use TLS (use SSL or SASL_SSL)`);
  let ssl: SampleKafkaSecurity['ssl'];
  if (wantsTls || sslSet.length > 0) {
    const tls: Record<string, unknown> = {};
    const ca = file('KAFKA_SSL_CA_FILE');
    const cert = file('KAFKA_SSL_CERT_FILE');
    const key = file('KAFKA_SSL_KEY_FILE');
    if (ca !== undefined) tls.ca = ca;
    if (cert !== undefined) tls.cert = cert;
    if (key !== undefined) tls.key = key;
    if ((text('KAFKA_SSL_CERT_FILE') === undefined) !== (text('KAFKA_SSL_KEY_FILE') === undefined)) {
      problems.push('KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together (mutual TLS needs the client certificate and its key)');
    }
    const passphrase = secret('KAFKA_SSL_KEY_PASSPHRASE');
    if (passphrase !== undefined) {
      if (text('KAFKA_SSL_KEY_FILE') === undefined) problems.push('KAFKA_SSL_KEY_PASSPHRASE is set, but KAFKA_SSL_KEY_FILE is not (the passphrase decrypts that key)');
      tls.passphrase = passphrase;
    }
    const verify = text('KAFKA_SSL_REJECT_UNAUTHORIZED');
    if (verify !== undefined && verify !== 'true' && verify !== 'false') {
      problems.push(`KAFKA_SSL_REJECT_UNAUTHORIZED must be true or false (only false turns certificate verification off), not "${verify}"`);
    }
    if (verify === 'false') tls.rejectUnauthorized = false;
    ssl = Object.keys(tls).length === 0 ? true : tls;
  }

  // sasl
  let sasl: SampleKafkaSecurity['sasl'];
  const mechanismText = text('KAFKA_SASL_MECHANISM');
  const saslSet = SASL_VARIABLES.filter((name) => env[name] !== undefined && env[name] !== '');
  if (mechanismText === undefined) {
    if (saslSet.length > 0) problems.push(`${saslSet.join(', ')} set, but KAFKA_SASL_MECHANISM is not (one of ${MECHANISMS.join(', ')})`);
    else if (wantsSasl) problems.push(`KAFKA_SECURITY_PROTOCOL ${securityProtocol} needs KAFKA_SASL_MECHANISM (one of ${MECHANISMS.join(', ')})`);
  } else if (!MECHANISMS.includes(mechanismText.toUpperCase() as SaslMechanismName)) {
    // not quoted, unlike the other variables: it sits next to the password, and a value pasted one line off must not reach the log
    problems.push(`KAFKA_SASL_MECHANISM must be one of ${MECHANISMS.join(', ')}`);
  } else if (securityProtocol !== undefined && !wantsSasl) {
    problems.push(`KAFKA_SASL_MECHANISM is set, but KAFKA_SECURITY_PROTOCOL ${securityProtocol} does not use SASL (use SASL_PLAINTEXT or SASL_SSL)`);
  } else {
    const mechanism = mechanismText.toUpperCase() as SaslMechanismName;
    if (mechanism === 'OAUTHBEARER') {
      for (const name of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD', 'KAFKA_SASL_PASSWORD_FILE'] as const) {
        if (saslSet.includes(name)) problems.push(`${name} is not used with OAUTHBEARER (it takes KAFKA_SASL_OAUTHBEARER_TOKEN_FILE)`);
      }
      if (text('KAFKA_SASL_OAUTHBEARER_TOKEN_FILE') === undefined) problems.push('KAFKA_SASL_MECHANISM OAUTHBEARER needs KAFKA_SASL_OAUTHBEARER_TOKEN_FILE (a file holding the token, rewritten when it is renewed)');
      const token = liveFile('KAFKA_SASL_OAUTHBEARER_TOKEN_FILE');
      // no lifetimeMs: the producer then asks again at every authentication, and the file is the cache
      if (token !== undefined) sasl = { mechanism, oauthBearerProvider: async () => ({ value: token() }) };
    } else {
      if (saslSet.includes('KAFKA_SASL_OAUTHBEARER_TOKEN_FILE')) problems.push(`KAFKA_SASL_OAUTHBEARER_TOKEN_FILE is not used with ${mechanism} (it takes KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE)`);
      const username = text('KAFKA_SASL_USERNAME');
      if (username === undefined) problems.push(`KAFKA_SASL_MECHANISM ${mechanism} needs KAFKA_SASL_USERNAME`);
      const password = secret('KAFKA_SASL_PASSWORD');
      const hasPasswordFile = text('KAFKA_SASL_PASSWORD_FILE') !== undefined;
      if (password !== undefined && hasPasswordFile) problems.push('KAFKA_SASL_PASSWORD and KAFKA_SASL_PASSWORD_FILE exclude each other (set one)');
      else if (password === undefined && !hasPasswordFile) problems.push(`KAFKA_SASL_MECHANISM ${mechanism} needs KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE`);
      const passwordFile = hasPasswordFile && password === undefined ? liveFile('KAFKA_SASL_PASSWORD_FILE') : undefined;
      if (username !== undefined && passwordFile !== undefined) sasl = { mechanism, credentials: async () => ({ username, password: passwordFile() }) };
      else if (username !== undefined && password !== undefined && !hasPasswordFile) sasl = { mechanism, username, password };
    }
  }

  return { ...(securityProtocol !== undefined ? { securityProtocol } : {}), ...(ssl !== undefined ? { ssl } : {}), ...(sasl !== undefined ? { sasl } : {}) };
}
