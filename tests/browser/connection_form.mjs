// Add a Looker connection through the Airflow UI in headless Chromium, press its Test button and
// print what the UI showed as one JSON object on stdout.
//
// Usage: node connection_form.mjs CONFIG_JSON
// CONFIG_JSON has airflowUrl, connId, host, port, login, password, timeout, verify, artifactsDir and
// optionally chromium (the browser executable, default /usr/bin/chromium).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

import { chromium } from "playwright-core";

const config = JSON.parse(process.argv[2]);
const STEP_TIMEOUT_MS = 30_000;
const profileDir = fs.mkdtempSync(path.join(os.tmpdir(), "looker-form-chromium-"));

const context = await chromium.launchPersistentContext(profileDir, {
  executablePath: config.chromium ?? "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
  viewport: { width: 1280, height: 900 },
});
context.setDefaultTimeout(STEP_TIMEOUT_MS);

const result = {};
try {
  const page = context.pages()[0] ?? (await context.newPage());
  const screenshot = (locator, name) => locator.screenshot({ path: path.join(config.artifactsDir, name) });

  await page.goto(`${config.airflowUrl}/connections`, { waitUntil: "networkidle" });
  await page.getByRole("button", { name: "Add Connection" }).click();
  const dialog = page.getByRole("dialog");

  // Standard fields, with the labels and placeholders the provider declares.
  await dialog.locator("input[name=connection_id]").fill(config.connId);
  await dialog.getByRole("combobox").fill("Looker");
  await page.keyboard.press("Enter");
  await dialog.locator("input[name=host]").waitFor();
  result.labels = (await dialog.locator("label").allInnerTexts()).map((text) => text.trim());
  result.hostPlaceholder = await dialog.locator("input[name=host]").getAttribute("placeholder");
  result.schemaFieldShown = (await dialog.locator("input[name=schema]").count()) > 0;
  await dialog.locator("input[name=host]").fill(config.host);
  await dialog.locator("input[name=port]").fill(String(config.port));
  await dialog.locator("input[name=login]").fill(config.login);
  await dialog.locator("input[name=password]").fill(config.password);
  await screenshot(dialog, "connection-form.png");

  // Extra fields; the accordion closes the standard fields when it opens these.
  await dialog.getByRole("button", { name: "Extra Fields", exact: true }).click();
  await dialog.locator("input[name=element_timeout]").fill(String(config.timeout));
  await dialog.locator("input[name=element_verify]").fill(config.verify);
  await dialog.locator("input[name=element_proxies]").click();
  await screenshot(dialog, "connection-form-extras.png");

  await dialog.getByRole("button", { name: "Save" }).click();
  const toasts = page.locator("[data-scope=toast][data-part=root]");
  const created = toasts.filter({ hasText: "Connection has been successfully created" });
  await created.waitFor();
  await dialog.waitFor({ state: "detached" });
  // The next screenshot shows only the Test button's toast.
  await page.mouse.move(0, 0);
  await created.waitFor({ state: "detached" });

  // The Test button of the connection's row in the list.
  const row = page.getByRole("row").filter({ hasText: config.connId });
  const answer = page.waitForResponse((response) => response.url().endsWith("/api/v2/connections/test"));
  await row.getByRole("button", { name: "Test Connection" }).click();
  const response = await answer;
  result.testHttpStatus = response.status();
  result.testAnswer = await response.json();
  const toast = toasts.filter({ hasText: "Test Connection" });
  await toast.waitFor();
  await page.mouse.move(0, 0);
  await toast.evaluate((element) => Promise.all(element.getAnimations({ subtree: true }).map((animation) => animation.finished)));
  result.toastText = (await toast.innerText()).trim();
  await screenshot(page, "connection-test.png");
} catch (error) {
  result.error = String(error?.stack ?? error);
} finally {
  await context.close();
  fs.rmSync(profileDir, { recursive: true, force: true });
}

process.stdout.write(JSON.stringify(result) + "\n");
process.exitCode = result.error ? 1 : 0;
