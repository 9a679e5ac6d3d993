import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';

export const PHONE = { width: 390, height: 844 };
export const PC = { width: 1280, height: 800 };

/** With SHOTS_DIR=<dir> (README), saves a full-page screenshot to look at beside the manual. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await screenshotTo(process.env.SHOTS_DIR, page, name);
}

/** A full-page screenshot as `<dir>/<file>.png` (the folder made if need be); nothing when `dir` is unset. */
export async function screenshotTo(dir: string | undefined, page: Page, file: string): Promise<void> {
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${file}.png`), fullPage: true });
}

/** Playwright's web-first assertions without @playwright/test: poll until true or time out. */
export function eventually(locator: Locator) {
  const poll = async (check: () => Promise<boolean>, what: string) => {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (await check().catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting until ${what}`);
  };
  return {
    toBeVisible: () => poll(() => locator.isVisible(), `${locator} is visible`),
    toBeHidden: () => poll(async () => !(await locator.isVisible()), `${locator} is hidden`),
    toHaveText: (text: string) => poll(async () => (await locator.textContent())?.trim() === text, `${locator} has text ${text}`),
    toContainText: (text: string) => poll(async () => ((await locator.textContent()) ?? '').includes(text), `${locator} contains ${text}`),
    toHaveValue: (value: string) => poll(async () => (await locator.inputValue()) === value, `${locator} has value ${value}`),
  };
}
