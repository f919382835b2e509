// `hyperclip serve` as an attacker would try it: nothing outside the page
// folder and the model's contract files comes back (dot segments, encoded
// and double-encoded dots and slashes, backslashes, symlinks, absolute
// paths), only GET and HEAD are answered, and it listens on loopback only
// unless --host says otherwise.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import type { Server } from 'node:http';
import { startServer } from '../../src/cli/static-server.js';

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const root = mkdtempSync(path.join(tmpdir(), 'hyperclip-serve-'));
const SECRET = 'SECRET-outside-the-served-folders';
let server: Server;
let port: number;

before(async () => {
  const page = path.join(root, 'dist');
  const model = path.join(root, 'model');
  const sibling = path.join(root, 'dist-private'); // shares the page folder's name as a prefix
  for (const dir of [page, path.join(page, 'assets'), model, sibling]) mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(page, 'index.html'), '<!doctype html><title>hyperclip</title>');
  writeFileSync(path.join(page, 'assets', 'app.js'), 'console.log(1);');
  writeFileSync(path.join(root, 'secret.txt'), SECRET);
  writeFileSync(path.join(sibling, 'secret.txt'), SECRET);
  writeFileSync(path.join(model, 'config.json'), '{}');
  writeFileSync(path.join(model, 'notes.txt'), SECRET); // in the model folder, but not a model file
  symlinkSync(path.join(root, 'secret.txt'), path.join(page, 'link.txt'));
  symlinkSync(root, path.join(page, 'up'));
  symlinkSync(path.join(root, 'secret.txt'), path.join(model, 'tokenizer.json')); // a model file that points outside
  server = await startServer({
    pageDir: page, modelDirs: [model],
    modelFiles: new Map([['config.json', path.join(model, 'config.json')], ['tokenizer.json', path.join(model, 'tokenizer.json')]]),
  }, 0);
  port = (server.address() as AddressInfo).port;
});

after(() => {
  server?.close();
  rmSync(root, { recursive: true, force: true });
});

/** Sends a request line exactly as written (no client-side normalisation); resolves with status and body. */
function raw(method: string, target: string): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    let text = '';
    socket.on('data', (chunk) => { text += chunk.toString('latin1'); });
    socket.on('error', reject);
    socket.on('end', () => {
      const [head, ...rest] = text.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(head ?? '')?.[1] ?? 0), headers: head ?? '', body: rest.join('\r\n\r\n') });
    });
  });
}

test('the page and the model files are served', async () => {
  for (const target of ['/', '/index.html', '/assets/app.js', '/model/config.json']) {
    const res = await raw('GET', target);
    assert.equal(res.status, 200, target);
  }
  const head = await raw('HEAD', '/assets/app.js');
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  assert.match(head.headers, /Content-Length: 15/i);
});

test('nothing outside the page folder and the model files is served, however the path is written', async () => {
  const attempts = [
    '/../secret.txt', '/..%2fsecret.txt', '/%2e%2e/secret.txt', '/%2e%2e%2fsecret.txt', '/%252e%252e%252fsecret.txt',
    '/..%5csecret.txt', '/..\\secret.txt', '/%5c..%5csecret.txt', '/assets/../../secret.txt', '/assets/..%2f..%2fsecret.txt',
    '//etc/passwd', '/%2fetc%2fpasswd', '/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd', `/${encodeURIComponent(path.join(root, 'secret.txt'))}`,
    `http://127.0.0.1${path.join(root, 'secret.txt')}`, '/..%2fdist-private/secret.txt', '/link.txt', '/up/secret.txt',
    '/model/../secret.txt', '/model/..%2f..%2fsecret.txt', '/model/%2e%2e%2fnotes.txt', '/model/notes.txt', '/model/tokenizer.json',
    '/model/', '/model', '/index.html%00.js', '/%00', '/%E0%A4%A',
  ];
  for (const target of attempts) {
    const res = await raw('GET', target);
    assert.ok(res.status === 404 || res.status === 400, `${target}: ${res.status}`);
    assert.doesNotMatch(res.body, new RegExp(SECRET), target);
    assert.doesNotMatch(res.body, /root:/, target);
  }
});

test('only GET and HEAD: every other method is 405 with Allow', async () => {
  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND']) {
    const res = await raw(method, '/index.html');
    assert.equal(res.status, 405, method);
    assert.match(res.headers, /Allow: GET, HEAD/i, method);
  }
});

test('it listens on 127.0.0.1 unless asked otherwise, and --host is in the command line', async () => {
  assert.equal((server.address() as AddressInfo).address, '127.0.0.1');
  const any = await startServer({ pageDir: root, modelFiles: new Map(), modelDirs: [] }, 0, '0.0.0.0');
  try {
    assert.equal((any.address() as AddressInfo).address, '0.0.0.0');
  } finally {
    any.close();
  }
  await assert.rejects(startServer({ pageDir: root, modelFiles: new Map(), modelDirs: [] }, 0, '203.0.113.7'), /cannot listen on 203\.0\.113\.7:0: .*give --host an address of this machine/);
  const help = spawnSync(process.execPath, [CLI, 'serve', '--help'], { encoding: 'utf8' });
  assert.match(help.stdout, /--host <address>[\s\S]*\(default:\s+"127\.0\.0\.1"\)/);
});
