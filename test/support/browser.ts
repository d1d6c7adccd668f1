/**
 * A headless Chromium for the editor test, driven with playwright-core. Playwright never
 * downloads a browser here: this is Debian's `chromium` (scripts/ensure-chromium.sh installs
 * it), started with a fresh profile that is deleted on close. The page may talk to loopback
 * only: every other request is aborted and listed in `blocked`, and host names other than
 * localhost do not resolve.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** Flags for a quiet, offline, throwaway browser (the profile folder comes with the context). */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1',
];

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export interface TestBrowser {
  page: Page;
  /** URLs the page tried to reach beyond loopback (all aborted). */
  blocked: string[];
  /** Screenshots of failed steps go here; the folder is kept only when it holds any. */
  screenshotDir: string;
  /** Runs `fn`; when it throws, saves a screenshot named after the step and rethrows. */
  step<T>(name: string, fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export function isLoopbackUrl(url: string): boolean {
  const parsed = URL.parse(url);
  if (parsed === null) return false;
  if (parsed.protocol === 'data:' || parsed.protocol === 'blob:') return true;
  return (parsed.protocol === 'http:' || parsed.protocol === 'https:' || parsed.protocol === 'ws:') && LOOPBACK_HOSTS.has(parsed.hostname);
}

export async function launchBrowser(options: { timeoutMs?: number } = {}): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/ensure-chromium.sh (apt-get install -y chromium)`);
  const profile = mkdtempSync(join(tmpdir(), 'editor-test-profile-'));
  const screenshotDir = mkdtempSync(join(tmpdir(), 'editor-test-screenshots-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1400, height: 900 },
      timeout: 120_000,
    });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    rmSync(screenshotDir, { recursive: true, force: true });
    throw error;
  }
  const blocked: string[] = [];
  await context.route('**/*', async (route) => {
    const url = route.request().url();
    if (isLoopbackUrl(url)) return route.continue();
    blocked.push(url);
    return route.abort('blockedbyclient');
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(options.timeoutMs ?? 60_000);
  let shots = 0;

  return {
    page,
    blocked,
    screenshotDir,
    async step<T>(name: string, fn: () => Promise<T>): Promise<T> {
      try {
        return await fn();
      } catch (error) {
        const file = join(screenshotDir, `${String(++shots).padStart(2, '0')}-${name.replace(/[^a-z0-9]+/gi, '-')}.png`);
        const saved = await page.screenshot({ path: file, fullPage: true }).then(
          () => true,
          () => false,
        );
        if (saved) console.error(`editor test: step "${name}" failed; screenshot ${file}`);
        throw error;
      }
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
      if (readdirSync(screenshotDir).length === 0) rmSync(screenshotDir, { recursive: true, force: true });
    },
  };
}
