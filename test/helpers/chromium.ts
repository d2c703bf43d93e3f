/**
 * The system's Chromium for the page tests (driven by playwright-core in
 * browser.ts; no browser is downloaded).
 */
import { existsSync } from 'node:fs';

/** The Chromium binary, if one is installed. */
export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));
