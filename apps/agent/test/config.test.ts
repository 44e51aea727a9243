import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/errors.js';
import { DEFAULTS, parseConfig } from '../src/config/config.js';

const FILE = '/etc/pbk/agent.yaml';
const errorOf = (text: string): ConfigError => {
  try {
    parseConfig(text, FILE);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
};

describe('agent config', () => {
  it('compiles a minimal config with every default', () => {
    const c = parseConfig('state: state\nsources:\n  - name: etc\n    kind: files\n    paths: [/etc/nginx/, /srv//app]\n', FILE);
    expect(c.stateDir).toBe('/etc/pbk/state'); // relative to the config file
    expect(c.coordinator).toBeUndefined();
    expect(c).toMatchObject({
      logLevel: DEFAULTS.logLevel,
      workers: DEFAULTS.workers,
      heartbeatIntervalMs: DEFAULTS.heartbeatIntervalMs,
      shutdownGraceMs: DEFAULTS.shutdownGraceMs,
      resumeWindowMs: DEFAULTS.resumeWindowMs,
    });
    const s = c.sources[0]!;
    expect(s).toMatchObject({ name: 'etc', kind: 'files', paths: ['/etc/nginx', '/srv/app'], exclude: [], schedule: undefined, watch: false, debounceMs: 500, maxDelayMs: 10_000, backupOnStart: false });
  });

  it('reads the contract doc example: watch, debounce, cron, excludes', () => {
    const c = parseConfig(
      `state: /var/lib/pbk-agent
coordinator: 127.0.0.1:7443
sources:
  - name: etc
    kind: files
    paths: [/etc/nginx, /etc/pgbouncer]
    exclude: ['*.tmp', '**/cache/**']
    schedule: '0 2 * * *'
    watch: true
    debounceMs: 500
`,
      FILE,
    );
    const s = c.sources[0]!;
    expect(c.coordinator).toBe('127.0.0.1:7443');
    expect(s.schedule?.text).toBe('0 2 * * *');
    expect(s.watch).toBe(true);
    expect(s.backupOnStart).toBe(true); // follows watch
    expect(s.selection.excluded('/etc/nginx/a.tmp', false)).toBe(true);
    expect(s.selection.excluded('/etc/passwd', false)).toBe(true);
  });

  it('parses examples/agent.yaml', () => {
    const text = readFileSync(new URL('../../../examples/agent.yaml', import.meta.url), 'utf8');
    const c = parseConfig(text, FILE);
    expect(c.sources.map((s) => s.name)).toEqual(expect.arrayContaining(['pgbouncer', 'tls', 'systemd', 'app', 'redis-sessions', 'redis-config']));
    const all = c.sources.flatMap((s) => (s.kind === 'files' ? s.paths : []));
    for (const p of ['/etc/pgbouncer', '/etc/ssl/private', '/etc/systemd/system', '/srv/app/config']) expect(all).toContain(p);
  });

  it.each([
    ['sources: []\n', 'state', /is required/],
    ['state: /s\ncoordinator: nope\n', 'coordinator', /HOST:PORT/],
    ['state: /s\nlogLevel: loud\n', 'logLevel', /must be one of/],
    ['state: /s\nworkers: 0\n', 'workers', /integer from 1/],
    ['state: /s\nsorces: []\n', 'sorces', /did you mean sources/],
    ['state: /s\nsources:\n  - kind: files\n    paths: [/a]\n', 'sources[0].name', /is required/],
    ['state: /s\nsources:\n  - name: a b\n    kind: files\n    paths: [/a]\n', 'sources[0].name', /letters, digits/],
    ['state: /s\nsources:\n  - name: db\n    kind: mysql\n    paths: [/a]\n', 'sources[0].kind', /must be one of files, postgres, redis/],
    ['state: /s\nsources:\n  - name: a\n    kind: files\n    paths: [etc/nginx]\n', 'sources[0].paths[0]', /absolute path, got "etc\/nginx"/],
    ['state: /s\nsources:\n  - name: a\n    kind: files\n    paths: [/a/../b]\n', 'sources[0].paths[0]', /'\.\.'/],
    ['state: /s\nsources:\n  - name: a\n    kind: files\n    paths: []\n', 'sources[0].paths', /non-empty/],
    ['state: /s\nsources:\n  - name: a\n    kind: files\n    paths: [/etc, /etc/nginx]\n', 'sources[0].paths', /\/etc\/nginx is inside \/etc/],
    ['state: /s\nsources:\n  - name: a\n    kind: files\n    paths: [/a, /a/]\n', 'sources[0].paths[1]', /repeats paths\[0\]/],
    ['state: /s\nsources:\n  - name: a\n    kind: files\n    paths: [/a]\n    exclude: ""\n', 'sources[0].exclude', /list of patterns/],
    ['state: /s\nsources:\n  - name: a\n    kind: files\n    paths: [/a]\n    exclude: [""]\n', 'sources[0].exclude[0]', /empty/],
    ['state: /s\nsources:\n  - name: a\n    kind: files\n    paths: [/a]\n    schedule: "0 25 * * *"\n', 'sources[0].schedule', /hour/],
    ['state: /s\nsources:\n  - name: a\n    kind: files\n    paths: [/a]\n    schedule: "0 0 31 2 *"\n', 'sources[0].schedule', /never fires/],
    ['state: /s\nsources:\n  - name: a\n    kind: files\n    paths: [/a]\n    watch: "yes please"\n', 'sources[0].watch', /true or false/],
    ['state: /s\nsources:\n  - name: a\n    kind: files\n    paths: [/a]\n    debounceMs: 5000\n    maxDelayMs: 1000\n', 'sources[0].maxDelayMs', /at least debounceMs/],
    ['state: /s\nsources:\n  - name: a\n    kind: files\n    paths: [/a]\n    pathz: [/b]\n', 'sources[0].pathz', /did you mean paths/],
  ])('names the bad field: %#', (text, field, message) => {
    const err = errorOf(text);
    expect(err.field).toBe(field);
    expect(err.message).toMatch(message);
    expect(err.message).toContain(FILE);
    expect(err.code).toBe('INVALID_ARGUMENT');
  });

  it('reports every problem at once, and duplicate source names', () => {
    const err = errorOf('state: /s\nworkers: -1\nsources:\n  - name: a\n    kind: files\n    paths: [/a]\n  - name: a\n    kind: files\n    paths: [/b]\n');
    expect(err.message).toMatch(/2 problems/);
    expect(err.message).toMatch(/workers: must be an integer/);
    expect(err.message).toMatch(/sources\[1\]\.name: "a" is already the name of sources\[0\]/);
  });

  it('reports YAML syntax errors and duplicate keys with their position', () => {
    expect(errorOf('state: /s\nsources: [\n').message).toMatch(/not valid YAML/);
    expect(errorOf('state: /s\nstate: /t\n').message).toMatch(/not valid YAML.*(unique|Map keys)/i);
  });

  it('docs/agent-config.md documents every field and default', () => {
    const doc = readFileSync(new URL('../../../docs/agent-config.md', import.meta.url), 'utf8');
    const fields = ['state', 'coordinator', 'logLevel', 'workers', 'heartbeatIntervalMs', 'shutdownGraceMs', 'resumeWindowMs', 'sources', 'name', 'kind', 'paths', 'exclude', 'schedule', 'watch', 'debounceMs', 'maxDelayMs', 'backupOnStart'];
    for (const f of fields) expect(doc, f).toContain(`| \`${f}\` |`);
    for (const v of [DEFAULTS.heartbeatIntervalMs, DEFAULTS.shutdownGraceMs, DEFAULTS.source.debounceMs, DEFAULTS.source.maxDelayMs]) expect(doc).toContain(String(v));
  });
});
