import { escapeHtml, renderPage } from '@vallum/server-kit';
import type { Reason } from '@vallum/policy';

export function forbiddenPage(input: { email: string; host: string; reasons: readonly Reason[]; requestId: string }): string {
  const reasons = input.reasons.map((r) => `<li data-code="${escapeHtml(r.code)}">${escapeHtml(r.message)}</li>`).join('');
  return renderPage({
    title: 'Access denied',
    status: 403,
    requestId: input.requestId,
    body: `<p>You are signed in as <strong id="user">${escapeHtml(input.email || 'an unknown user')}</strong>, but you may not open
<strong>${escapeHtml(input.host)}</strong>.</p>
<p>Why:</p><ul id="reasons">${reasons}</ul>
<form method="post" action="/.vallum/sign_out"><button type="submit">Sign out and use another account</button></form>`,
  });
}

export function messagePage(title: string, message: string, status: number, requestId: string): string {
  return renderPage({ title, status, requestId, body: `<p>${escapeHtml(message)}</p>` });
}
