// Runs the runtime benchmark machines (the same ones as
// internal/runtime/bench_test.go and the Pass chains of
// internal/runtime/sfnapi/bench_test.go) on aws-local-stepfunctions, in
// process, and prints
// nanoseconds per execution as JSON lines:
//   {"machine":"chain-400","states":400,"ns_per_exec":...}
// Usage: npm ci && node bench.mjs [seconds-per-machine]
if (!Promise.withResolvers) Promise.withResolvers = function () { let resolve, reject; const promise = new Promise((a, b) => { resolve = a; reject = b; }); return { promise, resolve, reject }; };
const { StateMachine } = await import('aws-local-stepfunctions');

const fn = 'arn:aws:lambda:us-east-1:123456789012:function:noop';
function chain(n) {
  const states = {};
  for (let i = 0; i < n; i++) states[`T${i}`] = i === n - 1 ? { Type: 'Task', Resource: fn, End: true } : { Type: 'Task', Resource: fn, Next: `T${i + 1}` };
  return { StartAt: 'T0', States: states };
}
function parallel(b) {
  const branches = [];
  for (let i = 0; i < b; i++) branches.push({ StartAt: `B${i}`, States: { [`B${i}`]: { Type: 'Task', Resource: fn, End: true } } });
  return { StartAt: 'P', States: { P: { Type: 'Parallel', Branches: branches, End: true } } };
}
// A chain of n Pass states (the same as passChain in
// internal/runtime/sfnapi/bench_test.go, which Turbocat runs as EXPRESS
// through its endpoint).
function pass(n) {
  const states = {};
  for (let i = 0; i < n; i++) states[`P${i}`] = i === n - 1 ? { Type: 'Pass', End: true } : { Type: 'Pass', Next: `P${i + 1}` };
  return { StartAt: 'P0', States: states };
}
const map = { StartAt: 'M', States: { M: { Type: 'Map', ItemsPath: '$.items', ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, StartAt: 'T', States: { T: { Type: 'Task', Resource: fn, End: true } } }, End: true } } };

function handlers(def, out = {}) {
  for (const [name, st] of Object.entries(def.States)) {
    if (st.Type === 'Task') out[name] = (input) => input;
    for (const b of st.Branches || []) handlers(b, out);
    if (st.ItemProcessor) handlers(st.ItemProcessor, out);
  }
  return out;
}

const seconds = Number(process.argv[2] || 3);
const machines = [
  ['chain-1', chain(1), { v: 1 }, 1],
  ['chain-40', chain(40), { v: 1 }, 40],
  ['chain-400', chain(400), { v: 1 }, 400],
  ['parallel-10', parallel(10), { v: 1 }, 11],
  ['map-100', map, { items: Array.from({ length: 100 }, (_, i) => i) }, 101],
  ['pass-1', pass(1), { v: 1 }, 1],
  ['pass-2000', pass(2000), { v: 1 }, 2000],
];
for (const [name, def, input, states] of machines) {
  const sm = new StateMachine(def, { validationOptions: { checkArn: false } });
  const overrides = { taskResourceLocalHandlers: handlers(def) };
  for (let i = 0; i < 20; i++) await sm.run(input, { overrides }).result; // warm up
  let n = 0;
  const start = process.hrtime.bigint();
  const until = start + BigInt(Math.round(seconds * 1e9));
  while (process.hrtime.bigint() < until) {
    await sm.run(input, { overrides }).result;
    n++;
  }
  const ns = Number(process.hrtime.bigint() - start) / n;
  console.log(JSON.stringify({ machine: name, states, ns_per_exec: Math.round(ns), runs: n }));
}
