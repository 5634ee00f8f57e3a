// Time-based criteria: `date` (before/after an instant), `day_of_week` and `time_of_day` (in a timezone, UTC by
// default). Each reports when its answer can next change, so a cached decision never outlives a boundary.
import { didYouMean } from '@vallum/errors';
import { ReasonCodes } from '../reasons.js';
import type { PolicyIssue, PolicyPath } from '../issues.js';
import { compileOperator, defineCriterion, readKeys, readList, readString, type CompiledCriterion, type CriterionDefinition } from './criterion.js';

const CODES = { ok: ReasonCodes.TIME_OK, unauthorized: ReasonCodes.TIME_UNAUTHORIZED };
const MINUTE = 60_000;
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const DAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

/** Day-of-week and time-of-day answers only change on a minute boundary (every timezone offset is whole minutes). */
const nextMinute = (now: number): number => Math.floor(now / MINUTE) * MINUTE + MINUTE;

export function readTimezone(value: unknown, path: PolicyPath, issues: PolicyIssue[]): string | undefined {
  const zone = readString(value, path, issues, 'an IANA timezone like Europe/Berlin');
  if (zone === undefined) return undefined;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone;
  } catch {
    issues.push({ path: [...path], message: `unknown timezone '${zone}'; expected an IANA name like Europe/Berlin or UTC` });
    return undefined;
  }
}

/** Local day (0 = Sunday) and minute of the day at `now` in `zone`. */
export function localClock(zone: string | undefined): (now: number) => { day: number; minute: number } {
  if (zone === undefined || zone === 'UTC') {
    return (now) => ({ day: (Math.floor(now / 86_400_000) + 4) % 7, minute: Math.floor(now / MINUTE) % 1440 });
  }
  const format = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', weekday: 'short', hour: '2-digit', minute: '2-digit' });
  return (now) => {
    let day = 0;
    let hour = 0;
    let minute = 0;
    for (const part of format.formatToParts(now)) {
      if (part.type === 'weekday') day = DAYS.indexOf(part.value.toLowerCase().slice(0, 3) as (typeof DAYS)[number]);
      else if (part.type === 'hour') hour = Number(part.value);
      else if (part.type === 'minute') minute = Number(part.value);
    }
    return { day, minute: hour * 60 + minute };
  };
}

function dayIndex(name: string): number {
  const lower = name.toLowerCase();
  const short = DAYS.indexOf(lower as (typeof DAYS)[number]);
  return short >= 0 ? short : DAY_NAMES.indexOf(lower);
}

/** `mon`, `monday` or a range `mon-fri` (wrapping: `fri-mon`). */
function readDays(operand: unknown, path: PolicyPath, issues: PolicyIssue[]): number[] | undefined {
  const value = readString(operand, path, issues, 'a day like mon or a range like mon-fri');
  if (value === undefined) return undefined;
  const [from = '', to] = value.split('-');
  const start = dayIndex(from);
  const end = to === undefined ? start : dayIndex(to);
  if (start < 0 || end < 0) {
    const bad = start < 0 ? from : (to ?? '');
    issues.push({
      path: [...path],
      message: `unknown day '${bad}'${didYouMean(bad.toLowerCase(), [...DAYS, ...DAY_NAMES])}; expected mon, tue, wed, thu, fri, sat, sun or a range like mon-fri`,
    });
    return undefined;
  }
  const days: number[] = [];
  for (let d = start; ; d = (d + 1) % 7) {
    days.push(d);
    if (d === end) break;
  }
  return days;
}

function dayCriterion(days: readonly number[], spec: string, zone: string | undefined): CompiledCriterion {
  const clock = localClock(zone);
  const set = new Set(days);
  const where = zone ? ` (${zone})` : ' (UTC)';
  const text = { ok: `day ${spec}${where}`, requires: `only on ${spec}${where}`, denied: `day ${spec}${where}` };
  return defineCriterion(CODES, text, (_i, _r, now) => set.has(clock(now).day), nextMinute);
}

export const dayOfWeekCriterion: CriterionDefinition = {
  name: 'day_of_week',
  takesArgument: false,
  syntax: {
    description: 'The day of the week (mon…sun, ranges like mon-fri)',
    operators: { is: 'string', in: 'strings' },
    modifiers: { timezone: 'string' },
    shorthand: ['string', 'strings'],
  },
  compile: (input, issues) =>
    compileOperator(
      {
        label: 'day_of_week',
        shorthand: 'is',
        listShorthand: 'in',
        modifiers: { timezone: readTimezone },
        operators: {
          is(operand, path, issues, _a, modifiers) {
            const days = readDays(operand, path, issues);
            return days && dayCriterion(days, String(operand), modifiers.timezone as string | undefined);
          },
          in(operand, path, issues, _a, modifiers) {
            const lists = readList(operand, path, issues, 'days', readDays);
            return lists && dayCriterion(lists.flat(), (operand as string[]).join(', '), modifiers.timezone as string | undefined);
          },
        },
      },
      input,
      issues,
    ),
};

function readInstant(value: unknown, path: PolicyPath, issues: PolicyIssue[]): number | undefined {
  const text = value instanceof Date ? value.toISOString() : value;
  const s = readString(text, path, issues, 'a date like 2027-01-31 or 2027-01-31T09:00:00Z');
  if (s === undefined) return undefined;
  const ms = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(s) ? Date.parse(s) : NaN;
  if (Number.isNaN(ms)) {
    issues.push({ path: [...path], message: `expected a date like 2027-01-31 or 2027-01-31T09:00:00Z (with Z or an offset), got '${s}'` });
    return undefined;
  }
  return ms;
}

export const dateCriterion: CriterionDefinition = {
  name: 'date',
  takesArgument: false,
  syntax: { description: 'The current date and time (ISO 8601)', keys: { before: 'string', after: 'string' } },
  compile({ value, path }, issues) {
    const read = readKeys<{ before: number; after: number }>('date', value, path, issues, { before: readInstant, after: readInstant }, ['before', 'after']);
    if (!read) return undefined;
    const after = read.after ?? -Infinity;
    const before = read.before ?? Infinity;
    const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
    const span = [read.after !== undefined ? `after ${iso(after)}` : '', read.before !== undefined ? `before ${iso(before)}` : '']
      .filter(Boolean)
      .join(' and ');
    return defineCriterion(
      CODES,
      { ok: `date ${span}`, requires: `only ${span}`, denied: `date ${span}` },
      (_i, _r, now) => now >= after && now < before,
      (now) => (now < after ? after : now < before ? before : Infinity),
    );
  },
};

function readClockTime(value: unknown, path: PolicyPath, issues: PolicyIssue[]): number | undefined {
  // YAML 1.1 would read 09:00 as a number; the parser here is YAML 1.2, but say what to write if it happens.
  const s = readString(typeof value === 'number' ? String(value) : value, path, issues, "a time like '09:00'");
  if (s === undefined) return undefined;
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(s);
  if (!m) {
    issues.push({ path: [...path], message: `expected a 24-hour time like '09:00' or '17:30', got '${s}'` });
    return undefined;
  }
  return Number(m[1]) * 60 + Number(m[2]);
}

const hhmm = (minute: number) => `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;

export const timeOfDayCriterion: CriterionDefinition = {
  name: 'time_of_day',
  takesArgument: false,
  syntax: { description: 'The time of day, HH:MM, in a timezone (UTC by default)', keys: { after: 'string', before: 'string', timezone: 'string' } },
  compile({ value, path }, issues) {
    const read = readKeys<{ after: number; before: number; timezone: string }>(
      'time_of_day',
      value,
      path,
      issues,
      { after: readClockTime, before: readClockTime, timezone: readTimezone },
      ['after', 'before'],
    );
    if (!read) return undefined;
    const from = read.after ?? 0;
    const to = read.before ?? 1440;
    const clock = localClock(read.timezone);
    // after 22:00 before 06:00 wraps past midnight.
    const inside = from <= to ? (m: number) => m >= from && m < to : (m: number) => m >= from || m < to;
    const span = `${read.after !== undefined ? `from ${hhmm(from)}` : ''}${read.after !== undefined && read.before !== undefined ? ' ' : ''}${
      read.before !== undefined ? `until ${hhmm(to)}` : ''
    } (${read.timezone ?? 'UTC'})`;
    return defineCriterion(
      CODES,
      { ok: `time ${span}`, requires: `only ${span}`, denied: `time ${span}` },
      (_i, _r, now) => inside(clock(now).minute),
      nextMinute,
    );
  },
};
