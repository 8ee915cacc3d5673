/**
 * The broker the runner (scripts/test-nest12.ts) started, and its verifier: topics are created and records
 * read back with the Java consumer in the runner's process, which has @app/kafka-testing; these specs only
 * have what a user's app has, the installed packages.
 */

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set: run this suite with \`npm run test:nest12\` from the repo root`);
  return value;
}

export const bootstrapServers: string[] = env('NEST12_BOOTSTRAP_SERVERS').split(',');

/** The Nest package's sub-entry points as packed (health, microservices, ...). */
export const packedSubpaths: string[] = env('NEST12_SUBPATHS').split(',');

/** A record as the Java consumer read it; key, value and header values as UTF-8. */
export interface ReadBackRecord {
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
  headers: Array<[string, string | null]>;
}

async function verifier<T>(route: string, body: unknown): Promise<T> {
  const res = await fetch(`${env('NEST12_VERIFIER_URL')}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const payload = (await res.json()) as T & { error?: string };
  if (!res.ok) throw new Error(`verifier ${route}: ${payload.error ?? res.status}`);
  return payload;
}

let counter = 0;

/** Creates a topic no other run uses. */
export async function createTopic(prefix: string, partitions = 1): Promise<string> {
  const name = `nest12-${prefix}-${process.pid}-${Date.now().toString(36)}-${counter++}`;
  await verifier('/topics', { name, partitions });
  return name;
}

/** Reads the topic from the beginning with the Java consumer until `expectedCount` records arrived (fails otherwise). */
export function consumeWithJava(topic: string, expectedCount: number): Promise<ReadBackRecord[]> {
  return verifier('/consume', { topic, expectedCount });
}
