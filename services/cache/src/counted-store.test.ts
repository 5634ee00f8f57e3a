import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMetrics } from '@vallum/telemetry/metrics';
import { countStoreErrors } from './counted-store.js';
import { createMemoryStore } from './memory-store.js';

test('a failed store call is counted by operation and rejects as before; answers pass through unchanged', async () => {
  const metrics = createMetrics({ service: 'cache', defaultMetrics: false });
  const inner = createMemoryStore();
  const failing = { ...inner, getSession: (_id: string) => Promise.reject(new Error('redis is down')) };
  const store = countStoreErrors(failing, metrics);
  await assert.rejects(store.getSession('x'), /redis is down/);
  await assert.rejects(store.getSession('y'), /redis is down/);
  assert.equal(await store.touchSession('nobody'), false);
  assert.match((await metrics.scrape()).body, /^vallum_session_store_errors_total\{operation="getSession",service="cache"\} 2$/m);
  assert.doesNotMatch((await metrics.scrape()).body, /operation="touchSession"/);
  await store.close();
});
