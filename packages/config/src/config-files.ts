// The files a config names besides itself (`*_file` secrets, certificates and keys, named policies), read once by
// the loader so that building the config view reads nothing.
import { readFileSync } from 'node:fs';
import type { RawConfig } from './schema.js';
import { loadPolicyFiles, type PolicyFiles } from './policy-files.js';
import type { FileContents } from './file-contents.js';
import { readTemplateFiles, type TemplateFiles } from './template-files.js';

export interface ConfigFiles {
  contents: FileContents;
  policies: PolicyFiles;
  /** `branding.templates_dir`; none read when absent. */
  templates?: TemplateFiles;
}

/** Reads every file the build will use: a `*_file` secret only when its inline value is absent, as the build does. */
export function readConfigFiles(raw: RawConfig, configFile: string): ConfigFiles {
  const secret = (inline: string | undefined, file: string | undefined) => (inline ? undefined : file);
  const names = [
    secret(raw.shared_secret, raw.shared_secret_file),
    secret(raw.cookie_secret, raw.cookie_secret_file),
    secret(raw.token_encryption_key, raw.token_encryption_key_file),
    secret(raw.idp.client_secret, raw.idp.client_secret_file),
    ...Object.values(raw.idps ?? {}).map((idp) => secret(idp.client_secret, idp.client_secret_file)),
    secret(raw.signing_key, raw.signing_key_file),
    ...(raw.previous_shared_secret_files ?? []),
    ...(raw.previous_cookie_secret_files ?? []),
    ...(raw.previous_token_encryption_key_files ?? []),
    ...(raw.previous_signing_key_files ?? []),
    raw.certificate_file,
    raw.key_file,
    raw.downstream_mtls?.ca_file,
    raw.downstream_mtls?.crl_file,
    ...raw.routes.flatMap((r) => [r.tls_custom_ca_file, r.tls_client_cert_file, r.tls_client_key_file]),
  ];
  const contents = new Map<string, string | Error>();
  for (const name of names) if (name !== undefined && !contents.has(name)) contents.set(name, readText(name));
  return { contents, policies: loadPolicyFiles(raw, configFile), templates: readTemplateFiles(raw, configFile) };
}

function readText(file: string): string | Error {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    return err as Error;
  }
}
