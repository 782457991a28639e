/**
 * Which plugin serves a model, for the /v1 routes. Nothing here knows a model or a plugin by
 * name: any plugin that provides `models` (the model contract) and the method a route needs
 * (`chat`, `complete`, `embed`) is asked `<plugin>.models`, and serves the models it lists.
 * Answers are kept: a request whose model is in them goes straight to its plugin (answers older
 * than a few seconds are refreshed in the background); a model not found in them is looked up
 * once more before the 404 (a model pulled a moment ago is found at once).
 */
import { BkgError, ErrorCodes } from "@bkg/protocol";
import type { DaemonContext } from "./daemon-context.js";

/** What a plugin's `models` method lists (the model contract; more fields may follow). */
export interface ContractModel {
  name: string;
  format?: string;
  loaded?: boolean;
  [k: string]: unknown;
}

export interface ServedModel {
  plugin: string;
  model: ContractModel;
  /** The methods of this plugin the model can be used with (chat, complete, embed). */
  methods: string[];
}

const TTL_MS = 5_000;
const LOOKUP_TIMEOUT_MS = 30_000;
export const MODEL_METHODS = ["chat", "complete", "embed"] as const;
export type ModelMethod = (typeof MODEL_METHODS)[number];

export class ModelDirectory {
  private readonly cache = new Map<string, { at: number; models: ContractModel[] }>();
  /** The background refresh under way, if any (one at a time). */
  private refreshing?: Promise<unknown>;

  constructor(private readonly ctx: DaemonContext) {}

  /** Plugins implementing the model contract, with the model methods each provides. */
  private servers(): { plugin: string; methods: string[] }[] {
    const out: { plugin: string; methods: string[] }[] = [];
    for (const host of this.ctx.supervisor.hosts.values()) {
      const provides = host.manifest.provides;
      if (!provides.includes("models")) continue;
      const methods = MODEL_METHODS.filter((m) => provides.includes(m));
      if (methods.length) out.push({ plugin: host.name, methods });
    }
    return out;
  }

  private async modelsOf(plugin: string, fresh: boolean): Promise<ContractModel[]> {
    const hit = this.cache.get(plugin);
    if (hit && !fresh && Date.now() - hit.at < TTL_MS) return hit.models;
    try {
      const r = (await this.ctx.router.call(`${plugin}.models`, {}, { caller: "daemon:v1", timeoutMs: LOOKUP_TIMEOUT_MS })) as { models?: unknown };
      const models = Array.isArray(r?.models) ? r.models.filter((m): m is ContractModel => typeof (m as ContractModel)?.name === "string") : [];
      this.cache.set(plugin, { at: Date.now(), models });
      return models;
    } catch (e) {
      // One plugin that cannot answer must not hide the others' models.
      this.ctx.logger.warn({ plugin, err: BkgError.from(e).message }, `${plugin}.models failed; its models are left out of /v1`);
      return hit?.models ?? [];
    }
  }

  /**
   * A request's model found in the answers already kept, however old, without asking any plugin:
   * asking costs a round trip to the plugin before the first token (the bench's TTFT), and a
   * model a plugin listed stays served until it is removed, when the plugin's own "not pulled"
   * error answers the request. Stale answers are refreshed in the background for the next one.
   */
  private cachedPick(pick: (all: ServedModel[]) => ServedModel | undefined): ServedModel | undefined {
    const servers = this.servers();
    if (!servers.every((s) => this.cache.has(s.plugin))) return undefined;
    const found = pick(
      this.combine(
        servers,
        servers.map((s) => this.cache.get(s.plugin)!.models),
      ),
    );
    if (found && !this.refreshing && servers.some((s) => Date.now() - this.cache.get(s.plugin)!.at >= TTL_MS)) {
      this.refreshing = this.list()
        .catch(() => undefined)
        .finally(() => (this.refreshing = undefined));
    }
    return found;
  }

  /** Every model any contract plugin serves (first plugin wins a name both list). */
  async list(fresh = false): Promise<ServedModel[]> {
    const servers = this.servers();
    return this.combine(servers, await Promise.all(servers.map((s) => this.modelsOf(s.plugin, fresh))));
  }

  private combine(servers: { plugin: string; methods: string[] }[], lists: ContractModel[][]): ServedModel[] {
    const seen = new Set<string>();
    const out: ServedModel[] = [];
    servers.forEach((s, i) => {
      for (const model of lists[i]) {
        if (seen.has(model.name)) continue;
        seen.add(model.name);
        out.push({ plugin: s.plugin, model, methods: s.methods });
      }
    });
    return out;
  }

  /**
   * The plugin serving `model` with `method`, or -32601 (404) naming the models that exist
   * (`visible` filters them: a key sees the models its scopes allow).
   */
  async find(model: string, method: ModelMethod, visible: (m: ServedModel) => boolean = () => true): Promise<ServedModel> {
    const pick = (all: ServedModel[]) => all.find((s) => s.model.name === model && s.methods.includes(method));
    const found = this.cachedPick(pick) ?? pick(await this.list()) ?? pick(await this.list(true));
    if (found) return found;
    const all = await this.list();
    const usable = all.filter((s) => s.methods.includes(method) && visible(s)).map((s) => s.model.name);
    const other = all.find((s) => s.model.name === model);
    const what = method === "embed" ? "an embedding" : method === "chat" ? "a chat" : "a completion";
    const message = other
      ? `model "${model}" is served by ${other.plugin}, which is not ${what} model; ${what} model is one of: ${usable.join(", ") || "(none)"}`
      : `model "${model}" does not exist or is not pulled (run \`bkg models pull ${model}\`); the models are: ${usable.join(", ") || "(none pulled)"}`;
    throw new BkgError(ErrorCodes.MethodNotFound, message, { reason: "model_not_found", param: "model", model, models: usable });
  }
}
