#!/usr/bin/env node
// Holds the layering of DESIGN.md (restic's depguard, in forty lines):
//   apps -> libs; storage -> crypto; crypto and protocol -> no other lib;
//   libs never import apps; no deep `@pbk/x/src/...` imports;
//   inside libs/storage: backend < pack, index < snapshot (a lower layer never imports a higher one).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const allowedLibs = { crypto: [], protocol: [], storage: ['crypto'], testkit: [] };
const storageRank = { util: 0, backend: 0, chunker: 0, compress: 0, pack: 1, index: 1, keys: 1, blob: 2, repository: 2, snapshot: 3, wal: 3, archiver: 4, restore: 4, verify: 4, gc: 4, compact: 4 };
const problems = [];

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p);
    else if (p.endsWith('.ts')) yield p;
  }
}
const importRe = /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

for (const area of ['libs', 'apps']) {
  let pkgs;
  try { pkgs = readdirSync(join(root, area)); } catch { continue; }
  for (const pkg of pkgs) {
    const src = join(root, area, pkg, 'src');
    try { statSync(src); } catch { continue; }
    for (const file of walk(src)) {
      const rel = relative(root, file);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(importRe)) {
        const spec = m[1] ?? m[2];
        if (spec.startsWith('@pbk/')) {
          const [, target, ...rest] = spec.split('/');
          if (rest.includes('src')) problems.push(`${rel}: deep import ${spec}`);
          if (area === 'libs' && ['agent', 'coordinator', 'cli'].includes(target)) problems.push(`${rel}: a lib imports an app (${spec})`);
          if (area === 'libs' && target !== pkg && !(allowedLibs[pkg] ?? []).includes(target)) problems.push(`${rel}: libs/${pkg} may not import @pbk/${target}`);
          if (rest[0] === 'testing' && !rel.includes(`${sep}test`) && !rel.endsWith('testing.ts')) problems.push(`${rel}: production code imports ${spec}`);
          if (target === 'testkit' && pkg !== 'testkit') problems.push(`${rel}: production code imports @pbk/testkit (tests and benchmarks only)`);
        } else if (area === 'libs' && pkg === 'storage' && spec.startsWith('.')) {
          const from = relative(src, file).split(sep)[0];
          const to = relative(src, join(file, '..', spec)).split(sep)[0];
          const fr = storageRank[from], tr = storageRank[to];
          if (fr !== undefined && tr !== undefined && tr > fr) problems.push(`${rel}: storage layer '${from}' imports higher layer '${to}'`);
        }
      }
    }
  }
}
if (problems.length) { console.error('layering violations:\n  ' + problems.join('\n  ')); process.exit(1); }
console.log('layers ok');
