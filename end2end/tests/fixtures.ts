import { expect, type Browser, type BrowserContext, type Page } from "@playwright/test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";

/** Waits until the wasm has hydrated the page: clicks before that hit dead buttons. */
export async function waitForHydration(page: Page): Promise<void> {
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
}

/**
 * A fresh browser context that looks like its own client to the server's per-IP rate limit:
 * the test server trusts the loopback proxy, and each context forwards a different address.
 */
export async function newClient(
  browser: Browser,
  options: {
    javaScriptEnabled?: boolean;
    viewport?: { width: number; height: number } | null;
    userAgent?: string;
    /** The address to forward; a random one in 198.18.0.0/16 when absent. */
    ip?: string;
  } = {},
): Promise<BrowserContext> {
  const ip = options.ip ?? `198.18.${Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
  return browser.newContext({
    javaScriptEnabled: options.javaScriptEnabled ?? true,
    viewport: options.viewport ?? undefined,
    userAgent: options.userAgent,
    extraHTTPHeaders: { "X-Forwarded-For": ip },
  });
}

/** A fresh address, so tests never share rate limits or mail. */
export function uniqueEmail(label: string): string {
  return `${label}-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}

const outbox = path.resolve(__dirname, "..", "..", process.env.MAGIC_LINK_MAIL_OUTBOX ?? "target/e2e-outbox");

export interface Mail {
  text: string;
  html: string;
  link: string;
  code: string;
}

function decodePart(raw: string, type: string): string {
  const start = raw.indexOf(`Content-Type: ${type}; charset=utf-8`);
  if (start < 0) throw new Error(`no ${type} part`);
  const afterHeaders = raw.indexOf("\r\n\r\n", start) + 4;
  const end = raw.indexOf("\r\n--", afterHeaders);
  return Buffer.from(raw.slice(afterHeaders, end).replace(/\r\n/g, ""), "base64").toString("utf8");
}

/** Messages already handed to a test, so each call waits for a new one. */
const read = new Set<string>();

/** The subject line of a new-sign-in notice, which `readMail` and `mailCount` pass over. */
const NOTICE = "\r\nSubject: New sign-in to ";

/** Whether the raw message is to `email`, and a notice or not as `notice` says. */
function isTo(raw: string, email: string, notice: boolean): boolean {
  return raw.includes(`\r\nTo: ${email.toLowerCase()}\r\n`) && raw.includes(NOTICE) === notice;
}

/**
 * The newest sign-in message to `email` in the server's outbox that no earlier call returned,
 * waiting for it to arrive: the server sends mail after it answers, so an older message may
 * still be the newest for a moment. `notice` reads a new-sign-in notice instead.
 */
export async function readMail(email: string, notice = false): Promise<Mail> {
  let found: string | undefined;
  await expect
    .poll(
      () => {
        if (!existsSync(outbox)) return false;
        const file = readdirSync(outbox)
          .filter((f) => f.endsWith(".eml") && !read.has(f))
          .sort()
          .reverse()
          .find((f) => isTo(readFileSync(path.join(outbox, f), "utf8"), email, notice));
        if (file === undefined) return false;
        read.add(file);
        found = readFileSync(path.join(outbox, file), "utf8");
        return true;
      },
      { message: `no email to ${email} in ${outbox}`, timeout: 10_000 },
    )
    .toBe(true);
  const raw = found as string;
  const text = decodePart(raw, "text/plain");
  const html = decodePart(raw, "text/html");
  // A text part's lines end in CRLF, as RFC 5322 asks.
  const link = text.split(/\r?\n/).find((line) => line.startsWith("http")) ?? "";
  // In a notice, `link` is its "sign out everywhere" link, and there is no code.
  const code = /code on the sign-in page: (\d{6})/.exec(text)?.[1] ?? "";
  return { text, html, link, code };
}

/** Asks for a link from the login page, as a person would. */
export async function requestLink(
  page: Page,
  email: string,
  options: { js?: boolean; query?: string } = {},
): Promise<void> {
  await page.goto(`/${options.query ?? ""}`);
  if (options.js ?? true) await waitForHydration(page);
  await page.getByLabel("Email address").fill(email);
  await page.getByRole("button", { name: "Send Magic Link" }).click();
  await expect(page.getByRole("heading", { name: "Check your email for a magic link!" })).toBeVisible();
}

/**
 * Where the passkey tests run: the app itself, whose public URL is a name (WebAuthn refuses
 * an IP address). With BASE_URL set, PASSKEY_BASE_URL may name an instance on a name instead.
 */
export const PASSKEY_BASE = process.env.PASSKEY_BASE_URL ?? process.env.BASE_URL ?? "http://localhost:3000";
export const PASSKEY_DB = path.resolve(
  __dirname,
  "..",
  "..",
  process.env.PASSKEY_DB ?? "target/e2e.db",
);

/** How many sign-in messages (notices aside) to `email` the outbox holds. */
export function mailCount(email: string): number {
  if (!existsSync(outbox)) return 0;
  return readdirSync(outbox)
    .filter((f) => f.endsWith(".eml"))
    .filter((f) => isTo(readFileSync(path.join(outbox, f), "utf8"), email, false))
    .length;
}
