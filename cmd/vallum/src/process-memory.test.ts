import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runInNewContext } from 'node:vm';
import { constants, PerformanceObserver } from 'node:perf_hooks';
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

/** Minor collections seen while `during` runs for `ms` with buffers of 1 MiB allocated and dropped every tick. */
async function minorCollectionsWhile(ms: number, during: () => void): Promise<number> {
  let minors = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) minors++;
  });
  observer.observe({ entryTypes: ['gc'] });
  during();
  const end = Date.now() + ms;
  while (Date.now() < end) {
    Buffer.alloc(1024 * 1024).fill(1); // external memory only: V8 would not collect young for 32 MB of it
    await new Promise((r) => setTimeout(r, 5));
  }
  await new Promise((r) => setTimeout(r, 20)); // gc entries are delivered asynchronously
  observer.disconnect();
  return minors;
}

test('while a request is held, the pacer runs young collections as buffer memory piles up; released, it stops', async () => {
  const pacer = createGarbagePacer({ intervalMs: 1, stepBytes: 2 * 1024 * 1024 });
  assert.ok(pacer);
  const held = await minorCollectionsWhile(400, () => pacer.hold());
  assert.ok(held >= 3, `${held} young collections while held (about one per 2 MiB of buffers)`);
  pacer.release();
  const idle = await minorCollectionsWhile(400, () => {});
  assert.ok(idle < held / 2, `${idle} young collections after release, ${held} while held`);
});
