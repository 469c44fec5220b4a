import { expect, test } from "@playwright/test";
import { newClient, readMail, requestLink, uniqueEmail, waitForHydration } from "./fixtures";

// The sign-in email's HTML part, rendered in Chromium at the project's width (1280 and 390 px),
// as a mail client that shows HTML would: one card, a working button, no sideways scrolling.
test("the sign-in email renders as one readable card", async ({ browser }, testInfo) => {
  const email = uniqueEmail("email");
  const context = await newClient(browser, { viewport: testInfo.project.use.viewport });
  const page = await context.newPage();
  await requestLink(page, email);
  const mail = await readMail(email);

  const viewer = await context.newPage();
  await viewer.setContent(mail.html);
  await expect(viewer.getByRole("heading", { name: "Sign in to Magic Link Auth" })).toBeVisible();
  const button = viewer.getByRole("link", { name: "Sign in", exact: true });
  await expect(button).toHaveAttribute("href", mail.link);
  await expect(viewer.getByText(mail.code, { exact: true })).toBeVisible();
  await expect(viewer.getByText(/Asked for from Chrome on \w+ at \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/)).toBeVisible();
  // Nothing is loaded from elsewhere, and nothing scrolls sideways.
  expect(await viewer.locator("img, link[rel=stylesheet], script").count()).toBe(0);
  const overflow = await viewer.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await viewer.screenshot({ path: testInfo.outputPath("sign-in-email.png"), fullPage: true });
  await context.close();
});

// The new-sign-in notice: a second browser on another network signs in, the address gets a
// notice, its HTML renders as one card at both widths, and its link signs everyone out after a
// press (the GET alone changes nothing, as a mail scanner's fetch must not).
test("a new device brings a notice whose link signs out everywhere", async ({ browser }, testInfo) => {
  const email = uniqueEmail("notice");
  const viewport = testInfo.project.use.viewport;
  const signIn = async (ip: string) => {
    const context = await newClient(browser, { viewport, ip });
    const page = await context.newPage();
    await requestLink(page, email);
    await page.goto((await readMail(email)).link);
    await expect(page.getByRole("heading", { name: "Welcome back!" })).toBeVisible();
    return { context, page };
  };
  // The same browser, on two networks: the second is a new device.
  const octet = 1 + Math.floor(Math.random() * 250);
  const first = await signIn(`198.19.1.${octet}`);
  const second = await signIn(`198.19.2.${octet}`);
  const notice = await readMail(email, true);
  expect(notice.link).toMatch(/\/sign-out-everywhere\?token=[\w-]{43}$/);

  const viewer = await first.context.newPage();
  await viewer.setContent(notice.html);
  await expect(viewer.getByRole("heading", { name: "New sign-in to your account" })).toBeVisible();
  await expect(viewer.getByText(/^Chrome on Linux$/)).toBeVisible();
  await expect(viewer.getByText("198.19.2.0/24", { exact: true })).toBeVisible();
  await expect(viewer.getByText(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/)).toBeVisible();
  const button = viewer.getByRole("link", { name: "Sign out everywhere", exact: true });
  await expect(button).toHaveAttribute("href", notice.link);
  expect(await viewer.locator("img, link[rel=stylesheet], script").count()).toBe(0);
  const overflow = await viewer.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await viewer.screenshot({ path: testInfo.outputPath("new-sign-in-email.png"), fullPage: true });

  // Opening the link asks first; both browsers are still signed in.
  await first.page.goto(notice.link);
  await waitForHydration(first.page);
  await expect(first.page.getByRole("heading", { name: "Sign out everywhere?" })).toBeVisible();
  await expect(first.page.getByRole("main").getByText(email)).toBeVisible();
  await first.page.screenshot({ path: testInfo.outputPath("sign-out-everywhere.png"), fullPage: true });
  await second.page.reload();
  await expect(second.page.getByRole("heading", { name: "Welcome back!" })).toBeVisible();

  // The press ends both sessions.
  await first.page.getByRole("button", { name: "Sign out everywhere" }).click();
  await expect(first.page.getByRole("heading", { name: "Signed out everywhere" })).toBeVisible();
  await expect(first.page.getByText("Every session has ended (2 sessions)")).toBeVisible();
  await second.page.reload();
  await expect(second.page.getByRole("heading", { name: "Enter your email to log in" })).toBeVisible();
  // And it works once.
  await first.page.goto(notice.link);
  await expect(first.page.getByRole("alert")).toContainText("invalid, used or expired");
  await first.context.close();
  await second.context.close();
});
