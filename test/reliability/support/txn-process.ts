import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import type { DriverCommand, DriverOptions, DriverReply } from './txn-driver';

const ROOT = path.join(__dirname, '..', '..', '..');
const DRIVER = path.join(__dirname, 'txn-driver.ts');

/**
 * The scenario's handle on a txn-driver.ts child: commands in, replies out, and SIGKILL. Only the
 * child this handle spawned is ever signalled.
 */
export class TxnProcess {
  private readonly child: ChildProcess;
  private buffered = '';
  private readonly waiting: Array<{ resolve: (r: DriverReply) => void; reject: (e: Error) => void }> = [];
  private exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly stderrTail: string[] = [];

  private constructor(options: DriverOptions) {
    this.child = spawn(process.execPath, ['-r', require.resolve('ts-node/register/transpile-only'), '-r', require.resolve('tsconfig-paths/register'), DRIVER, JSON.stringify(options)], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, 'tsconfig.json') },
    });
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (chunk: string) => {
      this.buffered += chunk;
      for (let nl = this.buffered.indexOf('\n'); nl >= 0; nl = this.buffered.indexOf('\n')) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        if (line.trim() !== '') this.waiting.shift()?.resolve(JSON.parse(line) as DriverReply);
      }
    });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => {
      this.stderrTail.push(chunk);
      if (this.stderrTail.length > 50) this.stderrTail.shift();
    });
    this.child.stdin!.on('error', () => undefined);
    this.child.on('exit', (code, signal) => {
      this.exited = { code, signal };
      for (const w of this.waiting.splice(0)) w.reject(new Error(`txn-driver exited (${signal ?? code}) before answering; stderr:\n${this.stderr()}`));
    });
  }

  static start(options: DriverOptions): TxnProcess {
    return new TxnProcess(options);
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.exited === null;
  }

  stderr(): string {
    return this.stderrTail.join('');
  }

  /** Sends a command and waits for its reply (bounded: a hang is a finding, not a stuck suite). */
  run(command: DriverCommand, timeoutMs = 120_000): Promise<DriverReply> {
    if (this.exited !== null) return Promise.reject(new Error(`txn-driver already exited (${this.exited.signal ?? this.exited.code})`));
    return new Promise<DriverReply>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`txn-driver gave no answer to ${command.op} within ${timeoutMs} ms; stderr:\n${this.stderr()}`)), timeoutMs);
      this.waiting.push({
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.child.stdin!.write(`${JSON.stringify(command)}\n`);
    });
  }

  /** Runs a command that must succeed. */
  async ok(command: DriverCommand, timeoutMs?: number): Promise<DriverReply> {
    const reply = await this.run(command, timeoutMs);
    if (!reply.ok) throw new Error(`txn-driver ${command.op} failed: ${JSON.stringify(reply.error)}; stderr:\n${this.stderr()}`);
    return reply;
  }

  /** SIGKILL, and waits until the process is gone. */
  async kill(): Promise<void> {
    if (this.exited !== null) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGKILL');
    await gone;
  }
}
