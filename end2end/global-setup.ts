// With BASE_URL, the tests run against a server started by hand: wait until it answers.
export default async function globalSetup(): Promise<void> {
  const base = process.env.BASE_URL ?? "http://localhost:3000";
  const deadline = Date.now() + 60_000;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${base}/healthz`);
      if (response.ok) return;
      lastError = new Error(`/healthz answered ${response.status}`);
    } catch (err) {
      lastError = err;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the server at ${base} did not become ready within 60 s: ${String(lastError)}`);
}
