// Summarises bench/runtime/run.sh results (JSON lines) into a table.
import { readFileSync } from 'node:fs';

const rows = readFileSync(process.argv[2], 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const impls = ['turbocat', 'reference'];
const machines = ['chain-1', 'chain-40', 'chain-400', 'parallel-10', 'map-100', 'pass-1', 'pass-2000'];
const med = {};
for (const i of impls) for (const m of machines) med[`${i}/${m}`] = median(rows.filter((r) => r.impl === i && r.machine === m).map((r) => r.ns_per_exec));

const us = (ns) => (ns / 1000).toFixed(2).padStart(10);
const ratio = (a, b) => (b / a).toFixed(1).padStart(6) + 'x';
console.log(`median of ${Math.max(...rows.map((r) => r.round))} rounds, microseconds per execution`);
console.log(`${'machine'.padEnd(14)}${'turbocat'.padStart(10)}${'reference'.padStart(10)}  speedup`);
for (const m of machines) console.log(`${m.padEnd(14)}${us(med[`turbocat/${m}`])}${us(med[`reference/${m}`])}  ${ratio(med[`turbocat/${m}`], med[`reference/${m}`])}`);
console.log('(pass-*: Turbocat through its HTTP endpoint with a signing SDK client, the reference in process)');
const perExec = (i) => med[`${i}/chain-1`];
const perState = (i) => (med[`${i}/chain-400`] - med[`${i}/chain-1`]) / 399;
console.log('');
console.log(`${'overhead'.padEnd(14)}${'turbocat'.padStart(10)}${'reference'.padStart(10)}  speedup`);
console.log(`${'per execution'.padEnd(14)}${us(perExec('turbocat'))}${us(perExec('reference'))}  ${ratio(perExec('turbocat'), perExec('reference'))}`);
console.log(`${'per state'.padEnd(14)}${us(perState('turbocat'))}${us(perState('reference'))}  ${ratio(perState('turbocat'), perState('reference'))}`);

// The Express target: a 2,000-state Pass chain through the endpoint with
// StartSyncExecution, at most 1.5 µs per state.
const passState = (i) => med[`${i}/pass-2000`] / 2000;
const target = 1.5;
console.log('');
console.log('2,000-state Pass chain, EXPRESS, StartSyncExecution through the endpoint (reference: in process)');
console.log(`${'per Pass state'.padEnd(14)}${us(passState('turbocat'))}${us(passState('reference'))}  ${ratio(passState('turbocat'), passState('reference'))}`);
console.log(`target ${target.toFixed(2)} µs per state: ${passState('turbocat') / 1000 <= target ? 'met' : 'NOT met'}`);
