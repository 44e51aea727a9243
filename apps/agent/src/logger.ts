/**
 * Pino JSON logs, one line per event, on stderr (journald keeps both streams;
 * stdout stays free for a command's own output, e.g. enroll's result line).
 * Every line carries `name: "pbk-agent"` and, from the logger the daemon
 * hands each part, a `component` (agent, control, heartbeat, backup, restore, commands). Secrets (keys, tokens, DEKs) are never
 * passed to a logger; `redact` is a second line of defence for field names
 * that could carry one.
 */
import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function createLogger(level: LogLevel, destination: number = 2): Logger {
  return pino(
    {
      level,
      name: 'pbk-agent',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['token', '*.token', 'key', '*.key', 'keyPem', '*.keyPem', 'dek', '*.dek', 'idKey', '*.idKey'], censor: '[redacted]' },
    },
    pino.destination({ dest: destination, sync: true }),
  );
}

/** A logger that drops everything (tests, and libraries called without one). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
