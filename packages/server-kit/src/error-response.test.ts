import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { ErrorCodes, VallumError } from '@vallum/errors';
import { createServer } from './create-server.js';
import { errorView, renderDenial, renderError, sendError, wantsJson } from './error-response.js';

const exposed = new VallumError(ErrorCodes.UPSTREAM_TIMEOUT, 'The application did not answer in time.', { status: 504, expose: true });
const hidden = new VallumError(ErrorCodes.CACHE_UNAVAILABLE, 'redis at 10.0.0.7:6379 refused <AUTH>', { status: 503 });

test('Accept decides between JSON and HTML; a browser (or no Accept) gets the page', () => {
  assert.equal(wantsJson('application/json'), true);
  assert.equal(wantsJson('text/html,application/xhtml+xml,application/json;q=0.9'), false);
  assert.equal(wantsJson(undefined), false);
  assert.equal(wantsJson('*/*'), false);

  const json = renderError(exposed, { requestId: 'rid-1', accept: 'application/json' });
  assert.equal(json.status, 504);
  assert.equal(json.headers['content-type'], 'application/json; charset=utf-8');
  assert.equal(json.headers['cache-control'], 'no-store');
  assert.equal(json.headers['x-request-id'], 'rid-1');
  assert.deepEqual(JSON.parse(json.body), { code: 'VALLUM_UPSTREAM_TIMEOUT', message: 'The application did not answer in time.', request_id: 'rid-1' });

  const html = renderError(exposed, { requestId: 'rid-1', accept: 'text/html' });
  assert.equal(html.headers['content-type'], 'text/html; charset=utf-8');
  assert.match(html.body, /<title>Application unavailable · Vallum<\/title>/);
  assert.match(html.body, /<p class="status">504<\/p>/);
  assert.match(html.body, /The application did not answer in time\./);
  assert.match(html.body, /Request id: <code>rid-1<\/code>/);
});

test("format 'json' answers JSON whatever the Accept header says (APIs between services)", () => {
  const r = renderError(exposed, { requestId: 'r', accept: 'text/html', format: 'json' });
  assert.equal(r.headers['content-type'], 'application/json; charset=utf-8');
});

test('a message not marked expose is replaced by a generic one, in the page and in JSON', () => {
  for (const accept of ['application/json', 'text/html']) {
    const r = renderError(hidden, { requestId: 'r', accept });
    assert.equal(r.status, 503);
    assert.doesNotMatch(r.body, /redis|10\.0\.0\.7|AUTH/);
    assert.match(r.body, /Something went wrong\./);
  }
  const custom = renderError(hidden, { requestId: 'r', genericMessage: 'Something went wrong while signing you in.' });
  assert.match(custom.body, /Something went wrong while signing you in\./);
});

test('anything that is not a VallumError is a 500 VALLUM_INTERNAL with nothing of its message', () => {
  const r = renderError(new TypeError('cannot read secret of undefined'), { requestId: 'r', accept: 'application/json' });
  assert.equal(r.status, 500);
  assert.deepEqual(JSON.parse(r.body), { code: 'VALLUM_INTERNAL', message: 'Something went wrong.', request_id: 'r' });
  assert.deepEqual(errorView('a string'), { status: 500, code: 'VALLUM_INTERNAL', message: 'Something went wrong.' });
  // fastify's own client errors (a body failing its schema) keep their status and say what was wrong.
  const schema = Object.assign(new Error('body must have required property id'), { statusCode: 400, code: 'FST_ERR_VALIDATION' });
  assert.deepEqual(errorView(schema), { status: 400, code: 'VALLUM_BAD_REQUEST', message: 'body must have required property id' });
  // A 5xx statusCode on a foreign error is not trusted to carry a safe message.
  assert.equal(errorView(Object.assign(new Error('secret'), { statusCode: 502 })).message, 'Something went wrong.');
});

test("the error's headers (Retry-After, Connection: close) go with it; titles, request id and retry link are escaped", () => {
  const limited = new VallumError(ErrorCodes.RATE_LIMITED, 'Too many requests. Try again in 3 seconds.', {
    status: 429,
    details: { headers: { 'retry-after': '3' } },
  });
  const r = renderError(limited, { requestId: 'r', accept: 'text/html' });
  assert.equal(r.headers['retry-after'], '3');
  assert.match(r.body, /<title>Too many requests · Vallum<\/title>/);

  const odd = new VallumError(ErrorCodes.SIGN_IN_FAILED, 'The identity provider refused the sign-in (<script>).', { status: 400 });
  const page = renderError(odd, { requestId: 'a"b', title: 'Sign-in failed', retryUrl: 'https://x.example/?a=1&b="2"' }).body;
  assert.match(page, /<h1>Sign-in failed<\/h1>/);
  assert.match(page, /\(&lt;script&gt;\)/);
  assert.match(page, /<code>a&quot;b<\/code>/);
  assert.match(page, /href="https:\/\/x\.example\/\?a=1&amp;b=&quot;2&quot;">Try again<\/a>/);
});

test('a denial is a page of the same renderer: who, where and why; JSON carries the reasons', () => {
  const input = { email: 'bob@example.com', host: 'wiki.localhost', reasons: [{ code: 'groups-unauthorized', message: 'You are not in <admins>.' }] };
  const html = renderDenial(input, { requestId: 'rid-9', accept: 'text/html' });
  assert.equal(html.status, 403);
  assert.match(html.body, /<title>Access denied · Vallum<\/title>/);
  assert.match(html.body, /<strong id="user">bob@example.com<\/strong>/);
  assert.match(html.body, /<li data-code="groups-unauthorized">You are not in &lt;admins&gt;\.<\/li>/);
  assert.match(html.body, /Request id: <code>rid-9<\/code>/);
  const json = renderDenial(input, { requestId: 'rid-9', accept: 'application/json' });
  assert.deepEqual(JSON.parse(json.body), {
    code: 'VALLUM_ACCESS_DENIED',
    message: 'You may not open wiki.localhost.',
    reasons: [{ code: 'groups-unauthorized', message: 'You are not in <admins>.' }],
    request_id: 'rid-9',
  });
});

test('the same answer goes out on a raw node:http response and through fastify', async () => {
  const server = createHttpServer((req, res) => sendError(res, exposed, { requestId: 'raw-1', accept: req.headers.accept }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as { port: number };
    const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { accept: 'application/json' } });
    assert.equal(res.status, 504);
    assert.equal(res.headers.get('x-request-id'), 'raw-1');
    assert.equal(res.headers.get('content-length'), String(Buffer.byteLength(renderError(exposed, { requestId: 'raw-1', accept: 'application/json' }).body)));
    assert.equal(((await res.json()) as { code: string }).code, 'VALLUM_UPSTREAM_TIMEOUT');
  } finally {
    server.close();
  }

  const app = createServer({ service: 'test', logger: false });
  app.get('/boom', async () => {
    throw hidden;
  });
  app.get('/crash', async () => {
    throw new Error('password=hunter2');
  });
  const boom = await app.inject({ url: '/boom', headers: { 'x-request-id': 'fst-1', accept: 'text/html' } });
  assert.equal(boom.statusCode, 503);
  assert.equal(boom.headers['x-request-id'], 'fst-1');
  assert.deepEqual(boom.json(), { code: 'VALLUM_CACHE_UNAVAILABLE', message: 'Something went wrong.', request_id: 'fst-1' }, 'APIs answer JSON');
  const crash = await app.inject({ url: '/crash' });
  assert.equal(crash.statusCode, 500);
  assert.doesNotMatch(crash.body, /hunter2/);
  await app.close();
});

test("an exposed error's reasons are listed in the page and the JSON; an unexposed error's are not", () => {
  const reasons = [{ code: 'email-unauthorized', message: 'requires one of <admins>' }];
  const denied = new VallumError(ErrorCodes.ACCESS_DENIED, 'admin_policy does not allow you.', { status: 403, details: { reasons } });
  assert.deepEqual(JSON.parse(renderError(denied, { requestId: 'r', format: 'json' }).body), {
    code: 'VALLUM_ACCESS_DENIED',
    message: 'admin_policy does not allow you.',
    reasons,
    request_id: 'r',
  });
  assert.match(renderError(denied, { requestId: 'r' }).body, /<ul id="reasons"><li data-code="email-unauthorized">requires one of &lt;admins&gt;<\/li><\/ul>/);
  const internal = new VallumError(ErrorCodes.INTERNAL, 'x', { status: 500, details: { reasons } });
  assert.doesNotMatch(renderError(internal, { requestId: 'r', format: 'json' }).body, /reasons|admins/);
});

test("createServer: an unknown path is a coded 404, and a service for browsers negotiates with its own page's title", async () => {
  const api = createServer({ service: 'api', logger: false });
  const missing = await api.inject({ url: '/nope', headers: { 'x-request-id': 'nf-1' } });
  assert.equal(missing.statusCode, 404);
  assert.deepEqual(missing.json(), { code: 'VALLUM_ROUTE_NOT_FOUND', message: 'There is no such page.', request_id: 'nf-1' });
  await api.close();

  const pages = createServer({
    service: 'pages',
    logger: false,
    errors: { format: 'negotiate', title: 'Sign-in failed', genericMessage: 'Something went wrong while signing you in.' },
  });
  pages.get('/boom', async () => {
    throw hidden;
  });
  const page = await pages.inject({ url: '/boom', headers: { accept: 'text/html' } });
  assert.equal(page.statusCode, 503);
  assert.match(page.headers['content-type'] as string, /^text\/html/);
  assert.match(page.body, /<h1>Sign-in failed<\/h1>/);
  assert.match(page.body, /Something went wrong while signing you in\./);
  const json = await pages.inject({ url: '/boom', headers: { accept: 'application/json' } });
  assert.equal(json.json<{ code: string }>().code, 'VALLUM_CACHE_UNAVAILABLE');
  const notFound = await pages.inject({ url: '/nope', headers: { accept: 'text/html' } });
  assert.equal(notFound.statusCode, 404);
  assert.match(notFound.body, /<title>Not found · Vallum<\/title>/);
  await pages.close();
});

test('a 503 (an IdP or the session store down) says when to try again: Retry-After and a hint on the page', () => {
  const down = new VallumError(ErrorCodes.IDP_UNAVAILABLE, 'The identity provider cannot be reached right now.', { status: 503, expose: true });
  const page = renderError(down, { requestId: 'r', retryUrl: 'https://app.example/' });
  assert.equal(page.headers['retry-after'], '5');
  assert.match(page.body, /id="retry-hint">This is usually brief: try again in a few seconds\./);
  assert.match(page.body, /href="https:\/\/app\.example\/">Try again/);
  assert.equal(renderError(down, { requestId: 'r', accept: 'application/json' }).headers['retry-after'], '5');
  const sooner = new VallumError(ErrorCodes.CACHE_UNAVAILABLE, 'x', { status: 503, details: { headers: { 'retry-after': '1' } } });
  assert.equal(renderError(sooner, { requestId: 'r' }).headers['retry-after'], '1', "the error's own wins");
  const notFound = renderError(new VallumError(ErrorCodes.ROUTE_NOT_FOUND, 'x', { status: 404 }), { requestId: 'r' });
  assert.equal(notFound.headers['retry-after'], undefined);
  assert.doesNotMatch(notFound.body, /retry-hint/);
});
