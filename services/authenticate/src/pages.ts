import { escapeHtml, renderPage } from '@vallum/server-kit';

export function errorPage(title: string, message: string, options: { status: number; requestId: string; retryUrl?: string }): string {
  const retry = options.retryUrl ? `<p><a class="button" href="${escapeHtml(options.retryUrl)}">Try again</a></p>` : '';
  return renderPage({
    title,
    status: options.status,
    requestId: options.requestId,
    body: `<p>${escapeHtml(message)}</p>${retry}`,
  });
}

export function signedOutPage(requestId: string, returnUrl?: string): string {
  const back = returnUrl ? `<p><a class="button" id="return" href="${escapeHtml(returnUrl)}">Return to ${escapeHtml(new URL(returnUrl).host)}</a></p>` : '';
  return renderPage({ title: 'You are signed out', requestId, body: `<p>Your Vallum session has ended.</p>${back}` });
}
