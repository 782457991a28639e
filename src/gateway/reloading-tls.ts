/**
 * The HTTP server's certificate, re-read when its files change (Envoy's SDS, in small): a new
 * certificate applies to new connections through `server.setSecureContext`; connections in
 * flight keep theirs. Files that do not make a valid context (garbage, a key that does not
 * match, a half-written copy) leave the old certificate serving; the error is logged and shown
 * by `bkg status` until a good pair arrives.
 */
import { X509Certificate } from "node:crypto";
import { readFileSync, unwatchFile, watchFile } from "node:fs";
import type { Server as HttpsServer } from "node:https";
import { createSecureContext, type SecureContextOptions } from "node:tls";
import { BkgError, ErrorCodes } from "@bkg/protocol";
import type { TlsFiles } from "../config/index.js";
import type { Logger } from "../logs/index.js";

/** What `bkg status` shows under http.tls. */
export interface TlsState {
  certFile: string;
  subject: string;
  notAfter: string;
  mutual: boolean;
  loadedAt: string;
  /** Why the files on disk are not serving (the previous certificate is), until they are fixed. */
  reloadError?: string;
}

const POLL_MS = 1000;

export class ReloadingTls {
  private current: SecureContextOptions;
  private info: Omit<TlsState, "reloadError">;
  private reloadError?: string;
  private server?: HttpsServer;

  /** Reads and checks the files; a bad pair at start-up is the daemon's start failing, with the file named. */
  constructor(
    private readonly files: TlsFiles,
    private readonly log: Logger,
  ) {
    const first = this.read();
    if (first instanceof Error) throw new BkgError(ErrorCodes.InternalError, `http.tls: ${first.message}`);
    [this.current, this.info] = first;
  }

  /** The options https.createServer takes: the certificate, and client-certificate checks when clientCaFile is set. */
  get serverOptions(): SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean } {
    const mutual = Boolean(this.files.clientCaFile);
    return { ...this.current, requestCert: mutual, rejectUnauthorized: mutual };
  }

  get state(): TlsState {
    return { ...this.info, ...(this.reloadError ? { reloadError: this.reloadError } : {}) };
  }

  /** Starts watching the files for `server`; `stop` ends it. */
  watch(server: HttpsServer): void {
    this.server = server;
    for (const file of this.watched()) watchFile(file, { interval: POLL_MS, persistent: false }, () => this.reload());
  }

  stop(): void {
    for (const file of this.watched()) unwatchFile(file);
  }

  private watched(): string[] {
    return [this.files.certFile, this.files.keyFile, ...(this.files.clientCaFile ? [this.files.clientCaFile] : [])];
  }

  private reload(): void {
    const next = this.read();
    if (next instanceof Error) {
      if (this.reloadError !== next.message)
        this.log.error({ certFile: this.files.certFile, err: next.message }, `http.tls: the new certificate files were not loaded, the previous certificate keeps serving: ${next.message}`);
      this.reloadError = next.message;
      return;
    }
    [this.current, this.info] = next;
    this.reloadError = undefined;
    this.server?.setSecureContext(this.current);
    this.log.info(
      { certFile: this.files.certFile, subject: this.info.subject, notAfter: this.info.notAfter },
      `http.tls: loaded the new certificate (${this.info.subject}, valid until ${this.info.notAfter}) for new connections`,
    );
  }

  private read(): [SecureContextOptions, Omit<TlsState, "reloadError">] | Error {
    const { certFile, keyFile, clientCaFile } = this.files;
    const options: SecureContextOptions = {};
    try {
      for (const [field, file, key] of [
        ["certFile", certFile, "cert"],
        ["keyFile", keyFile, "key"],
        ["clientCaFile", clientCaFile, "ca"],
      ] as const) {
        if (!file) continue;
        try {
          options[key] = readFileSync(file);
        } catch (e) {
          return new Error(`cannot read ${field} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
      }
      // Throws for garbage PEM and for a key that does not belong to the certificate.
      createSecureContext(options);
      const cert = new X509Certificate(options.cert as Buffer);
      return [options, { certFile, subject: cert.subject.replace(/\n/g, ", "), notAfter: new Date(cert.validTo).toISOString(), mutual: Boolean(clientCaFile), loadedAt: new Date().toISOString() }];
    } catch (e) {
      return new Error(`${certFile} and ${keyFile} do not make a usable certificate: ${(e as Error).message}`);
    }
  }
}
