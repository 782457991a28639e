import { Injectable, inject, signal } from "@angular/core";
import { ApiService } from "./api.service";

/** The methods a plugin must provide for a playground to drive it. */
const SEARCH_METHODS = ["query", "collections.list", "stats"];
const FACES_METHODS = ["detect", "identify", "datasets.list", "enroll"];

/**
 * Which optional APIs this daemon has: the model store (/api/models), recent traces (/api/traces),
 * the OpenAI-compatible routes (/v1), a search plugin (BrainML's methods) and a faces plugin
 * (RustyFace's). A page whose API the daemon does not have is hidden, never faked. Routes are asked of /openapi.json (every route the
 * daemon serves) rather than by probing each route, so a daemon without them costs no failed
 * request (and no console error); plugins by what their manifests provide, whatever their names.
 */
@Injectable({ providedIn: "root" })
export class FeaturesService {
  private readonly api = inject(ApiService);
  readonly models = signal<boolean>(false);
  readonly chat = signal<boolean>(false);
  /** The daemon keeps recent traces (GET /api/traces). */
  readonly traces = signal<boolean>(false);
  /** The plugin that serves search (BrainML's query/collections/stats), or null. */
  readonly search = signal<string | null>(null);
  /** The plugin that serves faces (RustyFace's detect/identify/datasets), or null. */
  readonly faces = signal<string | null>(null);
  private probing: Promise<void> | null = null;

  /** Asked once per page load; pages that need a plugin await it. */
  probe(): Promise<void> {
    return (this.probing ??= this.run());
  }

  private async run(): Promise<void> {
    try {
      const doc = await this.api.get<{ paths?: Record<string, unknown> }>("/openapi.json");
      const paths = Object.keys(doc.paths ?? {});
      this.models.set(paths.includes("/api/models"));
      this.chat.set(paths.includes("/v1/chat/completions"));
      this.traces.set(paths.includes("/api/traces"));
    } catch {
      /* no optional page: the core pages work without them */
    }
    try {
      const plugins = await this.api.get<{ name: string }[]>("/api/plugins");
      const infos = await Promise.all(plugins.map((p) => this.api.get<PluginInfo>(`/api/plugins/${encodeURIComponent(p.name)}`).catch(() => null)));
      const has = (info: PluginInfo | null, wanted: string[]) => {
        const provides = new Set([...(info?.manifest?.provides ?? []), ...(info?.methods ?? []).map((m) => m.name)]);
        return wanted.every((m) => provides.has(m));
      };
      this.search.set(infos.find((i) => has(i, SEARCH_METHODS))?.name ?? null);
      this.faces.set(infos.find((i) => has(i, FACES_METHODS))?.name ?? null);
    } catch {
      /* the playgrounds stay hidden; the overview says what is wrong with the daemon */
    }
  }
}

interface PluginInfo {
  name: string;
  manifest?: { provides?: string[] };
  methods?: { name: string }[];
}
