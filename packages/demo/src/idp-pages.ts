// Replacements for oidc-provider's default logout and error pages, which pull fonts from the internet.
import { escapeHtml, renderPage } from './html.js';

interface KoaLikeContext {
  type: string;
  body: unknown;
  host: string;
  oidc?: { client?: { clientId?: string } };
}

export async function logoutSource(ctx: KoaLikeContext, form: string): Promise<void> {
  ctx.type = 'html';
  ctx.body = renderPage(
    'Vallum demo IdP — sign out',
    `<h1>Vallum demo IdP</h1>
<p>Do you want to sign out from ${escapeHtml(ctx.host)}?</p>
${form}
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>`,
  );
}

export async function postLogoutSuccessSource(ctx: KoaLikeContext): Promise<void> {
  const client = ctx.oidc?.client?.clientId;
  ctx.type = 'html';
  ctx.body = renderPage(
    'Vallum demo IdP — signed out',
    `<h1>Vallum demo IdP</h1>
<p id="message">You have signed out${client === undefined ? '' : ` of ${escapeHtml(client)}`}.</p>`,
  );
}

export async function renderError(ctx: KoaLikeContext, out: Record<string, unknown>): Promise<void> {
  ctx.type = 'html';
  const rows = Object.entries(out)
    .map(([key, value]) => `<tr><th>${escapeHtml(key)}</th><td>${escapeHtml(value)}</td></tr>`)
    .join('\n');
  ctx.body = renderPage(
    'Vallum demo IdP — error',
    `<h1>Vallum demo IdP</h1>
<p class="error">Something went wrong.</p>
<table id="error">${rows}</table>`,
  );
}
