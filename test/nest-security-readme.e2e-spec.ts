import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * README.md's "Connecting to a secured cluster" code is test/readme/secure-usage.ts (which the
 * typecheck compiles): the README blocks must be copied from it. Needs no broker: run it with
 * KAFKA_TEST_SHARED_CLUSTER=off.
 */
describe("README's secured-cluster section", () => {
  const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  const start = readme.indexOf('## Connecting to a secured cluster');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 5));

  it('exists', () => {
    expect(start).toBeGreaterThan(-1);
  });

  it('every ts code block is a readme:begin/end block of test/readme/secure-usage.ts, with the published package names', () => {
    const source = fs.readFileSync(path.join(__dirname, 'readme', 'secure-usage.ts'), 'utf8');
    const blocks = [...source.matchAll(/\/\/ readme:begin (\S+)\n([\s\S]*?)\/\/ readme:end/g)].map((m) =>
      m[2]
        .replaceAll('@app/nestjs-kafka-producer', 'nestjs-kafka-wire-producer')
        .replaceAll('@app/kafka-producer', 'kafka-wire-producer')
        // @nestjs/config is not a dependency here: the source compiles against a stand-in with its API
        .replaceAll("'./nestjs-config'", "'@nestjs/config'")
        .trimEnd(),
    );
    const shown = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1].trimEnd());
    expect(shown).toEqual(blocks);
  });

  it("lists every environment variable the sample app reads for security, and no other", () => {
    const config = fs.readFileSync(path.join(__dirname, '..', 'apps', 'sample', 'src', 'sample.config.ts'), 'utf8');
    const read = new Set(config.slice(config.indexOf('export function securityFromEnv')).match(/KAFKA_(SECURITY|SSL|SASL)_[A-Z_]+/g));
    const documented = new Set(section.match(/KAFKA_(SECURITY|SSL|SASL)_[A-Z_]+/g));
    expect([...documented].sort()).toEqual([...read].sort());
  });
});
