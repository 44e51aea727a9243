/** The process logger: pino JSON lines on stdout; each part of the coordinator takes a child with its component name. */
import { pino, type Logger as PinoLogger } from 'pino';

export type AppLogger = PinoLogger;

export function createLogger(level = 'info'): AppLogger {
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } });
}
