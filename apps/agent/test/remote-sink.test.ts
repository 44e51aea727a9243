import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BlobAssembler, ProtocolError, type v1, type WireBlob } from '@pbk/protocol';
import { RemoteBlobSink } from '../src/wire/remote-sink.js';
import type { AgentRpc } from '../src/wire/client.js';

type Upload = ReturnType<AgentRpc['uploadBlobs']>;

/**
 * The client half of the wire, in memory: a slow object-mode Writable with a
 * tiny buffer (so 'drain' matters) standing in for grpc-js's call, and a
 * MissingBlobs that knows a set of ids. It checks framing with the real
 * BlobAssembler, as the coordinator does.
 */
function fakeRpc(opts: { present?: Set<string>; failStream?: ProtocolError; missingDelayMs?: number } = {}) {
  const present = opts.present ?? new Set<string>();
  const missingCalls: number[] = [];
  const missingConcurrency = { now: 0, max: 0 };
  const streams: { received: WireBlob[]; messages: number; maxMessageBytes: number; ended: boolean; open: boolean }[] = [];
  let openStreams = 0;
  const open = { max: 0 };
  const rpc: Pick<AgentRpc, 'missingBlobs' | 'uploadBlobs'> = {
    async missingBlobs(req) {
      missingCalls.push(req.ids!.length);
      missingConcurrency.max = Math.max(missingConcurrency.max, ++missingConcurrency.now);
      if (opts.missingDelayMs !== undefined) await new Promise((r) => setTimeout(r, opts.missingDelayMs));
      missingConcurrency.now--;
      return { missing: (req.ids as Buffer[]).filter((id) => !present.has(id.toString('hex'))) };
    },
    uploadBlobs(): Upload {
      openStreams++;
      const s = { received: [] as WireBlob[], messages: 0, maxMessageBytes: 0, ended: false, open: true };
      streams.push(s);
      open.max = Math.max(open.max, openStreams);
      if (openStreams > 2) throw new Error('three upload streams open at once');
      const assembler = new BlobAssembler();
      let resolveRes!: (r: v1.UploadBlobsResponse__Output) => void;
      let rejectRes!: (e: unknown) => void;
      const response = new Promise<v1.UploadBlobsResponse__Output>((res, rej) => {
        resolveRes = res;
        rejectRes = rej;
      });
      const stream = new Writable({
        objectMode: true,
        highWaterMark: 2,
        write(msg: v1.UploadBlobsRequest, _enc, cb) {
          s.messages++;
          const parts = msg.parts as v1.BlobPart__Output[];
          s.maxMessageBytes = Math.max(s.maxMessageBytes, parts.reduce((n, p) => n + p.data.length, 0));
          if (!(msg.runId as Buffer).equals(RUN)) return cb(new Error('wrong run id'));
          s.received.push(...assembler.push(parts));
          if (opts.failStream && s.received.length >= 2) {
            rejectRes(opts.failStream);
            return cb(opts.failStream);
          }
          setImmediate(cb); // a slow reader
        },
        final(cb) {
          assembler.finish();
          s.ended = true;
          // "durable" a moment later, like a pack fsync
          setTimeout(() => {
            s.open = false;
            openStreams--;
            resolveRes({ blobsStored: String(s.received.length), blobsDuplicate: '0', bytesReceived: '0' });
          }, 5);
          cb();
        },
      });
      stream.on('error', () => undefined);
      (stream as unknown as { cancel(): void }).cancel = () => {
        stream.destroy();
        openStreams--;
        rejectRes(new ProtocolError('CANCELLED', 'cancelled'));
      };
      return { stream: stream as unknown as Upload['stream'], response };
    },
  };
  return { rpc, missingCalls, missingConcurrency, streams, present, open };
}

const RUN = randomBytes(16);
const dekId = randomBytes(16);
const blob = (size: number, type: 'data' | 'tree' = 'data') => ({ type, id: randomBytes(32), dekId, sealed: randomBytes(size), rawLength: size + 10 });

describe('RemoteBlobSink', () => {
  it('asks MissingBlobs in batches, each id once per run, and says present for what the repository has', async () => {
    const f = fakeRpc();
    const ids = Array.from({ length: 25 }, () => randomBytes(32));
    f.present.add(ids[3]!.toString('hex'));
    const sink = new RemoteBlobSink(f.rpc, RUN, { maxIdsPerCall: 10 });
    const need = await sink.claimMissing([...ids, ids[0]!]);
    expect(f.missingCalls).toEqual([10, 10, 5]);
    expect(need.filter(Boolean)).toHaveLength(24); // 25 minus the present one; the repeat is not "missing" twice
    expect(need[3]).toBe(false);
    expect(need[25]).toBe(false);
    // A concurrent or later question about the same ids costs nothing and claims nothing twice.
    const again = await Promise.all([sink.claimMissing(ids.slice(0, 5)), sink.claimMissing(ids.slice(0, 5))]);
    expect(again.flat().some(Boolean)).toBe(false);
    expect(f.missingCalls).toEqual([10, 10, 5]);
  });

  it('callers asking while two MissingBlobs calls are out share the next call, each hearing about its own ids', async () => {
    const f = fakeRpc({ missingDelayMs: 20 });
    const sink = new RemoteBlobSink(f.rpc, RUN, { maxIdsPerCall: 10 });
    const asks = Array.from({ length: 12 }, () => Array.from({ length: 3 }, () => randomBytes(32)));
    for (const ids of asks) if (asks.indexOf(ids) % 2 === 1) f.present.add(ids[1]!.toString('hex'));
    const answers = await Promise.all(asks.map((ids) => sink.claimMissing(ids)));
    answers.forEach((need, i) => expect(need).toEqual([true, i % 2 === 0, true]));
    expect(f.missingConcurrency.max).toBe(2);
    // Two alone, then the other ten callers' 30 ids in calls of at most 10 (three callers each).
    expect(f.missingCalls.slice(0, 2)).toEqual([3, 3]);
    expect(f.missingCalls.slice(2).every((n) => n <= 10)).toBe(true);
    expect(f.missingCalls.reduce((a, b) => a + b, 0)).toBe(36);
    expect(f.missingCalls.length).toBeLessThanOrEqual(6);
    expect(sink.stats.missingCalls).toBe(f.missingCalls.length);
  });

  it('streams blobs in ~messageBytes messages honouring drain, parts consecutive, and flush waits for the durable answer', async () => {
    const f = fakeRpc();
    const sink = new RemoteBlobSink(f.rpc, RUN, { messageBytes: 16 * 1024 });
    const blobs = [blob(100), blob(40_000), blob(3000, 'tree'), ...Array.from({ length: 30 }, () => blob(1500))];
    // Concurrent adds (two chunk workers): order of calls is order on the wire; nothing interleaves.
    await Promise.all(blobs.map((b) => sink.addBlob(b)));
    expect(f.streams[0]!.ended).toBe(false);
    const stats = await sink.flush();
    expect(f.streams).toHaveLength(1);
    expect(f.streams[0]!.open).toBe(false); // the response (durable) arrived before flush returned
    const got = f.streams[0]!.received;
    expect(got.map((b) => b.id.toString('hex'))).toEqual(blobs.map((b) => b.id.toString('hex')));
    got.forEach((g, i) => expect(g.sealed.equals(blobs[i]!.sealed)).toBe(true));
    expect(got[2]!.type).toBe('BLOB_TYPE_TREE');
    expect(f.streams[0]!.maxMessageBytes).toBeLessThanOrEqual(16 * 1024);
    expect(stats).toMatchObject({ blobs: blobs.length, sealedBytes: blobs.reduce((n, b) => n + b.sealed.length, 0), streams: 1, stored: blobs.length });
    expect(stats.rawBytes).toBe(blobs.reduce((n, b) => n + b.rawLength, 0));
  });

  it('sends a delta-base hint as delta_base on every part of its blob, and none on the others', async () => {
    const f = fakeRpc();
    const sink = new RemoteBlobSink(f.rpc, RUN, { messageBytes: 16 * 1024 });
    const hint = randomBytes(32);
    const blobs = [blob(100), blob(40_000), blob(2000)];
    await Promise.all([sink.addBlob(blobs[0]!), sink.addBlob(blobs[1]!, hint), sink.addBlob(blobs[2]!)]);
    const stats = await sink.flush();
    const got = f.streams[0]!.received;
    expect(got.map((b) => b.deltaBase?.toString('hex'))).toEqual([undefined, hint.toString('hex'), undefined]);
    expect(got[1]!.sealed.equals(blobs[1]!.sealed)).toBe(true); // spans parts: the assembler checked every part names the same base
    expect(stats.hinted).toBe(1);
  });

  it('closes a stream at the target size and fills the next while its ack is outstanding, never two acks', async () => {
    const f = fakeRpc();
    const sink = new RemoteBlobSink(f.rpc, RUN, { messageBytes: 8192, streamTargetBytes: 20_000 });
    for (let i = 0; i < 10; i++) await sink.addBlob(blob(6000));
    await sink.flush();
    // 4 x 6000 passes 20 000: streams of 4, 4 and 2 blobs, cut at blob boundaries.
    expect(f.streams.map((s) => s.received.length)).toEqual([4, 4, 2]);
    expect(f.streams.every((s) => s.ended && !s.open)).toBe(true);
    // The next stream opened before the last one's ack came; a third never waited beside them (the fake throws).
    expect(f.open.max).toBe(2);
    expect(sink.stats.stored).toBe(10);
  });

  it('after the coordinator fails the stream (INTEGRITY), every later call fails with that error', async () => {
    const failure = new ProtocolError('INTEGRITY', 'blob does not hash to its id');
    const f = fakeRpc({ failStream: failure });
    const sink = new RemoteBlobSink(f.rpc, RUN, { messageBytes: 4096 });
    const adds = Array.from({ length: 6 }, () => sink.addBlob(blob(3000)).catch((e: unknown) => e));
    const outcomes = await Promise.all(adds);
    expect(outcomes.some((o) => o instanceof ProtocolError && o.code === 'INTEGRITY')).toBe(true);
    await expect(sink.flush()).rejects.toMatchObject({ code: 'INTEGRITY' });
    await expect(sink.claimMissing([randomBytes(32)])).rejects.toMatchObject({ code: 'INTEGRITY' });
  });

  it('a cancelled run cancels the open stream', async () => {
    const f = fakeRpc();
    const controller = new AbortController();
    const sink = new RemoteBlobSink(f.rpc, RUN, { signal: controller.signal });
    await sink.addBlob(blob(100));
    controller.abort(new ProtocolError('CANCELLED', 'operator cancelled'));
    await expect(sink.addBlob(blob(100))).rejects.toMatchObject({ code: 'CANCELLED' });
    await expect(sink.flush()).rejects.toMatchObject({ message: 'operator cancelled' });
  });
});
