import type { PageSet } from '@vallum/server-kit';

/** How a failed sign-in's error page reads (rendered by @vallum/server-kit's renderError). */
export const SIGN_IN_FAILED_PAGE = { title: 'Sign-in failed', genericMessage: 'Something went wrong while signing you in.' } as const;

/**
 * Says only what is known: Vallum's session has ended. Whether the IdP's ended too depends on the user's answer to
 * the IdP's prompt, which the IdP does not report (it comes back the same way for yes and no).
 */
export function signedOutPage(pages: PageSet, requestId: string, options: { returnUrl?: string | undefined; idpAsked: boolean; idpHost: string }): string {
  return pages.render(
    'signed-out',
    { title: 'You are signed out of Vallum', requestId },
    {
      idpAsked: options.idpAsked,
      idpHost: options.idpHost,
      returnUrl: options.returnUrl,
      returnHost: options.returnUrl ? new URL(options.returnUrl).host : undefined,
    },
  );
}
