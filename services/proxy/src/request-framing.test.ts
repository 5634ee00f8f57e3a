import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { framingProblem } from './request-framing.js';

const request = (url: string, rawHeaders: string[]) => {
  const headers: Record<string, string> = {};
  for (let i = 0; i < rawHeaders.length; i += 2) headers[rawHeaders[i]!.toLowerCase()] ??= rawHeaders[i + 1]!;
  return { url, rawHeaders, headers } as unknown as IncomingMessage;
};

test('one Host and an origin-form target pass untouched', () => {
  const req = request('/x?y', ['Host', 'app.localhost:8000', 'Accept', '*/*']);
  assert.equal(framingProblem(req), undefined);
  assert.equal(req.url, '/x?y');
});

test('more than one Host header is refused, in any casing', () => {
  assert.match(framingProblem(request('/', ['Host', 'a.localhost', 'hOST', 'b.localhost']))!, /more than one Host/);
  assert.match(framingProblem(request('/', ['Host', 'a.localhost', 'Host', 'a.localhost']))!, /more than one Host/);
});

test('an absolute-form target must name the Host; when it does, it becomes origin form', () => {
  const ok = request('http://App.localhost:8000/x?y', ['Host', 'app.localhost:8000']);
  assert.equal(framingProblem(ok), undefined);
  assert.equal(ok.url, '/x?y');
  const bare = request('http://app.localhost:8000', ['Host', 'app.localhost:8000']);
  assert.equal(framingProblem(bare), undefined);
  assert.equal(bare.url, '/');
  assert.match(framingProblem(request('http://admin.localhost:8000/x', ['Host', 'app.localhost:8000']))!, /does not match the Host/);
  assert.match(framingProblem(request('https://user@app.localhost:8000/x', ['Host', 'app.localhost:8000']))!, /no valid host/);
  assert.match(framingProblem(request('http://app.localhost:8000/x', []))!, /does not match the Host/);
});
