import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Session } from '@vallum/session';
import { createConnectionWatch, type WatchedRequest } from './connection-watch.js';

class FakeConnection extends EventEmitter {
  destroyed = false;
  destroy() {
    this.destroyed = true;
    this.emit('close');
  }
}

const request = (sid: string): WatchedRequest => ({
  session: { id: sid } as Session,
  cookie: undefined,
  authorization: undefined,
  routeId: 'app',
  method: 'GET',
  host: 'app.example.com',
  path: '/',
  headers: {},
  sourceIp: undefined,
});
const settle = () => new Promise((r) => setImmediate(r));

test('open connections are re-checked; a refused one is closed, a closed one is no longer checked', async () => {
  const watch = createConnectionWatch();
  const [a, b, c] = [new FakeConnection(), new FakeConnection(), new FakeConnection()];
  watch.watch(a, request('s1'));
  watch.watch(b, request('s2'));
  watch.watch(c, request('s1'));
  const checked: string[] = [];
  watch.useCheck(async (w) => {
    checked.push(w.session.id);
    return w.session.id !== 's2';
  });
  await settle();
  assert.deepEqual(checked.sort(), ['s1', 's1', 's2']);
  assert.deepEqual([a.destroyed, b.destroyed, c.destroyed], [false, true, false]);

  checked.length = 0;
  a.emit('close');
  watch.recheck('s1');
  await settle();
  assert.deepEqual(checked, ['s1'], 'only c is still open for s1');
  watch.close();
});

test('a connection watched twice is checked once, with the latest request', async () => {
  const watch = createConnectionWatch();
  const a = new FakeConnection();
  watch.watch(a, request('old'));
  watch.watch(a, request('new'));
  const checked: string[] = [];
  watch.useCheck(async (w) => {
    checked.push(w.session.id);
    return true;
  });
  await settle();
  assert.deepEqual(checked, ['new']);
  a.emit('close');
  checked.length = 0;
  watch.useCheck(async (w) => {
    checked.push(w.session.id);
    return true;
  });
  await settle();
  assert.deepEqual(checked, []);
  watch.close();
});

test("regression: a session change re-checks that session's connections without walking every open connection", async () => {
  const watch = createConnectionWatch();
  let sessionReads = 0;
  const counted = (sid: string): WatchedRequest => {
    const r = request(sid);
    const session = r.session;
    return Object.defineProperty(r, 'session', { get: () => (sessionReads++, session), enumerable: true });
  };
  const connections = Array.from({ length: 10_000 }, () => new FakeConnection());
  connections.forEach((c, i) => watch.watch(c, counted(`s${i % 5000}`)));
  const checked: string[] = [];
  watch.useCheck(async (w) => (checked.push(w.session.id), true));
  await settle();
  checked.length = 0;
  sessionReads = 0;
  watch.recheck('s7');
  await settle();
  assert.deepEqual(checked, ['s7', 's7']);
  assert.ok(sessionReads <= 4, `${sessionReads} connections looked at for one session's change`);
  connections[7]!.emit('close');
  watch.recheck('s7');
  await settle();
  assert.deepEqual(checked, ['s7', 's7', 's7'], 'a closed connection leaves its session list');
  connections[5007]!.emit('close');
  watch.recheck('s7');
  watch.close();
});

test('a connection watched again under another session moves to that session', async () => {
  const watch = createConnectionWatch();
  const a = new FakeConnection();
  watch.watch(a, request('old'));
  watch.watch(a, request('new'));
  const checked: string[] = [];
  watch.useCheck(async (w) => (checked.push(w.session.id), true));
  await settle();
  checked.length = 0;
  watch.recheck('old');
  watch.recheck('new');
  await settle();
  assert.deepEqual(checked, ['new']);
  watch.close();
});
