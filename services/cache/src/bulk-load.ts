// Many sessions written straight into the Redis store's key format, for the scale test and bench/refresher.mjs:
// raw RESP over one socket, the way `redis-cli --pipe` loads data (a client library's per-command bookkeeping made
// loading 200,000 sessions take most of a minute). Not used by the service.
import { connect } from 'node:net';
import type { Secrets, Session } from '@vallum/session';
import { DUE_INDEXED_KEY, DUE_KEY, sessionKey, USER_PREFIX } from './redis-store.js';
import { createTokenCipher } from './token-cipher.js';

export interface BulkLoad {
  /** Sessions to write; session i belongs to user `user-(i % users)`. */
  count: number;
  /** One session in `dueEvery` is due for its IdP check now; the others in half an hour. */
  dueEvery: number;
  users: number;
  tokenSecret: Secrets;
  /** Bytes of the ID and access tokens (the refresh token: at most 64); default 16. */
  tokenBytes?: number;
}

export const bulkSessionId = (i: number): string => `bulk-${String(i).padStart(7, '0')}-${'x'.repeat(30)}`;

const BATCH = 5_000;
const resp = (commands: string[][]) =>
  commands.map((args) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`).join('');

/** Resolves to the ids of the due sessions once Redis has answered every write; rejects on an error reply. */
export async function bulkLoadSessions(port: number, load: BulkLoad): Promise<Set<string>> {
  const tokens = createTokenCipher(load.tokenSecret);
  const token = (kind: string, i: number, bytes = load.tokenBytes ?? 16) => `${kind}-${i}-`.padEnd(bytes, 't');
  const socket = connect({ port, host: '127.0.0.1' });
  let sent = 0;
  let replies = 0;
  let failure: Error | undefined;
  let settle = () => {};
  // Every reply here is one line (+OK, :1, or -ERR …): count the newlines, byte by byte since a chunk may end mid-line.
  let lineStart = true;
  socket.on('data', (chunk: Buffer) => {
    for (const byte of chunk) {
      if (lineStart && byte === 0x2d) failure ??= new Error(`Redis refused a command: ${chunk.toString('latin1').slice(0, 200)}`);
      lineStart = byte === 0x0a;
      if (lineStart) replies++;
    }
    if (replies >= sent) settle();
  });
  socket.on('error', (err) => {
    failure ??= err;
    settle();
  });
  const now = Date.now();
  const ttl = 8 * 3_600_000;
  const due = new Set<string>();
  for (let from = 0; from < load.count; from += BATCH) {
    const commands: string[][] = [];
    for (let i = from; i < Math.min(from + BATCH, load.count); i++) {
      const id = bulkSessionId(i);
      const sub = `user-${i % load.users}`;
      const session: Session = {
        id,
        sub,
        email: `${sub}@example.com`,
        groups: ['engineering'],
        claims: {},
        idToken: token('id', i),
        accessToken: token('access', i),
        refreshToken: token('refresh', i, Math.min(load.tokenBytes ?? 16, 64)),
        tokenExpiresAt: now + 3_600_000,
        createdAt: now,
        expiresAt: now + ttl,
      };
      const isDue = i % load.dueEvery === 0;
      if (isDue) due.add(id);
      commands.push(
        ['SET', sessionKey(id), JSON.stringify(tokens.seal(session)), 'PX', String(ttl)],
        ['SADD', USER_PREFIX + sub, id],
        ['ZADD', DUE_KEY, String(isDue ? now - 1000 : now + 30 * 60_000), id],
      );
    }
    sent += commands.length;
    socket.write(resp(commands));
    // Redis works through one batch while the next is built; the replies are counted in between.
    await new Promise((resolve) => setImmediate(resolve));
  }
  sent += 1;
  socket.write(resp([['SET', DUE_INDEXED_KEY, '1']]));
  if (replies < sent && !failure) await new Promise<void>((resolve) => (settle = resolve));
  socket.end();
  if (failure) throw failure;
  return due;
}
