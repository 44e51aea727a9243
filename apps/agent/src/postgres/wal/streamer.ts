/**
 * WAL streaming of one PostgreSQL source (docs/postgres.md, "WAL streaming"):
 *
 *   slot (created if missing) -> pg_receivewal --synchronous into the spool
 *   -> the growing `<seg>.partial` is uploaded as it grows, up to the slot's
 *   restart_lsn (= what pg_receivewal has fsynced; slot.ts says why) -> a
 *   segment renamed to its final name is recorded complete and deleted from
 *   the spool -> timeline history files are recorded too.
 *
 * The pump runs on every change in the spool (fs.watch) and at least every
 * POLL_MS, one pass at a time. While the coordinator is away, completed
 * segments stay in the spool (never deleted before PutWal answered) and are
 * sent in order when it answers again; past spoolLimitBytes pg_receivewal is
 * paused, so the slot keeps the WAL on the server instead (and its retained
 * size raises the slot alert) rather than the agent's disk filling up.
 *
 * A slot dropped behind our back (a marker file in the spool remembers that
 * we had one) is reported as down with the recovery plan; it is recreated
 * only when the config says so, since WAL between the last streamed byte and
 * the new slot is gone and only a new base backup closes that gap.
 */
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock, TimerHandle } from '../../clock.js';
import type { PostgresSourceConfig } from '../../config/postgres.js';
import { AgentError, codeOf, isCoordinatorGone, messageOf } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { Backoff, type BackoffOptions } from '../../wire/backoff.js';
import { childEnv, pgProgram } from '../connection.js';
import { formatLsn, isHistoryName, isSegmentName, parseLsn, segmentStart, type Lsn } from './names.js';
import { ReceiveWalProcess, type ReceiverExit } from './receiver.js';
import { SlotClient, type SlotState } from './slot.js';
import { GrowingFile, WalUploader, type WalPutResult, type WalRpc } from './uploader.js';

/** Fallback poll of the slot and spool: fs.watch misses nothing on Linux, but the slot's flush report may trail the write. */
const POLL_MS = 100;
/** A second look shortly after a spool change: pg_receivewal reports its flush to the server just after writing. */
const AFTER_CHANGE_MS = 15;
const MARKER = '.pbk-slot.json';
/**
 * At most one upload of the growing segment per this interval. Each durable
 * upload closes a pack on the coordinator, so uploading at every write would
 * make tens of tiny packs a second under load; 250 ms caps that at 4/s while
 * the RPO stays far under its 1 s target (bench/src/postgres-rpo.ts).
 */
export const PARTIAL_UPLOAD_INTERVAL_MS = 250;
const SLOT_MISSING_RE = /replication slot "[^"]*" does not exist/;

export type ReceiverState = 'starting' | 'running' | 'restarting' | 'paused' | 'slot-missing' | 'stopped' | 'disabled';

export interface WalHealth {
  state: 'ok' | 'degraded' | 'down';
  detail: string;
  facts: Record<string, string>;
}

export interface WalStreamerOptions {
  config: PostgresSourceConfig;
  /** The enrolled host. */
  host: string;
  rpc: WalRpc;
  clock: Clock;
  log: Logger;
  /** Restarts of pg_receivewal and retries of uploads. */
  backoff?: BackoffOptions;
  /** Minimum time between uploads of the growing segment (default PARTIAL_UPLOAD_INTERVAL_MS). */
  partialIntervalMs?: number;
  onIdKey?: (key: Buffer) => void;
}

interface Waiter {
  lsn: Lsn;
  resolve: () => void;
  reject: (e: unknown) => void;
  timer: TimerHandle;
}

export class WalStreamer {
  private readonly log: Logger;
  private readonly slot: SlotClient;
  readonly uploader: WalUploader;
  private receiver: ReceiveWalProcess | undefined;
  private receiverState: ReceiverState = 'stopped';
  private restarts = 0;
  private readonly receiverBackoff: Backoff;
  private readonly uploadBackoff: Backoff;
  private restartTimer: TimerHandle | undefined;
  private receiverStartedAt = 0;
  private receiverStarting = false;
  private lastPartialPutAt = 0;
  private partialTimer: TimerHandle | undefined;
  private pollTimer: TimerHandle | undefined;
  private watcher: FSWatcher | undefined;
  private running = false;
  private pumping: Promise<void> | undefined;
  private again = false;
  private segSize = 16 * 1024 * 1024;
  private growing: GrowingFile | undefined;
  private durableLsn: Lsn = 0n;
  private lastDurableAt: number | undefined;
  private slotState: SlotState | undefined;
  private uploadRetryAt = 0;
  private uploadProblem: { code: string; message: string; since: number } | undefined;
  private dbProblem: string | undefined;
  private slotDropped: { at: number; lastFlushed: Lsn | undefined } | undefined;
  /** The slot was lost once: WAL after `after` may be missing. Reported until the agent restarts (a new base backup closes it). */
  private gap: { at: number; after: Lsn | undefined } | undefined;
  /** The slot is new again: pg_receivewal must not resume from the old spool (the server no longer has that WAL). */
  private freshStart = false;
  private spoolBytes = 0;
  private spoolFiles = 0;
  private readonly historySent = new Set<string>();
  private readonly brokenFiles = new Map<string, string>();
  private waiters: Waiter[] = [];

  constructor(private readonly opts: WalStreamerOptions) {
    this.log = opts.log.child({ component: 'wal', source: opts.config.name });
    this.slot = new SlotClient(opts.config);
    this.uploader = new WalUploader({ rpc: opts.rpc, host: opts.host, source: opts.config.name, log: this.log, onIdKey: opts.onIdKey });
    this.receiverBackoff = new Backoff(opts.backoff ?? { initialMs: 500, maxMs: 30_000 });
    this.uploadBackoff = new Backoff(opts.backoff ?? { initialMs: 250, maxMs: 10_000 });
  }

  /** What our pg_receivewal calls itself on the server (pg_stat_replication.application_name). */
  private get appName(): string {
    return `pbk_wal_${this.opts.config.wal.slot}`.slice(0, 63);
  }

  private get spool(): string {
    return this.opts.config.wal.spoolDir;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const wal = this.opts.config.wal;
    if (!wal.enabled) {
      this.receiverState = 'disabled';
      return;
    }
    this.running = true;
    await mkdir(this.spool, { recursive: true, mode: 0o700 });
    try {
      this.segSize = await this.slot.segmentSize();
      await this.ensureSlot();
    } catch (err) {
      // The server may be down at agent start: the pump keeps trying and the receiver restarts with backoff.
      this.dbProblem = messageOf(err);
      this.log.warn({ err: messageOf(err) }, 'PostgreSQL not reachable at start; WAL streaming will start when it is');
    }
    this.watcher = watch(this.spool, () => this.kick(true));
    this.watcher.on('error', (err) => this.log.warn({ err: err.message }, 'spool watcher failed; polling only'));
    this.startReceiver();
    this.schedulePoll();
    this.kick();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.watcher?.close();
    this.watcher = undefined;
    if (this.pollTimer !== undefined) this.opts.clock.clearTimeout(this.pollTimer);
    if (this.restartTimer !== undefined) this.opts.clock.clearTimeout(this.restartTimer);
    if (this.partialTimer !== undefined) this.opts.clock.clearTimeout(this.partialTimer);
    this.lastPartialPutAt = 0; // the last pass below sends everything flushed
    await this.receiver?.stop();
    this.receiverState = 'stopped';
    await this.pumping?.catch(() => undefined);
    // One last pass: what pg_receivewal flushed before it stopped goes out now if the coordinator answers.
    await this.pumpOnce().catch(() => undefined);
    await this.slot.close();
    for (const w of this.waiters) {
      this.opts.clock.clearTimeout(w.timer);
      w.reject(new AgentError('CANCELLED', 'WAL streaming stopped'));
    }
    this.waiters = [];
  }

  /** Resolves once every WAL byte before `lsn` is durable on the coordinator (DEADLINE_EXCEEDED after timeoutMs). */
  waitDurable(lsn: string | Lsn, timeoutMs: number): Promise<void> {
    const target = typeof lsn === 'string' ? parseLsn(lsn) : lsn;
    if (this.durableLsn >= target) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        lsn: target,
        resolve,
        reject,
        timer: this.opts.clock.setTimeout(() => {
          this.waiters = this.waiters.filter((x) => x !== w);
          reject(new AgentError('DEADLINE_EXCEEDED', `WAL up to ${formatLsn(target)} not durable on the coordinator after ${timeoutMs} ms (durable up to ${formatLsn(this.durableLsn)}): ${this.health().detail || 'still streaming'}`));
        }, timeoutMs),
      };
      this.waiters.push(w);
    });
  }

  /** The end of what the coordinator durably holds (0/0 before the first put). */
  get durable(): Lsn {
    return this.durableLsn;
  }

  /** wal-push (archive_command): a whole WAL file given by PostgreSQL. */
  async push(fileName: string, data: Buffer, signal?: AbortSignal): Promise<WalPutResult> {
    const res = await this.uploader.putWhole(fileName, data, signal);
    if (isSegmentName(fileName) && data.length === this.segSize) this.advanceDurable(segmentStart(fileName, this.segSize) + BigInt(this.segSize));
    return res;
  }

  health(): WalHealth {
    const c = this.opts.config;
    const s = this.slotState;
    const facts: Record<string, string> = {
      wal_slot: c.wal.slot,
      receivewal_state: this.receiverState,
      receivewal_restarts: String(this.restarts),
      ...(this.receiver?.pid !== undefined ? { receivewal_pid: String(this.receiver.pid) } : {}),
      wal_durable_lsn: formatLsn(this.durableLsn),
      wal_spool_bytes: String(this.spoolBytes),
      wal_spool_files: String(this.spoolFiles),
    };
    let retained: bigint | undefined;
    let lag: bigint | undefined;
    if (s?.exists && s.restartLsn !== undefined) {
      retained = s.currentLsn > s.restartLsn ? s.currentLsn - s.restartLsn : 0n;
      lag = s.restartLsn > this.durableLsn ? s.restartLsn - this.durableLsn : 0n;
      facts.wal_retained_bytes = String(retained);
      facts.wal_lag_bytes = String(lag);
      facts.wal_flushed_lsn = formatLsn(s.restartLsn);
      facts.wal_server_lsn = formatLsn(s.currentLsn);
      if (s.walStatus) facts.wal_slot_status = s.walStatus;
    }
    if (this.lastDurableAt !== undefined) facts.wal_last_durable_unix_ms = String(this.lastDurableAt);
    const problems: string[] = [];
    let state: WalHealth['state'] = 'ok';
    if (this.receiverState === 'disabled') return { state, detail: 'WAL streaming disabled (wal.enabled: false)', facts };
    if (this.slotDropped) {
      state = 'down';
      problems.push(this.slotDroppedMessage());
    } else if (this.gap) {
      state = 'degraded';
      problems.push(
        `WAL gap: replication slot ${c.wal.slot} was lost at ${new Date(this.gap.at).toISOString()} and is new since; WAL${this.gap.after !== undefined ? ` after ${formatLsn(this.gap.after)}` : ''} up to the new slot may be missing, so take a new base backup now`,
      );
      facts.wal_gap_after_lsn = this.gap.after !== undefined ? formatLsn(this.gap.after) : 'unknown';
    }
    if (this.dbProblem) {
      state = 'down';
      problems.push(`PostgreSQL unreachable: ${this.dbProblem}`);
    }
    const degrade = (why: string): void => {
      if (state === 'ok') state = 'degraded';
      problems.push(why);
    };
    // Streaming falling behind (the slot fills the primary's disk, or WAL piles up here) is its own alert
    // type (DESIGN decision 13), which the coordinator raises from facts.alert; other problems stay BACKUP_INCOMPLETE.
    const lagging = (why: string): void => {
      degrade(why);
      facts.alert = 'REPLICATION_LAG';
    };
    if (retained !== undefined && retained > BigInt(c.wal.slotAlertBytes)) {
      lagging(`slot ${c.wal.slot} holds ${retained} bytes of WAL on the server (alert at ${c.wal.slotAlertBytes}): the server's pg_wal grows until streaming catches up`);
    }
    if (s?.walStatus === 'lost' || s?.walStatus === 'unreserved') lagging(`slot ${c.wal.slot} is ${s.walStatus}: max_slot_wal_keep_size is about to drop WAL not yet streamed`);
    if (this.spoolBytes > c.wal.spoolLimitBytes) lagging(`WAL spool ${this.spool} holds ${this.spoolBytes} bytes (limit ${c.wal.spoolLimitBytes}): pg_receivewal is paused until the coordinator takes them`);
    if (this.uploadProblem) degrade(`WAL not reaching the coordinator since ${new Date(this.uploadProblem.since).toISOString()}: ${this.uploadProblem.code}: ${this.uploadProblem.message}`);
    if (this.receiverState === 'restarting') degrade('pg_receivewal exited; restarting it');
    for (const [name, why] of this.brokenFiles) degrade(`WAL file ${name} refused: ${why}`);
    return { state, detail: problems.join('; '), facts };
  }

  // --- slot ---------------------------------------------------------------

  private slotDroppedMessage(): string {
    const c = this.opts.config;
    const from = this.slotDropped?.lastFlushed !== undefined ? ` after ${formatLsn(this.slotDropped.lastFlushed)}` : '';
    return (
      `replication slot ${c.wal.slot} was dropped on the server behind the agent's back: WAL${from} may be missing from the archive, so point-in-time recovery past that point is not possible. ` +
      `Recovery: recreate the slot (SELECT pg_create_physical_replication_slot('${c.wal.slot}', true)) or set wal.recreateDroppedSlot: true, then take a new base backup at once (pbk backup --source ${this.opts.host}/postgres/${c.name} --full)`
    );
  }

  private async readMarker(): Promise<{ slot: string } | undefined> {
    try {
      return JSON.parse(await readFile(join(this.spool, MARKER), 'utf8')) as { slot: string };
    } catch {
      return undefined;
    }
  }

  private async ensureSlot(): Promise<void> {
    const name = this.opts.config.wal.slot;
    const state = await this.slot.state();
    this.slotState = state;
    this.dbProblem = undefined;
    const marker = await this.readMarker();
    if (state.exists) {
      if (marker?.slot !== name) await this.writeMarker();
      if (this.slotDropped) this.slotBack('recreated by someone else');
      return;
    }
    if (marker?.slot === name) {
      this.onSlotDropped();
      if (!this.opts.config.wal.recreateDroppedSlot) return;
      await this.slot.create();
      this.slotBack('recreated by the agent (wal.recreateDroppedSlot)');
      return;
    }
    const created = await this.slot.create();
    await this.writeMarker();
    this.log.info({ slot: name, created }, 'replication slot ready');
  }

  private async writeMarker(): Promise<void> {
    await writeFile(join(this.spool, MARKER), JSON.stringify({ slot: this.opts.config.wal.slot, at: new Date(this.opts.clock.now()).toISOString() }), { mode: 0o600 });
  }

  /** The slot exists again after it was lost: stream from the new slot, and keep reporting the gap. */
  private slotBack(how: string): void {
    this.slotDropped = undefined;
    this.freshStart = true;
    this.log.error({ slot: this.opts.config.wal.slot, gapAfter: this.gap?.after !== undefined ? formatLsn(this.gap.after) : undefined }, `replication slot ${how}: streaming resumes, but the WAL between the old and the new slot may be missing: take a new base backup now`);
  }

  private onSlotDropped(): void {
    if (!this.slotDropped) {
      this.slotDropped = { at: this.opts.clock.now(), lastFlushed: this.slotState?.restartLsn ?? (this.durableLsn > 0n ? this.durableLsn : undefined) };
      this.gap = { at: this.slotDropped.at, after: this.slotDropped.lastFlushed };
      // A freshly started agent knows no position of its own: the end of what the coordinator holds is where the gap begins.
      if (this.gap.after === undefined) void this.archiveEnd().then((end) => {
        if (end !== undefined && this.gap && this.gap.after === undefined) this.gap.after = end;
        if (end !== undefined && this.slotDropped && this.slotDropped.lastFlushed === undefined) this.slotDropped.lastFlushed = end;
      }, () => undefined);
      this.log.error({ slot: this.opts.config.wal.slot, recovery: this.slotDroppedMessage() }, 'replication slot dropped behind the agent\'s back');
    }
    this.receiverState = 'slot-missing';
  }

  /** The end of the newest segment the coordinator holds for this source (undefined when none or unreachable). */
  private async archiveEnd(): Promise<Lsn | undefined> {
    let from = '';
    let last: { name: string; size: number } | undefined;
    for (;;) {
      const page = await this.opts.rpc.listWal({ source: { host: this.opts.host, kind: 'SOURCE_KIND_POSTGRES', name: this.opts.config.name }, fromFileName: from, limit: 1000 });
      for (const f of page.files) if (isSegmentName(f.fileName) && (last === undefined || f.fileName.slice(8) > last.name.slice(8))) last = { name: f.fileName, size: Number(f.size) };
      if (page.nextFileName === '') break;
      from = page.nextFileName;
    }
    return last === undefined ? undefined : segmentStart(last.name, this.segSize) + BigInt(last.size);
  }

  // --- pg_receivewal ------------------------------------------------------

  private startReceiver(): void {
    // One start at a time: two would each spawn a pg_receivewal, and they would fight over the slot.
    if (!this.running || this.receiver?.running || this.receiverStarting) return;
    this.receiverStarting = true;
    this.receiverState = 'starting';
    void (async () => {
      try {
        if (this.slotDropped || !this.slotState?.exists) await this.ensureSlot();
        if (this.slotDropped) {
          this.receiverState = 'slot-missing';
          this.scheduleRestart(); // keeps looking: an operator may recreate the slot
          return;
        }
        if (this.freshStart) {
          // pg_receivewal resumes after the newest segment in the spool, which the server no longer has:
          // wait until the finished ones are on the coordinator, then set the old partial aside.
          if ((await readdir(this.spool)).some(isSegmentName)) {
            this.receiverState = 'restarting';
            this.scheduleRestart();
            return;
          }
          await this.dropStalePartial();
          this.freshStart = false;
        }
        const env = await childEnv(this.opts.config.connection);
        env.PGAPPNAME = this.appName;
        await this.repairPreallocation();
        // A pg_receivewal of an agent that was killed may still hold the slot (and write our spool).
        if (await this.slot.endOrphan(this.appName)) {
          this.log.warn({ slot: this.opts.config.wal.slot }, 'ended a pg_receivewal left running by an earlier agent process');
          await new Promise((r) => setTimeout(r, 200));
        }
        if (!this.running) return;
        this.receiver = new ReceiveWalProcess({
          program: pgProgram(this.opts.config, 'pg_receivewal'),
          spoolDir: this.spool,
          slot: this.opts.config.wal.slot,
          env,
          log: this.log,
          onExit: (e) => this.onReceiverExit(e),
        });
        this.receiver.start();
        this.receiverStartedAt = this.opts.clock.now();
        this.receiverState = 'running';
      } catch (err) {
        this.dbProblem = messageOf(err);
        this.scheduleRestart();
      }
    })().finally(() => {
      this.receiverStarting = false;
    });
  }

  private onReceiverExit(e: ReceiverExit): void {
    // Stopped on purpose: the agent is stopping, or the spool is over its limit (measureSpool resumes it).
    if (!this.running || this.receiverState === 'paused') return;
    // A receiver that ran for a while earned a quick restart; one that dies at once backs off.
    if (this.opts.clock.now() - this.receiverStartedAt > 10_000) this.receiverBackoff.reset();
    const tail = e.stderr.trim().split('\n').slice(-3).join(' | ');
    if (SLOT_MISSING_RE.test(e.stderr)) {
      this.onSlotDropped();
      // startReceiver recreates it (recreateDroppedSlot) or keeps checking for an operator to.
      this.scheduleRestart();
      return;
    } else {
      this.log.warn({ code: e.code, signal: e.signal, stderr: tail }, 'pg_receivewal exited; restarting it');
    }
    this.restarts++;
    this.receiverState = 'restarting';
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    if (!this.running || this.restartTimer !== undefined) return;
    const wait = this.receiverBackoff.next();
    this.restartTimer = this.opts.clock.setTimeout(() => {
      this.restartTimer = undefined;
      if (this.receiverState === 'paused') return;
      this.startReceiver();
    }, wait);
  }

  /**
   * pg_receivewal preallocates a new `.partial` with zeros before it writes any
   * WAL into it, and refuses to start ("has N bytes, should be 0 or 16777216")
   * when it was stopped in the middle of that (our spool-limit pause, a kill,
   * a crash). Extending the file to the segment size is always safe: it
   * re-streams that segment from its start, and we upload only up to the slot's
   * flushed position.
   */
  private async repairPreallocation(): Promise<void> {
    for (const f of await readdir(this.spool)) {
      if (!f.endsWith('.partial') || !isSegmentName(f.slice(0, -'.partial'.length))) continue;
      const path = join(this.spool, f);
      const size = (await stat(path).catch(() => undefined))?.size;
      if (size === undefined || size === 0 || size === this.segSize) continue;
      if (size > this.segSize) continue; // not ours to judge: pg_receivewal reports it
      // Only a file that holds nothing but preallocation zeros: anything else is not ours to touch.
      const bytes = await readFile(path);
      if (bytes.some((b) => b !== 0)) {
        this.log.error({ file: f, size }, 'a .partial of unexpected size holds WAL: left alone; pg_receivewal will not start until someone looks at it');
        continue;
      }
      await truncate(path, this.segSize);
      this.log.warn({ file: f, size }, 'extended a half-preallocated .partial (pg_receivewal was stopped while creating it)');
    }
  }

  private async dropStalePartial(): Promise<void> {
    for (const f of await readdir(this.spool)) {
      if (f.endsWith('.partial')) await rename(join(this.spool, f), join(this.spool, `${f}.before-slot-loss`)).catch(() => undefined);
    }
    this.growing = undefined;
  }

  // --- the pump -----------------------------------------------------------

  private schedulePoll(): void {
    if (!this.running) return;
    this.pollTimer = this.opts.clock.setTimeout(() => {
      this.kick();
      this.schedulePoll();
    }, POLL_MS);
  }

  private kick(changed = false): void {
    if (!this.running) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = (async () => {
      do {
        this.again = false;
        await this.pumpOnce().catch((err: unknown) => this.log.warn({ err: messageOf(err) }, 'WAL pump pass failed'));
      } while (this.again && this.running);
    })().finally(() => {
      this.pumping = undefined;
    });
    // pg_receivewal reports its flush to the server right after writing: look again a moment later.
    if (changed) {
      this.opts.clock.setTimeout(() => {
        if (this.running && !this.pumping) this.kick();
      }, AFTER_CHANGE_MS);
    }
  }

  private async pumpOnce(): Promise<void> {
    try {
      this.slotState = await this.slot.state();
      this.dbProblem = undefined;
      if (!this.slotState.exists && !this.slotDropped && (await this.readMarker())?.slot === this.opts.config.wal.slot && this.receiverState !== 'starting') {
        this.onSlotDropped();
      }
      if (this.slotState.exists && this.slotDropped) {
        this.slotBack('recreated by someone else');
        this.startReceiver();
      }
    } catch (err) {
      this.dbProblem = messageOf(err);
    }
    const names = (await readdir(this.spool)).sort();
    await this.measureSpool(names);
    if (this.opts.clock.now() < this.uploadRetryAt) return;
    try {
      for (const name of names) if (isHistoryName(name) && !this.historySent.has(name)) await this.sendHistory(name);
      for (const name of names) if (isSegmentName(name) && !this.brokenFiles.has(name)) await this.sendComplete(name);
      // Newest position last (timeline as the tie-break): after a timeline switch pg_receivewal leaves the old
      // timeline's last segment as a .partial beside the new one; only the newest is still growing.
      const partials = names
        .filter((n) => n.endsWith('.partial') && isSegmentName(n.slice(0, -'.partial'.length)))
        .map((n) => n.slice(0, -'.partial'.length))
        .sort((a, b) => (a.slice(8) === b.slice(8) ? a.localeCompare(b) : a.slice(8).localeCompare(b.slice(8))));
      const newest = partials.pop();
      for (const old of partials) await this.sendLeftPartial(old);
      if (newest !== undefined) await this.sendPartial(newest);
      if (this.uploadProblem) this.log.info({ downForMs: this.opts.clock.now() - this.uploadProblem.since }, 'WAL reaches the coordinator again');
      this.uploadProblem = undefined;
      this.uploadBackoff.reset();
    } catch (err) {
      this.growing = undefined; // re-read from the start next time: MissingBlobs skips what arrived
      const code = codeOf(err);
      if (!this.uploadProblem) this.log.warn({ code, err: messageOf(err) }, isCoordinatorGone(err) ? 'coordinator unreachable; WAL stays in the spool' : 'WAL upload failed');
      this.uploadProblem ??= { code, message: messageOf(err), since: this.opts.clock.now() };
      this.uploadProblem.code = code;
      this.uploadProblem.message = messageOf(err);
      this.uploadRetryAt = this.opts.clock.now() + this.uploadBackoff.next();
    }
    await this.measureSpool(await readdir(this.spool));
  }

  private async measureSpool(names: string[]): Promise<void> {
    let bytes = 0;
    let files = 0;
    for (const n of names) {
      if (!isSegmentName(n) && !n.endsWith('.partial')) continue;
      const st = await stat(join(this.spool, n)).catch(() => undefined);
      if (!st) continue;
      files++;
      bytes += st.size;
    }
    this.spoolBytes = bytes;
    this.spoolFiles = files;
    const limit = this.opts.config.wal.spoolLimitBytes;
    if (bytes > limit && this.receiverState === 'running') {
      this.log.error({ spoolBytes: bytes, limit }, 'WAL spool over its limit: pausing pg_receivewal (the slot keeps WAL on the server meanwhile)');
      this.receiverState = 'paused';
      await this.receiver?.stop();
    } else if (bytes <= limit && this.receiverState === 'paused') {
      this.log.info({ spoolBytes: bytes }, 'WAL spool back under its limit: resuming pg_receivewal');
      this.startReceiver();
    }
  }

  private async sendHistory(name: string): Promise<void> {
    const data = await readFile(join(this.spool, name));
    await this.uploader.putWhole(name, data);
    this.historySent.add(name);
    this.log.info({ file: name }, 'timeline history file stored');
  }

  private async sendComplete(name: string): Promise<void> {
    const path = join(this.spool, name);
    const data = await readFile(path).catch(() => undefined);
    if (data === undefined) return;
    try {
      const res = await this.uploader.putWhole(name, data);
      this.log.debug({ file: name, alreadyHad: res.alreadyHad }, 'WAL segment stored complete');
    } catch (err) {
      if (codeOf(err) === 'INTEGRITY') {
        // Another writer's segment under this name: keep ours in the spool for a human, never overwrite theirs.
        this.brokenFiles.set(name, messageOf(err));
        this.log.error({ file: name, err: messageOf(err) }, 'WAL segment refused by the coordinator; kept in the spool');
        return;
      }
      throw err;
    }
    if (this.growing?.name === name) this.growing = undefined;
    this.advanceDurable(segmentStart(name, this.segSize) + BigInt(data.length));
    await rm(path, { force: true });
  }

  /**
   * An old timeline's last segment, left as `.partial` by a timeline switch: stored whole under
   * `<segment>.partial`, as PostgreSQL's own archiver does at promotion (recovery reads the new
   * timeline's copy of it; this keeps the old timeline's tail too), then removed from the spool.
   */
  private async sendLeftPartial(name: string): Promise<void> {
    const path = join(this.spool, `${name}.partial`);
    const data = await readFile(path).catch(() => undefined);
    if (data === undefined) return;
    await this.uploader.putWhole(`${name}.partial`, data);
    if (this.growing?.name === name) this.growing = undefined;
    this.log.info({ file: `${name}.partial` }, 'segment of a previous timeline stored as .partial');
    await rm(path, { force: true });
  }

  private async sendPartial(name: string): Promise<void> {
    const flushed = this.slotState?.restartLsn;
    if (flushed === undefined) return;
    const start = segmentStart(name, this.segSize);
    if (flushed <= start) return;
    const want = Number(flushed - start > BigInt(this.segSize) ? BigInt(this.segSize) : flushed - start);
    if (this.growing?.name !== name) this.growing = new GrowingFile(name);
    const g = this.growing;
    if (want <= g.size) return;
    const interval = this.opts.partialIntervalMs ?? PARTIAL_UPLOAD_INTERVAL_MS;
    const wait = this.lastPartialPutAt + interval - this.opts.clock.now();
    if (wait > 0) {
      this.partialTimer ??= this.opts.clock.setTimeout(() => {
        this.partialTimer = undefined;
        this.kick();
      }, wait);
      return;
    }
    this.lastPartialPutAt = this.opts.clock.now();
    const run = await this.uploader.walRun();
    const fh = await open(join(this.spool, `${name}.partial`), 'r').catch(() => undefined);
    if (fh === undefined) return; // renamed meanwhile: the next pass sends it complete
    let tail: Buffer;
    try {
      tail = Buffer.alloc(want - g.rereadFrom);
      const { bytesRead } = await fh.read(tail, 0, tail.length, g.rereadFrom);
      if (bytesRead < tail.length) tail = tail.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
    const fresh = g.extend(tail, run.idKey);
    await this.uploader.put(g, fresh, false);
    this.advanceDurable(start + BigInt(g.size));
  }

  private advanceDurable(lsn: Lsn): void {
    if (lsn <= this.durableLsn) return;
    this.durableLsn = lsn;
    this.lastDurableAt = this.opts.clock.now();
    const done = this.waiters.filter((w) => w.lsn <= lsn);
    if (done.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.lsn > lsn);
    for (const w of done) {
      this.opts.clock.clearTimeout(w.timer);
      w.resolve();
    }
  }
}
