// Which IdP a sign-in or sign-out is for: the names a route host asks for (`idp=NAME`, repeated when the route
// accepts several), the chooser page that lets the user pick one of them, and the authenticate host's cookie of
// each IdP (one session per IdP, so a user can hold sessions at several at once).
import { DEFAULT_IDP_NAME, idpNamed, type IdpConfig, type VallumConfig } from '@vallum/config';
import { VallumError, ErrorCodes } from '@vallum/errors';
import type { PageSet } from '@vallum/pages';

/** The IdPs a sign-in may use, in the route's order: those named in the query, or the default IdP. */
export function requestedIdps(config: Pick<VallumConfig, 'idps'>, search: URLSearchParams): IdpConfig[] {
  const names = search.getAll('idp');
  if (names.length === 0) return [config.idps[DEFAULT_IDP_NAME]!];
  if (names.length > 16) throw unknownIdp();
  return [...new Set(names)].map((name) => idpNamed(config.idps, name) ?? throwUnknown());
}

function throwUnknown(): never {
  throw unknownIdp();
}

function unknownIdp(): VallumError {
  return new VallumError(ErrorCodes.IDP_UNKNOWN, 'This sign-in link names an identity provider Vallum does not know.', { status: 400 });
}

/** The authenticate host's session cookie of an IdP: the default IdP's keeps `cookie_name`. */
export function idpCookieName(cookieName: string, idp: string): string {
  return idp === DEFAULT_IDP_NAME ? cookieName : `${cookieName}_idp_${idp}`;
}

/** A sign-in link for one IdP, back to the same page. */
export function signInLink(base: URL, target: URL, idp: string): string {
  const url = new URL('/.vallum/sign_in', base);
  url.searchParams.set('redirect_uri', target.href);
  url.searchParams.set('idp', idp);
  return url.href;
}

export function idpChooserPage(pages: PageSet, requestId: string, options: { base: URL; target: URL; idps: readonly IdpConfig[] }): string {
  const choices = options.idps.map((idp) => ({ name: idp.name, href: signInLink(options.base, options.target, idp.name), label: idp.displayName }));
  return pages.render('idp-chooser', { title: 'Choose how to sign in', requestId }, { host: options.target.host, choices });
}

/**
 * `state` of an RP-initiated logout: the page to return to (or `signed-out`), prefixed with the IdP's name for
 * other IdPs than the default, so the signed-out page names the IdP that was asked. `~` is in no IdP name.
 */
export function signOutState(idp: string, returnTo: string): string {
  return idp === DEFAULT_IDP_NAME ? returnTo : `${idp}~${returnTo}`;
}

export function readSignOutState(config: Pick<VallumConfig, 'idps'>, state: string): { idp: IdpConfig; returnTo: string } {
  const at = state.indexOf('~');
  const named = at > 0 ? idpNamed(config.idps, state.slice(0, at)) : undefined;
  if (named) return { idp: named, returnTo: state.slice(at + 1) };
  return { idp: config.idps[DEFAULT_IDP_NAME]!, returnTo: state };
}
