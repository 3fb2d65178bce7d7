// The unmodified jsforce npm client (pinned in package-lock.json) against sf-sim: token by JWT
// bearer, a query that pages, create, upsert by external id, limits. Run by ctest; SF_SIM names
// the sf-sim binary.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import jsforce from 'jsforce';
import { startSim, simControl, stopSim } from '../node-support/spawn-sim.mjs';

// jsforce applies http(s)_proxy to every request and ignores NO_PROXY (reference section 9).
for (const k of ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY']) delete process.env[k];

const SIM = process.env.SF_SIM;
let sim, base, control;
const consumerKey = 'olsync-jsforce-test-key';
const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });

function b64url(buf) {
  return Buffer.from(buf).toString('base64url');
}

function assertion(sub) {
  const header = b64url(JSON.stringify({ alg: 'RS256' }));
  const claims = b64url(JSON.stringify({
    iss: consumerKey, sub, aud: 'https://login.salesforce.com',
    exp: Math.floor(Date.now() / 1000) + 120,
  }));
  const sig = crypto.sign('RSA-SHA256', Buffer.from(`${header}.${claims}`), privateKey);
  return `${header}.${claims}.${b64url(sig)}`;
}

before(async () => {
  assert.ok(SIM, 'SF_SIM must name the sf-sim binary');
  ({ proc: sim, base } = await startSim('sf-sim', SIM, ['--listen', '127.0.0.1:0', '--db',
    ':memory:']));
  control = simControl(base);
  const contacts = [];
  for (let i = 0; i < 450; i++) {
    contacts.push({ LastName: `Person ${String(i).padStart(3, '0')}`, Email: `p${i}@example.com` });
  }
  await control('POST', '/_sim/seed', {
    User: [{ _key: 'rep', Username: 'rep@example.com', Email: 'rep@example.com',
      LastName: 'Rep', Alias: 'rep' }],
    ConnectedApp: [{ consumerKey, certificate: publicKey.export({ type: 'spki', format: 'pem' }) }],
    Contact: contacts,
  });
  // Small pages make jsforce follow nextRecordsUrl more than once.
  await control('POST', '/_sim/config', { query_batch_size: 200 });
});

after(() => stopSim('sf-sim', sim));

async function connect() {
  const conn = new jsforce.Connection({ loginUrl: base, version: '62.0' });
  await conn.authorize({
    grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
    assertion: assertion('rep@example.com'),
  });
  return conn;
}

test('JWT bearer token: instance_url and id point at sf-sim', async () => {
  const conn = await connect();
  assert.equal(conn.instanceUrl, base);
  assert.match(conn.accessToken, /^00D\w+!/);
  assert.equal(conn.userInfo.organizationId.slice(0, 3), '00D');
  assert.equal(conn.userInfo.id.slice(0, 3), '005');
});

test('JWT bearer for an unknown user is refused with invalid_grant', async () => {
  const conn = new jsforce.Connection({ loginUrl: base, version: '62.0' });
  await assert.rejects(conn.authorize({
    grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
    assertion: assertion('nobody@example.com'),
  }), /invalid_grant|approved/);
});

test('query pages through nextRecordsUrl with autoFetch', async () => {
  const conn = await connect();
  const before = (await control('GET', '/_sim/stats')).api_calls;
  const result = await conn.query("SELECT Id, LastName FROM Contact WHERE Email LIKE 'p%' ORDER BY LastName")
    .run({ autoFetch: true, maxFetch: 10000 });
  assert.equal(result.totalSize, 450);
  assert.equal(result.records.length, 450);
  assert.equal(result.records[0].LastName, 'Person 000');
  assert.equal(result.records[449].LastName, 'Person 449');
  assert.equal(new Set(result.records.map((r) => r.Id)).size, 450);
  const after = (await control('GET', '/_sim/stats')).api_calls;
  assert.equal(after - before, 3, 'three pages of at most 200 are three API calls');
});

test('create, then upsert by external id creates once and updates after', async () => {
  const conn = await connect();
  const lead = await conn.sobject('Lead').create({ LastName: 'Lovelace', Company: 'Analytical' });
  assert.equal(lead.success, true);
  assert.match(lead.id, /^00Q\w{15}$/);

  const missing = await conn.sobject('Lead').create({ FirstName: 'No' }).catch((e) => e);
  assert.equal(missing.errorCode, 'REQUIRED_FIELD_MISSING');

  const first = await conn.sobject('Task').upsert(
    { Subject: 'Email: hello', WhoId: lead.id, OutlookMessageId__c: 'msg-0001' }, 'OutlookMessageId__c');
  assert.equal(first.success, true);
  assert.equal(first.created, true);
  const second = await conn.sobject('Task').upsert(
    { Subject: 'Email: hello again', OutlookMessageId__c: 'msg-0001' }, 'OutlookMessageId__c');
  assert.equal(second.success, true);
  assert.equal(second.created, false);
  assert.equal(second.id, first.id);
  const tasks = await conn.query("SELECT Id, Subject, Who.Name FROM Task WHERE OutlookMessageId__c = 'msg-0001'");
  assert.equal(tasks.totalSize, 1);
  assert.equal(tasks.records[0].Subject, 'Email: hello again');
  assert.equal(tasks.records[0].Who.Name, 'Lovelace');
});

test('limits and the Sforce-Limit-Info header agree with sf-sim', async () => {
  const conn = await connect();
  const limits = await conn.limits();
  assert.equal(limits.DailyApiRequests.Max, 100000);
  const stats = await control('GET', '/_sim/stats');
  assert.equal(limits.DailyApiRequests.Remaining, 100000 - stats.api_calls);
  assert.equal(conn.limitInfo.apiUsage.limit, 100000);
  assert.equal(conn.limitInfo.apiUsage.used, stats.api_calls);
});
