// Drives the demo IdP's login form in a real browser page.
import { DEMO_PASSWORD } from '@vallum/demo';
import type { Page } from 'playwright-core';

const FORM_TIMEOUT_MS = 15_000;

/**
 * Fills and submits the demo IdP login form on a page that is on (or on its way to) `/interaction/:uid`.
 * Resolves once the IdP accepted the credentials (its redirect back to the application is under way);
 * rejects with the page's message when they were refused.
 */
export async function signInAtDemoIdp(page: Page, email: string, password: string = DEMO_PASSWORD): Promise<void> {
  const form = page.locator('form#login');
  await form.waitFor({ state: 'visible', timeout: FORM_TIMEOUT_MS });
  await form.locator('input[name="email"]').fill(email);
  await form.locator('input[name="password"]').fill(password);
  const [response] = await Promise.all([
    page.waitForResponse((candidate) => candidate.request().method() === 'POST' && /\/interaction\/[^/]+\/login$/.test(new URL(candidate.url()).pathname), {
      timeout: FORM_TIMEOUT_MS,
    }),
    form.getByRole('button', { name: 'Sign in' }).click(),
  ]);
  if (response.status() !== 303) {
    const message =
      (await page
        .locator('#error')
        .textContent({ timeout: FORM_TIMEOUT_MS })
        .catch(() => null)) ?? `HTTP ${response.status()}`;
    throw new Error(`demo IdP refused sign-in for ${email}: ${message.trim()}`);
  }
}
