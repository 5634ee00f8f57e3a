const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (char) => HTML_ESCAPES[char] ?? char);
}

/** A complete, self-contained page (no external fonts or scripts: the demo runs offline). */
export function renderPage(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#1d2330}
label{display:block;margin:.6rem 0 .2rem}input{font:inherit;padding:.3rem;width:20rem}
button{font:inherit;margin-top:1rem;padding:.4rem 1.2rem}.error{color:#b00020;font-weight:600}
table{border-collapse:collapse}td,th{border:1px solid #ccd;padding:.2rem .5rem;text-align:left}
pre{background:#f4f5f8;padding:.6rem;overflow:auto}
</style>
</head>
<body>
${body}
</body>
</html>
`;
}
