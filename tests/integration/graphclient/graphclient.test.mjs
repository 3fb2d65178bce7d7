// The unmodified @microsoft/microsoft-graph-client (3.0.7, pinned in package-lock.json) reads a
// mailbox delta from graph-sim: three pages of Prefer: odata.maxpagesize=10 through absolute
// @odata.nextLink URLs to the @odata.deltaLink, the next round with exactly the new message, and a
// bad delta token as a GraphError 410 SyncStateNotFound. Run by ctest; GRAPH_SIM names the binary.
//
// Why HTTPS: the client attaches the bearer token only to https:// URLs whose host is Graph's or
// in customHosts (GraphRequestUtil.isValidEndpoint, AuthenticationHandler; reference 10.1), and
// it parses @odata links as paths unless they are absolute https URLs. So graph-sim serves TLS
// here (--tls-cert/--tls-key) with a throw-away self-signed certificate for IP 127.0.0.1 made by
// the openssl CLI, and the client runs with its normal middleware chain and baseUrl
// https://127.0.0.1:PORT/, customHosts {127.0.0.1}. Node's global fetch (undici) trusts extra
// certificates only through NODE_EXTRA_CA_CERTS, which Node reads at start: so this file, run
// without it, makes the certificate and runs itself again in a child node with it set.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSim, simControl, stopSim } from '../node-support/spawn-sim.mjs';

const CERT_ENV = 'GRAPHCLIENT_TEST_CERT_DIR';

if (!process.env[CERT_ENV]) {
  const dir = mkdtempSync(join(tmpdir(), 'graphclient-'));
  let status = 1;
  try {
    const gen = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
    { stdio: ['ignore', 'ignore', 'pipe'] });
    if (gen.status !== 0) {
      throw new Error(`openssl could not make a test certificate: ${gen.error ?? gen.stderr}`);
    }
    const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], {
      stdio: 'inherit',
      env: { ...process.env, [CERT_ENV]: dir, NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem') },
    });
    status = child.status ?? 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(status);
}

// Imported only in the child: the parent needs nothing of it.
const { Client, GraphError, PageIterator } = await import('@microsoft/microsoft-graph-client');

// Proxies from the environment must not see loopback traffic.
for (const k of ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY']) delete process.env[k];

const SIM = process.env.GRAPH_SIM;
const certDir = process.env[CERT_ENV];
const DOMAIN = 'contoso.onmicrosoft.com';
const APP = '33333333-3333-4333-8333-333333333333';
const UPN = `grace@${DOMAIN}`;
const DELTA = `/users/${UPN}/mailFolders/inbox/messages/delta`;
let sim, base, token, control;

function deliver(subject) {
  return control('POST', '/_sim/mail', {
    from: 'customer@example.com', to: [UPN], subject, body: `body of ${subject}`,
  });
}

function client() {
  return Client.init({
    authProvider: (done) => done(null, token),
    baseUrl: `${base}/`,
    customHosts: new Set(['127.0.0.1']),
    defaultVersion: 'v1.0',
  });
}

before(async () => {
  assert.ok(SIM, 'GRAPH_SIM must name the graph-sim binary');
  ({ proc: sim, base } = await startSim('graph-sim', SIM, ['--listen', '127.0.0.1:0', '--db',
    ':memory:', '--tls-cert', join(certDir, 'cert.pem'), '--tls-key', join(certDir, 'key.pem')],
  'https'));
  control = simControl(base);
  await control('POST', '/_sim/seed', {
    tenant: { domain: DOMAIN },
    apps: [{ clientId: APP, secret: 'graphclient-secret', displayName: 'graph client test',
      roles: ['Mail.Read', 'User.Read.All'] }],
    users: [{ userPrincipalName: UPN, mail: UPN, displayName: 'Grace' }],
  });
  for (let i = 0; i < 25; i++) await deliver(`message ${String(i).padStart(2, '0')}`);
  token = (await control('POST', '/_sim/token', { clientId: APP })).access_token;
  assert.ok(token, 'a token from /_sim/token');
  // The certificate is the one the child trusts, not some other.
  assert.ok(readFileSync(join(certDir, 'cert.pem'), 'utf8').includes('BEGIN CERTIFICATE'));
});

after(() => stopSim('graph-sim', sim));

test('delta: three pages of at most 10 through nextLinks, then the new message only', async () => {
  const graph = client();
  const seen = new Set();
  const sizes = [];
  let page = await graph.api(DELTA).header('Prefer', 'odata.maxpagesize=10').get();
  for (;;) {
    sizes.push(page.value.length);
    for (const m of page.value) seen.add(m.id);
    const next = page['@odata.nextLink'];
    if (!next) break;
    // Links must be absolute https URLs for the client to send them to graph-sim at all.
    assert.ok(next.startsWith(`${base}/v1.0/`), `nextLink ${next}`);
    assert.equal(page['@odata.deltaLink'], undefined);
    page = await graph.api(next).header('Prefer', 'odata.maxpagesize=10').get();
  }
  assert.deepEqual(sizes, [10, 10, 5]);
  assert.equal(seen.size, 25);
  const deltaLink = page['@odata.deltaLink'];
  assert.ok(deltaLink && deltaLink.startsWith(`${base}/v1.0/`), `deltaLink ${deltaLink}`);

  // Nothing changed: an empty round.
  const idle = await graph.api(deltaLink).get();
  assert.equal(idle.value.length, 0);
  assert.ok(idle['@odata.deltaLink']);

  await deliver('the new one');
  const round = await graph.api(idle['@odata.deltaLink']).get();
  assert.equal(round.value.length, 1);
  assert.equal(round.value[0].subject, 'the new one');
  assert.ok(!seen.has(round.value[0].id));
  assert.ok(round['@odata.deltaLink']);
});

test('PageIterator follows nextLinks and stops at the deltaLink', async () => {
  const graph = client();
  const options = { headers: { Prefer: 'odata.maxpagesize=10' } };
  const first = await graph.api(DELTA).header('Prefer', 'odata.maxpagesize=10').get();
  const subjects = [];
  const it = new PageIterator(graph, first, (m) => { subjects.push(m.subject); return true; },
    options);
  await it.iterate();
  assert.equal(subjects.length, 26);
  assert.ok(subjects.includes('the new one'));
  assert.ok(it.getDeltaLink().startsWith(`${base}/v1.0/`));
  assert.equal(it.isComplete(), true);
});

test('a bad delta token is a GraphError 410 SyncStateNotFound', async () => {
  const graph = client();
  const err = await graph.api(`${DELTA}?$deltatoken=not-a-token`).get().then(
    () => assert.fail('expected a 410'), (e) => e);
  assert.ok(err instanceof GraphError, `got ${err}`);
  assert.equal(err.statusCode, 410);
  assert.equal(err.code, 'SyncStateNotFound');
  assert.match(err.requestId, /^[0-9a-f-]{36}$/);
});

test('without customHosts the client withholds the token: 401 InvalidAuthenticationToken', async () => {
  const graph = Client.init({
    authProvider: (done) => done(null, token),
    baseUrl: `${base}/`,
    defaultVersion: 'v1.0',
  });
  const err = await graph.api(DELTA).get().then(() => assert.fail('expected a 401'), (e) => e);
  assert.ok(err instanceof GraphError, `got ${err}`);
  assert.equal(err.statusCode, 401);
  assert.equal(err.code, 'InvalidAuthenticationToken');
});
