// `client_certificate`: the client certificate the listener verified (downstream_mtls), matched on its SHA-256
// fingerprint, public-key hash, subject alternative names, common name or issuer. Every key given must match; a
// list means any of its values. Messages never name the values, so a refused user learns nothing of the allow list.
import { ReasonCodes } from '../reasons.js';
import type { ClientCertificateInfo } from '../types.js';
import type { PolicyIssue, PolicyPath } from '../issues.js';
import { normalDistinguishedName, normalFingerprint } from '../client-certificate-info.js';
import { defineCriterion, readKeys, readString, type CriterionDefinition } from './criterion.js';

const CODES = { ok: ReasonCodes.CLIENT_CERTIFICATE_OK, unauthorized: ReasonCodes.CLIENT_CERTIFICATE_UNAUTHORIZED };
const TEXT = { ok: 'an accepted client certificate', requires: 'requires an accepted client certificate', denied: 'a blocked client certificate' };

type Test = (cert: ClientCertificateInfo) => boolean;

/** A string or a non-empty list of them, each read by `read`, as a set. */
function readValues(what: string, read: (value: string, path: PolicyPath, issues: PolicyIssue[]) => string | undefined) {
  return (operand: unknown, path: PolicyPath, issues: PolicyIssue[]): Set<string> | undefined => {
    const items = Array.isArray(operand) ? operand : [operand];
    if (items.length === 0) {
      issues.push({ path: [...path], message: `expected ${what} or a non-empty list of them` });
      return undefined;
    }
    const values = new Set<string>();
    let ok = true;
    items.forEach((item, i) => {
      const at = Array.isArray(operand) ? [...path, i] : path;
      const text = readString(item, at, issues, what);
      const value = text === undefined ? undefined : read(text, at, issues);
      if (value === undefined) ok = false;
      else values.add(value);
    });
    return ok ? values : undefined;
  };
}

const asIs = (value: string) => value;
const lowerCase = (value: string) => value.toLowerCase();
const fingerprint = (value: string, path: PolicyPath, issues: PolicyIssue[]) => {
  const hex = normalFingerprint(value);
  if (hex === undefined) issues.push({ path: [...path], message: `expected a SHA-256 fingerprint (64 hex digits, colons allowed), got '${value}'` });
  return hex;
};
const spkiHash = (value: string, path: PolicyPath, issues: PolicyIssue[]) => {
  if (/^[A-Za-z0-9+/]{43}=$/.test(value)) return value;
  issues.push({ path: [...path], message: `expected a base64 SHA-256 hash of the public key (44 characters), got '${value}'` });
  return undefined;
};

const READERS = {
  fingerprint: readValues('a SHA-256 fingerprint', fingerprint),
  spki_hash: readValues('a base64 SHA-256 public-key hash', spkiHash),
  san_email: readValues('an email address', lowerCase),
  san_dns: readValues('a DNS name', lowerCase),
  subject_cn: readValues('a common name', asIs),
  issuer: readValues('a distinguished name like CN=Acme CA,O=Acme', normalDistinguishedName),
};
type Keys = { [K in keyof typeof READERS]: Set<string> };

const TESTS: { [K in keyof Keys]: (wanted: Set<string>) => Test } = {
  fingerprint: (wanted) => (c) => wanted.has(c.fingerprint),
  spki_hash: (wanted) => (c) => wanted.has(c.spkiHash),
  san_email: (wanted) => (c) => c.sanEmail.some((e) => wanted.has(e.toLowerCase())),
  san_dns: (wanted) => (c) => c.sanDns.some((d) => wanted.has(d.toLowerCase())),
  subject_cn: (wanted) => (c) => c.subjectCn !== undefined && wanted.has(c.subjectCn),
  issuer: (wanted) => (c) => wanted.has(normalDistinguishedName(c.issuer)),
};
const KEY_NAMES = Object.keys(READERS) as Array<keyof Keys>;

export const clientCertificateCriterion: CriterionDefinition = {
  name: 'client_certificate',
  takesArgument: false,
  syntax: {
    description: 'The client certificate the listener verified (downstream_mtls); every key given must match, a list means any of its values',
    keys: Object.fromEntries(KEY_NAMES.map((k) => [k, 'string_or_strings'])) as Record<keyof Keys, 'string_or_strings'>,
  },
  compile({ value, path }, issues) {
    const read = readKeys<Keys>('client_certificate', value, path, issues, READERS, KEY_NAMES);
    if (!read) return undefined;
    const tests = KEY_NAMES.filter((k) => read[k] !== undefined).map((k) => TESTS[k](read[k]!));
    return defineCriterion(CODES, TEXT, (_i, request) => {
      const cert = request.clientCertificate;
      return cert !== undefined && tests.every((t) => t(cert));
    });
  },
};
