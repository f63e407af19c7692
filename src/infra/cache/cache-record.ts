/**
 * What one cache entry holds, and its wire form. The form is one string so that a hit costs one
 * `GET` and no JSON parse of the body (it is sent as it is), and so that the Redis guard script can
 * read the version with one pattern match: `version|status|expiresAt|computeMs\nbody`.
 */
export interface CacheRecord {
  /**
   * Entity version (200), `deleted version + 1` (tombstone), 0 (a 404 seen by a reader), or the sum
   * of the tag generations the value was loaded under (tagged entries such as list pages).
   */
  version: number;
  /** 200: `body` is the JSON to send. 404: `body` is the problem detail to answer with. */
  status: 200 | 404;
  body: string;
  /** Logical expiry (epoch ms): refresh-ahead measures the time left against it. */
  expiresAt: number;
  /** How long the value took to load (ms): refresh-ahead starts that much earlier, probabilistically. */
  computeMs: number;
}

export function encodeRecord(record: CacheRecord): string {
  return `${record.version}|${record.status}|${record.expiresAt}|${record.computeMs}\n${record.body}`;
}

/** Undefined for anything that is not a record (a foreign value under our prefix is a miss). */
export function decodeRecord(raw: string): CacheRecord | undefined {
  const newline = raw.indexOf('\n');
  if (newline < 0) return undefined;
  const [version, status, expiresAt, computeMs] = raw.slice(0, newline).split('|');
  const record: CacheRecord = {
    version: Number(version),
    status: status === '404' ? 404 : 200,
    expiresAt: Number(expiresAt),
    computeMs: Number(computeMs),
    body: raw.slice(newline + 1),
  };
  if (!Number.isFinite(record.version) || !Number.isFinite(record.expiresAt) || !Number.isFinite(record.computeMs))
    return undefined;
  return record;
}

/**
 * A fence: an entry with no value (never fresh, never served stale: an expired not-found) whose
 * only job is its version. Left where a write-through could not be confirmed, it makes the key a
 * miss and refuses, by the version guard, every write older than that write-through.
 */
export function fenceRecord(version: number): CacheRecord {
  return { version, status: 404, body: '', expiresAt: 0, computeMs: 0 };
}

/** The version rule every store applies on write: a value never replaces a newer one. */
export function mayReplace(current: { version: number } | undefined, next: { version: number }): boolean {
  return current === undefined || next.version >= current.version;
}
