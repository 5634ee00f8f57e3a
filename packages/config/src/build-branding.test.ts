import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCssColor, isLogoUrl } from './build-branding.js';
import { ConfigError, loadConfigText } from './load-config.js';

const BASE = `authenticate_service_url: https://auth.example.com
idp: { issuer: "https://idp.example.com", client_id: c, client_secret: s }
shared_secret: ${'s'.repeat(32)}
cookie_secret: ${'c'.repeat(32)}
routes:
  - from: https://app.example.com
    to: http://127.0.0.1:9
    allow_any_authenticated_user: true
`;

const issuesOf = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.location}: ${i.message}`);
    throw err;
  }
  return [];
};

test('primary_color must be a CSS colour, logo_url https or a same-host path', () => {
  for (const ok of ['#fff', '#FF6600', '#ff660080', 'rgb(10, 20, 30)', 'rgba(10 20 30 / 50%)', 'hsl(210, 50%, 40%)', 'rebeccapurple'])
    assert.ok(isCssColor(ok), ok);
  for (const bad of ['red;background:url(x)', '#ff66x', 'rgb(1,2)', 'expression(alert(1))', '}body{', '']) assert.ok(!isCssColor(bad), bad);
  for (const ok of ['https://cdn.example.com/logo.svg', '/static/logo.png']) assert.ok(isLogoUrl(ok), ok);
  for (const bad of ['http://cdn.example.com/logo.svg', 'javascript:alert(1)', '//evil.example/logo.png', 'data:image/png;base64,xx', 'logo.png', '/\\evil'])
    assert.ok(!isLogoUrl(bad), bad);
  const issues = issuesOf(() => loadConfigText(`${BASE}branding: { primary_color: "red;x", logo_url: "http://x.example/l.png" }\n`, 'b.yaml', { env: {} }));
  assert.equal(issues.length, 2, issues.join('\n'));
  assert.match(issues[0]!, /^b\.yaml:\d+:\d+: expected a CSS colour/);
  assert.match(issues[1]!, /expected an https:\/\/ URL/);
});

test('branding applies to every page; templates_dir replaces a page file by file, relative to the config file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vallum-branding-'));
  mkdirSync(join(dir, 'templates'));
  writeFileSync(join(dir, 'templates', 'signed-out.html'), '<p id="custom">Bye, {{idpHost}}</p>');
  const config = loadConfigText(
    `${BASE}branding: { title: Acme, primary_color: "#ff6600", logo_url: /logo.svg, templates_dir: templates }\n`,
    join(dir, 'vallum.yaml'),
    { env: {} },
  );
  const out = config.pages.render('signed-out', { title: 'Signed out' }, { idpAsked: false, idpHost: '<x>', returnUrl: undefined, returnHost: undefined });
  assert.match(out, /<p id="custom">Bye, &lt;x&gt;<\/p>/);
  assert.match(out, /<title>Signed out · Acme<\/title>/);
  assert.match(out, /#ff6600/);
  assert.match(config.pages.render('error', { title: 'Oops' }, { message: 'built-in' }), /<p>built-in<\/p>/);
  assert.ok(config.reloadSources.includes(join(dir, 'templates')), 'a template added or removed reloads');
  assert.ok(config.reloadSources.includes(join(dir, 'templates', 'signed-out.html')), 'an edited template reloads');
});

test('a template with a syntax error is a config error naming the file and line; a missing templates_dir is one too', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vallum-branding-'));
  mkdirSync(join(dir, 't'));
  writeFileSync(join(dir, 't', 'user.html'), 'ok\n{{#each groups}}<li>{{.}}</li>\n');
  writeFileSync(join(dir, 't', 'denied.html'), '{{{user}}}');
  const issues = issuesOf(() => loadConfigText(`${BASE}branding: { templates_dir: t }\n`, join(dir, 'vallum.yaml'), { env: {} }));
  assert.equal(issues.length, 2, issues.join('\n'));
  assert.ok(
    issues.some((i) => i.includes(`template ${join(dir, 't', 'user.html')}: line 2: {{#each}} is never closed`)),
    issues.join('\n'),
  );
  assert.ok(
    issues.some((i) => i.includes(`${join(dir, 't', 'denied.html')}: line 1: only {{{content}}} is written unescaped`)),
    issues.join('\n'),
  );
  const missing = issuesOf(() => loadConfigText(`${BASE}branding: { templates_dir: nowhere }\n`, join(dir, 'vallum.yaml'), { env: {} }));
  assert.equal(missing.length, 1);
  assert.match(missing[0]!, /cannot read template directory .*nowhere/);
});
