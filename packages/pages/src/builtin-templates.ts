// Vallum's own page templates: `templates_dir` may replace any of them by a file of the same name (`NAME.html`).
// Every page is `layout` around one of the others, whose output is the layout's {{{content}}}.
// A new page (an IdP chooser, say) is three small additions: its template here, its values in PageData
// (page-set.ts), and `pages.render('NAME', frame, data)` where it is served (pagesOf(app) in a fastify handler);
// `templates_dir/NAME.html` then replaces it like any other, and the README's table lists it.

export const LAYOUT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}} · {{brand.title}}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1d2330}
h1{font-size:1.5rem}.status{color:#888;font-size:.9rem;margin:0}.rid{color:#888;font-size:.8rem}
li{margin:.25rem 0}code{background:#f2f3f5;padding:0 .25rem;border-radius:3px}
.brand{display:flex;align-items:center;gap:.5rem;border-bottom:3px solid {{brand.primaryColor}};padding-bottom:.5rem;margin-bottom:1.5rem}
.brand img{max-height:2.5rem}
a.button,button{display:inline-block;background:{{brand.primaryColor}};color:#fff;border:0;padding:.5rem 1rem;border-radius:4px;text-decoration:none;cursor:pointer}
</style></head>
<body><header class="brand">{{#if brand.logoUrl}}<img id="brand-logo" src="{{brand.logoUrl}}" alt="">{{/if}}<span id="brand-title">{{brand.title}}</span></header>
{{#if status}}<p class="status">{{status}}</p>{{/if}}<h1>{{title}}</h1>
{{{content}}}
{{#if requestId}}<p class="rid">Request id: <code>{{requestId}}</code></p>{{/if}}
<p class="footer"><small>Vallum identity-aware proxy</small></p>
</body></html>`;

const REPLAY_STATUS = '<p id="vallum-replay-status">You are signed in again. Sending the form you submitted before&hellip;</p>';

const REASONS = `<ul id="reasons">{{#each reasons}}<li data-code="{{code}}">{{message}}</li>{{/each}}</ul>`;

export const BUILTIN_TEMPLATES = {
  layout: LAYOUT,
  /** Every error page (sign-in errors, 404, 429, 502, 503…), with the policy's reasons when there are any. */
  error: `<p>{{message}}</p>{{#if reasons}}${REASONS}{{/if}}{{#if unavailable}}<p id="retry-hint">This is usually brief: try again in a few seconds.</p>{{/if}}{{#if retryUrl}}<p><a class="button" href="{{retryUrl}}">Try again</a></p>{{/if}}`,
  /** The 403 a signed-in user gets when the policy says no. */
  denied: `<p>You are signed in as <strong id="user">{{user}}</strong>, but you may not open
<strong>{{host}}</strong>.</p>
<p>Why:</p>${REASONS}
<form method="post" action="/.vallum/sign_out"><button type="submit">Sign out and use another account</button></form>`,
  /** /.vallum/: who you are and what you may open. */
  user: `<dl>
<dt>Signed in as</dt><dd id="email">{{user}}</dd>
<dt>Signed in</dt><dd id="age" data-created="{{createdAt}}">{{age}} ago</dd>
<dt>Session ends</dt><dd id="expires" data-expires="{{expiresAt}}">in {{expiresIn}}{{#if idle}}, or after {{idle}} without use{{/if}}</dd>
</dl>
<h2>Groups</h2><ul id="groups">{{#each groups}}<li>{{.}}</li>{{/each}}{{#if groups}}{{else}}<li><em>none</em></li>{{/if}}</ul>
<h2>Applications you may open</h2><ul id="routes">{{#each routes}}<li><a href="{{href}}">{{label}}</a></li>{{/each}}{{#if routes}}{{else}}<li><em>none</em></li>{{/if}}</ul>
<form method="post" action="/.vallum/sign_out"><button id="sign-out" type="submit">Sign out everywhere</button></form>`,
  /** After sign-out. */
  'signed-out': `<p id="vallum-status">Your Vallum session has ended: this browser can no longer open applications through Vallum without signing in.</p>
<p id="idp-status">{{#if idpAsked}}Vallum also asked your identity provider ({{idpHost}}) to end its own session. If you chose to stay signed in there, you are still signed in at {{idpHost}}, and opening an application again may sign you in without asking for your password.{{else}}You are still signed in at your identity provider ({{idpHost}}); opening an application again may sign you in without asking for your password. Sign out there to end that session too.{{/if}}</p>{{#if returnUrl}}
<p><a class="button" id="return" href="{{returnUrl}}">Return to {{returnHost}}</a></p>{{/if}}`,
  /** A sign-out request another site started: one button that POSTs it from Vallum's origin. */
  'sign-out-confirm': `<p id="confirm-message">Another site asked to sign you out of Vallum. Nothing has been signed out yet.</p>
<form method="post" action="{{action}}"><button id="confirm-sign-out" type="submit">Sign out</button></form>`,
  /** The command-line login's question before a token goes to a loopback listener. */
  'cli-login-confirm': `<p>Hand a token for <strong id="user">{{user}}</strong> to the program listening on
<strong id="listener">{{listener}}</strong>?</p>
<p>Anything that holds this token can act as you until you sign out. Say yes only if you just started a command-line
login on this computer.</p>
<form method="post" action="{{action}}"><button type="submit" id="allow">Yes, hand it the token</button></form>
<form method="post" action="{{declineAction}}"><button type="submit" id="decline">No</button></form>`,
  /** The command-line login, declined. */
  'cli-login-declined': `<p>Nothing was sent to the program listening on {{listener}}. You can close this window.</p>`,
  /** A route that accepts several IdPs: the user picks one (each link is a normal, checked sign-in). */
  'idp-chooser': `<p id="vallum-chooser">{{host}} accepts more than one identity provider. Sign in with:</p>
<ul class="idp-choices">{{#each choices}}<li><a class="button idp-choice" data-idp="{{name}}" href="{{href}}">{{label}}</a></li>{{/each}}</ul>`,
  /** A kept urlencoded form, rebuilt and submitted again after sign-in (preserve_post). */
  'post-replay-form': `${REPLAY_STATUS}
<form id="vallum-replay" method="post" action="{{url}}" enctype="application/x-www-form-urlencoded" accept-charset="utf-8">
{{#each fields}}<input type="hidden" name="{{name}}" value="{{value}}">
{{/each}}<noscript><button type="submit">Send it again</button></noscript></form>
<script nonce="{{nonce}}">HTMLFormElement.prototype.submit.call(document.getElementById('vallum-replay'));</script>`,
  /** A kept JSON or multipart body, sent again byte for byte by fetch after sign-in; the answer replaces the page. */
  'post-replay-fetch': `${REPLAY_STATUS}
<div id="vallum-post" hidden data-post="{{post}}"></div>
<script nonce="{{nonce}}">
(async () => {
  const post = JSON.parse(document.getElementById('vallum-post').dataset.post);
  const body = Uint8Array.from(atob(post.body), (c) => c.charCodeAt(0));
  const res = await fetch(post.url, { method: 'POST', headers: { 'content-type': post.contentType }, body, credentials: 'same-origin' });
  const text = await res.text();
  history.replaceState(null, '', res.url);
  document.open();
  document.write(text);
  document.close();
})().catch(() => {
  document.getElementById('vallum-replay-status').textContent = 'Your form could not be sent again. Please go back and submit it once more.';
});
</script>`,
} as const;

export type PageName = Exclude<keyof typeof BUILTIN_TEMPLATES, 'layout'>;
export type TemplateName = keyof typeof BUILTIN_TEMPLATES;
export const TEMPLATE_NAMES = Object.freeze(Object.keys(BUILTIN_TEMPLATES) as TemplateName[]);
