import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requestCookie } from './request-cookie.js';

test('one cookie is read from the header as the cookie package reads it', () => {
  assert.equal(requestCookie('a=1; _vallum=tok.en; b=2', '_vallum'), 'tok.en');
  assert.equal(requestCookie('_vallum_csrf=x; _vallum=y', '_vallum'), 'y');
  assert.equal(requestCookie('_vallum=first; _vallum=second', '_vallum'), 'first');
  assert.equal(requestCookie(' sid = "quoted%20v" ;x=1', 'sid'), 'quoted v');
  assert.equal(requestCookie('bad=%E0%A4%A', 'bad'), '%E0%A4%A');
  assert.equal(requestCookie('novalue; x=1', 'novalue'), undefined);
  assert.equal(requestCookie('x=1', '_vallum'), undefined);
  assert.equal(requestCookie(undefined, '_vallum'), undefined);
  assert.equal(requestCookie(['a=1', '_vallum=z'], '_vallum'), 'z');
  assert.equal(requestCookie('a=b=c', 'a'), 'b=c');
});
