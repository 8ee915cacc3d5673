import * as path from 'node:path';
import { KafkaJars } from './maven-jars';
import { describeFailure, RunResult, runProcess } from './run-process';

export interface JavaToolOptions {
  timeoutMs?: number;
  /** Max heap; tools need little. */
  heap?: string;
  jvmArgs?: string[];
  input?: Buffer | string;
}

export function javaBinary(): string {
  const home = process.env.JAVA_HOME;
  return home !== undefined && home !== '' ? path.join(home, 'bin', 'java') : 'java';
}

/**
 * UTF-8 everywhere: JDK 17 takes the default charset from the locale, which is ASCII in a bare
 * container, and would turn every non-ASCII character a tool prints into '?'.
 */
export const UTF8_JVM_ARGS = ['-Dfile.encoding=UTF-8', '-Dsun.stdout.encoding=UTF-8', '-Dsun.stderr.encoding=UTF-8'];

/**
 * Runs any main class from the Kafka jars. Short tools are started for quick start-up rather than peak
 * speed: C1 only (no C2 warm-up) and the serial collector (no GC threads competing on 2 cores).
 */
export function runJavaTool(jars: KafkaJars, className: string, args: readonly string[], options: JavaToolOptions = {}): Promise<RunResult> {
  const jvm = [
    `-Xmx${options.heap ?? '256m'}`,
    '-XX:TieredStopAtLevel=1',
    '-XX:+UseSerialGC',
    '-Xshare:auto',
    '-Djava.awt.headless=true',
    ...UTF8_JVM_ARGS,
    ...jars.toolLoggingArgs,
    ...(options.jvmArgs ?? []),
  ];
  return runProcess(javaBinary(), [...jvm, '-cp', jars.classpath, className, ...args], {
    timeoutMs: options.timeoutMs ?? 120_000,
    input: options.input,
  });
}

/** Same, but a non-zero exit, signal or timeout becomes an Error carrying the tool's output. */
export async function runJavaToolOrThrow(jars: KafkaJars, className: string, args: readonly string[], options: JavaToolOptions = {}): Promise<RunResult> {
  const result = await runJavaTool(jars, className, args, options);
  if (result.code !== 0 || result.timedOut) throw new Error(`kafka-testing: ${className} failed:\n${describeFailure(result)}`);
  return result;
}
