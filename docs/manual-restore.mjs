#!/usr/bin/env node
// Restores one snapshot of a pbk repository using nothing but this document's
// format, Node's crypto and the `zstd` command: proof that the repository and
// the KEK are enough (docs/repository-format.md, "Restoring by hand").
// Usage: PBK_KEK_FILE=kek.key node manual-restore.mjs REPO SNAPSHOT_ID TARGET
//        PBK_KEK_FILE=kek.key node manual-restore.mjs REPO --wal HOST SOURCE TARGET   (every complete WAL file, step 7)
// (or PBK_PASSPHRASE=... for a passphrase KEK). Imports nothing from pbk.
import { createDecipheriv, createHash, createHmac, scryptSync } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, openSync, readSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
const walMode = args[1] === '--wal';
const [repo, snapshotId, target] = walMode ? [args[0], undefined, args[4]] : args;
if (!repo || (!walMode && !snapshotId) || !target || (walMode && (!args[2] || !args[3]))) {
  throw new Error('usage: manual-restore.mjs REPO SNAPSHOT_ID TARGET | manual-restore.mjs REPO --wal HOST SOURCE TARGET');
}
const rd = (name) => readFileSync(join(repo, name));

function openAead(key, sealed, aad) {
  const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]);
}
function decodePayload(p, base) {
  if (p[0] === 0) return p.subarray(1);
  if (p[0] === 1) return execFileSync('zstd', ['-d', '-c', '-q'], { input: p.subarray(1), maxBuffer: 1 << 30 });
  if (p[0] === 2 && base) {
    // A delta: the base's plaintext is the frame's raw-content dictionary (zstd -D wants it in a file: private, removed at once).
    const dir = mkdtempSync(join(tmpdir(), 'pbk-manual-'));
    try {
      writeFileSync(join(dir, 'base'), base, { mode: 0o600 });
      return execFileSync('zstd', ['-d', '-c', '-q', '-D', join(dir, 'base')], { input: p.subarray(1), maxBuffer: 1 << 30 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  throw new Error(`unknown encoding byte ${p[0]}${p[0] === 2 ? ' (a delta blob without a base in its index entry)' : ''}`);
}
function unwrap(kek, kekVersion, keyId, wrapped, label) {
  if (wrapped[0] !== 1 || wrapped.readUInt32BE(1) !== kekVersion) throw new Error('wrapped key: wrong format or KEK version');
  const v = Buffer.alloc(4);
  v.writeUInt32BE(kekVersion);
  const aad = Buffer.concat([Buffer.from('pbk-wrap-v1\0'), Buffer.from(label), Buffer.from([0]), keyId, v]);
  return openAead(kek, wrapped.subarray(5), aad);
}

// 1. KEK and its verifier.
const config = JSON.parse(rd('config'));
const kekName = readdirSync(join(repo, 'keys')).filter((n) => /^kek-\d+$/.test(n)).sort((a, b) => +b.slice(4) - +a.slice(4))[0];
const rec = JSON.parse(rd(`keys/${kekName}`));
const kek = rec.kdf
  ? scryptSync(process.env.PBK_PASSPHRASE.normalize('NFC'), Buffer.from(rec.kdf.salt, 'base64'), 32, { N: rec.kdf.N, r: rec.kdf.r, p: rec.kdf.p, maxmem: 1 << 30 })
  : Buffer.from(readFileSync(process.env.PBK_KEK_FILE, 'utf8').trim(), 'base64');
if (!createHmac('sha256', kek).update('pbk kek verifier v1').digest().equals(Buffer.from(rec.verifier, 'base64'))) throw new Error('wrong KEK');

// 2. Master keys.
const master = unwrap(kek, rec.version, Buffer.from(config.id, 'hex'), rd('keys/master'), 'repo-master');
const [idKey, metaKey] = [master.subarray(0, 32), master.subarray(32, 64)];
const openObject = (kind, bytes) => decodePayload(openAead(metaKey, bytes.subarray(1), Buffer.from(`pbk-object-v1\0${kind}`)));

// 4. The index.
const index = new Map();
const superseded = new Set();
const indexFiles = readdirSync(join(repo, 'index')).map((id) => [id, openObject('index', rd(`index/${id}`))]);
for (const [, b] of indexFiles) for (let i = 0, n = b.readUInt32LE(1); i < n; i++) superseded.add(b.subarray(5 + 32 * i, 37 + 32 * i).toString('hex'));
for (const [id, b] of indexFiles) {
  if (superseded.has(id)) continue;
  let p = 5 + 32 * b.readUInt32LE(1);
  const packs = b.readUInt32LE(p);
  p += 4;
  for (let i = 0; i < packs; i++) {
    const packId = b.subarray(p, p + 32).toString('hex');
    const count = b.readUInt32LE(p + 32);
    p += 36;
    for (let j = 0; j < count; j++) {
      // Flags bit 0: a delta blob, its base id follows the 64-byte entry.
      const delta = (b[p + 1] & 1) === 1;
      const deltaBase = delta ? b.subarray(p + 64, p + 96).toString('hex') : undefined;
      index.set(b.subarray(p + 16, p + 48).toString('hex'), { packId, offset: b.readUInt32LE(p + 4), length: b.readUInt32LE(p + 8), dekId: b.subarray(p + 48, p + 64), deltaBase });
      p += delta ? 96 : 64;
    }
  }
}

// 5. Blobs.
const deks = new Map();
function blob(idHex) {
  const e = index.get(idHex);
  if (!e) throw new Error(`blob ${idHex} not in the index`);
  const fd = openSync(join(repo, 'data', e.packId.slice(0, 2), e.packId), 'r');
  const sealed = Buffer.alloc(e.length);
  readSync(fd, sealed, 0, e.length, e.offset);
  closeSync(fd);
  const dekHex = e.dekId.toString('hex');
  if (!deks.has(dekHex)) deks.set(dekHex, unwrap(kek, rec.version, e.dekId, rd(`keys/dek/${dekHex}`), 'dek'));
  const id = Buffer.from(idHex, 'hex');
  const plain = decodePayload(openAead(deks.get(dekHex), sealed, Buffer.concat([Buffer.from('pbk-blob-v1\0'), id, e.dekId])), e.deltaBase && blob(e.deltaBase));
  if (!createHmac('sha256', idKey).update(plain).digest().equals(id)) throw new Error(`blob ${idHex} does not match its id`);
  return plain;
}

// 7. WAL: the files of the non-superseded WAL manifests.
if (walMode) {
  const [host, source] = [args[2], args[3]];
  const manifests = existsSync(join(repo, 'wal')) ? readdirSync(join(repo, 'wal')).map((id) => [id, JSON.parse(openObject('wal', rd(`wal/${id}`)))]) : [];
  const replaced = new Set(manifests.flatMap(([, m]) => m.supersedes));
  mkdirSync(target, { recursive: true });
  const written = new Map();
  for (const [id, m] of manifests) {
    if (replaced.has(id)) continue;
    for (const f of m.files) {
      if (f.host !== host || f.source !== source) continue;
      if (!/^(?:[0-9A-F]{24}(?:\.partial|\.[0-9A-F]{8}\.backup)?|[0-9A-F]{8}\.history)$/.test(f.name)) throw new Error(`unsafe WAL file name ${JSON.stringify(f.name)}`);
      if (written.has(f.name)) {
        if (written.get(f.name) !== f.sha256) throw new Error(`WAL file ${f.name} is recorded twice with different content`);
        continue;
      }
      const data = Buffer.concat(f.content.map(blob));
      if (data.length !== f.size || createHash('sha256').update(data).digest('hex') !== f.sha256) throw new Error(`WAL file ${f.name} does not match its size and SHA-256`);
      writeFileSync(join(target, f.name), data, { mode: 0o600 });
      written.set(f.name, f.sha256);
    }
  }
  process.stdout.write(`restored ${written.size} WAL files of ${host}/${source} into ${target}\n`);
  process.exit(0);
}

// 3. The snapshot; 6. trees.
const snapshot = JSON.parse(openObject('snapshot', rd(`snapshots/${snapshotId}`)));
function restore(treeId, dir) {
  mkdirSync(dir, { recursive: true });
  for (const e of JSON.parse(blob(treeId)).entries) {
    if (!e.name || e.name === '.' || e.name === '..' || /[/\\\0]/.test(e.name)) throw new Error(`unsafe entry name ${JSON.stringify(e.name)}`);
    const path = join(dir, e.name);
    if (e.type === 'dir') restore(e.subtree, path);
    else if (e.type === 'symlink') symlinkSync(e.target, path);
    else writeFileSync(path, Buffer.concat(e.content.map(blob)), { mode: e.mode & 0o777 });
  }
}
restore(snapshot.tree, target);
process.stdout.write(`restored snapshot ${snapshotId} (${snapshot.source.host}/${snapshot.source.name}) into ${target}\n`);

