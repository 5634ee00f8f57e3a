// A bounded map with per-entry expiry, evicting the least recently used entry when full. Used wherever the hot
// path memoises crypto or a network answer (cookie → session id, session id → session, assertion per audience).

export class BoundedCache<K, V> {
  private readonly entries = new Map<K, { value: V; expiresAt: number; stamp: number }>();
  /** Insertion counter: Map order is stamp order, oldest first. */
  private stamp = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    // Re-insert so Map order tracks recency, but only once the entry is in the older half: a hot entry is not
    // moved on every read, and still can never be the one evicted.
    if (this.stamp - entry.stamp >= this.maxEntries / 2) {
      this.entries.delete(key);
      entry.stamp = ++this.stamp;
      this.entries.set(key, entry);
    }
    return entry.value;
  }

  set(key: K, value: V, ttlMs: number): void {
    if (ttlMs <= 0) return;
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, expiresAt: this.now() + ttlMs, stamp: ++this.stamp });
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  /** Removes every entry whose value matches, e.g. all cookies of a session that was signed out. */
  deleteWhere(match: (value: V, key: K) => boolean): void {
    for (const [key, entry] of this.entries) if (match(entry.value, key)) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
