// `source_ip`: the client's address in one of a list of CIDR ranges (IPv4 or IPv6). Messages never list the
// ranges, so a refused user does not learn the network layout.
import { BlockList, isIP } from 'node:net';
import { ReasonCodes } from '../reasons.js';
import type { PolicyIssue, PolicyPath } from '../issues.js';
import { compileOperator, defineCriterion, readList, readString, type CriterionDefinition } from './criterion.js';

const CODES = { ok: ReasonCodes.SOURCE_IP_OK, unauthorized: ReasonCodes.SOURCE_IP_UNAUTHORIZED };
const TEXT = { ok: 'request from an allowed network', requires: 'requires access from an allowed network', denied: 'request from a blocked network' };

interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

function readCidr(operand: unknown, path: PolicyPath, issues: PolicyIssue[]): Cidr | undefined {
  const value = readString(operand, path, issues, 'a CIDR range like 10.0.0.0/8');
  if (value === undefined) return undefined;
  const [address = '', prefixText] = value.split('/');
  const version = isIP(address);
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (version === 0 || !(prefix >= 0 && prefix <= max)) {
    issues.push({ path: [...path], message: `expected a CIDR range like 10.0.0.0/8 or 2001:db8::/32, got '${value}'` });
    return undefined;
  }
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** `::ffff:10.1.2.3` (how a dual-stack socket reports an IPv4 client) is checked as 10.1.2.3. */
export function clientAddress(ip: string | undefined): { address: string; family: 'ipv4' | 'ipv6' } | undefined {
  if (!ip) return undefined;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  const address = mapped ? mapped[1]! : ip;
  const version = isIP(address);
  return version === 0 ? undefined : { address, family: version === 4 ? 'ipv4' : 'ipv6' };
}

export const sourceIpCriterion: CriterionDefinition = {
  name: 'source_ip',
  takesArgument: false,
  syntax: { description: "The client's address, in one of these CIDR ranges", operators: { in: 'strings' }, shorthand: ['string', 'strings'] },
  compile: (input, issues) =>
    compileOperator(
      {
        label: 'source_ip',
        shorthand: 'in',
        listShorthand: 'in',
        operators: {
          in(operand, path, issues) {
            const list = typeof operand === 'string' ? [readCidr(operand, path, issues)] : readList(operand, path, issues, 'CIDR ranges', readCidr);
            if (!list || list.some((c) => c === undefined)) return undefined;
            const ranges = new BlockList();
            for (const c of list as Cidr[]) ranges.addSubnet(c.address, c.prefix, c.family);
            return defineCriterion(CODES, TEXT, (_i, request) => {
              const client = clientAddress(request.sourceIp);
              return client !== undefined && ranges.check(client.address, client.family);
            });
          },
        },
      },
      input,
      issues,
    ),
};
