import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Every JVM this process starts and owns is listed here, so that no exit path (normal exit, an
 * uncaught error, Ctrl-C, Jest tearing a worker down) leaves a broker running. JVMs started for the
 * CLI are detached on purpose and never registered.
 */
const live = new Map<number, string>();
let installed = false;

export function trackPid(pid: number, label: string): void {
  installHooks();
  live.set(pid, label);
}

export function untrackPid(pid: number): void {
  live.delete(pid);
}

export function trackedPids(): ReadonlyMap<number, string> {
  return live;
}

/** Synchronous on purpose: it also runs from process.on('exit'), where nothing async completes. */
export function killAllTrackedSync(): void {
  for (const pid of live.keys()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  live.clear();
}

function installHooks(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAllTrackedSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const handler = (): void => {
      killAllTrackedSync();
      process.removeListener(signal, handler);
      // Listening for a signal disables Node's default action; re-raise it so the process still
      // dies unless someone else has chosen to handle it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, handler);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM means it exists but belongs to someone else: still alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when /proc says `pid` is a process whose command line mentions `needle` (guards against pid reuse). */
export function pidMatches(pid: number, needle: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle);
  } catch {
    return false;
  }
}

/** A process that is still a zombie (exited, not yet reaped) answers kill(0); /proc tells them apart. */
export function isRunning(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    // No /proc (not Linux): trust kill(0). With /proc, an unreadable stat means it is gone.
    return !fs.existsSync('/proc/self');
  }
}

let setprivPath: string | null | undefined;

/**
 * `setpriv --pdeathsig KILL` execs java (same pid) with the kernel set to SIGKILL it when this Node
 * process dies, which covers the one case no exit hook can: this process being SIGKILLed itself.
 */
export function parentDeathWrapper(): string[] {
  if (setprivPath === undefined) {
    setprivPath = null;
    if (process.platform === 'linux') {
      for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
        const candidate = path.join(dir, 'setpriv');
        if (dir !== '' && fs.existsSync(candidate)) {
          setprivPath = candidate;
          break;
        }
      }
    }
  }
  return setprivPath === null ? [] : [setprivPath, '--pdeathsig', 'KILL', '--'];
}
