// End-to-end: control flow in the console (issue 15). A workflow with a
// conditional step that is skipped, a for-each over three items, a wait, an
// approval and a sub-workflow: its settings edited in the canvas's side
// panel (the validator's error at the field, the skip semantics next to
// `when`), run from the run form, seen waiting (and in the executions list
// filtered on waiting), approved in the UI, then completed with the skipped
// step styled skipped, the loop showing 3 iterations, and the child run
// linked both ways. Its own stack and database, like console.test.mjs.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { axe, launchBrowser, openPage, shot, startStack } from "./harness.mjs";

const ECHO = `function main(input) {
  console.log("echo " + JSON.stringify(input));
  return { got: input };
}
`;

describe("turbocat console: control flow", { timeout: 300_000 }, () => {
  let stack;
  let browser;
  let page;
  let token;
  let main;
  const violations = {};
  const pageErrors = [];
  const email = `grace+${Date.now()}@example.com`;
  const password = "correct horse battery";

  const check = async (name) => {
    await shot(page, name);
    const v = await axe(page, name);
    if (v.length) violations[name] = v;
  };
  const heading = (name) => page.getByRole("heading", { level: 1, name }).waitFor();
  const call = async (method, route, body) => {
    const res = await fetch(stack.baseURL + route, {
      method,
      headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = await res.json();
    assert.ok(json.success, `${method} ${route}: ${JSON.stringify(json.error)}`);
    return json.data;
  };
  /** node waits for a step's node to be shown with a status (React Flow hides nodes while it measures them). */
  const node = (key, status, hasText) => {
    let l = page.locator(`[data-testid="node-${key}"][data-status="${status}"]`);
    if (hasText) l = l.filter({ hasText });
    return l;
  };

  before(async () => {
    stack = await startStack();
    browser = await launchBrowser();
    page = await openPage(browser, pageErrors);
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  test("register, and set up agents and workflows through the API", async () => {
    await page.goto(stack.baseURL + "/register");
    await heading("Create your account");
    await page.getByLabel("Full name").fill("Grace Hopper");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(password);
    await page.getByRole("button", { name: "Create account" }).click();
    await heading("Dashboard");

    ({ accessToken: token } = await call("POST", "/api/v1/auth/login", { email, password }));
    const echo = await call("POST", "/api/v1/agents", { name: "echo", type: "code", config: { source: ECHO } });
    await call("POST", "/api/v1/workflows", {
      name: "child-flow",
      steps: [{ key: "inner", agentId: echo.id, inputs: { from: "{{inputs.from}}" } }],
    });
    // The parent: prepare, then each (a loop over inputs.items) and
    // maybe (to get a when condition in the editor), then the review
    // approval, then sub (a child run of child-flow) and finish.
    main = await call("POST", "/api/v1/workflows", {
      name: "flow-demo",
      steps: [
        { key: "prepare", agentId: echo.id, inputs: { items: "{{inputs.items}}" } },
        {
          key: "each",
          agentId: echo.id,
          dependsOn: ["prepare"],
          forEach: "{{inputs.items}}",
          maxConcurrency: 2,
          inputs: { item: "{{item}}", index: "{{index}}" },
        },
        { key: "maybe", agentId: echo.id, dependsOn: ["prepare"], inputs: { why: "only when asked" } },
        { key: "review", type: "approval", dependsOn: ["each", "maybe"], timeoutSeconds: 3600 },
        { key: "sub", type: "workflow", workflow: "child-flow", dependsOn: ["review"], inputs: { from: "flow-demo" } },
        { key: "finish", agentId: echo.id, dependsOn: ["sub"], inputs: { approvedBy: "{{steps.review.output.by}}" } },
      ],
    });
  });

  test("edit when, a wait step and its type in the side panel; the validator's error lands at the field", async () => {
    await page.goto(`${stack.baseURL}/workflows/edit?id=${main.id}`);
    await heading("Workflow: flow-demo");
    const panel = page.getByRole("complementary", { name: "Step settings" });
    // The loop and the step types are on the graph.
    await page.getByTestId("loop-each").filter({ hasText: "for each" }).waitFor();
    await page.getByTestId("node-review").filter({ hasText: "Approval" }).waitFor();
    await page.getByTestId("node-sub").filter({ hasText: "runs child-flow" }).waitFor();

    // A workflow step naming no workflow of ours: refused at its field.
    await page.getByTestId("node-sub").click();
    await panel.getByLabel("Workflow to run").fill("no-such-flow");
    await page.getByTestId("node-sub").filter({ hasText: "runs no-such-flow" }).waitFor();

    await page.getByTestId("node-maybe").click();
    // The skip semantics, in the backend's words, next to when.
    await panel.getByTestId("skip-semantics").filter({ hasText: "its output is null" }).waitFor();
    // A condition on a step that is not upstream: refused at the field.
    await panel.getByLabel("When (optional)").fill("steps.finish.output.got != null");
    await page.getByRole("button", { name: "Save workflow" }).click();
    const whenError = panel.locator("#" + (await panel.getByLabel("When (optional)").getAttribute("id")) + "-error");
    await whenError.filter({ hasText: /not upstream|unknown step|finish/ }).waitFor();
    await page.getByRole("button", { name: "Fix step maybe" }).waitFor();
    await check("f01-when-error");
    await page.getByRole("button", { name: "Fix step sub" }).click();
    const wfError = panel.locator("#" + (await panel.getByLabel("Workflow to run").getAttribute("id")) + "-error");
    await wfError.filter({ hasText: 'no workflow "no-such-flow"' }).waitFor();
    await panel.getByLabel("Workflow to run").fill("child-flow");
    await page.getByTestId("node-maybe").click();

    await panel.getByLabel("When (optional)").fill("inputs.urgent == true");
    // The conditional step's incoming edge is dashed and labelled when.
    await page.locator(".react-flow__edge.edge-when").first().waitFor();
    await page.getByTestId("when-maybe").waitFor();

    // A wait step after review, before sub: added, typed and timed in the panel.
    await page.getByTestId("node-review").click();
    await page.getByRole("button", { name: "Add step" }).click();
    await panel.getByLabel("Key").fill("pause");
    await panel.getByLabel("Type").selectOption("wait");
    await panel.getByLabel("Seconds").fill("1");
    await page.getByTestId("node-pause").filter({ hasText: "1 s" }).waitFor();
    await page.getByTestId("node-sub").click();
    const deps = panel.getByRole("group", { name: "Depends on" });
    await deps.getByRole("checkbox", { name: "review", exact: true }).setChecked(false);
    await deps.getByRole("checkbox", { name: "pause", exact: true }).setChecked(true);

    // finish continues the run on error: a badge on its node.
    await page.getByTestId("node-finish").click();
    await panel.getByLabel("On error").selectOption("continue");
    await page.getByTestId("node-finish").filter({ hasText: "continues on error" }).waitFor();

    await page.getByRole("button", { name: "Save workflow" }).click();
    await page.getByText("Saved as version 2").waitFor();
    await page.getByTestId("node-maybe").click();
    assert.equal(await panel.getByLabel("When (optional)").inputValue(), "inputs.urgent == true");
    await page.getByTestId("node-pause").click();
    assert.equal(await panel.getByLabel("Type").inputValue(), "wait");
    assert.equal(await panel.getByLabel("Seconds").inputValue(), "1");
    await check("f02-flow-editor");

    const saved = await call("GET", `/api/v1/workflows/${main.id}`);
    const byKey = Object.fromEntries(saved.steps.map((s) => [s.key, s]));
    assert.equal(byKey.maybe.when, "inputs.urgent == true");
    assert.equal(byKey.pause.type, "wait");
    assert.equal(byKey.pause.seconds, 1);
    assert.equal(byKey.pause.agentId ?? "", "", "a wait step carries no agent");
    assert.deepEqual(byKey.sub.dependsOn, ["pause"]);
    assert.equal(byKey.finish.onError, "continue");
    assert.equal(byKey.each.forEach, "{{inputs.items}}", "settings the panel did not touch are kept");
    assert.equal(byKey.each.maxConcurrency, 2);
    assert.equal(byKey.review.timeoutSeconds, 3600);
  });

  test("run it: it waits at the approval, is approved in the UI and completes", async () => {
    await page.getByLabel("Input (JSON object)").fill('{"items": ["a", "b", "c"], "urgent": false}');
    await page.getByRole("button", { name: /^Run version 2$/ }).click();
    await page.waitForURL(/\/executions\/view\?id=/);
    const runURL = page.url();
    const runId = new URL(runURL).searchParams.get("id");
    await page.getByTestId("execution-status").and(page.locator('[data-status="waiting"]')).waitFor({ timeout: 60_000 });
    const approval = page.getByTestId("approval-review");
    await approval.getByRole("button", { name: "Approve" }).waitFor();
    await node("review", "waiting", "waits").waitFor();
    await node("maybe", "skipped").waitFor();
    await check("f03-execution-waiting");

    // The dashboard says a run waits; its link lists the waiting runs.
    await page.getByRole("link", { name: "Dashboard" }).click();
    await heading("Dashboard");
    await page.getByTestId("waiting-runs").getByRole("link", { name: "1 run is waiting" }).click();
    await heading("Executions");
    await page.waitForURL(/status=waiting/);
    await page.locator("#filter-status").and(page.locator("select:has(option[value=waiting]:checked)")).waitFor();
    await page.getByRole("row").filter({ hasText: "waiting" }).filter({ hasText: "flow-demo" }).waitFor();
    // The list filter itself: completed runs are not among the waiting ones.
    await page.locator("#filter-status").selectOption("completed");
    await page.getByText("No execution matches").waitFor();
    await page.locator("#filter-status").selectOption("waiting");
    await page.getByRole("row").filter({ hasText: "flow-demo" }).waitFor();
    await page.getByRole("link", { name: runId.slice(0, 8) }).click();
    await page.waitForURL(/\/executions\/view\?id=/);

    await approval.getByLabel("Comment (optional)").fill("ship it");
    await approval.getByRole("button", { name: "Approve" }).click();
    await page.getByTestId("execution-status").and(page.locator('[data-status="completed"]')).waitFor({ timeout: 60_000 });
    await approval.waitFor({ state: "detached" });

    // The skipped step is drawn skipped, the loop with its three iterations.
    await node("maybe", "skipped", "skipped").waitFor();
    assert.match(await page.getByTestId("node-maybe").getAttribute("class"), /border-dashed/);
    await page.getByTestId("step-skipped-maybe").filter({ hasText: "condition is false" }).waitFor();
    await page.getByTestId("loop-each").filter({ hasText: "3/3 iterations" }).waitFor();
    await node("each", "completed", /completed · \d/).waitFor();
    await page.getByTestId("iterations-each").filter({ hasText: "3 iterations" }).waitFor();
    for (const i of [0, 1, 2]) {
      await page.getByTestId(`iteration-each-${i}`).filter({ hasText: "completed" }).waitFor();
      await page.getByTestId(`timeline-each[${i}]`).waitFor();
    }
    await page.getByTestId("step-output-each").filter({ hasText: '"item": "c"' }).waitFor();
    await page.getByTestId("step-output-review").filter({ hasText: '"comment": "ship it"' }).waitFor();
    assert.match(await page.getByTestId("step-output-review").innerText(), /"approved": true/);
    await page.getByTestId("step-card-review").getByTestId("decision").filter({ hasText: `Approved by ${email}` }).filter({ hasText: "ship it" }).waitFor();
    for (const k of ["prepare", "review", "pause", "sub", "finish"]) await node(k, "completed").waitFor();

    // The compiled definition: a Map for the loop, a Choice for the condition.
    await page.getByText("Compiled definition").click();
    const def = page.getByTestId("definition");
    await def.filter({ hasText: '"Type": "Map"' }).waitFor();
    assert.match(await def.innerText(), /"Type": "Choice"/);
    assert.match(await def.innerText(), /waitForTaskToken/);
    await check("f04-execution-completed");

    // The sub-workflow step links to its child run, which links back.
    await page.getByTestId("child-link-sub").filter({ hasText: "child run" }).click();
    await page.getByTestId("parent-link").filter({ hasText: runId.slice(0, 8) }).waitFor();
    await page.getByTestId("execution-status").and(page.locator('[data-status="completed"]')).waitFor();
    await page.getByTestId("step-output-inner").filter({ hasText: '"from": "flow-demo"' }).waitFor();
    await check("f05-child-execution");
    await page.getByTestId("parent-link").click();
    await page.waitForURL(runURL);
    await page.getByTestId("approval-review").waitFor({ state: "detached" });
  });

  test("rejecting fails the run at the approval", async () => {
    const run = await call("POST", `/api/v1/workflows/${main.id}/execute`, { input: { items: ["x"], urgent: true } });
    await page.goto(`${stack.baseURL}/executions/view?id=${run.executionId}`);
    const approval = page.getByTestId("approval-review");
    await approval.getByRole("button", { name: "Reject" }).waitFor({ timeout: 60_000 });
    // urgent: the conditional step ran this time.
    await node("maybe", "completed").waitFor();
    await page.getByTestId("loop-each").filter({ hasText: "1/1 iterations" }).waitFor();
    await approval.getByLabel("Comment (optional)").fill("not today");
    await approval.getByRole("button", { name: "Reject" }).click();
    await page.getByTestId("execution-status").and(page.locator('[data-status="failed"]')).waitFor({ timeout: 60_000 });
    await page.getByTestId("step-error-review").filter({ hasText: "Approval.Rejected" }).waitFor();
    await page.getByTestId("step-card-review").getByTestId("decision").filter({ hasText: "Rejected" }).filter({ hasText: "not today" }).waitFor();
    await node("review", "failed").waitFor();
  });

  test("no serious accessibility violation and no page error", () => {
    assert.deepEqual(violations, {}, `axe violations: ${JSON.stringify(violations, null, 2)}`);
    assert.deepEqual(pageErrors, []);
  });
});
