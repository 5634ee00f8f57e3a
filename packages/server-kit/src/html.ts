// The look of every page Vallum itself serves (sign-in errors, 403, 404, 502): plain, readable, no scripts.
import type { FastifyReply } from 'fastify';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

export interface PageOptions {
  title: string;
  /** Already-escaped HTML for the body. */
  body: string;
  status?: number;
  requestId?: string;
}

export function renderPage(options: PageOptions): string {
  const status = options.status ? `<p class="status">${options.status}</p>` : '';
  const rid = options.requestId ? `<p class="rid">Request id: <code>${escapeHtml(options.requestId)}</code></p>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(options.title)} · Vallum</title>
<style>
body{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1d2330}
h1{font-size:1.5rem}.status{color:#888;font-size:.9rem;margin:0}.rid{color:#888;font-size:.8rem}
li{margin:.25rem 0}code{background:#f2f3f5;padding:0 .25rem;border-radius:3px}
a.button,button{display:inline-block;background:#1d4ed8;color:#fff;border:0;padding:.5rem 1rem;border-radius:4px;text-decoration:none;cursor:pointer}
</style></head>
<body>${status}<h1>${escapeHtml(options.title)}</h1>
${options.body}
${rid}
<p class="footer"><small>Vallum identity-aware proxy</small></p>
</body></html>`;
}

/** Sends one of Vallum's own pages: HTML, never cached. */
export function sendPage(reply: FastifyReply, status: number, html: string): FastifyReply {
  return reply.status(status).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(html);
}
