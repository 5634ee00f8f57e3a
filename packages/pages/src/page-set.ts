// The pages of one config: the built-in templates with the config's replacements, compiled once, and the branding
// every page shows. Rendering is a walk over the compiled templates: no parsing per request.
import { BUILTIN_TEMPLATES, TEMPLATE_NAMES, type PageName, type TemplateName } from './builtin-templates.js';
import { compileTemplate, TemplateSyntaxError, type Template } from './template.js';

export interface Branding {
  /** Shown in every page's header and its <title>. */
  title: string;
  /** https:// or a path on the same origin; none when undefined. */
  logoUrl: string | undefined;
  /** A CSS colour for the header rule and the buttons. */
  primaryColor: string;
}

export const DEFAULT_BRANDING: Branding = Object.freeze({ title: 'Vallum', logoUrl: undefined, primaryColor: '#1d4ed8' });

interface Reason {
  code: string;
  message: string;
}

/** What each page's template is given (besides `brand`). */
export interface PageData {
  error: { message: string; reasons?: readonly Reason[] | undefined; unavailable?: boolean; retryUrl?: string | undefined };
  denied: { user: string; host: string; reasons: readonly Reason[] };
  user: {
    user: string;
    age: string;
    createdAt: number;
    expiresIn: string;
    expiresAt: number;
    idle: string | undefined;
    groups: readonly string[];
    routes: ReadonlyArray<{ href: string; label: string }>;
  };
  'signed-out': { idpAsked: boolean; idpHost: string; returnUrl: string | undefined; returnHost: string | undefined };
  'sign-out-confirm': { action: string };
  'cli-login-confirm': { user: string; listener: string; action: string; declineAction: string };
  'cli-login-declined': { listener: string };
  'idp-chooser': { host: string; choices: ReadonlyArray<{ name: string; href: string; label: string }> };
  'post-replay-form': { url: string; nonce: string; fields: ReadonlyArray<{ name: string; value: string }> };
  /** `post`: the kept request as JSON ({ url, contentType, body in base64 }). */
  'post-replay-fetch': { nonce: string; post: string };
}

/** The frame every page shares: its heading (and <title>), status line and request id. */
export interface PageFrame {
  title: string;
  status?: number | undefined;
  requestId?: string | undefined;
}

export interface PageSet {
  readonly branding: Branding;
  render<N extends PageName>(name: N, frame: PageFrame, data: PageData[N]): string;
}

/** A replacement template as the loader read it: its file (for errors) and text. */
export interface TemplateOverride {
  file: string;
  text: string;
}

export class TemplateFileError extends Error {
  constructor(
    readonly file: string,
    cause: TemplateSyntaxError,
  ) {
    super(`${file}: ${cause.message}`, { cause });
    this.name = 'TemplateFileError';
  }
}

/** Throws TemplateFileError, naming the file, for a replacement that does not compile. */
export function createPageSet(branding: Branding, overrides: Partial<Record<TemplateName, TemplateOverride>> = {}): PageSet {
  const compiled = new Map<TemplateName, Template>();
  for (const name of TEMPLATE_NAMES) {
    const override = overrides[name];
    try {
      compiled.set(name, compileTemplate(override?.text ?? BUILTIN_TEMPLATES[name]));
    } catch (err) {
      if (override && err instanceof TemplateSyntaxError) throw new TemplateFileError(override.file, err);
      throw err;
    }
  }
  const brand = Object.freeze({ ...branding });
  const layout = compiled.get('layout')!;
  return Object.freeze({
    branding: brand,
    render<N extends PageName>(name: N, frame: PageFrame, data: PageData[N]): string {
      const content = compiled.get(name)!({ ...data, brand });
      return layout({ title: frame.title, status: frame.status, requestId: frame.requestId, brand, content });
    },
  });
}

/** The built-in pages with Vallum's own look: what a service renders when it is given no config's pages. */
export const DEFAULT_PAGES: PageSet = createPageSet(DEFAULT_BRANDING);
