/**
 * Where a persistent store's SQLite file lives and which layout it has. Apart
 * from sqlite-bytes-store.ts so the public stores entry exports them without
 * its declarations naming better-sqlite3's types (users need no
 * @types/better-sqlite3 to type-check against streamtx).
 */
import { join } from 'node:path';

/** Bump when a table layout changes: an older file is then rebuilt from the changelog. */
export const SCHEMA_VERSION = 1;

export function storeFilePath(stateDir: string, storeName: string): string {
  return join(stateDir, `${storeName}.sqlite`);
}
