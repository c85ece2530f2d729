// Unit tests of the console's pure TypeScript modules (DAG layout, SSE
// parsing), transpiled on the fly with the project's TypeScript compiler so
// they run on Node 20's test runner without a build step.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const webDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

async function load(rel) {
  const source = readFileSync(path.join(webDir, rel), "utf8");
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  return import("data:text/javascript;base64," + Buffer.from(outputText).toString("base64"));
}

const { layoutDag } = await load("lib/dag.ts");
const { parseSSE } = await load("lib/sse.ts");
const { nextFires } = await load("lib/schedule.ts");

describe("layoutDag", () => {
  const cases = [
    {
      name: "parallel branch shares a layer",
      steps: [
        { key: "start" },
        { key: "left", dependsOn: ["start"] },
        { key: "right", dependsOn: ["start"] },
        { key: "join", dependsOn: ["left", "right"] },
      ],
      layers: [["start"], ["left", "right"], ["join"]],
      cyclic: [],
      unknown: [],
    },
    {
      name: "depth is the longest path, not the shortest",
      steps: [{ key: "a" }, { key: "b", dependsOn: ["a"] }, { key: "c", dependsOn: ["a", "b"] }],
      layers: [["a"], ["b"], ["c"]],
      cyclic: [],
      unknown: [],
    },
    {
      name: "independent roots are all in the first layer",
      steps: [{ key: "x" }, { key: "y", dependsOn: null }, { key: "z", dependsOn: [] }],
      layers: [["x", "y", "z"]],
      cyclic: [],
      unknown: [],
    },
    {
      name: "unknown dependencies are reported and ignored",
      steps: [{ key: "a", dependsOn: ["ghost"] }, { key: "b", dependsOn: ["a"] }],
      layers: [["a"], ["b"]],
      cyclic: [],
      unknown: ["a → ghost"],
    },
    {
      name: "a cycle is reported and drawn after the rest",
      steps: [{ key: "root" }, { key: "p", dependsOn: ["root", "q"] }, { key: "q", dependsOn: ["p"] }],
      layers: [["root"], ["p", "q"]],
      cyclic: ["p", "q"],
      unknown: [],
    },
    {
      name: "steps being typed (empty key) are skipped",
      steps: [{ key: "" }, { key: "a" }],
      layers: [["a"]],
      cyclic: [],
      unknown: [],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = layoutDag(c.steps);
      assert.deepEqual(got.layers, c.layers);
      assert.deepEqual([...got.cyclic].sort(), c.cyclic);
      assert.deepEqual(got.unknown, c.unknown);
    });
  }

  test("edges run from dependency to dependent", () => {
    const got = layoutDag([{ key: "a" }, { key: "b", dependsOn: ["a", "a"] }]);
    assert.deepEqual(got.edges, [{ from: "a", to: "b" }]);
  });
});

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

describe("nextFires", () => {
  const start = new Date("2030-01-01T00:00:00Z");
  const cases = [
    { name: "every 5 minutes", schedule: "rate(5 minutes)", now: "2030-01-01T00:07:00Z", want: ["2030-01-01T00:10:00.000Z", "2030-01-01T00:15:00.000Z"] },
    { name: "exactly on a fire time moves to the next", schedule: "rate(1 hour)", now: "2030-01-01T02:00:00Z", want: ["2030-01-01T03:00:00.000Z", "2030-01-01T04:00:00.000Z"] },
    { name: "before the start fires at the start", schedule: "rate(1 day)", now: "2029-12-31T12:00:00Z", want: ["2030-01-01T00:00:00.000Z", "2030-01-02T00:00:00.000Z"] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(nextFires(c.schedule, start, new Date(c.now), 2).map((d) => d.toISOString()), c.want);
    });
  }
  test("cron and malformed expressions are not computed", () => {
    assert.equal(nextFires("cron(0 12 * * ? *)", start, start, 2), null);
    assert.equal(nextFires("rate(0 minutes)", start, start, 2), null);
    assert.equal(nextFires("every day", start, start, 2), null);
  });
});
