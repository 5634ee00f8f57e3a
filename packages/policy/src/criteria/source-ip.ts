// `source_ip`: the client's address in one of a list of CIDR ranges (IPv4 or IPv6). Messages never list the
// ranges, so a refused user does not learn the network layout.
import { ReasonCodes } from '../reasons.js';
import type { PolicyIssue, PolicyPath } from '../issues.js';
import { inAnyRange, parseIp, parseRange, type IpAddress, type IpRange } from './ip-range.js';
import { compileOperator, defineCriterion, readList, readString, type CriterionDefinition } from './criterion.js';

const CODES = { ok: ReasonCodes.SOURCE_IP_OK, unauthorized: ReasonCodes.SOURCE_IP_UNAUTHORIZED };
const TEXT = { ok: 'request from an allowed network', requires: 'requires access from an allowed network', denied: 'request from a blocked network' };

function readCidr(operand: unknown, path: PolicyPath, issues: PolicyIssue[]): IpRange | undefined {
  const value = readString(operand, path, issues, 'a CIDR range like 10.0.0.0/8');
  if (value === undefined) return undefined;
  const range = parseRange(value);
  if (!range) issues.push({ path: [...path], message: `expected a CIDR range like 10.0.0.0/8 or 2001:db8::/32, got '${value}'` });
  return range;
}

export function clientAddress(ip: string | undefined): IpAddress | undefined {
  return ip ? parseIp(ip) : undefined;
}

/** `clientAddress` remembering the last address it parsed: most decisions in a row come from few addresses. */
function lastAddressReader(): (ip: string | undefined) => IpAddress | undefined {
  let lastText = '';
  let lastParsed: IpAddress | undefined;
  return (ip) => {
    if (!ip) return undefined;
    if (ip !== lastText) {
      lastText = ip;
      lastParsed = parseIp(ip);
    }
    return lastParsed;
  };
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
            const ranges = list as IpRange[];
            const addressOf = lastAddressReader();
            return defineCriterion(CODES, TEXT, (_i, request) => {
              const client = addressOf(request.sourceIp);
              return client !== undefined && inAnyRange(client, ranges);
            });
          },
        },
      },
      input,
      issues,
    ),
};
