import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Decision } from '@vallum/policy';
import type { AuthorizeApi, AuthorizeRequest } from '@vallum/service-client';
import { decideEveryPath, peekEveryPath } from './decide-every-path.js';

const denyAdmin = (withPeek: boolean) => {
  const asked: string[] = [];
  const decide = (input: AuthorizeRequest): Decision => {
    asked.push(input.request.path);
    return input.request.path.startsWith('/admin') ? { allow: false, reasons: [{ code: 'denied', message: 'no' }] } : { allow: true, reasons: [] };
  };
  const api: AuthorizeApi = { evaluate: async (i) => decide(i), ...(withPeek ? { peek: decide } : {}) };
  return { api, asked };
};
const input = (path: string): AuthorizeRequest => ({
  routeId: 'r',
  identity: null as unknown as AuthorizeRequest['identity'],
  request: { method: 'GET', host: 'h', path },
});

test('denied when any reading of the path is denied, with that denial', async () => {
  for (const withPeek of [true, false]) {
    const { api, asked } = denyAdmin(withPeek);
    const d = await decideEveryPath(api, input('/;x/admin'), ['/admin']);
    assert.equal(d.allow, false);
    assert.deepEqual(asked, ['/;x/admin', '/admin']);
  }
});

test('allowed only when every reading is allowed; in-process decisions stay synchronous', () => {
  const { api } = denyAdmin(true);
  const d = peekEveryPath(api, input('/a%2Fb'), ['/a/b']);
  assert.ok(d);
  assert.equal(d.allow, true);
});
