/**
 * Writes the golden-byte fixtures of the generated codecs and has the Java client check them.
 *
 *   npx ts-node --transpile-only libs/kafka-producer/codegen/golden.ts [path to kafka jars dir]
 *
 * For every API, side and version: build the deterministic sample (samples.ts), encode it with our
 * codec, and record the hex. Then GoldenCheck.java parses each with the Java client's generated
 * message class and writes it back; the fixtures are written only if Java reproduces every byte.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as messages from '../src/protocol/messages/index.generated';
import type { KafkaApi } from '../src/protocol/messages/kafka-api';
import { Writer } from '../src/protocol/primitives/writer';
import { buildSample } from './samples';
import { APIS, ROOT, parseRange, readSchema } from './schema';

export const FIXTURE = path.join(ROOT, 'test/fixtures/messages/golden.txt');

export function encodeAll(): string[] {
  const lines: string[] = [];
  for (const api of APIS) {
    const codec = (messages as unknown as Record<string, KafkaApi<unknown, unknown>>)[`${api}Api`];
    for (const side of ['request', 'response'] as const) {
      const schema = readSchema(`${api}${side === 'request' ? 'Request' : 'Response'}.json`);
      const range = parseRange(schema.validVersions)!;
      for (let v = range.min; v <= range.max; v++) {
        const w = new Writer();
        const sample = buildSample(schema, v);
        if (side === 'request') codec.encodeRequest(w, sample, v);
        else codec.encodeResponse(w, sample, v);
        lines.push(`${api} ${side} ${v} ${w.toBuffer().toString('hex')}`);
      }
    }
  }
  return lines;
}

function main(): void {
  const jars = process.argv[2] ?? process.env.KAFKA_JARS_DIR;
  if (!jars) throw new Error('pass the directory of the Kafka jars (kafka-clients) as the first argument');
  const lines = encodeAll();
  const classes = fs.mkdtempSync(path.join(os.tmpdir(), 'golden-'));
  execFileSync('javac', ['-d', classes, '-cp', `${jars}/*`, path.join(__dirname, 'java/GoldenCheck.java')], { stdio: 'inherit' });
  const out = execFileSync('java', ['-cp', `${jars}/*${path.delimiter}${classes}`, 'GoldenCheck'], {
    input: lines.join('\n') + '\n',
    encoding: 'utf8',
  });
  process.stdout.write(out);
  fs.mkdirSync(path.dirname(FIXTURE), { recursive: true });
  fs.writeFileSync(FIXTURE, lines.join('\n') + '\n');
  console.log(`wrote ${lines.length} fixtures to ${path.relative(process.cwd(), FIXTURE)}`);
}

if (require.main === module) main();
