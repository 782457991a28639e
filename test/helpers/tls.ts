/** Throwaway certificates for TLS tests, made with openssl (on every machine these tests run on). */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export type TestCerts = Record<"ca" | "serverCert" | "serverKey" | "clientCert" | "clientKey", string>;

/** A CA, a server certificate for 127.0.0.1 and a client certificate, in `dir` (`prefix` names a second set). */
export function makeCerts(dir: string, prefix = ""): TestCerts {
  const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const f = (n: string) => `${prefix}${n}`;
  ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f("ca.key"), "-out", f("ca.crt"), "-days", "1", "-subj", `/CN=bkg test CA${prefix ? ` ${prefix}` : ""}`);
  for (const [name, cn, ext] of [
    ["server", "127.0.0.1", "subjectAltName=IP:127.0.0.1"],
    ["client", "bkg test client", "extendedKeyUsage=clientAuth"],
  ]) {
    writeFileSync(join(dir, f(`${name}.ext`)), `${ext}\n`);
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f(`${name}.key`), "-out", f(`${name}.csr`), "-subj", `/CN=${cn}`);
    ssl("x509", "-req", "-in", f(`${name}.csr`), "-CA", f("ca.crt"), "-CAkey", f("ca.key"), "-CAcreateserial", "-out", f(`${name}.crt`), "-days", "1", "-extfile", f(`${name}.ext`));
  }
  const read = (n: string) => readFileSync(join(dir, f(n)), "utf8");
  return { ca: read("ca.crt"), serverCert: read("server.crt"), serverKey: read("server.key"), clientCert: read("client.crt"), clientKey: read("client.key") };
}
