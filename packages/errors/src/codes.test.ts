import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ERROR_CODE_INFO, ErrorCodes, errorsDocText, isErrorCode } from './index.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const DOC_FILE = join(ROOT, 'docs/errors.md');

test('docs/errors.md is the one generated from the code table (regenerate: node scripts/write-errors-doc.mjs)', () => {
  assert.equal(readFileSync(DOC_FILE, 'utf8'), errorsDocText());
});

test('docs/errors.md lists every code with its status', () => {
  const doc = readFileSync(DOC_FILE, 'utf8');
  for (const code of Object.values(ErrorCodes)) {
    assert.match(doc, new RegExp(`^\\| \`${code}\` \\| ${ERROR_CODE_INFO[code].status} \\| \\S`, 'm'), `${code} is missing from docs/errors.md`);
  }
});

test('codes are unique, VALLUM_-prefixed, and each has a status and a meaning', () => {
  const values = Object.values(ErrorCodes);
  assert.equal(new Set(values).size, values.length);
  for (const code of values) {
    assert.match(code, /^VALLUM_[A-Z0-9_]+$/);
    assert.ok(isErrorCode(code));
    const info = ERROR_CODE_INFO[code];
    assert.ok(info.status >= 400 && info.status < 600, code);
    assert.ok(info.meaning.length > 10, code);
  }
  assert.deepEqual(Object.keys(ERROR_CODE_INFO).sort(), [...values].sort());
  assert.equal(isErrorCode('VALLUM_NO_SUCH_CODE'), false);
});

// Where shipped code lives; tests may spell codes out, since a test pins the wire value.
const SOURCE_DIRS = ['packages', 'services', 'cmd'];

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) sourceFiles(full, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

/** Code literals outside packages/errors: a registered code spelt out, or any VALLUM_ string given as a `code`. */
function codeLiterals(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/(['"`])(VALLUM_[A-Z0-9_]+)\1/g)) if (isErrorCode(m[2])) found.push(m[2]!);
  for (const m of text.matchAll(/\bcode\s*[:=,]\s*(['"`])(VALLUM_[A-Z0-9_]+)\1/g)) if (!isErrorCode(m[2])) found.push(m[2]!);
  return found;
}

test('the code check finds a literal code, and leaves environment variable names alone', () => {
  assert.deepEqual(codeLiterals(`reply.send({ code: 'VALLUM_SESSION_NOT_FOUND' })`), ['VALLUM_SESSION_NOT_FOUND']);
  assert.deepEqual(codeLiterals(`reply.send({ code: "VALLUM_MADE_UP" })`), ['VALLUM_MADE_UP']);
  assert.deepEqual(codeLiterals(`['VALLUM_LOG_LEVEL', ['log_level']]`), []);
});

test('no error code is spelt out in shipped code outside packages/errors: use ErrorCodes', () => {
  const offenders: string[] = [];
  for (const top of SOURCE_DIRS) {
    for (const dir of readdirSync(join(ROOT, top))) {
      if (top === 'packages' && dir === 'errors') continue;
      const src = join(ROOT, top, dir, 'src');
      if (!statSync(join(ROOT, top, dir)).isDirectory()) continue;
      let files: string[];
      try {
        files = sourceFiles(src);
      } catch {
        continue;
      }
      for (const file of files) {
        for (const code of codeLiterals(readFileSync(file, 'utf8'))) offenders.push(`${relative(ROOT, file)}: '${code}'`);
      }
    }
  }
  assert.deepEqual(offenders, []);
});
