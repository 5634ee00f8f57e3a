import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runInNewContext } from 'node:vm';
import { createGarbagePacer } from './process-memory.js';

test('the garbage pacer gets gc from V8 at run time without exposing it to other code', () => {
  const pacer = createGarbagePacer({ intervalMs: 1 });
  assert.ok(pacer, 'this Node lets --expose-gc be set at run time');
  assert.equal(typeof (globalThis as { gc?: unknown }).gc, 'undefined');
  assert.equal(runInNewContext('typeof gc'), 'undefined');
  pacer.hold();
  pacer.release();
  pacer.release();
});
