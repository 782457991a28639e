import { Injectable, inject, signal } from "@angular/core";
import { ApiService } from "./api.service";

/**
 * Which optional APIs this daemon has: the model store (/api/models) and the OpenAI-compatible
 * routes (/v1/models) land in other work; a page whose API the daemon does not have is hidden,
 * never faked. Asked of /openapi.json (every route the daemon serves) rather than by probing each
 * route, so a daemon without them costs no failed request (and no console error).
 */
@Injectable({ providedIn: "root" })
export class FeaturesService {
  private readonly api = inject(ApiService);
  readonly models = signal<boolean>(false);
  readonly chat = signal<boolean>(false);
  private probed = false;

  async probe(): Promise<void> {
    if (this.probed) return;
    this.probed = true;
    try {
      const doc = await this.api.get<{ paths?: Record<string, unknown> }>("/openapi.json");
      const paths = Object.keys(doc.paths ?? {});
      this.models.set(paths.includes("/api/models"));
      this.chat.set(paths.includes("/v1/chat/completions"));
    } catch {
      /* no optional page: the core pages work without them */
    }
  }
}
