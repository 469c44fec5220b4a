import { expect, type Page } from "@playwright/test";

/** Waits until the wasm has hydrated the page: clicks before that hit dead buttons. */
export async function waitForHydration(page: Page): Promise<void> {
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
}
