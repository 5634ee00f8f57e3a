// The text of docs/errors.md, generated from the code table so the two cannot drift (a test compares them;
// regenerate with `node scripts/write-errors-doc.mjs`).
import { ERROR_CODE_INFO, type ErrorCode } from './codes.js';

export function errorsDocText(): string {
  const rows = (Object.entries(ERROR_CODE_INFO) as [ErrorCode, (typeof ERROR_CODE_INFO)[ErrorCode]][])
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([code, info]) => `| \`${code}\` | ${info.status} | ${info.meaning.replace(/\|/g, '\\|')} |`);
  return `# Error codes

<!-- Generated from packages/errors/src/codes.ts by \`node scripts/write-errors-doc.mjs\`; do not edit by hand. -->

Every error Vallum answers with carries one of these codes. Branch on the code, never on the message.

A browser gets an HTML page with the status, a message and the request id; a client whose \`Accept\` header asks
for \`application/json\` (and not \`text/html\`) gets \`{"code", "message", "request_id"}\` (a denial adds
\`reasons\`). The message is the error's own when it is safe to show (client errors, and the upstream errors
below); otherwise it is a generic one, and the detail is in the log line carrying the same request id
(\`X-Request-Id\` header).

| code | status | meaning |
|---|---|---|
${rows.join('\n')}
`;
}
