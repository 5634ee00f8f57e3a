// Passive ejection, the backed-off probes that re-admit an endpoint, and panic mode, with a probe the test answers
// and Node's mock timers.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createBalancer, MAX_RING_POINTS, ringPointCounts, type Endpoint } from './balancer.js';

const urls = [new URL('http://127.0.0.1:8001'), new URL('http://127.0.0.1:8002')];

function setup(t: TestContext, count = 2) {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const probes: Array<{ endpoint: Endpoint; at: number }> = [];
  const up = new Set<string>();
  let clock = 0;
  const balancer = createBalancer(urls.slice(0, count), [1, 1], 'round_robin', { consecutiveErrors: 2, ejectionMs: 2000 }, async (endpoint) => {
    probes.push({ endpoint, at: clock });
    return up.has(endpoint.url.href);
  });
  const eject = (e: Endpoint) => {
    balancer.report(e, false);
    balancer.report(e, false);
  };
  return { balancer, probes, up, eject, advance: async (ms: number, tick: (n: number) => void) => settle(ms, tick, (n) => (clock += n)) };
}

/** Moves the mock clock 1 ms at a time, letting probe promises settle in between. */
async function settle(ms: number, tick: (n: number) => void, moved: (n: number) => void) {
  for (let i = 0; i < ms; i++) {
    moved(1);
    tick(1);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test('an ejected endpoint is probed at 250 ms, doubling up to the ejection time, and re-admitted by the first answer', async (t) => {
  const { balancer, probes, up, eject, advance } = setup(t);
  const [a, b] = balancer.endpoints as [Endpoint, Endpoint];
  const tick = (n: number) => t.mock.timers.tick(n);
  eject(a);
  assert.equal(a.ejected, true);
  for (let i = 0; i < 4; i++) assert.equal(balancer.pick(undefined), b, 'no traffic to the ejected endpoint');
  await advance(250 + 500 + 1000 + 2000 + 2000, tick);
  assert.deepEqual(
    probes.map((p) => p.at),
    [250, 750, 1750, 3750, 5750],
    'backed off, capped at 2 s',
  );
  up.add(a.url.href);
  await advance(2000, tick);
  assert.equal(a.ejected, false, 're-admitted by the probe that got an answer');
  const picked = new Set([balancer.pick(undefined), balancer.pick(undefined)]);
  assert.deepEqual(picked, new Set([a, b]));
  await advance(5000, tick);
  assert.equal(probes.length, 6, 'no probes once re-admitted');
  balancer.close();
});

test('ejected again before a good answer, an endpoint keeps its longer wait; a good answer resets it', async (t) => {
  const { balancer, probes, up, eject, advance } = setup(t);
  const [a] = balancer.endpoints as [Endpoint, Endpoint];
  const tick = (n: number) => t.mock.timers.tick(n);
  up.add(a.url.href);
  eject(a);
  await advance(250, tick);
  assert.equal(a.ejected, false);
  // It accepts connections but fails requests: the next probe waits 500 ms, not 250.
  eject(a);
  await advance(499, tick);
  assert.equal(probes.length, 1);
  await advance(1, tick);
  assert.equal(probes.length, 2);
  assert.equal(a.ejected, false);
  balancer.report(a, true);
  eject(a);
  await advance(250, tick);
  assert.equal(probes.length, 3, 'back to 250 ms after a good answer');
  balancer.close();
});

test('panic mode: with every endpoint ejected they are all tried, and a good answer re-admits at once', async (t) => {
  const { balancer, probes, eject } = setup(t);
  const [a, b] = balancer.endpoints as [Endpoint, Endpoint];
  eject(a);
  eject(b);
  const picked = new Set([balancer.pick(undefined), balancer.pick(undefined)]);
  assert.deepEqual(picked, new Set([a, b]), 'tried anyway rather than none');
  assert.equal(balancer.pick(undefined, a), b, 'a retry still goes to another endpoint');
  // A failure in panic mode neither extends nor repeats the ejection.
  balancer.report(a, false);
  balancer.report(b, true);
  assert.equal(b.ejected, false, 'back without waiting for a probe');
  assert.equal(probes.length, 0);
  for (let i = 0; i < 3; i++) assert.equal(balancer.pick(undefined), b);
  balancer.close();
});

test('a single endpoint is always tried, ejected or failing its health check; never twice in one request', (t) => {
  const { balancer, eject } = setup(t, 1);
  const [a] = balancer.endpoints as [Endpoint];
  eject(a);
  a.healthy = false;
  assert.equal(balancer.pick(undefined), a);
  assert.equal(balancer.pick(undefined, a), undefined);
  balancer.close();
});

test('close stops the probes', async (t) => {
  const { balancer, probes, eject, advance } = setup(t);
  eject(balancer.endpoints[0]!);
  balancer.close();
  await advance(3000, (n) => t.mock.timers.tick(n));
  assert.equal(probes.length, 0);
});

test('a probe still out when a request re-admits the endpoint (and it is ejected again) does not start a second chain of probes', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let answer: ((ok: boolean) => void) | undefined;
  let probes = 0;
  const balancer = createBalancer(urls, [1, 1], 'round_robin', { consecutiveErrors: 1, ejectionMs: 2000 }, () => {
    probes++;
    return new Promise((resolve) => (answer = resolve));
  });
  const [a] = balancer.endpoints as [Endpoint, Endpoint];
  const step = async (ms: number) => {
    t.mock.timers.tick(ms);
    await new Promise((resolve) => setImmediate(resolve));
  };
  balancer.report(a, false);
  await step(250);
  assert.equal(probes, 1, 'first probe out');
  balancer.report(a, true);
  balancer.report(a, false);
  assert.equal(a.ejected, true);
  answer!(false);
  await step(0);
  await step(250);
  assert.equal(probes, 2, "only the new ejection's probe");
  answer!(false);
  await step(0);
  await step(500);
  assert.equal(probes, 3);
  balancer.close();
});

const ringOptions = { consecutiveErrors: 5, ejectionMs: 2000 };
const noProbe = async () => true;

test('ring_hash: large weights are scaled down to the ring cap, small ones keep 100 points per unit of weight', () => {
  const capped = ringPointCounts([1000, 1000]);
  assert.ok(capped[0]! + capped[1]! <= MAX_RING_POINTS, `ring of ${capped[0]! + capped[1]!} points`);
  assert.equal(capped[0], capped[1]);
  assert.deepEqual(ringPointCounts([1, 3]), [100, 300]);
  assert.deepEqual(
    ringPointCounts([1, 1_000_000]).map((n) => n >= 1),
    [true, true],
    'every endpoint stays on the ring',
  );
});

test('ring_hash with large weights: keys spread in proportion to the weights, and map the same way after a rebuild', () => {
  const build = () => createBalancer(urls, [1000, 3000], 'ring_hash', ringOptions, noProbe);
  const first = build();
  const second = build();
  let onSecond = 0;
  const keys = 20_000;
  for (let i = 0; i < keys; i++) {
    const picked = first.pick(`user-${i}`)!;
    assert.equal(second.pick(`user-${i}`)!.url.href, picked.url.href, 'same key, same endpoint after a rebuild');
    if (picked.url.href === urls[1]!.href) onSecond++;
  }
  const share = onSecond / keys;
  assert.ok(Math.abs(share - 0.75) < 0.03, `weight 3000 of 4000 got ${(share * 100).toFixed(1)} % of the keys`);
  first.close();
  second.close();
});
