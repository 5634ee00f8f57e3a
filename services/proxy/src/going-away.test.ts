import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { sayGoingAway, trackWebSocket } from './going-away.js';

const CLOSE_1001 = [0x88, 0x02, 0x03, 0xe9];

/** An upstream piped to a client, as upgrade.ts does, with what reaches the client collected. */
function tunnel(): { upstream: PassThrough; client: PassThrough; written: () => number[] } {
  const upstream = new PassThrough();
  const client = new PassThrough();
  const bytes: number[] = [];
  client.on('data', (d: Buffer) => bytes.push(...d));
  upstream.pipe(client);
  trackWebSocket(client, upstream);
  return { upstream, client, written: () => bytes };
}

const tick = () => new Promise((r) => setImmediate(r));

test('at a frame boundary the 1001 close frame is written at once, and later upstream bytes are dropped', async () => {
  const { upstream, client, written } = tunnel();
  upstream.write(Buffer.from([0x81, 2, 0x68, 0x69]));
  await tick();
  assert.equal(sayGoingAway(client), true);
  upstream.write(Buffer.from([0x81, 1, 0x78]));
  await tick();
  assert.deepEqual(written(), [0x81, 2, 0x68, 0x69, ...CLOSE_1001]);
});

test('in the middle of a frame (header or payload split across chunks) the close waits for the frame to end', async () => {
  const { upstream, client, written } = tunnel();
  // A 300-byte frame: 16-bit extended length, sent in three chunks.
  const payload = Buffer.alloc(300, 0x61);
  const frame = Buffer.concat([Buffer.from([0x82, 126, 0x01, 0x2c]), payload]);
  upstream.write(frame.subarray(0, 3));
  await tick();
  sayGoingAway(client);
  await tick();
  assert.equal(written().length, 3, 'nothing of ours inside the header');
  upstream.write(frame.subarray(3, 100));
  await tick();
  assert.equal(written().length, 100, 'nor inside the payload');
  // The chunk that ends the frame starts another, cut after its header: still not a boundary.
  upstream.write(Buffer.concat([frame.subarray(100), Buffer.from([0x81, 1])]));
  await tick();
  assert.equal(written().length, frame.length + 2);
  upstream.write(Buffer.from([0x78]));
  upstream.write(Buffer.from([0x81, 1, 0x79]));
  await tick();
  assert.deepEqual(written(), [...frame, 0x81, 1, 0x78, ...CLOSE_1001], 'ours after the last whole frame; nothing after it');
});

test('sockets that are not tracked WebSockets are left alone', () => {
  assert.equal(sayGoingAway(new PassThrough()), false);
});
