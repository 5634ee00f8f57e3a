export { compileTemplate, escapeHtml, TemplateSyntaxError, type Template, type TemplateData } from './template.js';
export { BUILTIN_TEMPLATES, TEMPLATE_NAMES, type PageName, type TemplateName } from './builtin-templates.js';
export {
  createPageSet,
  DEFAULT_BRANDING,
  DEFAULT_PAGES,
  TemplateFileError,
  type Branding,
  type PageData,
  type PageFrame,
  type PageSet,
  type TemplateOverride,
} from './page-set.js';
