// The demo IdP's sign-in page. It lists the demo accounts and their password so a newcomer knows what to type.
import { escapeHtml, renderPage } from './html.js';
import type { DemoUser } from './users.js';

export const LOGIN_ERROR_MESSAGE = 'Invalid email or password';

export interface LoginPageOptions {
  uid: string;
  users: readonly DemoUser[];
  clientId?: string;
  email?: string;
  error?: string;
}

export function renderLoginPage(options: LoginPageOptions): string {
  const { uid, users } = options;
  const rows = users
    .map(
      (user) =>
        `<tr><td>${escapeHtml(user.email)}</td><td>${escapeHtml(user.name)}</td>` +
        `<td>${escapeHtml(user.groups.join(', '))}</td><td><code>${escapeHtml(user.password)}</code></td></tr>`,
    )
    .join('\n');
  const error = options.error === undefined ? '' : `<p id="error" class="error" role="alert">${escapeHtml(options.error)}</p>`;
  const client = options.clientId === undefined ? '' : ` to continue to <code>${escapeHtml(options.clientId)}</code>`;
  return renderPage(
    'Vallum demo IdP — sign in',
    `<h1>Vallum demo IdP</h1>
<p>Sign in${client}.</p>
${error}
<form id="login" method="post" action="/interaction/${encodeURIComponent(uid)}/login" autocomplete="off">
<label for="email">Email</label>
<input id="email" name="email" type="email" required autofocus value="${escapeHtml(options.email ?? '')}">
<label for="password">Password</label>
<input id="password" name="password" type="password" required>
<div><button type="submit">Sign in</button></div>
</form>
<form id="abort" method="post" action="/interaction/${encodeURIComponent(uid)}/abort"><button type="submit">Cancel</button></form>
<h2>Demo users</h2>
<table id="demo-users">
<thead><tr><th>Email</th><th>Name</th><th>Groups</th><th>Password</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`,
  );
}
