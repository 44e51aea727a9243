/** Where a pack lives: `data/<first two hex digits>/<64 hex digits>` keeps directories small. */
export function packName(packId: string): string {
  return `data/${packId.slice(0, 2)}/${packId}`;
}

const PACK_NAME = /^data\/([0-9a-f]{2})\/([0-9a-f]{64})$/;

/** The pack id of a backend name, or undefined for anything that is not a pack. */
export function packIdFromName(name: string): string | undefined {
  const m = PACK_NAME.exec(name);
  return m && m[2]!.startsWith(m[1]!) ? m[2] : undefined;
}
