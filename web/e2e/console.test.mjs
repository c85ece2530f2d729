// End-to-end: a person registers, builds two code agents and a workflow with a
// parallel branch, runs it and watches it complete live, creates an API key
// (shown once) and logs out — in Debian's chromium against `turbocat dev` on a
// fresh database. Every page is screenshotted and checked with axe-core.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { axe, launchBrowser, openPage, shot, startStack } from "./harness.mjs";


const AGENT_A = `function main(input, ctx) {
  console.log("hello from " + input.label);
  return { label: input.label, seen: true };
}
`;
const AGENT_B = `function main(input) {
  console.log("joining " + JSON.stringify(input));
  return { joined: [input.left, input.right].join("+") };
}
`;

/** settle waits until the canvas stops moving (its fit after a change of the graph). */
async function settle(page) {
  const where = () =>
    page.evaluate(() => document.querySelector(".react-flow__viewport")?.getAttribute("style") ?? "");
  let last = await where();
  for (let i = 0; i < 40; i++) {
    await page.waitForTimeout(100);
    const now = await where();
    if (now === last) return;
    last = now;
  }
}

describe("turbocat console", { timeout: 300_000 }, () => {
  let stack;
  let browser;
  let page;
  const violations = {};
  const pageErrors = [];
  const email = `ada+${Date.now()}@example.com`;
  const visited = {};
  let password = "correct horse battery";

  const check = async (name) => {
    await shot(page, name);
    const v = await axe(page, name);
    if (v.length) violations[name] = v;
  };
  const heading = (name) => page.getByRole("heading", { level: 1, name }).waitFor();

  before(async () => {
    stack = await startStack();
    if (!stack.embedded) console.log("# note: turbocat dev does not serve the console at / yet; web.Handler() is served by e2e/consoleproxy");
    browser = await launchBrowser();
    page = await openPage(browser, pageErrors);
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  test("register a new account", async () => {
    await page.goto(stack.baseURL + "/");
    await page.waitForURL(/\/login/);
    await heading("Sign in to Turbocat");
    await check("01-login");

    await page.getByRole("link", { name: "Create an account" }).click();
    await heading("Create your account");
    // The API's validation message is shown at the field.
    await page.getByLabel("Email").fill("not-an-email");
    await page.getByLabel("Password").fill("short");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.locator("#" + (await page.getByLabel("Password").getAttribute("id")) + "-error").waitFor();
    await check("02-register-errors");

    await page.getByLabel("Full name").fill("Ada Lovelace");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Create account" }).click();
    await heading("Dashboard");
    await page.getByText("Get started").waitFor();
    await check("03-dashboard-new");
  });

  test("create two code agents and test-run one", async () => {
    await page.getByRole("link", { name: "Agents", exact: true }).click();
    await heading("Agents");
    await page.getByText("No agents yet").waitFor();
    await check("04-agents-empty");

    for (const [name, source] of [
      ["greeter", AGENT_A],
      ["joiner", AGENT_B],
    ]) {
      await page.goto(stack.baseURL + "/agents");
      await page.getByRole("link", { name: "New agent", exact: true }).first().click();
      await heading("New agent");
      await page.getByLabel("Name").fill(name);
      await page.getByLabel("Source").fill(source);
      await page.getByRole("button", { name: "Create agent" }).click();
      await heading(`Agent: ${name}`);
      await page.getByText("Agent created").waitFor();
    }
    await page.getByLabel("Sample input (JSON)").fill('{"left": "L", "right": "R"}');
    await page.getByRole("button", { name: "Run test" }).click();
    const result = page.getByTestId("test-result");
    await result.getByText("Succeeded").waitFor();
    assert.match(await result.innerText(), /"joined": "L\+R"/);
    await check("05-agent-test-run");

    await page.goto(stack.baseURL + "/agents");
    await page.getByRole("link", { name: "greeter" }).waitFor();
    assert.equal(await page.getByRole("listitem").filter({ has: page.getByRole("link") }).locator("a[href*='/agents/edit?id=']").count(), 2);
    await check("06-agents-list");
  });

  test("a code agent that does not compile is refused at its line", async () => {
    await page.goto(stack.baseURL + "/agents/edit");
    await heading("New agent");
    await page.getByLabel("Name").fill("broken");
    await page.getByLabel("Source").fill("function main(input) {\n  return input +;\n}\n");
    await page.getByRole("button", { name: "Create agent" }).click();
    await page.getByText("line 2, column 17: SyntaxError").first().waitFor();
    // The editor marks the line the API named.
    await page.locator('[data-testid="editor-Source"][data-error-line="2"] .cm-lintRange-error').first().waitFor();
    await check("06b-agent-compile-error");
  });

  test("build a workflow with a parallel branch on the canvas", async () => {
    await page.goto(stack.baseURL + "/workflows");
    await page.getByText("No workflows yet").waitFor();
    await check("07-workflows-empty");
    await page.getByRole("link", { name: "New workflow", exact: true }).first().click();
    await heading("New workflow");
    await page.getByLabel("Name", { exact: true }).fill("fan-out");
    await page.getByLabel("Description").fill("start, then left and right in parallel, then join");

    const panel = page.getByRole("complementary", { name: "Step settings" });
    const steps = [
      { key: "start", agent: "greeter", inputs: { label: "start" } },
      { key: "left", agent: "greeter", inputs: { label: "left" } },
      { key: "right", agent: "greeter", inputs: { label: "right" } },
      { key: "join", agent: "joiner", inputs: { left: "{{steps.left.output.label}}", right: "{{steps.right.output.label}}" } },
    ];
    // Each new step is added after the selected one, selected, and edited in the side panel.
    for (const st of steps) {
      await page.getByRole("button", { name: "Add step" }).click();
      await panel.getByLabel("Key").fill(st.key);
      await panel.getByLabel("Agent").selectOption({ label: `${st.agent} (code)` });
      await panel.getByLabel("Inputs (JSON)").fill(JSON.stringify(st.inputs));
      await page.getByTestId(`node-${st.key}`).waitFor();
    }
    // right was added after left: it should follow start instead.
    await page.getByTestId("node-right").click();
    const deps = panel.getByRole("group", { name: "Depends on" });
    await deps.getByRole("checkbox", { name: "left", exact: true }).setChecked(false);
    await deps.getByRole("checkbox", { name: "start", exact: true }).setChecked(true);
    // join follows right; connect left to it by dragging on the canvas.
    await settle(page);
    const src = await page.getByTestId("node-left").locator(".react-flow__handle.source").boundingBox();
    const dst = await page.getByTestId("node-join").locator(".react-flow__handle.target").boundingBox();
    await page.mouse.move(src.x + src.width / 2, src.y + src.height / 2);
    await page.mouse.down();
    await page.mouse.move(dst.x + dst.width / 2, dst.y + dst.height / 2, { steps: 12 });
    await page.mouse.up();
    await page.getByTestId("node-join").click();
    assert.ok(await deps.getByRole("checkbox", { name: "left", exact: true }).isChecked(), "the dragged connection makes join depend on left");
    assert.ok(await deps.getByRole("checkbox", { name: "right", exact: true }).isChecked());
    assert.equal(await page.locator(".react-flow__edge").count(), 4);

    // The layout: left and right in one column (a parallel branch), start before, join after.
    const box = async (k) => page.getByTestId(`node-${k}`).boundingBox();
    const [bs, bl, br, bj] = [await box("start"), await box("left"), await box("right"), await box("join")];
    assert.ok(Math.abs(bl.x - br.x) < 1, `left (${bl.x}) and right (${br.x}) share a column`);
    assert.ok(bs.x < bl.x && bl.x < bj.x);
    // Zoom and fit.
    await page.getByRole("button", { name: /zoom in/i }).click();
    await page.getByRole("button", { name: /fit view/i }).click();

    // A validation error from the API lands at the step it concerns.
    await page.getByTestId("node-left").click();
    await panel.getByLabel("Key").fill("2-bad key");
    await page.getByRole("button", { name: "Create workflow" }).click();
    await panel.getByRole("alert").first().waitFor();
    await page.getByRole("button", { name: "Fix step 2-bad key" }).waitFor();
    assert.match(await page.getByTestId("node-2-bad key").getAttribute("class"), /border-red-600/);
    await check("08-workflow-step-error");
    // Renaming it back keeps join's dependency (renamed with it).
    await panel.getByLabel("Key").fill("left");

    await page.getByRole("button", { name: "Create workflow" }).click();
    await page.getByText("Workflow created").waitFor();
    await heading("Workflow: fan-out");
    await page.waitForURL(/\/workflows\/edit\?id=/);
    visited.workflow = page.url();
    await page.getByTestId("node-join").click();
    assert.ok(await deps.getByRole("checkbox", { name: "left", exact: true }).isChecked());
    await check("09-workflow-editor");
  });

  test("run it and watch the execution complete live", async () => {
    const streams = [];
    const onResponse = (r) => {
      if (r.url().includes("/logs?follow=true")) streams.push({ status: r.status(), type: r.headers()["content-type"] });
    };
    page.on("response", onResponse);
    await page.getByRole("button", { name: /^Run version 1$/ }).click();
    await page.waitForURL(/\/executions\/view\?id=/);
    await page.getByRole("heading", { level: 1, name: /^Execution / }).waitFor();
    visited.execution = page.url();
    await page.getByTestId("execution-status").and(page.locator('[data-status="completed"]')).waitFor({ timeout: 90_000 });
    for (const k of ["start", "left", "right", "join"]) {
      const out = page.getByTestId(`step-output-${k}`);
      await out.waitFor();
      if (k === "join") assert.match(await out.innerText(), /"joined": "left\+right"/);
      else assert.match(await out.innerText(), new RegExp(`"label": "${k}"`));
      // The canvas colours each step by status, with its duration.
      // React Flow hides a node (visibility: hidden) until it has measured it
      // again after an update, so wait for it to be shown rather than read it
      // at once.
      await page
        .locator(`[data-testid="node-${k}"][data-status="completed"]`)
        .filter({ hasText: /completed · \d/ })
        .waitFor();
      await page.getByTestId(`timeline-${k}`).waitFor();
    }
    const logs = page.getByTestId("logs");
    await logs.getByText("hello from right").waitFor();
    await logs.getByText("joining").waitFor();
    page.off("response", onResponse);
    // The log was read from the server-sent event stream, not by polling.
    assert.ok(streams.length >= 1, "the execution page never opened the log stream");
    assert.equal(streams[0].status, 200);
    assert.match(streams[0].type, /^text\/event-stream/);
    await check("10-execution-completed");

    await page.getByRole("link", { name: "All executions" }).click();
    await heading("Executions");
    await page.getByRole("row").filter({ hasText: "completed" }).first().waitFor();
    await check("11-executions-list");

    await page.getByRole("link", { name: "Dashboard" }).click();
    await heading("Dashboard");
    await page.getByText("Recent executions").waitFor();
    // Model spend comes from /api/v1/usage: these runs called no model.
    const spend = page.getByTestId("model-spend");
    await spend.getByText("This month: $0.00").waitFor();
    await spend.getByText("No model calls in the last 7 days.").waitFor();
    await check("12-dashboard");
  });

  test("cancel a running execution and retry it", async () => {
    // Set up through the API as the same user: a step that keeps running for a while.
    const call = async (method, route, body, token) => {
      const res = await fetch(stack.baseURL + route, {
        method,
        headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      const json = await res.json();
      assert.ok(json.success, `${method} ${route}: ${JSON.stringify(json.error)}`);
      return json.data;
    };
    const { accessToken } = await call("POST", "/api/v1/auth/login", { email, password });
    const agent = await call(
      "POST",
      "/api/v1/agents",
      {
        name: "sleeper",
        type: "code",
        config: { source: "function main() { const end = Date.now() + 8000; while (Date.now() < end) {} return {}; }" },
      },
      accessToken,
    );
    const wf = await call(
      "POST",
      "/api/v1/workflows",
      {
        name: "slow",
        inputSchema: {
          type: "object",
          required: ["who"],
          properties: { who: { type: "string", description: "Who is napping" } },
        },
        steps: [{ key: "nap", agentId: agent.id, inputs: { who: "{{inputs.who}}" } }],
      },
      accessToken,
    );

    await page.goto(`${stack.baseURL}/workflows/edit?id=${wf.id}`);
    await heading("Workflow: slow");
    // The run form is built from the workflow's inputSchema.
    await page.getByLabel("who (required)").fill("the cat");
    await page.getByRole("button", { name: /^Run version 1$/ }).click();
    await page.waitForURL(/\/executions\/view\?id=/);
    const firstURL = page.url();
    await page.getByText('"who": "the cat"').first().waitFor();
    await page.getByRole("button", { name: "Cancel run" }).click();
    await page.getByTestId("execution-status").and(page.locator('[data-status="cancelled"]')).waitFor();
    await check("10b-execution-cancelled");
    await page.getByRole("button", { name: "Retry failed steps" }).click();
    await page.waitForURL((u) => u.href !== firstURL && u.href.includes("/executions/view?id="));
    // The new run is a retry (its trigger), and it runs.
    await page.getByText(/v1 · retry/).waitFor();
    await page.getByRole("link", { name: new URL(firstURL).searchParams.get("id").split("-")[0] }).waitFor();
    await page.getByTestId("execution-status").and(page.locator('[data-status="running"], [data-status="pending"], [data-status="completed"]')).waitFor();
    await check("10c-execution-retry");
    await page.getByRole("button", { name: "Cancel run" }).click().catch(() => undefined);
  });

  test("an expired access token is refreshed once and the request retried", async () => {
    let expired = 0;
    const refreshes = [];
    const agentLists = [];
    await page.route(/\/api\/v1\/agents\?/, async (route) => {
      agentLists.push(route.request().headers().authorization);
      if (expired++ === 0) {
        await route.fulfill({
          status: 401,
          contentType: "application/json",
          body: JSON.stringify({ success: false, error: { code: "TOKEN_EXPIRED", message: "access token expired" } }),
        });
      } else {
        await route.continue();
      }
    });
    const onRequest = (r) => r.url().endsWith("/api/v1/auth/refresh") && refreshes.push(r.url());
    page.on("request", onRequest);
    // Client-side navigation keeps the in-memory access token, which the route above declares expired.
    await page.getByRole("link", { name: "Agents", exact: true }).click();
    await heading("Agents");
    await page.getByRole("link", { name: "greeter" }).waitFor();
    page.off("request", onRequest);
    await page.unroute(/\/api\/v1\/agents\?/);
    assert.equal(refreshes.length, 1, "exactly one refresh");
    assert.equal(agentLists.length, 2, "the request was retried once");
    assert.notEqual(agentLists[0], agentLists[1], "the retry carries the new access token");
  });

  test("templates and deployments", async () => {
    await page.getByRole("link", { name: "Templates" }).click();
    await heading("Templates");
    const first = page.getByRole("button", { name: /^Use template / }).first();
    await first.click();
    await page.getByRole("status").filter({ hasText: "Created" }).waitFor();
    await check("13-templates");

    await page.getByRole("link", { name: "Deployments" }).click();
    await heading("Deployments");
    await page.getByText("Nothing deployed yet").waitFor();
    await check("14-deployments");
  });

  test("deploy a workflow, see its signing secret once, roll back and deactivate", async () => {
    await page.goto(visited.workflow);
    await heading("Workflow: fan-out");
    const deploy = page.getByRole("form", { name: "Deploy workflow" });

    // The API's validation message is shown at the field.
    await deploy.getByLabel("Environment").fill("Prod!");
    await deploy.getByRole("button", { name: /^Deploy version / }).click();
    const envId = await deploy.getByLabel("Environment").getAttribute("id");
    await page.locator(`#${envId}-error`).waitFor();
    assert.equal(await deploy.getByLabel("Environment").getAttribute("aria-invalid"), "true");

    const deployOnce = async () => {
      await deploy.getByLabel("Environment").fill("prod");
      // A cron schedule: the console computes no cron fire times itself, so
      // those shown on the deployments page come from the API.
      await deploy.getByLabel("Deployment schedule (optional)").fill("cron(0 9 * * ? *)");
      await deploy.getByLabel("Time zone (optional)").fill("Europe/Paris");
      await deploy.getByRole("button", { name: /^Deploy version / }).click();
      await page.getByTestId("new-deployment").waitFor();
    };
    const v1 = Number((await deploy.getByRole("button", { name: /^Deploy version / }).innerText()).replace(/\D+/g, ""));
    await deployOnce();
    const first = (await page.getByTestId("signing-secret").innerText()).trim();
    assert.ok(first.length >= 16, `signing secret too short: ${first}`);
    await page.getByTestId("new-deployment").getByText("it will not be shown again").waitFor();
    await check("14b-deploy-secret");

    // A reload never shows the secret again.
    await page.reload();
    await heading("Workflow: fan-out");
    assert.equal(await page.getByTestId("signing-secret").count(), 0);
    assert.ok(!(await page.content()).includes(first), "the signing secret is shown again after a reload");

    // A run of the deployed environment, from the run form.
    const runForm = page.getByRole("form", { name: "Run workflow" });
    await runForm.getByLabel("Version to run").selectOption("prod");
    await runForm.getByRole("button", { name: "Run prod" }).click();
    await page.waitForURL(/\/executions\/view\?id=/);
    await page.getByTestId("execution-status").and(page.locator('[data-status="completed"]')).waitFor({ timeout: 90_000 });
    const prodRun = new URL(page.url()).searchParams.get("id");
    const login = await (await fetch(stack.baseURL + "/api/v1/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email, password }),
    })).json();
    const prodExec = await (await fetch(`${stack.baseURL}/api/v1/executions/${prodRun}`, {
      headers: { Authorization: `Bearer ${login.data.accessToken}` },
    })).json();
    assert.ok(prodExec.data.deploymentId, "the run is recorded with prod's deployment");
    assert.equal(prodExec.data.workflowVersion, v1);
    await page.goto(visited.workflow);
    await heading("Workflow: fan-out");

    // A second version deployed to prod keeps the first for rollback.
    await page.getByLabel("Description").fill("start, then left and right in parallel, then join (v2)");
    await page.getByRole("button", { name: "Save workflow" }).click();
    await page.getByText(/Saved as version \d+\./).waitFor();
    await deployOnce();
    // The environment keeps its webhook URL and secret: not shown again.
    await page.getByTestId("signing-secret-kept").waitFor();
    assert.equal(await page.getByTestId("signing-secret").count(), 0);
    assert.ok(!(await page.content()).includes(first), "a redeploy shows the signing secret again");

    await page.getByRole("link", { name: "Deployments", exact: true }).click();
    await heading("Deployments");
    const active = page.getByTestId("deployment-row").filter({ hasText: "active" }).filter({ hasNotText: "inactive" });
    const rollback = active.getByRole("button", { name: new RegExp(`^Roll back to v${v1}:`) });
    await rollback.waitFor();
    // Next fire times come from GET /deployments/{id}: three of them, 09:00 in Paris.
    const fires = await active.getByTestId("next-fires").locator("time").evaluateAll((ts) => ts.map((t) => t.dateTime));
    assert.equal(fires.length, 3);
    for (const f of fires) {
      const paris = new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/Paris", hour: "2-digit", minute: "2-digit" }).format(new Date(f));
      assert.equal(paris, "09:00", `fire time ${f} is 09:00 in Europe/Paris`);
    }
    assert.ok(!(await page.content()).includes(first), "the deployments page shows no signing secret");
    await check("14c-deployments-active");

    await rollback.click();
    await page.getByRole("status").filter({ hasText: `Rolled prod back to version ${v1}.` }).waitFor();
    await active.filter({ hasText: `v${v1}` }).waitFor();
    await check("14d-deployments-rolled-back");

    const endpoint = await active.locator("code[title]").getAttribute("title");
    assert.match(endpoint, /^https?:\/\/.+\/hooks\//);
    // Deactivate asks first; cancelling changes nothing.
    await active.getByRole("button", { name: "Deactivate" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByText("Its webhook will answer 404").waitFor();
    await check("14e-deactivate-confirm");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "detached" });
    assert.equal(await page.getByText(/^Deactivated /).count(), 0);
    await active.getByRole("button", { name: "Deactivate" }).click();
    await dialog.getByRole("button", { name: "Deactivate" }).click();
    await page.getByRole("status").filter({ hasText: /^Deactivated prod/ }).waitFor();
    await page.getByTestId("deployment-row").getByRole("button", { name: "Deactivate" }).first().waitFor({ state: "detached" });
    assert.equal(await page.getByTestId("deployment-row").filter({ hasNotText: "inactive" }).count(), 0, "no deployment stays active");
    await check("14f-deployments-inactive");
    // Its webhook no longer starts runs.
    // (The same path on the server the test started: the URL names localhost.)
    const hook = await fetch(new URL(new URL(endpoint).pathname, stack.baseURL), { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
    assert.equal(hook.status, 404, `webhook of a deactivated deployment answers ${hook.status}`);
  });

  test("create an API key and see its secret once", async () => {
    await page.getByRole("link", { name: "Settings" }).click();
    await heading("Settings");
    await page.getByLabel("Key name").fill("ci");
    await page.getByRole("button", { name: "Create API key" }).click();
    const secret = await page.getByTestId("api-key-secret").innerText();
    assert.match(secret, /^tc_[0-9a-f]{12}_[0-9a-f]{72}$/);
    await page.getByTestId("api-key-row").filter({ hasText: secret.slice(0, 15) }).waitFor();
    await check("15-settings-api-key");

    // A reload resumes the session (refresh token) and never shows the secret again.
    await page.reload();
    await heading("Settings");
    await page.getByTestId("api-key-row").first().waitFor();
    assert.equal(await page.getByTestId("api-key-secret").count(), 0);
    assert.ok(!(await page.content()).includes(secret), "the key's secret is shown again after a reload");

    // The key works against the API, exactly as shown.
    const res = await fetch(stack.baseURL + "/api/v1/workflows", { headers: { Authorization: `Bearer ${secret}` } });
    assert.equal(res.status, 200);

    await page.getByLabel("Secret name").fill("E2E_TOKEN");
    await page.getByLabel("Secret value").fill("s3cr3t-value");
    await page.getByRole("button", { name: "Save secret" }).click();
    await page.getByText("Saved E2E_TOKEN.").waitFor();
    assert.ok(!(await page.content()).includes("s3cr3t-value"));
    await check("16-settings");

    // The profile: a new name is saved; a new email needs the password.
    const profile = page.getByRole("form", { name: "Profile" });
    await profile.getByLabel("Name").fill("E2E Platform Engineer");
    await profile.getByRole("button", { name: "Save profile" }).click();
    await profile.getByText("Profile saved.").waitFor();
    const originalEmail = await profile.getByLabel("Email").inputValue();
    await profile.getByLabel("Email").fill("renamed-" + originalEmail);
    await profile.getByLabel("Your password").fill("wrong password");
    await profile.getByRole("button", { name: "Save profile" }).click();
    await profile.getByText("must be your current password to change the email").waitFor();
    await profile.getByLabel("Email").fill(originalEmail);
    assert.equal(await profile.getByLabel("Your password").count(), 0, "the password field goes with the email change");
    await page.reload();
    await heading("Settings");
    assert.equal(await page.getByRole("form", { name: "Profile" }).getByLabel("Name").inputValue(), "E2E Platform Engineer");

    // Changing the password revokes every refresh token; the console signs in
    // again with the new one, so a reload still finds the session.
    await page.getByLabel("Current password").fill("wrong password");
    await page.getByLabel("New password").fill("a brand new passphrase");
    await page.getByRole("button", { name: "Change password" }).click();
    await page.getByText("does not match").waitFor();
    await page.getByLabel("Current password").fill(password);
    await page.getByRole("button", { name: "Change password" }).click();
    await page.getByText("Password changed.").waitFor();
    password = "a brand new passphrase";
    await page.reload();
    await heading("Settings");
  });

  test("works at a phone width", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      for (const [route, name, title] of [
        ["/", "17-phone-dashboard", "Dashboard"],
        ["/workflows", "18-phone-workflows", "Workflows"],
        ["/executions", "19-phone-executions", "Executions"],
        [visited.workflow, "20-phone-workflow-editor", "Workflow: fan-out"],
        [visited.execution, "21-phone-execution", /^Execution /],
      ]) {
        await page.goto(route.startsWith("http") ? route : stack.baseURL + route);
        await heading(title);
        await page.waitForLoadState("networkidle");
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `${route} scrolls sideways by ${overflow}px at 390px`);
        await check(name);
      }
      await page.getByRole("button", { name: "Menu" }).click();
      await page.getByRole("link", { name: "Agents", exact: true }).click();
      await heading("Agents");
    } finally {
      await page.setViewportSize({ width: 1280, height: 860 });
    }
  });

  test("a new tab shares the session (the refresh cookie)", async () => {
    const tab = await browser.context.newPage();
    try {
      await tab.goto(stack.baseURL + "/agents");
      await tab.getByRole("heading", { level: 1, name: "Agents" }).waitFor();
      assert.ok(!tab.url().includes("/login"), "a new tab is signed in");
      // No script can read the refresh token: it is an HttpOnly cookie scoped to the refresh route.
      assert.equal(await tab.evaluate(() => document.cookie.includes("turbocat_refresh")), false);
      const cookies = await browser.context.cookies(stack.baseURL + "/api/v1/auth/refresh");
      const c = cookies.find((x) => x.name === "turbocat_refresh");
      assert.ok(c, "the refresh cookie is set");
      assert.equal(c.httpOnly, true);
      assert.equal(c.secure, true);
      assert.equal(c.sameSite, "Strict");
      assert.equal(c.path, "/api/v1/auth/refresh");
    } finally {
      await tab.close();
    }
  });

  test("outbound webhooks: create one, see its deliveries", async () => {
    await page.getByRole("link", { name: "Webhooks" }).click();
    await heading("Webhooks");
    await page.getByText("No webhooks yet").waitFor();
    // A loopback endpoint: the SSRF guard refuses it, so the delivery fails without leaving the machine.
    await page.getByLabel("Endpoint URL").fill("http://127.0.0.1:9/turbocat");
    await page.getByRole("checkbox", { name: "execution.succeeded" }).check();
    await page.getByRole("button", { name: "Create webhook" }).click();
    const secret = (await page.getByTestId("webhook-secret").innerText()).trim();
    assert.ok(secret.length >= 16);
    await page.getByTestId("webhook-row").waitFor();
    // A run sends execution.succeeded: the delivery is listed with its attempts.
    await page.goto(visited.workflow);
    await heading("Workflow: fan-out");
    await page.getByRole("button", { name: /^Run version \d+$/ }).click();
    await page.waitForURL(/\/executions\/view\?id=/);
    await page.getByTestId("execution-status").and(page.locator('[data-status="completed"]')).waitFor({ timeout: 90_000 });
    await page.getByRole("link", { name: "Webhooks" }).click();
    await heading("Webhooks");
    const row = page.getByTestId("delivery-row").filter({ hasText: "execution.succeeded" }).first();
    for (let i = 0; i < 40 && !(await row.isVisible()); i++) {
      await page.getByRole("button", { name: "Refresh" }).click();
      await page.waitForTimeout(500);
    }
    await row.waitFor();
    assert.match(await row.innerText(), /execution\.succeeded\s+(pending|failed)\s+\d+/);
    assert.ok(!(await page.content()).includes(secret), "the webhook secret is not shown again");
    await check("16b-webhooks");
  });

  test("the audit log lists the changes", async () => {
    await page.getByRole("link", { name: "Audit log" }).click();
    await heading("Audit log");
    await page.getByTestId("audit-row").filter({ hasText: "workflow.create" }).first().waitFor();
    await page.getByLabel("Action").fill("agent.create");
    await page.getByTestId("audit-row").filter({ hasNotText: "agent.create" }).first().waitFor({ state: "detached" });
    await page.getByTestId("audit-row").first().waitFor();
    for (const text of await page.getByTestId("audit-row").allInnerTexts()) assert.match(text, /agent\.create/);
    await check("16c-audit-log");
  });

  test("delete an agent after confirming", async () => {
    await page.goto(stack.baseURL + "/agents");
    await page.getByRole("link", { name: "New agent", exact: true }).first().click();
    await heading("New agent");
    await page.getByLabel("Name").fill("throwaway");
    await page.getByLabel("Source").fill("function main(input) { return input; }");
    await page.getByRole("button", { name: "Create agent" }).click();
    await heading("Agent: throwaway");
    await page.getByRole("button", { name: "Delete agent" }).click();
    await page.getByRole("dialog").getByText("Delete throwaway?").waitFor();
    await page.getByRole("dialog").getByRole("button", { name: "Delete", exact: true }).click();
    await page.waitForURL(/\/agents\/?$/);
    await page.getByRole("link", { name: "greeter" }).waitFor();
    assert.equal(await page.getByRole("link", { name: "throwaway" }).count(), 0, "the deleted agent is gone from the list");
  });

  test("log out", async () => {
    await page.goto(stack.baseURL + "/settings");
    await heading("Settings");
    await page.getByRole("button", { name: "Log out" }).click();
    await page.waitForURL(/\/login/);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    assert.equal(await page.evaluate(() => localStorage.getItem("turbocat.signedIn")), null);
    const cookies = await browser.context.cookies(stack.baseURL + "/api/v1/auth/refresh");
    assert.equal(cookies.find((x) => x.name === "turbocat_refresh"), undefined, "log out clears the refresh cookie");
    await page.goto(stack.baseURL + "/agents");
    await page.waitForURL(/\/login/);
    await heading("Sign in to Turbocat");
  });

  test("no serious accessibility violations and no page errors", () => {
    assert.deepEqual(violations, {});
    assert.deepEqual(pageErrors, []);
  });
});
