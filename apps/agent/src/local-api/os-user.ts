/** The numeric ids of an OS user, from /etc/passwd (no child process; undefined when unknown). */
import { readFile } from 'node:fs/promises';

export async function osUserIds(name: string): Promise<{ uid: number; gid: number } | undefined> {
  const text = await readFile('/etc/passwd', 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 4) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  return undefined;
}
