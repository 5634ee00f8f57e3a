import { escapeHtml, renderPage } from '@vallum/server-kit';

/** How a failed sign-in's error page reads (rendered by @vallum/server-kit's renderError). */
export const SIGN_IN_FAILED_PAGE = { title: 'Sign-in failed', genericMessage: 'Something went wrong while signing you in.' } as const;

/**
 * Says only what is known: Vallum's session has ended. Whether the IdP's ended too depends on the user's answer to
 * the IdP's prompt, which the IdP does not report (it comes back the same way for yes and no).
 */
export function signedOutPage(requestId: string, options: { returnUrl?: string; idpAsked: boolean; idpHost: string }): string {
  const back = options.returnUrl
    ? `<p><a class="button" id="return" href="${escapeHtml(options.returnUrl)}">Return to ${escapeHtml(new URL(options.returnUrl).host)}</a></p>`
    : '';
  const idp = escapeHtml(options.idpHost);
  const idpLine = options.idpAsked
    ? `Vallum also asked your identity provider (${idp}) to end its own session. If you chose to stay signed in there, you are still signed in at ${idp}, and opening an application again may sign you in without asking for your password.`
    : `You are still signed in at your identity provider (${idp}); opening an application again may sign you in without asking for your password. Sign out there to end that session too.`;
  return renderPage({
    title: 'You are signed out of Vallum',
    requestId,
    body: `<p id="vallum-status">Your Vallum session has ended: this browser can no longer open applications through Vallum without signing in.</p>
<p id="idp-status">${idpLine}</p>${back}`,
  });
}
