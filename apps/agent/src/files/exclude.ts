/**
 * Exclude patterns of a files source, matched against ABSOLUTE paths:
 *
 * - `*` any run of characters except `/`; `?` one character except `/`;
 *   `[abc]`, `[a-z]`, `[!abc]` a character class; `\x` a literal x.
 * - `**` as a whole path segment: zero or more segments
 *   (`**\/cache/**` is everything inside any directory named cache).
 * - A pattern without `/` matches an entry's NAME at any depth (`*.tmp`).
 * - A pattern starting with `/` is anchored at the filesystem root
 *   (`/srv/app/tmp`); other patterns with a `/` match at any depth
 *   (`cache/*.bin` is the same as `**\/cache/*.bin`).
 * - A trailing `/` makes the pattern match directories only (`node_modules/`).
 * - A trailing `/**` matches what is inside a directory, not the directory
 *   itself: it is kept, empty, so a restore recreates the layout apps expect.
 *
 * An excluded directory is not descended into (nor watched).
 */

export class GlobError extends Error {}

interface CompiledPattern {
  source: string;
  re: RegExp;
  dirOnly: boolean;
}

export class ExcludeMatcher {
  private readonly patterns: readonly CompiledPattern[];

  constructor(patterns: readonly string[]) {
    this.patterns = patterns.map(compilePattern);
  }

  get size(): number {
    return this.patterns.length;
  }

  /**
   * Whether `absPath` is excluded. `isDir` undefined (not known yet, as when
   * chokidar asks without stats) never matches a directory-only pattern.
   */
  matches(absPath: string, isDir: boolean | undefined): boolean {
    const rel = absPath.replace(/^\/+/, '').replace(/\/+$/, '');
    if (rel === '') return false;
    for (const p of this.patterns) {
      if (p.dirOnly && isDir !== true) continue;
      if (p.re.test(rel)) return true;
    }
    return false;
  }
}

/** Throws GlobError for a pattern that cannot mean anything useful. */
export function compilePattern(pattern: string): CompiledPattern {
  if (pattern.trim() === '') throw new GlobError('an exclude pattern may not be empty');
  if (pattern.includes('\0')) throw new GlobError('an exclude pattern may not contain NUL');
  let p = pattern;
  const dirOnly = p.length > 1 && p.endsWith('/') && !p.endsWith('\\/');
  if (dirOnly) p = p.replace(/\/+$/, '');
  const anchored = p.startsWith('/');
  p = p.replace(/^\/+/, '');
  if (p === '') throw new GlobError(`${JSON.stringify(pattern)} would exclude everything`);
  const body = translate(p, pattern);
  // Unanchored patterns match at any depth: an implied leading `**/`.
  const prefix = anchored || p.startsWith('**/') || p === '**' ? '' : '(?:[^/]*/)*';
  return { source: pattern, re: new RegExp(`^${prefix}${body}$`, 's'), dirOnly };
}

function translate(p: string, original: string): string {
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*') {
      if (p[i + 1] === '*') {
        const atStart = i === 0 || p[i - 1] === '/';
        const atEnd = i + 2 === p.length || p[i + 2] === '/';
        if (atStart && atEnd) {
          if (i + 2 === p.length) {
            re += '.*';
            i += 1;
          } else {
            re += '(?:[^/]*/)*';
            i += 2; // also the '/'
          }
          continue;
        }
        // `**` inside a segment (`a**b`) means the same as `*`.
        while (p[i + 1] === '*') i++;
      }
      re += '[^/]*';
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '[') {
      const end = findClassEnd(p, i);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let cls = p.slice(i + 1, end);
      let negate = false;
      if (cls.startsWith('!') || cls.startsWith('^')) {
        negate = true;
        cls = cls.slice(1);
      }
      if (cls === '') throw new GlobError(`${JSON.stringify(original)} has an empty character class`);
      const inner = cls.replace(/\\/g, '\\\\').replace(/\]/g, '\\]').replace(/\[/g, '\\[');
      re += negate ? `[^/${inner}]` : `(?!/)[${inner}]`;
      i = end;
    } else if (c === '\\') {
      const next = p[i + 1];
      if (next === undefined) throw new GlobError(`${JSON.stringify(original)} ends with a lone backslash`);
      re += escapeRegExp(next);
      i++;
    } else {
      re += escapeRegExp(c);
    }
  }
  return re;
}

function findClassEnd(p: string, start: number): number {
  let i = start + 1;
  if (p[i] === '!' || p[i] === '^') i++;
  if (p[i] === ']') i++; // a leading ] is literal
  for (; i < p.length; i++) if (p[i] === ']') return i;
  return -1;
}

function escapeRegExp(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? `\\${c}` : c;
}
