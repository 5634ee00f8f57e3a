// A lease in Redis that one process holds at a time (the token refresher's leadership): SET NX PX to take it,
// a compare-and-PEXPIRE to keep it, a compare-and-DEL to give it back, so a process only ever extends or removes
// its own lease. Each taking also draws a fencing number (INCR), higher for every new holder.
import { randomBytes } from 'node:crypto';
import type { RedisClient } from './redis-client.js';

export interface Lease {
  /** The fencing number when this holder has (or just took) the lease, undefined when another process holds it. */
  acquire(): Promise<number | undefined>;
  /** Extends the lease when this holder still has it; false when it lapsed or another process took it. */
  renew(): Promise<boolean>;
  /** Gives the lease back (only if this holder has it), so another process can take it at once. */
  release(): Promise<void>;
}

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/** `key` and `key:fence` are two keys; each command names one, so they may sit in different Cluster slots. */
export function createRedisLease(redis: RedisClient, key: string, ttlMs: number): Lease {
  const holder = randomBytes(16).toString('base64url');
  let fence: number | undefined;
  let value: string | undefined;
  return {
    async acquire() {
      if (value !== undefined && (await this.renew())) return fence;
      // The number is drawn before taking: a number drawn by a process that then loses the race is never used.
      const next = await redis.incr(`${key}:fence`);
      const candidate = `${next}:${holder}`;
      if ((await redis.set(key, candidate, 'PX', ttlMs, 'NX')) !== 'OK') return undefined;
      fence = next;
      value = candidate;
      return fence;
    },
    async renew() {
      if (value === undefined) return false;
      const kept = (await redis.eval(RENEW, 1, key, value, ttlMs)) === 1;
      if (!kept) value = fence = undefined;
      return kept;
    },
    async release() {
      if (value === undefined) return;
      const held = value;
      value = fence = undefined;
      await redis.eval(RELEASE, 1, key, held);
    },
  };
}
