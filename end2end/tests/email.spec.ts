import { expect, test } from "@playwright/test";
import { newClient, readMail, requestLink, uniqueEmail } from "./fixtures";

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
