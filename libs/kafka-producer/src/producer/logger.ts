/**
 * Where the producer's own messages go. Every method is optional; a level the logger lacks is dropped.
 * Messages never contain a record's bytes or a secret; `context` holds small plain values (topic,
 * partition, broker address, error code) that structured loggers can index.
 */
export interface Logger {
  debug?(message: string, context?: LogContext): void;
  info?(message: string, context?: LogContext): void;
  warn?(message: string, context?: LogContext): void;
  error?(message: string, context?: LogContext): void;
}

export type LogContext = Readonly<Record<string, string | number | boolean | null | undefined | Error>>;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * The default: warnings and errors to stderr, the rest dropped, so a producer is quiet unless something
 * needs a person's attention.
 */
export const consoleLogger: Logger = {
  warn: (message, context) => console.warn(`[kafka-producer] ${message}${formatContext(context)}`),
  error: (message, context) => console.error(`[kafka-producer] ${message}${formatContext(context)}`),
};

/** Drops everything (e.g. for tests that provoke errors on purpose). */
export const silentLogger: Logger = {};

function formatContext(context: LogContext | undefined): string {
  if (context === undefined) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(context)) {
    if (v === undefined) continue;
    parts.push(`${k}=${v instanceof Error ? `${v.name}: ${v.message}` : String(v)}`);
  }
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}

/**
 * Calls into the user's logger never throw into the producer: a logger that fails is a bug of its own
 * and must not turn into a lost record.
 */
export class ProducerLogger {
  constructor(
    private readonly target: Logger,
    private readonly base: LogContext = {},
  ) {}

  debug(message: string, context?: LogContext): void {
    this.log('debug', message, context);
  }

  info(message: string, context?: LogContext): void {
    this.log('info', message, context);
  }

  warn(message: string, context?: LogContext): void {
    this.log('warn', message, context);
  }

  error(message: string, context?: LogContext): void {
    this.log('error', message, context);
  }

  private log(level: LogLevel, message: string, context: LogContext | undefined): void {
    const fn = this.target[level];
    if (fn === undefined) return;
    try {
      fn.call(this.target, message, context === undefined ? this.base : { ...this.base, ...context });
    } catch {
      // nowhere left to report it
    }
  }
}
