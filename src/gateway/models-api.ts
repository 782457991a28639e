/**
 * Control methods over the model store (merged into CONTROL_METHODS), the same for the socket
 * (`bkg models ...`) and HTTP (/api/models). Bad input throws a BkgError: an unknown model or one
 * not pulled is -32601 (404), a bad name or source -32602 (400). A pull that fails is not an
 * error of the call: its status says failed, with the store's code and message.
 */
import { BkgError, ErrorCodes } from "@bkg/protocol";
import { ModelError, type ModelService } from "../models/index.js";
import type { ControlMethod } from "./control-method.js";
import type { DaemonContext } from "./daemon-context.js";
import { audit } from "./telemetry-api.js";

type Params = Record<string, unknown>;

function service(ctx: DaemonContext): ModelService {
  if (!ctx.models) throw new BkgError(ErrorCodes.InternalError, "this daemon has no model store");
  return ctx.models;
}

/** The store's errors as wire errors (the store's own code kept in data.modelError). */
export function wireError(e: unknown): unknown {
  if (!(e instanceof ModelError)) return e;
  const code = e.code === "UnknownModel" || e.code === "NotPulled" ? ErrorCodes.MethodNotFound : e.code === "BadName" || e.code === "BadSource" ? ErrorCodes.InvalidParams : ErrorCodes.InternalError;
  return new BkgError(code, e.message, { modelError: e.code, ...e.data });
}

const str = (p: Params, key: string, required = true): string | undefined => {
  const v = p?.[key];
  if (v === undefined && !required) return undefined;
  if (typeof v !== "string" || !v) throw new BkgError(ErrorCodes.InvalidParams, `params.${key} must be a non-empty string`);
  return v;
};

const guarded =
  (fn: ControlMethod): ControlMethod =>
  async (ctx, p, actor) => {
    try {
      return await fn(ctx, p, actor);
    } catch (e) {
      throw wireError(e);
    }
  };

export const MODEL_METHODS: Record<string, ControlMethod> = {
  "bkg.models.list": guarded((ctx) => {
    const m = service(ctx);
    return { dir: m.dir, models: m.list(), catalog: m.catalog(), pulls: m.listPulls().filter((p) => p.state === "running") };
  }),
  "bkg.models.info": guarded((ctx, p) => service(ctx).show(str(p, "name")!)),
  /**
   * params: model (a catalog name, URI or path; relative paths are the caller's to resolve),
   * name?, sha256?, licence?, force?, wait? (resolve when the pull ends, else at once with its id).
   */
  "bkg.models.pull": guarded(async (ctx, p, actor) => {
    const m = service(ctx);
    const what = str(p, "model")!;
    const status = m.startPull(what, {
      name: str(p, "name", false),
      sha256: str(p, "sha256", false),
      licence: str(p, "licence", false),
      force: p.force === true,
    });
    audit(ctx, actor, "models.pull", undefined, { model: status.model, requested: what, pullId: status.pullId });
    return p.wait === true ? m.waitPull(status.pullId) : status;
  }),
  "bkg.models.pullStatus": guarded((ctx, p) => service(ctx).pull(str(p, "pullId")!)),
  "bkg.models.rm": guarded(async (ctx, p, actor) => {
    const r = await service(ctx).rm(str(p, "name")!);
    audit(ctx, actor, "models.rm", undefined, { model: r.name });
    return r;
  }),
  "bkg.models.verify": guarded((ctx, p) => service(ctx).verify(str(p, "name")!)),
};
