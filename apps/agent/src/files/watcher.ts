/**
 * chokidar over a files source's paths, with the source's selection as the
 * ignore filter (excluded directories are not even descended into). Every
 * add/change/unlink event is handed on as a path; debouncing is the caller's.
 * Symlinks are not followed: the snapshot stores links as links.
 */
import { watch, type FSWatcher } from 'chokidar';
import type { PathSelection } from './selection.js';

export interface PathWatcher {
  /** Resolves when the initial scan is done and events are live. */
  ready: Promise<void>;
  close(): Promise<void>;
}

export function watchPaths(
  paths: readonly string[],
  selection: PathSelection,
  handlers: { onChange(path: string, event: string): void; onError(err: Error): void },
): PathWatcher {
  const watcher: FSWatcher = watch([...paths], {
    ignoreInitial: true,
    persistent: true,
    followSymlinks: false,
    ignored: (path, stats) => selection.excluded(path, stats ? stats.isDirectory() : undefined),
  });
  const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  watcher.on('all', (event, path) => handlers.onChange(path, event));
  watcher.on('error', (err) => handlers.onError(err instanceof Error ? err : new Error(String(err))));
  return { ready, close: () => watcher.close() };
}
