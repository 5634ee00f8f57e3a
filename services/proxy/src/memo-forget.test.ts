// Regression: a session change (sign-out, refresh, revocation) drops that session's memo entries without scanning
// the memos of every other session: with many sessions, a stream of changes must not cost O(all sessions) each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSessionCookieCodec, type Session } from '@vallum/session';
import type { CacheViewApi } from '@vallum/service-client';
import { countIterations } from '@vallum/testing';
import { createAssertionSigner, createKeyRing } from './assertion.js';
import { createSessionResolver } from './session-resolver.js';

const sessionOf = (id: string): Session => ({
  id,
  sub: id,
  email: `${id}@example.com`,
  groups: [],
  claims: {},
  createdAt: Date.now(),
  expiresAt: Date.now() + 3600_000,
});

test("regression: the session resolver's change event touches only that session's cookie and session memos", async () => {
  let changed: ((sid: string) => void) | undefined;
  const cache = {
    getSession: async (id: string) => sessionOf(id),
    subscribe: (listener: (sid: string) => void) => ((changed = listener), () => {}),
  } as unknown as CacheViewApi;
  const cookies = createSessionCookieCodec('k'.repeat(32));
  const resolver = createSessionResolver({ cache, cookies, config: { cookieName: '_vallum' } });
  const values: string[] = [];
  for (let i = 0; i < 1000; i++) {
    const value = await cookies.seal({ sid: `s${i}`, expiresAt: Date.now() + 3600_000 });
    values.push(value);
    assert.equal((await resolver.fromCookie(value))?.id, `s${i}`);
  }
  assert.ok(resolver.peek(values[7]!), 'warm');
  const steps = countIterations(() => changed!('s7'));
  assert.ok(steps <= 8, `${steps} iteration steps for one session among 1000`);
  assert.equal(resolver.peek(values[7]!), undefined, 'its cookie and session must be read again');
  assert.ok(resolver.peek(values[8]!), 'other sessions stay warm');
  resolver.close();
});

test("regression: the assertion signer's forget(sid) touches only that session's assertions", async () => {
  const signer = await createAssertionSigner({ sharedSecret: 'z'.repeat(32), keyRing: createKeyRing() });
  for (let i = 0; i < 500; i++) for (const aud of ['a.example', 'b.example']) await signer.assertionFor(sessionOf(`s${i}`), aud);
  const steps = countIterations(() => signer.forget('s7'));
  assert.ok(steps <= 4, `${steps} iteration steps for one session among 500`);
  assert.equal(signer.peek(sessionOf('s7'), 'a.example'), undefined);
  assert.equal(signer.peek(sessionOf('s7'), 'b.example'), undefined);
  assert.ok(signer.peek(sessionOf('s8'), 'a.example'));
});
