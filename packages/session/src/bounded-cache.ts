// A bounded map with per-entry expiry, evicting the least recently used entry when full. Used wherever the hot
// path memoises crypto or a network answer (cookie → session id, session id → session, assertion per audience).
// Bounded by entry count, and by bytes when the entries' size depends on input (a decision keyed by a user's groups);
// entries may belong to a group (a session id), so dropping a group costs O(its entries), not a scan.

export interface BoundedCacheOptions<K, V> {
  maxEntries?: number;
  /** Bound on the sum of `sizeOf` over all entries; an entry larger than this is not kept. */
  maxBytes?: number;
  /** Estimated bytes an entry holds (key and value). */
  sizeOf?: (key: K, value: V) => number;
  /** The group an entry belongs to, for `deleteGroup`; undefined for none. */
  groupOf?: (key: K, value: V) => string | undefined;
  now?: () => number;
}

interface Entry<V> {
  value: V;
  expiresAt: number;
  stamp: number;
  size: number;
  group: string | undefined;
}

export class BoundedCache<K, V> {
  private readonly entries = new Map<K, Entry<V>>();
  private readonly groups = new Map<string, Set<K>>();
  /** Insertion counter: Map order is stamp order, oldest first. */
  private stamp = 0;
  private totalBytes = 0;
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly sizeOf: ((key: K, value: V) => number) | undefined;
  private readonly groupOf: ((key: K, value: V) => string | undefined) | undefined;
  private readonly now: () => number;

  constructor(limit: number | BoundedCacheOptions<K, V>, now: () => number = Date.now) {
    const options = typeof limit === 'number' ? { maxEntries: limit } : limit;
    this.maxEntries = options.maxEntries ?? Infinity;
    this.maxBytes = options.maxBytes ?? Infinity;
    this.sizeOf = options.sizeOf;
    this.groupOf = options.groupOf;
    this.now = options.now ?? now;
  }

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.remove(key, entry);
      return undefined;
    }
    // Re-insert so Map order tracks recency, but only once the entry is in the older half: a hot entry is not
    // moved on every read, and still can never be the one evicted.
    if (this.stamp - entry.stamp >= (this.maxEntries === Infinity ? this.entries.size : this.maxEntries) / 2) {
      this.entries.delete(key);
      entry.stamp = ++this.stamp;
      this.entries.set(key, entry);
    }
    return entry.value;
  }

  set(key: K, value: V, ttlMs: number): void {
    if (ttlMs <= 0) return;
    const known = this.entries.get(key);
    if (known) this.remove(key, known);
    const size = this.sizeOf?.(key, value) ?? 0;
    if (size > this.maxBytes) return;
    while (this.entries.size > 0 && (this.entries.size >= this.maxEntries || this.totalBytes + size > this.maxBytes)) {
      const [oldestKey, oldest] = this.entries.entries().next().value!;
      this.remove(oldestKey, oldest);
    }
    const group = this.groupOf?.(key, value);
    this.entries.set(key, { value, expiresAt: this.now() + ttlMs, stamp: ++this.stamp, size, group });
    this.totalBytes += size;
    if (group !== undefined) {
      let keys = this.groups.get(group);
      if (!keys) this.groups.set(group, (keys = new Set()));
      keys.add(key);
    }
  }

  delete(key: K): void {
    const entry = this.entries.get(key);
    if (entry) this.remove(key, entry);
  }

  /** Removes every entry of a group, e.g. all cookies of a session that was signed out. */
  deleteGroup(group: string): void {
    const keys = this.groups.get(group);
    if (!keys) return;
    for (const key of keys) {
      const entry = this.entries.get(key);
      if (entry) this.remove(key, entry);
    }
  }

  /** Removes every entry whose value matches: a scan of the whole cache; prefer groups. */
  deleteWhere(match: (value: V, key: K) => boolean): void {
    for (const [key, entry] of this.entries) if (match(entry.value, key)) this.remove(key, entry);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The sum of the entries' estimated sizes. */
  get bytes(): number {
    return this.totalBytes;
  }

  private remove(key: K, entry: Entry<V>): void {
    this.entries.delete(key);
    this.totalBytes -= entry.size;
    if (entry.group === undefined) return;
    const keys = this.groups.get(entry.group);
    keys?.delete(key);
    if (keys?.size === 0) this.groups.delete(entry.group);
  }
}
