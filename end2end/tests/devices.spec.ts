import { expect, test, type Page } from "@playwright/test";
import { newClient, readMail, requestLink, uniqueEmail, waitForHydration } from "./fixtures";

const welcome = (page: Page) => page.getByRole("heading", { name: "Welcome back!" });

/** What the new device's page shows: the address to open, and the number to pick. */
async function startRequest(page: Page): Promise<{ url: string; number: string }> {
  await page.getByRole("button", { name: "Show a code to scan" }).click();
  await expect(page.getByRole("img", { name: "QR code of the address below" })).toBeVisible();
  await expect(page.locator(".device-qr svg")).toBeVisible();
  const url = (await page.locator(".device-url code").textContent()) ?? "";
  const number = ((await page.locator(".device-number").textContent()) ?? "").trim();
  expect(url).toMatch(/\/approve\?code=[0-9A-Z]{5}-[0-9A-Z]{5}$/);
  expect(number).toMatch(/^\d{2}$/);
  return { url, number };
}

test("a second browser signs in by approval from the first; a wrong number ends its request", async ({ browser }, testInfo) => {
  const email = uniqueEmail("approve");
  const viewport = testInfo.project.use.viewport;
  // The first browser, signed in with the emailed link.
  const first = await newClient(browser, { viewport });
  const signedIn = await first.newPage();
  await requestLink(signedIn, email);
  await signedIn.goto((await readMail(email)).link);
  await expect(welcome(signedIn)).toBeVisible();

  // The second browser asks from the login page.
  const second = await newClient(browser, { viewport });
  const asking = await second.newPage();
  await asking.goto("/");
  await asking.getByRole("link", { name: "Sign in with another device" }).click();
  await expect(asking.getByRole("heading", { name: "Sign in with another device" })).toBeVisible();
  let request = await startRequest(asking);
  await waitForHydration(asking);
  await asking.screenshot({ path: testInfo.outputPath("device-sign-in.png"), fullPage: true });

  // The first browser opens the address, sees who asks, and picks a wrong number.
  await signedIn.goto(request.url);
  await expect(signedIn.getByRole("heading", { name: "Sign in another device?" })).toBeVisible();
  await expect(signedIn.locator(".device-asking")).toContainText(/Chrome on (Linux|Android)/);
  const picks = signedIn.locator(".device-picks button");
  await expect(picks).toHaveCount(3);
  await expect(picks.filter({ hasText: request.number })).toHaveCount(1);
  await signedIn.screenshot({ path: testInfo.outputPath("device-approve.png"), fullPage: true });
  const numbers = await picks.allTextContents();
  const wrong = numbers.map((n) => n.trim()).find((n) => n !== request.number) as string;
  await picks.filter({ hasText: wrong }).click();
  await expect(signedIn.getByRole("alert")).toContainText("That is not the number the other device shows");
  // The second browser notices by itself that its request has ended.
  await expect(asking.getByText("That request has ended")).toBeVisible({ timeout: 10_000 });

  // A new request, approved with the right number: the second browser is signed in.
  request = await startRequest(asking);
  await waitForHydration(asking);
  await signedIn.goto(request.url);
  await signedIn.locator(".device-picks button").filter({ hasText: request.number }).click();
  await expect(signedIn.getByRole("heading", { name: "Approved" })).toBeVisible();
  await expect(welcome(asking)).toBeVisible({ timeout: 10_000 });
  await expect(asking.getByRole("navigation", { name: "Account" })).toContainText(email);

  // The approving account's activity says so.
  await signedIn.goto("/account");
  const activity = signedIn.getByRole("region", { name: "Recent activity" });
  await expect(activity).toContainText("Signed in with approval from another device");
  await expect(activity).toContainText("Approved a sign-in on another device");
  await expect(activity).toContainText("Ended a sign-in request from another device (wrong number)");
  await first.close();
  await second.close();
});
