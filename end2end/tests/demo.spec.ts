import { expect, test } from "@playwright/test";
import { newClient, readMail, requestLink, uniqueEmail, waitForHydration } from "./fixtures";

test("the header and the dashboard show both ways of gating", async ({ browser }, testInfo) => {
  const context = await newClient(browser, { viewport: testInfo.project.use.viewport });
  const page = await context.newPage();

  // Signed out: the header offers "Sign in"; the dashboard sends to the login form and back,
  // and its server function answers 401 whatever the page does.
  await page.goto("/dashboard");
  await expect(page).toHaveURL(/\/\?redir=%2Fdashboard$/);
  await expect(page.getByRole("navigation", { name: "Account" }).getByRole("link", { name: "Sign in" })).toBeVisible();
  const denied = await context.request.post("/api/demo/profile");
  expect(denied.status()).toBe(401);
  expect(await denied.json()).toEqual({ error: "Sign in to continue." });

  // Signing in from there lands on the dashboard, which reads the demo's users row.
  const email = uniqueEmail("dashboard");
  await requestLink(page, email, { query: "?redir=%2Fdashboard" });
  const mail = await readMail(email);
  await page.goto(mail.link);
  await expect(page).toHaveURL("/dashboard");
  await expect(page.getByRole("heading", { name: "Dashboard" })).toBeVisible();
  const facts = page.locator("dl.facts");
  await expect(facts).toContainText(email);
  await expect(facts).toContainText(/First seen\s*\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC/);
  await expect(facts.locator("code")).toHaveText(/^[0-9a-f]{64}$/);
  const header = page.getByRole("navigation", { name: "Account" });
  await expect(header.getByTestId("signed-in-as")).toHaveText(email);
  await expect(header.getByRole("link", { name: "Account" })).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath("dashboard.png"), fullPage: true });

  // The header's Logout signs out, and the dashboard is gated again.
  await waitForHydration(page);
  await header.getByRole("button", { name: "Logout" }).click();
  await expect(header.getByRole("link", { name: "Sign in" })).toBeVisible();
  await page.goto("/dashboard");
  await expect(page).toHaveURL(/\/\?redir=%2Fdashboard$/);
  await context.close();
});

test("an address never breaks at its hyphen while a whole line could hold it", async ({ browser }, testInfo) => {
  const context = await newClient(browser, { viewport: testInfo.project.use.viewport });
  const page = await context.newPage();
  // Short enough for one line of a 390 px phone, with a hyphen to break at.
  const email = `e2e-${100000 + Math.floor(Math.random() * 900000)}@example.com`;
  await requestLink(page, email);
  await page.goto((await readMail(email)).link);
  await expect(page.getByRole("heading", { name: "Welcome back!" })).toBeVisible();
  for (const address of [page.locator(".card .address"), page.getByTestId("signed-in-as")]) {
    await expect(address).toHaveText(email);
    // One line: its height is one line's, however the words around it wrap.
    const lines = await address.evaluate((el) => el.getClientRects().length);
    expect(lines).toBe(1);
    const box = await address.boundingBox();
    const lineHeight = await address.evaluate((el) => parseFloat(getComputedStyle(el).lineHeight));
    expect(box?.height ?? 0).toBeLessThan(lineHeight * 1.5);
  }
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  expect(overflow).toBe(0);
  await page.screenshot({ path: testInfo.outputPath("welcome.png"), fullPage: true });
  await context.close();
});
