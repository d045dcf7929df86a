import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from './fault-proxy.ts';

/** The proxy itself: other tests trust it to inject exactly the fault asked for. */
let echo: Server;
let proxy: FaultProxy;

beforeAll(async () => {
  echo = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(Buffer.concat([Buffer.from('echo:'), ...chunks]));
    });
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  proxy = await startFaultProxy(`http://127.0.0.1:${(echo.address() as AddressInfo).port}`);
});
afterAll(async () => {
  await proxy.stop();
  await new Promise((resolve) => echo.close(resolve));
});

describe('fault proxy', () => {
  it('forwards unchanged without a rule', async () => {
    const res = await fetch(`${proxy.endpoint}/a?x=1`, { method: 'PUT', body: 'hello' });
    expect(await res.text()).toBe('echo:hello');
  });

  it('flips one bit of a matching request body, only as often as asked', async () => {
    proxy.add({ method: 'PUT', url: 'partNumber=2', fault: { kind: 'flip-request-bit', offset: 1 }, times: 1 });
    expect(await (await fetch(`${proxy.endpoint}/o?partNumber=1`, { method: 'PUT', body: 'abc' })).text()).toBe('echo:abc');
    expect(await (await fetch(`${proxy.endpoint}/o?partNumber=2`, { method: 'PUT', body: 'abc' })).text()).toBe('echo:acc');
    expect(await (await fetch(`${proxy.endpoint}/o?partNumber=2`, { method: 'PUT', body: 'abc' })).text()).toBe('echo:abc');
    proxy.clear();
  });

  it('answers an injected status without forwarding', async () => {
    proxy.add({ url: /^\/b/, fault: { kind: 'status', status: 500 } });
    const res = await fetch(`${proxy.endpoint}/b`);
    expect(res.status).toBe(500);
    expect(await res.text()).toContain('<Code>InternalError</Code>');
    proxy.clear();
  });

  it('cuts a response body after N bytes', async () => {
    proxy.add({ fault: { kind: 'reset-response', afterBytes: 3 } });
    const res = await fetch(`${proxy.endpoint}/c`, { method: 'POST', body: 'x'.repeat(100_000) });
    await expect(res.text()).rejects.toThrow();
    expect(proxy.seen().at(-1)?.fault).toBe('reset-response');
    proxy.clear();
  });

  it('resets a request before forwarding', async () => {
    proxy.add({ fault: { kind: 'reset-request' }, times: 1 });
    await expect(fetch(`${proxy.endpoint}/d`)).rejects.toThrow();
    expect(await (await fetch(`${proxy.endpoint}/d`, { method: 'POST', body: 'ok' })).text()).toBe('echo:ok');
    proxy.clear();
  });
});
