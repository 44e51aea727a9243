/** The coordinator's version, from its package.json (next to dist/ and src/). */
import { readFileSync } from 'node:fs';

export function coordinatorVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
