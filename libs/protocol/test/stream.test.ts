import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { watchIdle, writeMessage } from '../src/stream.js';

/** An object-mode sink that accepts one message at a time and only when told to. */
function slowSink(): { sink: Writable; release: () => void } {
  let pending: (() => void) | undefined;
  const sink = new Writable({
    objectMode: true,
    highWaterMark: 1,
    write(_chunk, _enc, cb) {
      pending = cb;
    },
  });
  return { sink, release: () => pending?.() };
}

describe('writeMessage', () => {
  it('waits for drain when write() says the buffer is full', async () => {
    // highWaterMark 1: the first write already fills the buffer, so the caller must wait.
    const s2 = slowSink();
    let done = false;
    const p = writeMessage(s2.sink, 'a').then(() => {
      done = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    s2.release();
    await p;
    expect(done).toBe(true);
  });

  it('rejects with CANCELLED when the stream closes or the signal aborts while waiting', async () => {
    const a = slowSink();
    const p = writeMessage(a.sink, 'x');
    a.sink.destroy();
    await expect(p).rejects.toMatchObject({ code: 'CANCELLED' });

    const b = slowSink();
    const ac = new AbortController();
    const q = writeMessage(b.sink, 'x', ac.signal);
    ac.abort();
    await expect(q).rejects.toMatchObject({ code: 'CANCELLED' });
    await expect(writeMessage(a.sink, 'y')).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});

describe('watchIdle', () => {
  it('fires once after silence, and data or touch() postpone it', () => {
    vi.useFakeTimers();
    try {
      const s = new PassThrough({ objectMode: true });
      s.resume();
      const onIdle = vi.fn();
      const t = watchIdle(s, 1000, onIdle);
      vi.advanceTimersByTime(900);
      s.write('x');
      vi.advanceTimersByTime(900);
      t.touch();
      vi.advanceTimersByTime(900);
      expect(onIdle).not.toHaveBeenCalled();
      vi.advanceTimersByTime(200);
      expect(onIdle).toHaveBeenCalledTimes(1);
      vi.advanceTimersByTime(5000);
      expect(onIdle).toHaveBeenCalledTimes(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('stops when the stream ends', () => {
    vi.useFakeTimers();
    try {
      const s = new PassThrough({ objectMode: true });
      s.resume();
      const onIdle = vi.fn();
      watchIdle(s, 1000, onIdle);
      s.emit('end');
      vi.advanceTimersByTime(5000);
      expect(onIdle).not.toHaveBeenCalled();
    } finally {
      vi.useRealTimers();
    }
  });
});
