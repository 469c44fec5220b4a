import { expect, test, type Browser, type BrowserContext, type Page } from "@playwright/test";
import { newClient, readMail, requestLink, uniqueEmail, waitForHydration } from "./fixtures";

const welcome = (page: Page) => page.getByRole("heading", { name: "Welcome back!" });
const login = (page: Page) => page.getByRole("heading", { name: "Enter your email to log in" });

const PHONE =
  "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36";

/** A new browser context signed in as `email` through the emailed link. */
async function signedIn(
  browser: Browser,
  email: string,
  viewport: { width: number; height: number } | null | undefined,
  userAgent?: string,
) {
  const context: BrowserContext = await newClient(browser, { viewport, userAgent });
  const page = await context.newPage();
  await requestLink(page, email);
  const mail = await readMail(email);
  await page.goto(mail.link);
  await expect(welcome(page)).toBeVisible();
  return { context, page };
}

test("the sessions page lists both browsers, signs the other out, then signs out everywhere", async ({ browser }, testInfo) => {
  const email = uniqueEmail("account");
  const viewport = testInfo.project.use.viewport;
  const laptop = await signedIn(browser, email, viewport);
  const phone = await signedIn(browser, email, viewport, PHONE);

  // Reached from the welcome card.
  await waitForHydration(laptop.page);
  await laptop.page.getByRole("link", { name: "Your sessions" }).click();
  await expect(laptop.page).toHaveURL("/account");
  await expect(laptop.page.getByRole("heading", { name: "Your sessions" })).toBeVisible();
  const rows = laptop.page.locator("li.session");
  await expect(rows).toHaveCount(2);
  // Newest first: the phone, then this browser (headless Chromium on Linux).
  await expect(rows.first()).toContainText("Chrome on Android");
  await expect(rows.first()).not.toContainText("This device");
  const here = laptop.page.locator('li.session[data-current="true"]');
  await expect(here).toContainText("This device");
  await expect(here).toContainText("Chrome on Linux");
  await expect(here).toContainText(/198\.18\.\d+\.\d+ · Signed in \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
  await laptop.page.screenshot({ path: testInfo.outputPath("account.png"), fullPage: true });

  // Sign the phone out from the laptop.
  await waitForHydration(laptop.page);
  await laptop.page
    .locator('li.session[data-current="false"]')
    .getByRole("button", { name: /^Sign out/ })
    .click();
  await expect(rows).toHaveCount(1);
  // The activity list on the same page shows it, without a reload.
  const activity = laptop.page.getByRole("region", { name: "Recent activity" });
  await expect(activity.locator("li.event").first()).toContainText("Another session signed out");
  await phone.page.reload();
  await expect(login(phone.page)).toBeVisible();

  // Then everywhere, this browser included.
  await laptop.page.getByRole("button", { name: "Sign out everywhere" }).click();
  await expect(login(laptop.page)).toBeVisible();
  await laptop.page.goto("/account");
  await expect(login(laptop.page)).toBeVisible();
  await expect(laptop.page).toHaveURL(/\?redir=%2Faccount$/);

  await laptop.context.close();
  await phone.context.close();
});

test("the sessions page asks a signed-out visitor to sign in first, and brings them back", async ({ browser }) => {
  const context = await newClient(browser);
  const page = await context.newPage();
  await page.goto("/account");
  await expect(login(page)).toBeVisible();
  const email = uniqueEmail("back");
  await waitForHydration(page);
  await page.getByLabel("Email address").fill(email);
  await page.getByRole("button", { name: "Send Magic Link" }).click();
  await expect(page.getByRole("heading", { name: "Check your email for a magic link!" })).toBeVisible();
  await page.goto((await readMail(email)).link);
  await expect(page.getByRole("heading", { name: "Your sessions" })).toBeVisible();
  await context.close();
});

test("signing out this browser's own session from its row signs it out", async ({ browser }, testInfo) => {
  const { context, page } = await signedIn(browser, uniqueEmail("own"), testInfo.project.use.viewport);
  await page.goto("/account");
  await waitForHydration(page);
  await page.locator('li.session[data-current="true"]').getByRole("button", { name: /^Sign out/ }).click();
  await expect(login(page)).toBeVisible();
  await page.goto("/account");
  await expect(login(page)).toBeVisible();
  await context.close();
});

test("a person sees their activity, deletes their account and lands signed out", async ({ browser }, testInfo) => {
  const email = uniqueEmail("delete");
  const viewport = testInfo.project.use.viewport;
  const { context, page } = await signedIn(browser, email, viewport);
  await page.goto("/account");
  await waitForHydration(page);
  // Recent activity: the link asked for, and the sign-in with it.
  const activity = page.getByRole("region", { name: "Recent activity" });
  await expect(activity.locator("li.event").first()).toContainText("Signed in with a link");
  await expect(activity).toContainText("Sign-in link requested");
  await expect(activity).toContainText(/\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC · Chrome on Linux · 198\.18\.\d+\.0\/24/);
  await activity.screenshot({ path: testInfo.outputPath("activity.png") });
  const card = page.getByRole("region", { name: "Delete your account" });
  await expect(card).toBeVisible();
  // The address must be typed: anything else is refused, and nothing happens.
  await card.getByLabel("Type your email address to confirm").fill("someone-else@example.com");
  await card.getByRole("button", { name: "Delete my account" }).click();
  await expect(card.getByText("Type your email address exactly to confirm.")).toBeVisible();
  await card.getByLabel("Type your email address to confirm").fill(email);
  await card.screenshot({ path: testInfo.outputPath("delete-account.png") });
  await card.getByRole("button", { name: "Delete my account" }).click();
  await expect(login(page)).toBeVisible();
  await expect(page.getByRole("status")).toContainText("Your account is deleted");
  await page.screenshot({ path: testInfo.outputPath("account-deleted.png"), fullPage: true });
  // The account page now asks to sign in, and the confirmation is in the inbox.
  await page.goto("/account");
  await expect(login(page)).toBeVisible();
  const told = await readMail(email);
  expect(told.text).toContain("account is deleted");
  await context.close();
});

test("a person moves their account to a new address, and the old address moves it back", async ({ browser }, testInfo) => {
  const email = uniqueEmail("move");
  const newEmail = uniqueEmail("moved");
  const viewport = testInfo.project.use.viewport;
  const { context, page } = await signedIn(browser, email, viewport);
  await page.goto("/account");
  await waitForHydration(page);
  const card = page.getByRole("region", { name: "Change your email address" });
  await expect(card).toContainText(`signing in with ${email} starts a new, empty account`);
  await card.getByLabel("New email address").fill(email);
  await card.getByRole("button", { name: "Send a confirmation link" }).click();
  await expect(card.getByText("That is already your email address.")).toBeVisible();
  await card.getByLabel("New email address").fill(newEmail);
  await card.getByRole("button", { name: "Send a confirmation link" }).click();
  await expect(card.getByRole("status")).toContainText("We sent a link to");
  await card.screenshot({ path: testInfo.outputPath("change-email.png") });

  // The link in the new mailbox asks before it moves anything.
  const confirm = await readMail(newEmail);
  expect(confirm.text).toContain(email);
  await page.goto(confirm.link);
  await expect(page.getByRole("heading", { name: `Use ${newEmail} for your account?` })).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath("change-email-confirm.png"), fullPage: true });
  await page.getByRole("button", { name: "Use this address" }).click();
  await expect(page.getByRole("heading", { name: "Your email address is changed" })).toBeVisible();
  await expect(page.getByRole("status")).toContainText("Its sessions, passkeys and sign-in history moved with it.");

  // Still signed in, now as the new address, with the move in the activity.
  await page.goto("/account");
  await expect(page.getByRole("region", { name: "Change your email address" })).toContainText(newEmail);
  const activity = page.getByRole("region", { name: "Recent activity" });
  await expect(activity.locator("li.event").first()).toContainText("Email address changed");
  await expect(activity).toContainText("Signed in with a link");

  // The old address is told, and its link moves the account back and signs out everywhere.
  const told = await readMail(email);
  expect(told.text).toContain(newEmail);
  await page.goto(told.link);
  await expect(page.getByRole("heading", { name: `Move your account back to ${email}?` })).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath("change-email-undo.png"), fullPage: true });
  await page.getByRole("button", { name: "Move it back and sign out everywhere" }).click();
  await expect(page.getByRole("heading", { name: "Your account is back" })).toBeVisible();
  await expect(page.getByRole("status")).toContainText("every session of it has ended (1 session)");
  await page.goto("/account");
  await expect(login(page)).toBeVisible();
  await context.close();
});
