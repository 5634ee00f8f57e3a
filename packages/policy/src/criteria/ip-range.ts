// The one CIDR parser and matcher (policies' `source_ip`, the config's `trusted_proxies`), in plain arithmetic:
// node's BlockList re-parses the address on every check (~5 µs), which would dominate a decision.

export type IpAddress = { family: 4; value: number } | { family: 6; value: Uint16Array };

export interface IpRange {
  family: 4 | 6;
  /** The network address. */
  base: IpAddress;
  prefix: number;
}

const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function parseV4(text: string): number | undefined {
  const m = V4.exec(text);
  if (!m) return undefined;
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    const part = m[i]!;
    const octet = Number(part);
    if (octet > 255 || (part.length > 1 && part.startsWith('0'))) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

function parseV6(text: string): Uint16Array | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  let head = text;
  let v4tail: number | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    v4tail = parseV4(text.slice(lastColon + 1));
    if (v4tail === undefined) return undefined;
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const left = groups(halves[0]!);
  const right = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - left.length - right.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...left, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...right];
  const out = new Uint16Array(8);
  for (let i = 0; i < 8; i++) {
    const g = all[i]!;
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    out[i] = parseInt(g, 16);
  }
  if (v4tail !== undefined) {
    out[6] = Math.floor(v4tail / 65536);
    out[7] = v4tail % 65536;
  }
  return out;
}

/** An IPv4-mapped IPv6 address (`::ffff:10.1.2.3`, how dual-stack sockets report IPv4 clients) is its IPv4 address. */
export function parseIp(text: string): IpAddress | undefined {
  const v4 = parseV4(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = parseV6(text);
  if (!v6) return undefined;
  if (v6[0] === 0 && v6[1] === 0 && v6[2] === 0 && v6[3] === 0 && v6[4] === 0 && v6[5] === 0xffff) {
    return { family: 4, value: v6[6]! * 65536 + v6[7]! };
  }
  return { family: 6, value: v6 };
}

/**
 * An address (a range of one) or a CIDR. An IPv4-mapped range (`::ffff:10.0.0.0/104`) is its IPv4 range, as its
 * addresses are IPv4 clients; one wider than the mapped block (prefix under 96) is refused.
 */
export function parseRange(text: string): IpRange | undefined {
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const base = parseIp(addressText);
  if (!base) return undefined;
  const mapped = base.family === 4 && addressText.includes(':');
  const max = base.family === 4 && !mapped ? 32 : 128;
  const prefixText = slash < 0 ? String(max) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText) - (mapped ? 96 : 0);
  return prefix >= 0 && prefix <= max - (mapped ? 96 : 0) ? { family: base.family, base, prefix } : undefined;
}

/** Whether the address is in one of the ranges. */
export function inAnyRange(address: IpAddress, ranges: readonly IpRange[]): boolean {
  for (const range of ranges) if (inRange(address, range)) return true;
  return false;
}

export function inRange(address: IpAddress, range: IpRange): boolean {
  if (address.family !== range.family) return false;
  if (address.family === 4) {
    if (range.prefix === 0) return true;
    const shift = 32 - range.prefix;
    return address.value >>> shift === (range.base.value as number) >>> shift;
  }
  const base = range.base.value as Uint16Array;
  let bits = range.prefix;
  for (let i = 0; i < 8 && bits > 0; i++, bits -= 16) {
    const mask = bits >= 16 ? 0xffff : (0xffff << (16 - bits)) & 0xffff;
    if ((address.value[i]! & mask) !== (base[i]! & mask)) return false;
  }
  return true;
}
