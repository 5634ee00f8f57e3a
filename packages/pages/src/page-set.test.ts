import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTemplate, TemplateSyntaxError } from './template.js';
import { createPageSet, DEFAULT_BRANDING, DEFAULT_PAGES, TemplateFileError } from './page-set.js';
import { TEMPLATE_NAMES } from './builtin-templates.js';

test('values are escaped, in text and attributes; lists and conditions render', () => {
  const t = compileTemplate('<a title="{{who}}">{{who}}</a>{{#if list}}<ul>{{#each list}}<li>{{.}} of {{who}}</li>{{/each}}</ul>{{else}}none{{/if}}');
  assert.equal(
    t({ who: '<script>"x"</script>', list: ['a&b'] }),
    '<a title="&lt;script&gt;&quot;x&quot;&lt;/script&gt;">&lt;script&gt;&quot;x&quot;&lt;/script&gt;</a><ul><li>a&amp;b of &lt;script&gt;&quot;x&quot;&lt;/script&gt;</li></ul>',
  );
  assert.equal(t({ who: 'x', list: [] }), '<a title="x">x</a>none');
  assert.equal(compileTemplate('{{a.b}}|{{a.c}}|{{missing}}')({ a: { b: 1 } }), '1||');
});

test('syntax errors name the line: unclosed blocks, stray closers, unknown tags, raw output of anything but content', () => {
  for (const [text, line] of [
    ['a\n{{#if x}}b', 2],
    ['{{/each}}', 1],
    ['{{#each x}}{{/if}}', 1],
    ['\n\n{{> partial}}', 3],
    ['{{{name}}}', 1],
    ['{{name}', 1],
    ['x {{ y', 1],
    ['{{else}}', 1],
  ] as const) {
    assert.throws(
      () => compileTemplate(text),
      (err: unknown) => err instanceof TemplateSyntaxError && err.line === line,
      text,
    );
  }
});

test('every built-in template compiles, and a page carries the branding and escapes user data', () => {
  assert.ok(TEMPLATE_NAMES.includes('layout') && TEMPLATE_NAMES.includes('denied'));
  const pages = createPageSet({ title: 'Acme <Corp>', logoUrl: 'https://cdn.acme.example/logo.svg', primaryColor: '#ff6600' });
  const html = pages.render(
    'denied',
    { title: 'Access denied', status: 403, requestId: 'r-1' },
    {
      user: '<script>alert(1)</script>',
      host: 'app.example.com',
      reasons: [{ code: 'DENY', message: 'not in <admins>' }],
    },
  );
  assert.match(html, /<title>Access denied · Acme &lt;Corp&gt;<\/title>/);
  assert.match(html, /#ff6600/);
  assert.match(html, /<img id="brand-logo" src="https:\/\/cdn\.acme\.example\/logo\.svg"/);
  assert.ok(!html.includes('<script>alert(1)'));
  assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.match(html, /not in &lt;admins&gt;/);
  assert.ok(!DEFAULT_PAGES.render('error', { title: 'Oops' }, { message: 'm' }).includes('brand-logo'));
  assert.equal(DEFAULT_PAGES.branding, DEFAULT_PAGES.branding);
});

test('a replacement template is used for its page only; one that does not compile is an error naming its file', () => {
  const pages = createPageSet(DEFAULT_BRANDING, { 'signed-out': { file: '/t/signed-out.html', text: '<p id="custom">Bye from {{idpHost}}</p>' } });
  const out = pages.render('signed-out', { title: 'Signed out' }, { idpAsked: false, idpHost: '<idp>', returnUrl: undefined, returnHost: undefined });
  assert.match(out, /<p id="custom">Bye from &lt;idp&gt;<\/p>/);
  assert.match(pages.render('error', { title: 'Oops' }, { message: 'm' }), /<p>m<\/p>/);
  assert.throws(
    () => createPageSet(DEFAULT_BRANDING, { user: { file: '/t/user.html', text: '{{#if x}}' } }),
    (err: unknown) => err instanceof TemplateFileError && err.file === '/t/user.html' && /\/t\/user\.html: line 1/.test(err.message),
  );
});
