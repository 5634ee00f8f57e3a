// Which of many rules could match an identity, found by its email, domain, user id and groups instead of by testing
// every rule. A rule says which identity values it needs (its keys); a rule without keys is always a candidate.
// Candidates come back in rule order, so the first rule that matches, and so the reasons, are those of a linear scan.
import { emailDomain } from './criteria/domain.js';
import type { IdentityKey } from './criteria/identity-keys.js';
import type { Identity } from './types.js';

export { keysOf, type IdentityField, type IdentityKey } from './criteria/identity-keys.js';

export interface IdentityIndex {
  readonly email: ReadonlyMap<string, readonly number[]>;
  readonly domain: ReadonlyMap<string, readonly number[]>;
  readonly sub: ReadonlyMap<string, readonly number[]>;
  readonly groups: ReadonlyMap<string, readonly number[]>;
  /** Rules without keys, tested for every identity. */
  readonly always: readonly number[];
}

/** Below this many rules a linear scan is as fast as a lookup. */
export const INDEX_MIN_RULES = 8;

/** The index of rules by their keys, or undefined when there are too few rules or none has keys. */
export function buildIndex(rules: ReadonlyArray<readonly IdentityKey[] | undefined>): IdentityIndex | undefined {
  if (rules.length < INDEX_MIN_RULES || rules.every((keys) => keys === undefined)) return undefined;
  const maps = {
    email: new Map<string, number[]>(),
    domain: new Map<string, number[]>(),
    sub: new Map<string, number[]>(),
    groups: new Map<string, number[]>(),
  };
  const always: number[] = [];
  rules.forEach((keys, i) => {
    if (keys === undefined) {
      always.push(i);
      return;
    }
    for (const { field, value } of keys) {
      const list = maps[field].get(value);
      if (!list) maps[field].set(value, [i]);
      else if (list[list.length - 1] !== i) list.push(i);
    }
  });
  return Object.freeze({ ...maps, always });
}

const NONE: readonly number[] = Object.freeze([]);

/** The rules that could match `identity`, ascending. */
export function candidates(index: IdentityIndex, identity: Identity): readonly number[] {
  const found: Array<readonly number[]> = [];
  if (index.always.length > 0) found.push(index.always);
  if (index.email.size > 0 && typeof identity.email === 'string') add(found, index.email.get(identity.email.toLowerCase()));
  if (index.domain.size > 0) add(found, index.domain.get(emailDomain(identity.email) ?? ''));
  if (index.sub.size > 0 && typeof identity.sub === 'string') add(found, index.sub.get(identity.sub));
  if (index.groups.size > 0 && Array.isArray(identity.groups)) {
    for (const group of identity.groups) if (typeof group === 'string') add(found, index.groups.get(group));
  }
  if (found.length === 0) return NONE;
  if (found.length === 1) return found[0]!;
  const merged = found.flat().sort((a, b) => a - b);
  let kept = 0;
  for (const i of merged) if (kept === 0 || merged[kept - 1] !== i) merged[kept++] = i;
  merged.length = kept;
  return merged;
}

function add(found: Array<readonly number[]>, list: readonly number[] | undefined): void {
  if (list) found.push(list);
}

/** Keys for `and`: any one item's keys will do, so the fewest; undefined when no item has keys. */
export function keysOfAll(items: ReadonlyArray<readonly IdentityKey[] | undefined>): readonly IdentityKey[] | undefined {
  let best: readonly IdentityKey[] | undefined;
  for (const keys of items) if (keys && (!best || keys.length < best.length)) best = keys;
  return best;
}

/** Keys for `or`: every item's keys together; undefined when one item has none (it could match anyone). */
export function keysOfAny(items: ReadonlyArray<readonly IdentityKey[] | undefined>): readonly IdentityKey[] | undefined {
  if (items.length === 0 || items.some((keys) => keys === undefined)) return undefined;
  return Object.freeze(items.flatMap((keys) => keys!));
}
