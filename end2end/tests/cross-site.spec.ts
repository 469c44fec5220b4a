import { expect, test } from "@playwright/test";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { newClient, readMail, requestLink, uniqueEmail } from "./fixtures";

/** A second local server on another origin, serving one page that auto-submits `form`. */
async function hostileSite(action: string, fields: Record<string, string>): Promise<{ url: string; close: () => void }> {
  const inputs = Object.entries(fields)
    .map(([name, value]) => `<input type="hidden" name="${name}" value="${value}">`)
    .join("");
  const page = `<!DOCTYPE html><html><body>
    <form id="f" method="POST" action="${action}">${inputs}</form>
    <script>document.getElementById("f").submit();</script>
  </body></html>`;
  const server = http.createServer((_, response) => {
    response.writeHead(200, { "Content-Type": "text/html" });
    response.end(page);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  // 127.0.0.1 is another site than localhost, where the app runs.
  return { url: `http://127.0.0.1:${port}/`, close: () => server.close() };
}

test("a page on another site that posts an attacker's token leaves the visitor signed out", async ({ browser, baseURL }) => {
  // The attacker asks for a link to their own address, and keeps its token.
  const attacker = await newClient(browser);
  const attackerEmail = uniqueEmail("attacker");
  await requestLink(await attacker.newPage(), attackerEmail);
  const mail = await readMail(attackerEmail);
  const token = new URL(mail.link).searchParams.get("token") ?? "";
  expect(token).toHaveLength(43);

  // The visitor opens the attacker's page, which submits the token to redeem at once.
  const site = await hostileSite(`${baseURL}/api/auth/redeem`, { token, redir: "/account" });
  const visitor = await newClient(browser);
  const page = await visitor.newPage();
  try {
    await page.goto(site.url);
    await expect(page.getByText("This request came from another site")).toBeVisible();
    expect(new URL(page.url()).origin).toBe(new URL(baseURL ?? "").origin);
  } finally {
    site.close();
  }
  const cookies = await visitor.cookies();
  expect(cookies.map((c) => c.name)).not.toContain("session");
  const session = await page.request.post("/api/auth/session");
  expect(await session.text()).toBe("null");
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Enter your email to log in" })).toBeVisible();

  // The refused token was not used up: it still signs the attacker in on the site itself.
  const attackerPage = await attacker.newPage();
  await attackerPage.goto(mail.link);
  await expect(attackerPage.getByRole("heading", { name: "Welcome back!" })).toBeVisible();
  await attacker.close();
  await visitor.close();
});

test("a page on another site cannot ask for a link in the visitor's browser", async ({ browser, baseURL }) => {
  const email = uniqueEmail("planted");
  const site = await hostileSite(`${baseURL}/api/auth/request`, { email });
  const visitor = await newClient(browser);
  const page = await visitor.newPage();
  try {
    await page.goto(site.url);
    await expect(page.getByText("This request came from another site")).toBeVisible();
  } finally {
    site.close();
  }
  const cookies = await visitor.cookies();
  expect(cookies.map((c) => c.name)).not.toContain("pending-sign-in");
  await visitor.close();
});
