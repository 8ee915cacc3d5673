/**
 * `npm run test:nest12`: the packed libraries in a Nest 12 app, under Jest 30 on Node 24, against a real broker.
 *
 * Nest 12 is ESM-only. Our packages are CommonJS and load it through require(esm), which Jest supports only
 * on Node >= 24.9 with --experimental-vm-modules (Jest 29 cannot load Nest 12 at all), so this suite lives
 * in its own folder, test/nest12, with its own lock file (Nest 12, Jest 30), apart from the workspace's
 * Nest 11 / Jest 29 on Node 20. Steps:
 *
 *   1. pack both libraries (scripts/pack-libraries.ts) into a temp folder;
 *   2. `npm ci` in test/nest12, then `npm install --no-save` of the two tarballs, as a user would;
 *   3. typecheck the specs against the installed declarations (ours and Nest 12's);
 *   4. start a 1-node Kafka (or use KAFKA_BOOTSTRAP_SERVERS), and serve a small HTTP verifier on
 *      127.0.0.1 through which the specs create topics and read records back with the Java consumer
 *      (the specs cannot load @app/kafka-testing: it is workspace TypeScript, not a package);
 *   5. run Jest 30 in test/nest12 with Node 24 and --experimental-vm-modules; stop the broker.
 *
 * NEST12_KEEP_TARBALLS=1 keeps the temp folder for inspection.
 */
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { getTestCluster } from '../libs/kafka-testing/src/test-cluster';
import type { KafkaClusterBase } from '../libs/kafka-testing/src/cluster-base';
import { packLibraries } from './pack-libraries';

const ROOT = path.resolve(__dirname, '..');
const SUITE = path.join(ROOT, 'test', 'nest12');
const NODE24 = path.join(ROOT, '.node24', 'node_modules', '.bin', 'node');

function step(what: string): () => void {
  const started = Date.now();
  process.stderr.write(`== nest12: ${what}\n`);
  return () => process.stderr.write(`   (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
}

/** Nothing from the workspace may leak into how the suite resolves modules. */
function suiteEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  for (const key of ['NODE_PATH', 'NODE_OPTIONS', 'TS_NODE_PROJECT', 'TS_NODE_TRANSPILE_ONLY']) delete env[key];
  return env;
}

function npm(args: string[]): void {
  execFileSync('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: SUITE, env: suiteEnv(), stdio: ['ignore', 'inherit', 'inherit'] });
}

function node24(): string {
  // installs node@24 into .node24/ on first use
  execFileSync(path.join(ROOT, '.ci', 'with-node24'), ['node', '--version'], { stdio: ['ignore', 'ignore', 'inherit'] });
  return NODE24;
}

/** The JSON the specs read back: Buffers as UTF-8 strings (the specs produce text), offsets as strings. */
async function readBack(cluster: KafkaClusterBase, body: { topic: string; expectedCount: number }): Promise<unknown> {
  const records = await cluster.consumeWithJava({ topic: body.topic, expectedCount: body.expectedCount });
  return records.map((r) => ({
    partition: r.partition,
    offset: r.offset.toString(),
    key: r.key?.toString('utf8') ?? null,
    value: r.value?.toString('utf8') ?? null,
    headers: r.headers.map(([k, v]) => [k, v?.toString('utf8') ?? null]),
  }));
}

/** POST /topics {name, partitions} and POST /consume {topic, expectedCount}, for the specs. */
function serveVerifier(cluster: KafkaClusterBase): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      const reply = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(payload));
      };
      const body = JSON.parse(raw || '{}') as Record<string, unknown>;
      const work =
        req.url === '/topics'
          ? cluster.createTopic({ name: String(body.name), partitions: Number(body.partitions ?? 1), replicationFactor: 1 }).then(() => ({ created: body.name }))
          : req.url === '/consume'
            ? readBack(cluster, { topic: String(body.topic), expectedCount: Number(body.expectedCount) })
            : Promise.reject(new Error(`no route ${req.url}`));
      work.then(
        (payload) => reply(200, payload),
        (err: unknown) => reply(500, { error: err instanceof Error ? err.message : String(err) }),
      );
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function runJest(node: string, env: Record<string, string>, jestArgs: string[]): Promise<number> {
  const child = spawn(node, ['--experimental-vm-modules', path.join(SUITE, 'node_modules', 'jest', 'bin', 'jest.js'), '--config', path.join(SUITE, 'jest.config.js'), '--runInBand', ...jestArgs], {
    cwd: SUITE,
    env: suiteEnv(env),
    stdio: 'inherit',
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function main(): Promise<number> {
  const started = Date.now();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kafka-wire-nest12-'));
  let cluster: KafkaClusterBase | undefined;
  let verifier: http.Server | undefined;
  try {
    let done = step('Node 24');
    const node = node24();
    done();

    done = step('pack the libraries');
    const packed = packLibraries(path.join(workDir, 'packages'));
    done();

    done = step('npm ci in test/nest12, then install the tarballs');
    npm(['ci']);
    npm(['install', '--no-save', packed.producer.tarball, packed.nest.tarball]);
    done();

    done = step('typecheck the specs against the installed declarations');
    execFileSync(node, [path.join(SUITE, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(SUITE, 'tsconfig.json')], { cwd: SUITE, env: suiteEnv(), stdio: 'inherit' });
    done();

    done = step(process.env.KAFKA_BOOTSTRAP_SERVERS ? `broker from KAFKA_BOOTSTRAP_SERVERS` : 'start a 1-node Kafka');
    cluster = await getTestCluster({ nodes: 1, log: (m) => process.stderr.write(`${m}\n`) });
    verifier = await serveVerifier(cluster);
    done();

    done = step(`jest 30 on Node 24 against ${cluster.bootstrap}`);
    const code = await runJest(
      node,
      {
        NEST12_BOOTSTRAP_SERVERS: cluster.bootstrap,
        NEST12_VERIFIER_URL: `http://127.0.0.1:${(verifier.address() as AddressInfo).port}`,
        NEST12_SUBPATHS: packed.nest.subpaths.join(','),
      },
      process.argv.slice(2),
    );
    done();
    return code;
  } finally {
    verifier?.close();
    await cluster?.stop();
    if (process.env.NEST12_KEEP_TARBALLS !== '1') fs.rmSync(workDir, { recursive: true, force: true });
    process.stderr.write(`== nest12: ${((Date.now() - started) / 1000).toFixed(1)} s in all\n`);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
