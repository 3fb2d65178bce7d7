// naive_reference.mjs: the guide's per-email flow, as a small integration would write it,
// for perf-bench to compare olsync with (bench/README.md, perf.sh). For each new email, one
// at a time: one Graph GET of the message, a SOQL search of Contact by the counterpart's
// address, if none a SOQL search of Lead, if none a Lead created, then a Task created.
// Node 20, built-in fetch (keep-alive), no npm packages.
// Usage: node naive_reference.mjs GRAPH_URL SF_URL GRAPH_TOKEN SF_TOKEN LIST
//   LIST: one "userId messageId folder" line per copy of an email (what a change
//   notification names). Prints one JSON line: what it did, wall and CPU seconds of the flow.
import { readFileSync } from 'node:fs';

const [graph, sf, gtoken, sftoken, listFile] = process.argv.slice(2);
const INTERNAL = '@contoso.com';
const data = `${sf}/services/data/v62.0`;
const sfHeaders = { Authorization: `Bearer ${sftoken}`, 'Content-Type': 'application/json' };
const copies = readFileSync(listFile, 'utf8').trim().split('\n').map((l) => l.split(' '));
const report = { copies: copies.length, internal: 0, graph_gets: 0, sf_calls: 0,
  leads_created: 0, tasks_created: 0, errors: 0 };

async function call(url, init) {
  const res = await fetch(url, init);
  const body = await res.json();
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

async function findId(sobject, address) {
  const q = `SELECT Id FROM ${sobject} WHERE Email = '${address.replace(/'/g, "\\'")}' LIMIT 1`;
  report.sf_calls++;
  const r = await call(`${data}/query?q=${encodeURIComponent(q)}`, { headers: sfHeaders });
  return r.records.length ? r.records[0].Id : null;
}

async function create(sobject, fields) {
  report.sf_calls++;
  const r = await call(`${data}/sobjects/${sobject}`,
    { method: 'POST', headers: sfHeaders, body: JSON.stringify(fields) });
  return r.id;
}

async function oneEmail([userId, messageId, folder]) {
  const select = 'from,toRecipients,subject,bodyPreview,receivedDateTime,internetMessageId';
  report.graph_gets++;
  const m = await call(`${graph}/v1.0/users/${userId}/messages/${encodeURIComponent(messageId)}` +
    `?$select=${select}`, { headers: { Authorization: `Bearer ${gtoken}` } });
  const party = folder === 'inbox' ? m.from.emailAddress : m.toRecipients[0].emailAddress;
  const address = party.address.toLowerCase();
  if (address.endsWith(INTERNAL)) {
    report.internal++;
    return;
  }
  let who = await findId('Contact', address);
  if (!who) who = await findId('Lead', address);
  if (!who) {
    const words = (party.name || address).split(' ');
    who = await create('Lead', {
      FirstName: words.length > 1 ? words[0] : null, LastName: words[words.length - 1],
      Email: address, Company: address.split('@')[1], LeadSource: 'Email',
      Description: `${m.subject}: ${m.bodyPreview}`,
    });
    report.leads_created++;
  }
  await create('Task', {
    Subject: `Email: ${m.subject}`, WhoId: who, Status: 'Completed', Priority: 'Normal',
    TaskSubtype: 'Email', Description: m.bodyPreview, Type: 'Email',
    ActivityDate: m.receivedDateTime.slice(0, 10),
  });
  report.tasks_created++;
}

const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (const c of copies) {
  try {
    await oneEmail(c);
  } catch (e) {
    report.errors++;
    if (report.errors <= 5) console.error(`naive_reference: ${e.message}`);
  }
}
const cpu = process.cpuUsage(cpu0);
report.wall_s = (performance.now() - t0) / 1000;
report.cpu_s = (cpu.user + cpu.system) / 1e6;
console.log(JSON.stringify(report));
process.exit(report.errors ? 1 : 0);
