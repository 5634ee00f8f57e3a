// A client certificate given to the policy tools (explain, test, diff): a PEM file, whose facts are read as the
// listener reads them (it is not verified: the tools ask what a verified one would be allowed), or the facts.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ErrorCodes, VallumError, didYouMean } from '@vallum/errors';
import { clientCertificateInfo, normalFingerprint, type ClientCertificateInfo } from '@vallum/policy';

const FACT_KEYS = ['fingerprint', 'spki_hash', 'san_email', 'san_dns', 'subject_cn', 'issuer'];

const fail = (where: string, message: string): never => {
  throw new VallumError(ErrorCodes.CONFIG_INVALID, `${where}: ${message}`, { status: 500 });
};

/** `value` is a PEM file name (relative to `base`) or a mapping of the facts; `where` names it in errors. */
export function readClientCertificate(value: unknown, base: string, where: string): ClientCertificateInfo {
  if (typeof value === 'string') return clientCertificateFile(resolve(base, value), where);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail(where, `expected a PEM file name or a mapping of ${FACT_KEYS.join(', ')}`);
  }
  const facts = value as Record<string, unknown>;
  const bad = Object.keys(facts).find((k) => !FACT_KEYS.includes(k));
  if (bad) fail(where, `unknown key '${bad}'${didYouMean(bad, FACT_KEYS)}; expected ${FACT_KEYS.join(', ')}`);
  const text = (key: string) => {
    const v = facts[key];
    if (v !== undefined && typeof v !== 'string') fail(`${where}.${key}`, 'expected a string');
    return v as string | undefined;
  };
  const list = (key: string) => {
    const v = facts[key] ?? [];
    const items = Array.isArray(v) ? v : [v];
    if (items.some((i) => typeof i !== 'string')) fail(`${where}.${key}`, 'expected a string or a list of strings');
    return items as string[];
  };
  const fingerprint = text('fingerprint');
  const hex = fingerprint === undefined ? '' : normalFingerprint(fingerprint);
  if (hex === undefined) fail(`${where}.fingerprint`, `expected a SHA-256 fingerprint (64 hex digits, colons allowed), got '${fingerprint}'`);
  const info: ClientCertificateInfo = {
    fingerprint: hex!,
    spkiHash: text('spki_hash') ?? '',
    sanEmail: list('san_email'),
    sanDns: list('san_dns'),
    issuer: text('issuer') ?? '',
  };
  const cn = text('subject_cn');
  if (cn !== undefined) info.subjectCn = cn;
  return info;
}

export function clientCertificateFile(file: string, where: string): ClientCertificateInfo {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    return fail(where, `cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return clientCertificateInfo(new X509Certificate(pem));
  } catch (err) {
    return fail(where, `${file} is not a PEM certificate: ${(err as Error).message}`);
  }
}

/** The `client_certificate` of each user that has one, from a users mapping (`vallum policy diff --users`). */
export function readUserCertificates(users: unknown, file: string): Map<string, ClientCertificateInfo> {
  const found = new Map<string, ClientCertificateInfo>();
  if (typeof users !== 'object' || users === null) return found;
  for (const [name, user] of Object.entries(users as Record<string, unknown>)) {
    const value = (user as Record<string, unknown> | null)?.client_certificate;
    if (value !== undefined) found.set(name, readClientCertificate(value, resolve(file, '..'), `${file}: users.${name}.client_certificate`));
  }
  return found;
}
