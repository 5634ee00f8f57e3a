// Per-IdP in-memory storage for oidc-provider. The built-in adapter is a process-wide LRU capped at 1000
// entries (shared by every provider in the process, and it warns on start); each demo IdP gets its own maps.

interface Entry {
  payload: Record<string, unknown>;
  expiresAt: number;
}

const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest', 'PreAuthorizedCode']);

export interface AdapterInstance {
  upsert(id: string, payload: Record<string, unknown>, expiresIn?: number): Promise<void>;
  find(id: string): Promise<Record<string, unknown> | undefined>;
  findByUid(uid: string): Promise<Record<string, unknown> | undefined>;
  findByUserCode(userCode: string): Promise<Record<string, unknown> | undefined>;
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

/** Returns the `adapter` option: a factory oidc-provider calls once per model name. */
export function createMemoryAdapter(now: () => number = Date.now): (model: string) => AdapterInstance {
  const entries = new Map<string, Entry>();
  const byUid = new Map<string, string>();
  const byUserCode = new Map<string, string>();
  const grants = new Map<string, Set<string>>();

  const live = (key: string): Entry | undefined => {
    const entry = entries.get(key);
    if (entry !== undefined && entry.expiresAt <= now()) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };

  return (model) => {
    const keyOf = (id: string): string => `${model}:${id}`;
    return {
      async upsert(id, payload, expiresIn) {
        const key = keyOf(id);
        entries.set(key, { payload, expiresAt: typeof expiresIn === 'number' ? now() + expiresIn * 1000 : Infinity });
        if (model === 'Session' && typeof payload['uid'] === 'string') byUid.set(payload['uid'], id);
        if (typeof payload['userCode'] === 'string') byUserCode.set(payload['userCode'], id);
        if (GRANTABLE.has(model) && typeof payload['grantId'] === 'string') {
          const members = grants.get(payload['grantId']) ?? new Set<string>();
          members.add(key);
          grants.set(payload['grantId'], members);
        }
      },
      async find(id) {
        return live(keyOf(id))?.payload;
      },
      async findByUid(uid) {
        const id = byUid.get(uid);
        return id === undefined ? undefined : live(keyOf(id))?.payload;
      },
      async findByUserCode(userCode) {
        const id = byUserCode.get(userCode);
        return id === undefined ? undefined : live(keyOf(id))?.payload;
      },
      async consume(id) {
        const entry = live(keyOf(id));
        if (entry !== undefined) entry.payload['consumed'] = Math.floor(now() / 1000);
      },
      async destroy(id) {
        const key = keyOf(id);
        const entry = entries.get(key);
        entries.delete(key);
        if (entry !== undefined && typeof entry.payload['grantId'] === 'string') grants.get(entry.payload['grantId'])?.delete(key);
      },
      async revokeByGrantId(grantId) {
        for (const key of grants.get(grantId) ?? []) entries.delete(key);
        grants.delete(grantId);
      },
    };
  };
}
