import { execFileSync } from "node:child_process";
import { expect, test, type CDPSession, type Page } from "@playwright/test";
import {
  PASSKEY_BASE,
  PASSKEY_DB,
  mailCount,
  newClient,
  readMail,
  requestLink,
  uniqueEmail,
  waitForHydration,
} from "./fixtures";

// Passkeys in real Chromium, with CDP's virtual authenticator standing in for the device's
// own (a platform authenticator with a resident key and user verification).
test.use({ baseURL: PASSKEY_BASE });
test.skip(
  /^https?:\/\/[\d.]+(:\d+)?\/?$/.test(PASSKEY_BASE),
  "against a server reached by IP address, set PASSKEY_BASE_URL to an instance on a name",
);

async function virtualAuthenticator(page: Page): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable", { enableUI: false });
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      ctap2Version: "ctap2_1",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}

/**
 * Makes every session of `email` look as if it signed in an hour ago (a stale session). The
 * write comes from outside the server, which reuses a session row it read within the last
 * second (`SESSION_REUSE_FOR`, SQLite only), so this waits that second out.
 */
async function ageSessions(email: string): Promise<void> {
  execFileSync("python3", [
    "-c",
    `import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE auth_session SET authenticated_at = datetime('now', '-1 hour') WHERE email = ?", (sys.argv[2],))
db.commit()`,
    PASSKEY_DB,
    email.toLowerCase(),
  ]);
  await new Promise((resolve) => setTimeout(resolve, 1_100));
}

const signedInAs = (page: Page) => page.getByTestId("signed-in-as");

test("the address `cargo leptos watch` prints lands on the public URL, where passkeys are offered", async ({
  page,
}) => {
  test.skip(!!process.env.BASE_URL, "the app's own listening address is known only when Playwright starts it");
  await page.goto("http://127.0.0.1:3000/check-your-email?email=a%40example.com");
  await expect(page).toHaveURL("http://localhost:3000/check-your-email?email=a%40example.com");
  await page.goto("http://127.0.0.1:3000/");
  await expect(page).toHaveURL("http://localhost:3000/");
  await waitForHydration(page);
  await expect(page.getByRole("button", { name: "Sign in with a passkey" })).toBeVisible();
  await expect(page.getByLabel("Email address")).toHaveAttribute("autocomplete", "username webauthn");
});

test("a passkey added after a link signs in without an email, is renamed, and deleted after a confirmation", async ({
  browser,
}, testInfo) => {
  const email = uniqueEmail("passkey");
  const context = await newClient(browser, { viewport: testInfo.project.use.viewport });
  // The virtual authenticator answers an autofill (conditional) request at once, where a
  // person would pick the passkey from the email field. To press the button instead, a page
  // can be made to report autofill as unsupported, as some browsers do.
  await context.addInitScript(() => {
    if (localStorage.getItem("no-passkey-autofill") === "1" && "PublicKeyCredential" in window) {
      PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);
    }
  });
  const page = await context.newPage();
  const { cdp, authenticatorId } = await virtualAuthenticator(page);
  // The whole flow runs under the page's Content-Security-Policy: the wasm calls WebAuthn
  // itself, with no script of its own. (The stale-session 403 is logged as a failed load, so
  // only violations and uncaught errors are counted.)
  const pageErrors: string[] = [];
  const violations: string[] = [];
  // Every console error, to explain an uncaught one (a debug build logs a panic's message).
  const consoleErrors: string[] = [];
  page.on("pageerror", (err) => pageErrors.push(err.message));
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    consoleErrors.push(message.text().slice(0, 800));
    if (/Content.Security.Policy|Refused to/i.test(message.text())) violations.push(message.text());
  });

  // 1. Sign in by link.
  await requestLink(page, email);
  const mail = await readMail(email);
  expect(mail.link.startsWith(`${PASSKEY_BASE}/`)).toBe(true);
  await page.goto(mail.link);
  await expect(signedInAs(page)).toHaveText(email);

  // 2. Add a passkey, named, on the account page.
  await page.goto("/account");
  await waitForHydration(page);
  await page.getByLabel("Name for the new passkey").fill("Test laptop");
  await page.getByRole("button", { name: "Add a passkey" }).click();
  const rows = page.locator('li[data-testid="passkey"]');
  await expect(rows).toHaveCount(1);
  await expect(rows.first().locator(".passkey-name")).toHaveText("Test laptop");
  // The activity list on the same page shows it, without a reload.
  const latest = page.getByRole("region", { name: "Recent activity" }).locator("li.event").first();
  await expect(latest).toContainText("Passkey added");
  await expect(rows.first()).toContainText("never used");
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  expect(credentials).toHaveLength(1);
  expect(credentials[0].isResidentCredential).toBe(true);
  // The user handle is random, not the address.
  expect(Buffer.from(credentials[0].userHandle ?? "", "base64").toString("utf8")).not.toContain("passkey-");
  await page.screenshot({ path: testInfo.outputPath("account-with-passkey.png"), fullPage: true });

  // 3. Sign out.
  await page.evaluate(() => localStorage.setItem("no-passkey-autofill", "1"));
  await page.reload();
  await waitForHydration(page);
  await page.getByRole("button", { name: "Logout" }).click();
  await expect(page.getByRole("heading", { name: "Enter your email to log in" })).toBeVisible();

  // 4. Sign in with the passkey: no address typed, no email sent.
  await waitForHydration(page);
  const mailsBefore = mailCount(email);
  const passkeyButton = page.getByRole("button", { name: "Sign in with a passkey" });
  await expect(passkeyButton).toBeVisible();
  await expect(page.getByLabel("Email address")).toHaveAttribute("autocomplete", "username webauthn");
  await page.screenshot({ path: testInfo.outputPath("login-with-passkey.png"), fullPage: true });
  await passkeyButton.click();
  await expect(signedInAs(page)).toHaveText(email);
  expect(mailCount(email)).toBe(mailsBefore);

  // 5. Rename the passkey.
  await page.goto("/account");
  await waitForHydration(page);
  await expect(rows.first()).toContainText("last used");
  await rows.first().getByLabel("New name").fill("Work laptop");
  await rows.first().getByRole("button", { name: "Rename" }).click();
  await expect(rows.first().locator(".passkey-name")).toHaveText("Work laptop");

  // 6. A stale session is asked to confirm before deleting; a passkey clears the prompt, and
  // the delete goes ahead.
  await ageSessions(email);
  await rows.first().getByRole("button", { name: "Delete Work laptop" }).click();
  const prompt = page.getByRole("group", { name: /Confirm it's you/ });
  await expect(prompt).toBeVisible();
  await expect(prompt.getByRole("button", { name: "Email me a code" })).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath("confirm-prompt.png"), fullPage: true });
  await prompt.getByRole("button", { name: "Confirm with a passkey" }).click();
  await expect(rows).toHaveCount(0);
  await expect(prompt).toBeHidden();
  await expect(page.getByText("No passkeys yet.")).toBeVisible();
  await expect(latest).toContainText("Passkey removed");

  // Autofill: with a passkey on the device, the login page's email field offers it, and
  // picking it (which the virtual authenticator does by itself) signs in without a click.
  await page.getByLabel("Name for the new passkey").fill("Phone");
  await page.getByRole("button", { name: "Add a passkey" }).click();
  await expect(rows).toHaveCount(1);
  await page.evaluate(() => localStorage.removeItem("no-passkey-autofill"));
  await page.reload();
  await waitForHydration(page);
  await page.getByRole("button", { name: "Logout" }).click();
  await expect(signedInAs(page)).toHaveText(email);
  expect(mailCount(email)).toBe(mailsBefore);
  expect(pageErrors, consoleErrors.join("\n")).toEqual([]);
  expect(violations).toEqual([]);
  await context.close();
});

test("without JavaScript the passkey buttons are absent and the link still signs in", async ({ browser }, testInfo) => {
  const email = uniqueEmail("passkey-nojs");
  const context = await newClient(browser, { javaScriptEnabled: false, viewport: testInfo.project.use.viewport });
  const page = await context.newPage();
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Enter your email to log in" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Sign in with a passkey" })).toHaveCount(0);
  await requestLink(page, email, { js: false });
  const mail = await readMail(email);
  await page.goto(mail.link);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(signedInAs(page)).toHaveText(email);
  await page.goto("/account");
  await expect(page.getByRole("heading", { name: "Passkeys" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Add a passkey" })).toHaveCount(0);
  await context.close();
});
