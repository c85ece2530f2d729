// Unit tests of the console's pure TypeScript modules (the canvas
// editor's step model and layout, SSE parsing), transpiled on the fly with the project's TypeScript compiler so
// they run on Node 20's test runner without a build step.

import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import ts from "typescript";

const webDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

// Modules are written under node_modules/.cache so that their imports of
// npm packages (dagre) resolve as in the app.
const cacheDir = path.join(webDir, "node_modules", ".cache", "turbocat-unit");
mkdirSync(cacheDir, { recursive: true });

async function load(rel) {
  const source = readFileSync(path.join(webDir, rel), "utf8");
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  const file = path.join(cacheDir, rel.replace(/[\\/]/g, "_").replace(/\.ts$/, ".mjs"));
  writeFileSync(file, outputText);
  return import(pathToFileURL(file).href);
}

const { parseSSE } = await load("lib/sse.ts");
const { blankStep, connect, disconnect, errorText, layoutSteps, newStepKey, humanSeconds, panelFields, remove, rename, topoOrder, sourceErrorLine, stepBody, stepErrors, stepFrom, templateHints } =
  await load("lib/steps.ts");

describe("parseSSE", () => {
  const cases = [
    {
      name: "log, status and end events",
      input: 'event: status\ndata: {"status":"running"}\n\nid: 7\nevent: log\ndata: {"sequence":7}\n\nevent: end\ndata: {}\n\n',
      events: [
        { event: "status", data: '{"status":"running"}', id: undefined },
        { event: "log", data: '{"sequence":7}', id: "7" },
        { event: "end", data: "{}", id: undefined },
      ],
      rest: "",
    },
    {
      name: "an incomplete event waits for more bytes",
      input: 'event: log\ndata: {"sequence":1}\n\nevent: log\ndata: {"seq',
      events: [{ event: "log", data: '{"sequence":1}', id: undefined }],
      rest: 'event: log\ndata: {"seq',
    },
    {
      name: "comments (keep-alives) are ignored",
      input: ": keep-alive\n\nevent: end\ndata: {}\n\n",
      events: [{ event: "end", data: "{}", id: undefined }],
      rest: "",
    },
    {
      name: "CRLF line endings and multi-line data",
      input: "data: a\r\ndata: b\r\n\r\n",
      events: [{ event: "message", data: "a\nb", id: undefined }],
      rest: "",
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = parseSSE(c.input);
      assert.deepEqual(got.events, c.events);
      assert.equal(got.rest, c.rest);
    });
  }
});

describe("steps: the canvas editor's model", () => {
  const step = (uid, key, dependsOn = []) => ({ uid, kind: "agent", key, agentId: "a", dependsOn, inputs: "", timeoutSeconds: "", maxAttempts: "" });
  test("layoutSteps puts a step right of what it depends on and parallel branches in one column", () => {
    const pos = layoutSteps([
      { id: "1", key: "start", dependsOn: [] },
      { id: "2", key: "left", dependsOn: ["start"] },
      { id: "3", key: "right", dependsOn: ["start"] },
      { id: "4", key: "join", dependsOn: ["left", "right"] },
    ]);
    assert.ok(pos["1"].x < pos["2"].x);
    assert.equal(pos["2"].x, pos["3"].x);
    assert.notEqual(pos["2"].y, pos["3"].y);
    assert.ok(pos["4"].x > pos["2"].x);
  });
  test("layoutSteps survives cycles and unknown dependencies", () => {
    const pos = layoutSteps([
      { id: "a", key: "a", dependsOn: ["b", "ghost"] },
      { id: "b", key: "b", dependsOn: ["a"] },
    ]);
    assert.deepEqual(Object.keys(pos).sort(), ["a", "b"]);
  });
  test("connect, rename, disconnect and remove keep dependencies consistent", () => {
    let ss = [step(1, "a"), step(2, "b")];
    ss = connect(ss, 1, 2);
    assert.deepEqual(ss[1].dependsOn, ["a"]);
    assert.deepEqual(connect(ss, 1, 2)[1].dependsOn, ["a"], "no duplicate edge");
    assert.deepEqual(connect(ss, 2, 2)[1].dependsOn, ["a"], "no self loop");
    ss = rename(ss, 1, "fetch");
    assert.deepEqual(ss[1].dependsOn, ["fetch"]);
    assert.deepEqual(disconnect(ss, "fetch", 2)[1].dependsOn, []);
    assert.deepEqual(remove(ss, 1).map((s) => [s.key, s.dependsOn]), [["b", []]]);
    assert.equal(newStepKey([{ key: "step1" }, { key: "step2" }]), "step3");
  });
  test("humanSeconds picks the largest exact unit", () => {
    assert.deepEqual(["1", "90", "120", "3600", "86400", "5400", "x"].map(humanSeconds), ["1 s", "90 s", "2 min", "1 h", "1 d", "90 min", "x s"]);
  });
  test("topoOrder puts a step after what it depends on, keeping the given order otherwise", () => {
    const order = topoOrder([
      { key: "a", dependsOn: [] },
      { key: "c", dependsOn: ["pause"] },
      { key: "b", dependsOn: ["a"] },
      { key: "pause", dependsOn: ["b"] },
      { key: "x", dependsOn: ["y"] },
      { key: "y", dependsOn: ["x"] },
    ]);
    assert.deepEqual(order, ["a", "b", "pause", "c", "x", "y"]);
  });
  test("stepErrors picks a step's errors by path", () => {
    assert.deepEqual(stepErrors({ "steps[1].key": "bad", "steps[1]": "x", "steps[10].key": "other", name: "n" }, 1), { key: "bad", "": "x" });
  });
  test("templateHints offers declared inputs, upstream outputs and the execution", () => {
    const steps = [
      { key: "a", dependsOn: [] },
      { key: "b", dependsOn: ["a"] },
      { key: "c", dependsOn: ["b"] },
      { key: "side", dependsOn: [] },
    ];
    assert.deepEqual(templateHints(steps, "c", ["url"]), ["inputs.url", "steps.a.output", "steps.b.output", "execution.id", "execution.startedAt"]);
  });
  test("templateHints offers item and index in a forEach step", () => {
    assert.deepEqual(templateHints([{ key: "a", dependsOn: [] }], "a", [], true).slice(0, 2), ["item", "index"]);
  });
  test("stepBody sends only the settings of the step's kind, and stepFrom reads them back", () => {
    const cases = [
      {
        name: "agent looping with a condition",
        form: { kind: "agent", agentId: "ag", when: ' inputs.go == true ', forEach: "{{inputs.docs}}", maxConcurrency: "3", seconds: "9", workflow: "stale" },
        want: { key: "k", dependsOn: [], agentId: "ag", when: "inputs.go == true", forEach: "{{inputs.docs}}", maxConcurrency: 3 },
      },
      {
        name: "wait for seconds",
        form: { kind: "wait", agentId: "stale", seconds: "5", until: "x", timeoutSeconds: "9", forEach: "{{inputs.x}}" },
        want: { key: "k", dependsOn: [], type: "wait", seconds: 5 },
      },
      {
        name: "wait until a time",
        form: { kind: "wait", waitMode: "until", until: "{{inputs.at}}" },
        want: { key: "k", dependsOn: [], type: "wait", until: "{{inputs.at}}" },
      },
      {
        name: "approval with a timeout that continues on error",
        form: { kind: "approval", timeoutSeconds: "60", maxAttempts: "3", onError: "continue" },
        want: { key: "k", dependsOn: [], type: "approval", timeoutSeconds: 60, onError: "continue" },
      },
      {
        name: "workflow with inputs",
        form: { kind: "workflow", workflow: " child " },
        inputs: { a: 1 },
        want: { key: "k", dependsOn: [], type: "workflow", inputs: { a: 1 }, workflow: "child" },
      },
    ];
    for (const c of cases) {
      const { step, errors } = stepBody({ ...blankStep("k", "", []), ...c.form }, c.inputs);
      assert.deepEqual(step, c.want, c.name);
      assert.deepEqual(errors, {}, c.name);
      const back = stepBody(stepFrom(step), c.inputs).step;
      assert.deepEqual(back, c.want, `${c.name}: round trip`);
    }
  });
  test("panelFields: an error of a field the kind has no control for is listed, not lost", () => {
    assert.ok(panelFields({ kind: "agent" }).includes("forEach"));
    assert.ok(!panelFields({ kind: "approval" }).includes("forEach"));
    assert.ok(!panelFields({ kind: "wait", waitMode: "seconds" }).includes("timeoutSeconds"));
    assert.ok(panelFields({ kind: "wait", waitMode: "until" }).includes("until"));
  });
  test("stepBody refuses numbers that are not whole numbers at their field", () => {
    assert.deepEqual(Object.keys(stepBody({ ...blankStep("k", "", []), kind: "wait", seconds: "soon" }).errors), ["seconds"]);
    const agent = stepBody({ ...blankStep("k", "a", []), timeoutSeconds: "1.5", forEach: "{{inputs.x}}", maxConcurrency: "-1" });
    assert.deepEqual(Object.keys(agent.errors).sort(), ["maxConcurrency", "timeoutSeconds"]);
  });
  test("errorText renders errors as text, not escaped JSON", () => {
    assert.equal(errorText({ error: "Code.Error", cause: "boom" }), "Code.Error: boom");
    assert.equal(errorText({ error: "States.TaskFailed", cause: JSON.stringify({ error: "Api.Http5xx", cause: "HTTP 502" }), stepKey: "fetch" }), "step fetch: States.TaskFailed: Api.Http5xx: HTTP 502");
    assert.equal(errorText(null), "");
    assert.equal(errorText("plain"), "plain");
  });
  test("sourceErrorLine finds the line of a compile error", () => {
    assert.equal(sourceErrorLine("line 2, column 17: SyntaxError: Unexpected token ;"), 2);
    assert.equal(sourceErrorLine("the script must define function main(input, ctx)"), null);
    assert.equal(sourceErrorLine(undefined), null);
  });
});
