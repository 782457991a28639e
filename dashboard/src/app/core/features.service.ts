import { Injectable, inject, signal } from "@angular/core";
import { ApiService } from "./api.service";

/**
 * Which optional APIs this daemon has: the model store (/api/models) and the OpenAI-compatible
 * routes (/v1/models) land in other work; a page whose API answers 404 is hidden, never faked.
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
    const [models, v1] = await Promise.all([this.api.optional<unknown>("/api/models").catch(() => null), this.api.optional<unknown>("/v1/models").catch(() => null)]);
    this.models.set(models !== null);
    this.chat.set(v1 !== null);
  }
}
