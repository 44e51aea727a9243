/**
 * Following a job stream (StartBackup, Restore, Verify): `accepted` first,
 * then `progress` (to the bar, never to --json output), then one final message.
 */
import type { v1 } from '@pbk/protocol';
import { CommandError } from './errors.js';
import type { ProgressSink } from './progress.js';

interface JobUpdate {
  jobId: Buffer;
  accepted?: v1.JobAccepted__Output | null;
  progress?: v1.Progress__Output | null;
  update?: string;
}

export interface JobOutcome<U> {
  jobId: Buffer;
  accepted: v1.JobAccepted__Output | null;
  /** The final message (the one that is neither `accepted` nor `progress`), if the stream sent one. */
  final: U | undefined;
}

export async function followJob<U extends JobUpdate>(stream: AsyncIterable<U>, progress: ProgressSink): Promise<JobOutcome<U>> {
  let jobId: Buffer = Buffer.alloc(0);
  let accepted: v1.JobAccepted__Output | null = null;
  let final: U | undefined;
  try {
    for await (const message of stream) {
      if (message.jobId.length > 0) jobId = message.jobId;
      if (message.update === 'accepted') accepted = message.accepted ?? null;
      else if (message.update === 'progress' && message.progress) progress.update(message.progress);
      else final = message;
    }
  } finally {
    progress.done();
  }
  return { jobId, accepted, final };
}

/** A stream that ended OK but without the result it promised is the coordinator's bug, not ours. */
export function missingResult(what: string): CommandError {
  return new CommandError('INTERNAL', `the coordinator ended the job without ${what}; see its log (and pbk status)`);
}
