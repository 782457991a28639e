import { JsonPipe } from "@angular/common";
import { Component, inject, signal } from "@angular/core";
import { ApiService, messageOf } from "../core/api.service";

/** The effective config (secrets masked by the daemon) and where the daemon listens. */
@Component({
  selector: "bkg-settings",
  imports: [JsonPipe],
  template: `
    <h1 class="h1">Settings</h1>
    @if (error()) { <p class="error-box mb-4" role="alert">{{ error() }}</p> }
    @if (status(); as s) {
      <section class="card mb-4" aria-label="Endpoints">
        <h2 class="h2">Where the daemon listens</h2>
        <table class="table" data-testid="endpoints">
          <tbody>
            <tr><th>HTTP / WebSocket</th><td class="font-mono">{{ s.http?.url ?? "off" }} {{ s.http?.ws ? "· " + s.http.ws : "" }}</td></tr>
            <tr><th>gRPC</th><td class="font-mono">{{ s.grpc ? s.grpc.address + (s.grpc.tls ? " (TLS)" : "") : "off" }}</td></tr>
            <tr><th>Unix socket</th><td class="font-mono">{{ s.socketPath }}</td></tr>
            <tr><th>Data folder</th><td class="font-mono">{{ s.dataDir }}</td></tr>
            <tr><th>Manifests</th><td class="font-mono">{{ s.manifestsDir }}</td></tr>
            <tr><th>Config file</th><td class="font-mono">{{ s.configFile ?? "(none: defaults and environment)" }}</td></tr>
            <tr><th>Daemon pid</th><td>{{ s.pid }}</td></tr>
          </tbody>
        </table>
      </section>
    }
    @if (config(); as c) {
      <section class="card" aria-label="Effective config">
        <h2 class="h2">Effective config <span class="muted text-xs font-normal">(read-only; secrets shown as [redacted]; change bkg.config.json or BKG_* variables and restart)</span></h2>
        <pre class="max-h-[36rem] overflow-auto rounded bg-slate-100 p-2 text-xs dark:bg-slate-800" data-testid="config">{{ c | json }}</pre>
      </section>
    } @else if (!error()) { <p class="muted" aria-busy="true">Loading…</p> }
  `,
})
export class SettingsPage {
  private readonly api = inject(ApiService);
  readonly status = signal<any>(null);
  readonly config = signal<any>(null);
  readonly error = signal<string | null>(null);

  constructor() {
    Promise.all([this.api.get("/api/status"), this.api.get("/api/config")]).then(
      ([s, c]) => {
        this.status.set(s);
        this.config.set(c);
      },
      (e) => this.error.set(`Could not load the settings: ${messageOf(e)}`),
    );
  }
}
