// Evaluates every expression of ../cases.json with jsonata-js 2.0.6 (the
// JSONata version AWS Step Functions implements) and writes the results to
// ../expected.json, which internal/jsonata's tests compare against.
// Input objects get their keys sorted first: Turbocat's decoded JSON keeps
// no insertion order, so both sides see the same order.
// Usage: npm ci && node generate.mjs
import { readFileSync, writeFileSync } from 'node:fs';
import jsonata from 'jsonata';

const here = new URL('.', import.meta.url);
const cases = JSON.parse(readFileSync(new URL('../cases.json', here), 'utf8'));
const data = JSON.parse(readFileSync(new URL('../data.json', here), 'utf8'));

const sortKeys = (v) => {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
  return v;
};

const out = [];
for (const c of cases) {
  const entry = { expr: c.expr };
  try {
    const expr = jsonata(c.expr);
    const bindings = c.vars ? sortKeys(data[c.vars]) : {};
    const input = c.data ? sortKeys(data[c.data]) : undefined;
    const r = await expr.evaluate(input, bindings);
    if (r === undefined) entry.undefined = true;
    else if (typeof r === 'function' || (r && r._jsonata_lambda)) entry.function = true;
    else entry.result = JSON.parse(JSON.stringify(r));
  } catch (e) {
    entry.error = e.code || String(e);
  }
  out.push(entry);
}
writeFileSync(new URL('../expected.json', here), JSON.stringify(out, null, 1) + '\n');
console.log(`wrote ${out.length} results`);
