// `branding` as the services use it: the pages of this config, compiled once (a reload compiles them again).
import { createPageSet, DEFAULT_BRANDING, TemplateFileError, type PageSet, type TemplateName, type TemplateOverride } from '@vallum/pages';
import type { ConfigIssue } from './config-issues.js';
import type { RawConfig } from './schema.js';
import type { TemplateFiles } from './template-files.js';

const HEX_COLOR = /^#(?:[0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$/i;
const FUNCTION_COLOR = /^(?:rgba?|hsla?)\(\s*[\d.]+%?(?:\s*[,\s/]\s*[\d.]+%?){2,3}\s*\)$/i;
const NAMED_COLOR = /^[a-z]{3,30}$/i;

/** A colour CSS reads, and nothing that could end the declaration it is written into. */
export function isCssColor(value: string): boolean {
  return HEX_COLOR.test(value) || FUNCTION_COLOR.test(value) || NAMED_COLOR.test(value);
}

/** An https:// URL, or a path on the page's own host (never `//host`, `javascript:` or plain http). */
export function isLogoUrl(value: string): boolean {
  if (value.startsWith('/')) return !value.startsWith('//') && !value.includes('\\');
  return URL.canParse(value) && new URL(value).protocol === 'https:';
}

export function buildPages(raw: RawConfig, templates: TemplateFiles, issues: ConfigIssue[]): PageSet {
  const b = raw.branding ?? {};
  if (b.primary_color !== undefined && !isCssColor(b.primary_color))
    issues.push({ path: ['branding', 'primary_color'], message: `expected a CSS colour (#rrggbb, rgb(…), hsl(…), a name), got '${b.primary_color}'` });
  if (b.logo_url !== undefined && !isLogoUrl(b.logo_url))
    issues.push({ path: ['branding', 'logo_url'], message: `expected an https:// URL or a path starting with /, got '${b.logo_url}'` });
  if (templates.problem) issues.push({ path: ['branding', 'templates_dir'], message: templates.problem });
  const overrides: Partial<Record<TemplateName, TemplateOverride>> = {};
  for (const [name, entry] of Object.entries(templates.read) as Array<[TemplateName, NonNullable<TemplateFiles['read'][TemplateName]>]>) {
    if ('error' in entry) issues.push({ path: ['branding', 'templates_dir'], message: `cannot read ${entry.file}: ${entry.error.message}` });
    else overrides[name] = entry;
  }
  const branding = {
    title: b.title ?? DEFAULT_BRANDING.title,
    logoUrl: b.logo_url !== undefined && isLogoUrl(b.logo_url) ? b.logo_url : undefined,
    primaryColor: b.primary_color !== undefined && isCssColor(b.primary_color) ? b.primary_color : DEFAULT_BRANDING.primaryColor,
  };
  // Each broken template is reported; the built-in one stands in for it so the others are still checked.
  for (;;) {
    try {
      return createPageSet(branding, overrides);
    } catch (err) {
      if (!(err instanceof TemplateFileError)) throw err;
      issues.push({ path: ['branding', 'templates_dir'], message: `template ${err.message}` });
      const broken = (Object.keys(overrides) as TemplateName[]).find((n) => overrides[n]?.file === err.file);
      if (broken === undefined) throw err;
      delete overrides[broken];
    }
  }
}

/** What a reload watches: the directory (a template added or removed) and each template read (one edited). */
export function templateSources(templates: TemplateFiles | undefined): string[] {
  if (templates?.dir === undefined) return [];
  return [templates.dir, ...Object.values(templates.read).map((entry) => entry.file)];
}
