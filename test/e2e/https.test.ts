/**
 * Issue 18.2: HTTPS and WSS on the HTTP server (http.tls), mutual TLS with clientCaFile, HSTS,
 * a certificate replaced on disk served to new connections without a restart and without a
 * failed request, garbage in its place leaving the old one serving (and said by bkg status),
 * and a plaintext client on the TLS port refused without harm.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest, type RequestOptions } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import t from "tap";
import WebSocket from "ws";
import { echoManifest, startTestDaemon } from "../helpers/daemon.js";
import { makeCerts } from "../helpers/tls.js";

t.setTimeout(5 * 60_000);

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  fingerprint: string;
}

/** One request on a fresh TLS connection (no keep-alive), with the server certificate's fingerprint. */
function get(url: string, opts: RequestOptions & { body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { agent: false, method: opts.body ? "POST" : "GET", ...opts }, (res) => {
      const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body, fingerprint }));
    });
    req.on("error", reject);
    req.end(opts.body);
  });
}

t.test("http.tls: HTTPS, WSS, HSTS, mutual TLS, rotation and garbage, plaintext on the TLS port", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "bkg-https-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const first = makeCerts(dir);
  const second = makeCerts(dir, "next-");
  const certFile = join(dir, "live.crt");
  const keyFile = join(dir, "live.key");
  copyFileSync(join(dir, "server.crt"), certFile);
  copyFileSync(join(dir, "server.key"), keyFile);

  const d = await startTestDaemon({ echo: echoManifest() }, { http: { port: 0, tls: { certFile, keyFile } } });
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");
  const url = d.httpUrl!;
  t.match(url, /^https:\/\/127\.0\.0\.1:\d+$/, "the daemon says https");
  const root = d.rootToken();
  const auth = { authorization: `Bearer ${root}`, "content-type": "application/json" };
  const trustBoth = [first.ca, second.ca];

  const health = await get(`${url}/health`, { ca: first.ca });
  t.equal(health.status, 200, "HTTPS with the CA trusted");
  t.equal(health.headers["strict-transport-security"], "max-age=31536000", "HSTS");
  const call = await get(`${url}/api/call/echo/reverse`, { ca: first.ca, headers: auth, body: '{"text":"tls"}' });
  t.same(JSON.parse(call.body), { result: "slt" }, "a call over HTTPS (the fast call path)");
  t.equal(call.headers["strict-transport-security"], "max-age=31536000", "HSTS on the fast call path too");
  await t.rejects(get(`${url}/health`), /self-signed|unable to verify|self signed/, "a client that does not trust the CA refuses the server");

  // WSS: the same WebSocket API over TLS.
  const ws = new WebSocket(`${url.replace("https", "wss")}/ws/plugins`, { headers: { authorization: `Bearer ${root}` }, ca: first.ca });
  const answer = await new Promise<any>((resolve, reject) => {
    ws.on("open", () => ws.send(JSON.stringify({ action: "CALL", id: 1, method: "echo.reverse", params: { text: "wss" } })));
    ws.on("message", (m) => {
      const msg = JSON.parse(String(m));
      if (msg.id === 1 && msg.type === "result") resolve(msg);
    });
    ws.on("error", reject);
  });
  ws.close();
  t.equal(answer.payload, "ssw", "a call over WSS");

  // A plaintext request to the TLS port is refused; the daemon goes on.
  const plain = await new Promise<string>((resolve) => {
    const req = httpRequest(`${url.replace("https", "http")}/health`, (res) => resolve(`status ${res.statusCode}`));
    req.on("error", (e) => resolve(`error ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    req.end();
  });
  t.match(plain, /^(error|status 400)/, `plaintext on the TLS port is not served (${plain})`);

  // Rotation under load: requests on fresh connections never stop while the files are replaced.
  let failures = 0;
  let served = 0;
  const seen = new Set<string>();
  let loading = true;
  const load = (async () => {
    while (loading) {
      try {
        const r = await get(`${url}/api/call/echo/reverse`, { ca: trustBoth, headers: auth, body: '{"text":"ab"}' });
        if (r.status === 200) served++;
        else failures++;
        seen.add(r.fingerprint);
      } catch {
        failures++;
      }
    }
  })();
  await d.waitFor(() => served >= 5, "requests flow before the rotation");
  const before = (await get(`${url}/health`, { ca: trustBoth })).fingerprint;
  copyFileSync(join(dir, "next-server.key"), `${keyFile}.tmp`);
  copyFileSync(join(dir, "next-server.crt"), `${certFile}.tmp`);
  // Replaced by rename, as certbot and cert-manager do, key first; the watcher may see the pair half-swapped, which must not serve.
  const { renameSync } = await import("node:fs");
  renameSync(`${keyFile}.tmp`, keyFile);
  renameSync(`${certFile}.tmp`, certFile);
  await d.waitFor(async () => (await get(`${url}/health`, { ca: trustBoth })).fingerprint !== before, "new connections get the new certificate", 20_000);
  const servedAtSwap = served;
  await d.waitFor(() => served >= servedAtSwap + 5, "requests flow after the rotation");
  loading = false;
  await load;
  t.equal(failures, 0, `no request failed across the rotation (${served} served)`);
  t.equal(seen.size, 2, "the load saw the old certificate, then the new one");
  await t.rejects(get(`${url}/health`, { ca: first.ca }), /self-signed|unable to verify|self signed/, "the old CA alone no longer verifies the server");
  const status = (await d.client.status()) as any;
  t.match(status.http.tls, { certFile, subject: /CN=127\.0\.0\.1/, mutual: false }, "bkg status shows the certificate in use");
  t.notOk(status.http.tls.reloadError, "and no reload error");

  // Garbage in the certificate file: the previous certificate keeps serving, the error shows.
  const serving = (await get(`${url}/health`, { ca: second.ca })).fingerprint;
  writeFileSync(certFile, "this is not a certificate\n");
  await d.waitFor(async () => Boolean(((await d.client.status()) as any).http.tls.reloadError), "bkg status shows the reload error", 20_000);
  t.match(((await d.client.status()) as any).http.tls.reloadError, /do not make a usable certificate/, "the error says what is wrong");
  const still = await get(`${url}/health`, { ca: second.ca });
  t.equal(still.status, 200, "the daemon still serves HTTPS");
  t.equal(still.fingerprint, serving, "with the previous certificate");
  t.ok(d.output().includes("the previous certificate keeps serving"), "the error is logged");
});

t.test("http.tls with clientCaFile: only clients with a certificate the CA signed get in", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "bkg-https-mtls-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const certs = makeCerts(dir);
  const d = await startTestDaemon({ echo: echoManifest() }, { http: { port: 0, tls: { certFile: join(dir, "server.crt"), keyFile: join(dir, "server.key"), clientCaFile: join(dir, "ca.crt") } } });
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");
  const ok = await get(`${d.httpUrl}/health`, { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey });
  t.equal(ok.status, 200, "a client with a certificate is served");
  await t.rejects(get(`${d.httpUrl}/health`, { ca: certs.ca }), "a client without one is refused in the handshake");
  t.match(((await d.client.status()) as any).http.tls, { mutual: true });
});
