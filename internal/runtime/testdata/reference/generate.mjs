// Regenerates ../expected/*.json from ../cases/*.json by running every case
// on aws-local-stepfunctions, an independent ASL implementation.
// Usage: npm ci && node generate.mjs   (or: make conformance)

// Node 20 lacks Promise.withResolvers, which aws-local-stepfunctions uses.
if (!Promise.withResolvers) Promise.withResolvers = function () { let resolve, reject; const promise = new Promise((a, b) => { resolve = a; reject = b; }); return { promise, resolve, reject }; };

import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
const { StateMachine } = await import('aws-local-stepfunctions');

const here = dirname(fileURLToPath(import.meta.url));
const casesDir = join(here, '..', 'cases');
const outDir = join(here, '..', 'expected');
mkdirSync(outDir, { recursive: true });

// Names the Go test uses, so $$ context values agree.
const region = 'us-east-1', account = '123456789012', machine = 'conformance';
const startTime = '2024-01-01T00:00:00.000Z';

function functionName(resource) {
  let s = resource.replace(/\.(waitForTaskToken|sync)$/, '');
  const i = s.indexOf(':function:');
  if (i >= 0) s = s.slice(i + ':function:'.length);
  const j = s.indexOf(':');
  return j >= 0 ? s.slice(0, j) : s;
}

// Collects Task state name -> function name over nested branches/processors.
function taskStates(states, out = {}) {
  for (const [name, st] of Object.entries(states)) {
    if (st.Type === 'Task') out[name] = functionName(st.Resource);
    for (const b of st.Branches || []) taskStates(b.States, out);
    const p = st.ItemProcessor || st.Iterator;
    if (p) taskStates(p.States, out);
  }
  return out;
}

function waitStates(states, out = {}) {
  for (const [name, st] of Object.entries(states)) {
    if (st.Type === 'Wait') out[name] = 0;
    for (const b of st.Branches || []) waitStates(b.States, out);
    const p = st.ItemProcessor || st.Iterator;
    if (p) waitStates(p.States, out);
  }
  return out;
}

function retryStates(states, out = {}) {
  for (const [name, st] of Object.entries(states)) {
    if (st.Retry) out[name] = 0;
    for (const b of st.Branches || []) retryStates(b.States, out);
    const p = st.ItemProcessor || st.Iterator;
    if (p) retryStates(p.States, out);
  }
  return out;
}

// Mirrors the Go harness: each function has a script, one step per call
// (the last step repeats). A step is {"result": v}, {"echo": true},
// {"merge": {...}} (shallow-merged into an object input) or
// {"error": name, "cause": text}.
function scripted(script, calls, fn) {
  return (input) => {
    const n = calls[fn] = (calls[fn] || 0) + 1;
    const steps = script || [{ echo: true }];
    const step = steps[Math.min(n, steps.length) - 1];
    if (step.error !== undefined) {
      const e = new Error(step.cause ?? '');
      e.name = step.error;
      throw e;
    }
    if (step.echo) return input;
    if (step.merge) return { ...input, ...step.merge };
    return step.result;
  };
}

async function runCase(c) {
  const def = c.definition;
  const sm = new StateMachine(def, { validationOptions: { checkPaths: false, checkArn: false } });
  const calls = {};
  const handlers = {};
  for (const [state, fn] of Object.entries(taskStates(def.States))) handlers[state] = scripted((c.tasks || {})[fn], calls, fn);
  const context = {
    Execution: { Id: `arn:aws:states:${region}:${account}:execution:${machine}:${c.name}`, Name: c.name, Input: c.input ?? {}, StartTime: startTime, RoleArn: '', RedriveCount: 0 },
    StateMachine: { Id: `arn:aws:states:${region}:${account}:stateMachine:${machine}`, Name: machine },
  };
  const ex = sm.run(c.input ?? {}, { overrides: { taskResourceLocalHandlers: handlers, waitTimeOverrides: waitStates(def.States), retryIntervalOverrides: retryStates(def.States) }, context });
  const logs = [];
  const collecting = (async () => { for await (const ev of ex.eventLogs) logs.push(ev); })();
  const out = { name: c.name, reference: 'aws-local-stepfunctions@3.0.0' };
  try {
    out.status = 'SUCCEEDED';
    out.output = await ex.result;
  } catch (e) {
    out.status = 'FAILED';
    if (e.cause) { out.error = e.cause.name; out.cause = e.cause.message; }
    else { out.error = e.name; out.cause = e.message; }
  }
  await collecting;
  const retries = {};
  const caught = [];
  const states = [];
  for (const ev of logs) {
    if (ev.type === 'StateEntered' || ev.type === 'StateExited') states.push(`${ev.type}:${ev.state.name}`);
    if (ev.type === 'StateRetried') retries[ev.state.name] = (retries[ev.state.name] || 0) + 1;
    if (ev.type === 'StateCaught') caught.push(ev.state.name);
  }
  out.states = states;
  out.retries = retries;
  out.caught = caught.sort();
  out.calls = calls;
  return out;
}

const only = process.argv[2];
for (const f of readdirSync(casesDir).filter((f) => f.endsWith('.json')).sort()) {
  const c = JSON.parse(readFileSync(join(casesDir, f), 'utf8'));
  if (only && c.name !== only) continue;
  let res;
  try {
    res = await runCase(c);
  } catch (e) {
    res = { name: c.name, reference: 'aws-local-stepfunctions@3.0.0', referenceError: String(e && e.message || e) };
  }
  writeFileSync(join(outDir, f), JSON.stringify(res, null, 2) + '\n');
  console.log(`${f}: ${res.status ?? 'reference error'}`);
}
