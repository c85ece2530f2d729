// End-to-end: an llm agent with a tool, in the console (issue 16). A local
// server speaking the OpenAI Chat Completions format asks for the code agent
// `double`, then streams its answer and holds the rest of it until the test
// has seen the first words in the execution view: the model's text shows in
// the step while it runs, the conversation shows turn by turn with the tool
// call and its result, and the dashboard's spend card counts the tokens.
// Its own stack and database, with loopback allowed to agents.

import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import { callAPI, checkPage, launchBrowser, openPage, registerInUI, startStack } from "./harness.mjs";

/** fakeModel is the OpenAI-format server; release() lets its stream finish. */
function fakeModel() {
  let release;
  const released = new Promise((r) => (release = r));
  const calls = [];
  const srv = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", async () => {
      calls.push(body);
      if (!body.includes('"role":"tool"')) {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(
          JSON.stringify({
            id: "c1",
            object: "chat.completion",
            created: 1,
            model: "gpt-4o-mini",
            choices: [
              {
                index: 0,
                message: { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "double", arguments: '{"n":21}' } }] },
                finish_reason: "tool_calls",
              },
            ],
            usage: { prompt_tokens: 400000, completion_tokens: 10000, total_tokens: 410000 },
          }),
        );
        return;
      }
      res.writeHead(200, { "Content-Type": "text/event-stream" });
      const chunk = (delta, finish) =>
        res.write(
          `data: ${JSON.stringify({ id: "c2", object: "chat.completion.chunk", created: 1, model: "gpt-4o-mini", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`,
        );
      chunk({ role: "assistant", content: "Twenty-one doubled " }, null);
      await Promise.race([released, new Promise((r) => setTimeout(r, 30_000))]);
      chunk({ content: "is 42." }, null);
      chunk({}, "stop");
      res.write(
        `data: ${JSON.stringify({ id: "c2", object: "chat.completion.chunk", created: 1, model: "gpt-4o-mini", choices: [], usage: { prompt_tokens: 600000, completion_tokens: 20000, total_tokens: 620000 } })}\n\n`,
      );
      res.end("data: [DONE]\n\n");
    });
  });
  return new Promise((resolve) => {
    srv.listen(0, "127.0.0.1", () => resolve({ url: `http://127.0.0.1:${srv.address().port}`, calls, release, close: () => srv.close() }));
  });
}

describe("turbocat console: an llm agent with tools", { timeout: 300_000 }, () => {
  let stack;
  let browser;
  let page;
  let model;
  let token;
  let run;
  const violations = {};
  const pageErrors = [];
  const check = (name) => checkPage(page, name, violations);
  const call = (method, route, body) => callAPI(stack.baseURL, token, method, route, body);

  before(async () => {
    model = await fakeModel();
    stack = await startStack({ env: { TURBOCAT_HTTP_ALLOW_CIDRS: "127.0.0.0/8" } });
    browser = await launchBrowser();
    page = await openPage(browser, pageErrors);
  });

  after(async () => {
    model?.release();
    await browser?.close();
    await stack?.stop();
    model?.close();
  });

  test("register, and set up a tool, an llm agent using it and a workflow", async () => {
    token = await registerInUI(page, stack.baseURL, "Ada Lovelace", `ada+${Date.now()}@example.com`, "correct horse battery");
    await call("POST", "/api/v1/agents", {
      name: "double",
      type: "code",
      description: "Doubles n",
      inputSchema: { type: "object", required: ["n"], properties: { n: { type: "number" } } },
      config: { source: "function main(input) { return { n: input.n * 2 }; }" },
    });
    const ask = await call("POST", "/api/v1/agents", {
      name: "ask",
      type: "llm",
      config: { provider: "openai", model: "gpt-4o-mini", baseUrl: `${model.url}/v1`, prompt: "Double 21.", tools: [{ agent: "double" }] },
    });
    const wf = await call("POST", "/api/v1/workflows", { name: "tool-demo", steps: [{ key: "ask", agentId: ask.id }] });
    run = await call("POST", `/api/v1/workflows/${wf.id}/execute`, {});
  });

  test("the model's text shows in its step while it writes; the conversation shows turn by turn", async () => {
    await page.goto(`${stack.baseURL}/executions/view?id=${run.executionId}`);
    const live = page.getByTestId("step-live-ask");
    await live.getByText("Twenty-one doubled").waitFor({ timeout: 30_000 });
    assert.equal(await page.getByTestId("execution-status").getAttribute("data-status"), "running", "the text showed before the run ended");
    await check("tools-live-text");
    model.release();

    await page.locator('[data-testid="execution-status"][data-status="completed"]').waitFor({ timeout: 30_000 });
    await page.getByTestId("step-output-ask").getByText("Twenty-one doubled is 42.").waitFor();
    const conversation = page.getByTestId("step-conversation-ask");
    await conversation.locator("summary").click();
    await conversation.getByTestId("turn-0-0").getByText('asks double({"n":21})').waitFor();
    await conversation.getByTestId("turn-0-1").getByText('{"n":21} → {"n":42}').waitFor();
    await conversation.getByTestId("turn-1-0").getByText("Twenty-one doubled is 42.").waitFor();
    assert.equal(model.calls.length, 2, "one model call per turn");
    await check("tools-conversation");
  });

  test("the dashboard's spend card counts the run's tokens and cost", async () => {
    await page.goto(stack.baseURL + "/");
    const spend = page.getByTestId("model-spend");
    // 1,000,000 input and 30,000 output tokens of gpt-4o-mini ($0.15 / $0.60 per million).
    await spend.getByText("$0.17").first().waitFor();
    await spend.getByText("1030000 tokens in 1 run").waitFor();
    await spend.getByRole("link", { name: "tool-demo" }).waitFor();
    await check("tools-dashboard-spend");
  });

  test("no serious accessibility violation and no page error", () => {
    assert.deepEqual(violations, {});
    assert.deepEqual(pageErrors, []);
  });
});
