// The demo IdP's built-in accounts. Passwords are shown on the login page: this is a demo, never a real IdP.
import { timingSafeEqual } from 'node:crypto';

export interface DemoUser {
  sub: string;
  email: string;
  name: string;
  password: string;
  groups: string[];
}

export const DEMO_PASSWORD = 'vallum-demo';

export const DEMO_USERS: readonly DemoUser[] = Object.freeze(
  [
    { sub: 'alice', email: 'alice@example.com', name: 'Alice Admin', password: DEMO_PASSWORD, groups: ['admins', 'engineering'] },
    { sub: 'bob', email: 'bob@example.com', name: 'Bob Builder', password: DEMO_PASSWORD, groups: ['engineering'] },
    { sub: 'carol', email: 'carol@example.com', name: 'Carol Contractor', password: DEMO_PASSWORD, groups: ['contractors'] },
  ].map((user) => Object.freeze({ ...user, groups: Object.freeze([...user.groups]) as string[] })),
);

function equalSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The user with this email (case-insensitive) and password, or undefined. */
export function findUserByCredentials(users: readonly DemoUser[], email: string, password: string): DemoUser | undefined {
  const wanted = email.trim().toLowerCase();
  const user = users.find((candidate) => candidate.email.toLowerCase() === wanted);
  return user !== undefined && equalSecret(user.password, password) ? user : undefined;
}

/** The OIDC claims oidc-provider filters by granted scope (email, profile, groups). */
export function claimsOf(user: DemoUser): Record<string, unknown> {
  return { sub: user.sub, email: user.email, email_verified: true, name: user.name, groups: [...user.groups] };
}
