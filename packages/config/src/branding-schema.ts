// `branding`: the look of every page Vallum renders (sign-in errors, 403, user page, signed-out, error pages).
import { Type } from '@sinclair/typebox';

export const BrandingKeys = {
  branding: Type.Optional(
    Type.Object(
      {
        title: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: "Shown in every page's header and title (default Vallum)" })),
        logo_url: Type.Optional(Type.String({ minLength: 1, description: 'Logo in the page header: an https:// URL or a path on the same host (/…)' })),
        primary_color: Type.Optional(
          Type.String({ minLength: 1, description: 'CSS colour of the header rule and buttons: #rgb, #rrggbb, rgb(…), hsl(…) or a colour name' }),
        ),
        templates_dir: Type.Optional(
          Type.String({
            minLength: 1,
            description: 'Directory of page templates (NAME.html) replacing the built-in ones file by file, relative to this file',
          }),
        ),
      },
      { additionalProperties: false, description: 'The look of the pages Vallum renders' },
    ),
  ),
};
