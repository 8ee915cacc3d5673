import { spawn } from 'node:child_process';
import { parentDeathWrapper, trackPid, untrackPid } from './process-registry';

export interface RunOptions {
  timeoutMs?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, which is then closed. Without it stdin is /dev/null. */
  input?: Buffer | string;
}

export interface RunResult {
  command: string;
  stdoutBytes: Buffer;
  stdout: string;
  stderr: string;
  /** null when the process was killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  durationMs: number;
}

/** Runs a short-lived process to completion, killing it (SIGKILL) at the deadline. */
export function runProcess(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  const wrapper = parentDeathWrapper();
  const argv = [...wrapper, command, ...args];
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const pid = child.pid;
    if (pid !== undefined) trackPid(pid, `${command} ${args[0] ?? ''}`);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    let timedOut = false;
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, options.timeoutMs);
    child.on('error', (e) => {
      if (timer !== undefined) clearTimeout(timer);
      if (pid !== undefined) untrackPid(pid);
      reject(new Error(`kafka-testing: cannot run ${command}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      if (timer !== undefined) clearTimeout(timer);
      if (pid !== undefined) untrackPid(pid);
      const stdoutBytes = Buffer.concat(out);
      resolve({
        command: [command, ...args].join(' '),
        stdoutBytes,
        stdout: stdoutBytes.toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        code,
        signal,
        timedOut,
        durationMs: Date.now() - started,
      });
    });
    if (options.input !== undefined && child.stdin !== null) {
      child.stdin.on('error', () => undefined); // the process may exit before reading everything
      child.stdin.end(options.input);
    }
  });
}

export function describeFailure(r: RunResult, tailChars = 4000): string {
  const status = r.timedOut ? 'timed out' : r.signal !== null ? `killed by ${r.signal}` : `exited with code ${r.code}`;
  const tail = (s: string): string => (s.length > tailChars ? `…${s.slice(-tailChars)}` : s);
  return `${r.command}\n${status} after ${r.durationMs} ms\n--- stderr ---\n${tail(r.stderr)}\n--- stdout ---\n${tail(r.stdout)}`;
}
