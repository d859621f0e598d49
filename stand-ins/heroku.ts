/**
 * A loopback stand-in for the parts of the Heroku Platform API that promote-bot uses: pipelines,
 * pipeline couplings, apps, releases (list with Range pagination, info, create/rollback), slugs,
 * pipeline promotions and their targets, plus the release-phase output stream of a failed release.
 *
 * It also serves the latest releases of a pipeline and the app webhook subscriptions, and delivers
 * signed webhook events of release and dyno changes (heroku-webhooks.ts).
 *
 * For the drift check (issue 16) it serves an app's settings: config vars (of the app and of a
 * release), buildpack installations, add-ons, and the app's `generation`, `stack` and `build_stack`,
 * with world helpers to change them (`setConfigVars`, `unsetConfigVars`, `setBuildpacks`,
 * `addAddon`, `removeAddon`, `setStack`, `setGeneration`) and knobs for a token that may not read
 * them (`forbidConfigVars`, `setAppPermissions`, `revokeAccess`). Those shapes come from
 * heroku/platform-api `schema.json` (`config-var`, `buildpack-installation`, `add-on`, `app`), and
 * how they are read from heroku/cli (`commands/config`, `lib/buildpacks/buildpacks.ts`,
 * `commands/addons/index.ts`, `lib/apps/generation.ts`).
 *
 * Shapes follow https://devcenter.heroku.com/articles/platform-api-reference and the
 * `@heroku-cli/schema` types; behaviour that the reference leaves open is modelled on what the
 * Heroku CLI expects (heroku/cli `packages/cli/src/commands/pipelines/promote.ts`).
 * Drive it with the real `heroku-client` pointed at `url`.
 */
import { createHash, randomUUID } from "node:crypto";
import {
  generateWebhookSecret,
  HerokuWebhooks,
  validateSubscriptionBody,
  type WebhookEvent,
  type WebhookSubscription,
} from "./heroku-webhooks.js";
import {
  type Fault,
  HttpStandIn,
  type RouteHandler,
  type StandInRequest,
  type StandInResponse,
} from "./http-stand-in.js";

export type HerokuStage = "review" | "development" | "staging" | "production";

export interface HerokuRelease {
  id: string;
  version: number;
  status: "pending" | "succeeded" | "failed" | "expired";
  slug: { id: string } | null;
  current: boolean;
  /**
   * Whether Heroku allows a rollback to this release: a read-only boolean of every release in the
   * Platform API schema (heroku/platform-api `schema.json`, `release.definitions.eligible_for_rollback`,
   * "indicates if this release is eligible for rollback"). The schema gives no rule; the one cause
   * Heroku documents is expiry ("Rollback to expired releases is not supported", changelog-items/3395),
   * so `expireRelease` clears it, and `markIneligibleForRollback` clears it for any other cause.
   */
  eligible_for_rollback: boolean;
  created_at: string;
  updated_at: string;
  description: string;
  output_stream_url: string | null;
  app: { id: string; name: string };
  user: { id: string; email: string };
}

/** Body of `GET /pipeline-promotions/{id}` (and of the 201 answer to `POST /pipeline-promotions`). */
export interface HerokuPromotion {
  id: string;
  pipeline: { id: string };
  source: { app: { id: string }; release: { id: string } };
  status: "pending" | "completed";
  created_at: string;
  updated_at: string;
}

/** One element of `GET /pipeline-promotions/{id}/promotion-targets`. */
export interface HerokuPromotionTarget {
  id: string;
  app: { id: string };
  status: "pending" | "succeeded" | "failed";
  error_message: string | null;
  release: { id: string } | null;
  pipeline_promotion: { id: string };
}

export interface TargetFailure {
  error_message: string;
  /** Served as the release-phase output at the failed release's `output_stream_url`. */
  output: string;
}

/** A promotion as the stand-in stores it: the API body, its targets, and how it will settle. */
export interface StoredPromotion extends HerokuPromotion {
  targets: HerokuPromotionTarget[];
  /** How many more `GET .../promotion-targets` calls answer "pending" before it completes. */
  pollsRemaining: number;
  /** Snapshot of `promotionBehaviour.failTargets` taken when the promotion was created. */
  failTargets: Record<string, TargetFailure>;
  /**
   * With `promotionBehaviour.releaseDelayMs`: when (epoch ms) the targets' releases appear, and what
   * they will be. Until then every target is `pending` with `release: null` and no release exists on
   * the target apps.
   */
  releasesDue?: { at: number; slugId: string; description: string };
}

export interface HerokuStandInOptions {
  /** The API token that is accepted (Basic auth password or Bearer). Default "heroku-test-token". */
  token?: string;
  /** Clock for `created_at`/`updated_at`; pass a fixed one for reproducible bodies. */
  now?: () => Date;
}

export interface DeployOptions {
  /** Reuse an existing slug (its commit must match) or give the new slug this id. */
  slugId?: string;
  description?: string;
  /** Default "succeeded" (the release becomes current); any other status leaves the current release alone. */
  status?: HerokuRelease["status"];
  commitDescription?: string;
  /** A container-stack (Docker) release: `slug: null`, which Heroku cannot promote (heroku/roadmap#222). */
  container?: boolean;
}

interface PipelineRecord {
  id: string;
  name: string;
  created_at: string;
  updated_at: string;
}

interface CouplingRecord {
  id: string;
  pipelineId: string;
  appId: string;
  stage: HerokuStage;
  created_at: string;
  updated_at: string;
}

interface AppRecord {
  id: string;
  name: string;
  stack: string;
  /** The stack the next build uses (schema.json `app.build_stack`); `stack:set` changes only this. */
  buildStack: string;
  generation: HerokuGeneration;
  /** The app's config vars now (schema.json `config-var`: names match `^\w+$`, values strings). */
  configVars: Record<string, string>;
  /** Buildpack names or URLs in order (`heroku/nodejs`, `https://github.com/x/y.tgz`). */
  buildpacks: string[];
  addons: AddonRecord[];
  created_at: string;
  updated_at: string;
}

/** schema.json `app.generation.name`: "cedar" for the classic platform, "fir" for the next one. */
export type HerokuGeneration = "cedar" | "fir";

/**
 * App permissions of Heroku Enterprise teams (Dev Center "App Permissions and Allowed Actions"):
 * every team member has `view`; `deploy`, `operate`, `manage` are granted per app.
 */
export type HerokuAppPermission = "view" | "deploy" | "operate" | "manage";

interface AddonRecord {
  id: string;
  name: string;
  service: { id: string; name: string };
  plan: { id: string; name: string };
  state: "provisioning" | "provisioned" | "deprovisioned";
  /** Names of the config vars the add-on set on the app (schema.json `add-on.config_vars`). */
  configVarNames: string[];
  created_at: string;
  updated_at: string;
}

/** What a release was made with: its config vars and add-on plans (rollback restores the config). */
interface ReleaseSnapshot {
  configVars: Record<string, string>;
  addonPlanNames: string[];
}

/** Options of `setConfigVars` / `unsetConfigVars`. */
export interface ConfigChangeOptions {
  /**
   * Status of the release the change makes. Default "succeeded" (it becomes current). "pending"
   * stands for a release phase still running on it (a config change runs the release phase, Dev
   * Center release-phase); settle it with `setReleaseStatus`.
   */
  status?: HerokuRelease["status"];
}

/** Options of `addAddon`. */
export interface AddAddonOptions {
  /** The add-on's globally unique name; default like Heroku's generated ones (`postgresql-curly-12345`). */
  name?: string;
  /** Config vars the add-on sets on the app (Heroku Postgres sets `DATABASE_URL`); default none. */
  configVars?: Record<string, string>;
  /** Default "provisioned". */
  state?: AddonRecord["state"];
}

interface SlugRecord {
  id: string;
  appId: string;
  commit: string | null;
  commit_description: string | null;
  created_at: string;
  updated_at: string;
}

type ApiHandler = (req: StandInRequest) => StandInResponse | Promise<StandInResponse>;

/** A Heroku error answer, thrown inside handlers and turned into a response at the edge. */
class HerokuApiError extends Error {
  constructor(
    readonly status: number,
    readonly id: string,
    message: string,
    readonly resource?: string,
  ) {
    super(message);
  }

  toResponse(): StandInResponse {
    const body: Record<string, string> = { id: this.id, message: this.message };
    if (this.resource) body.resource = this.resource;
    return { status: this.status, body };
  }
}

const notFound = (resource: string, label = resource) =>
  new HerokuApiError(404, "not_found", `Couldn't find that ${label}.`, resource);
const invalidParams = (message: string) => new HerokuApiError(422, "invalid_params", message);

/** Heroku's answer for a path or verb it does not serve. */
const UNKNOWN_ENDPOINT =
  "The requested API endpoint was not found. Are you using the right HTTP verb (i.e. `GET` vs. `POST`), and did you specify your intended version with the `Accept` header?";

/** "Default page size is 200 and maximum page size is 1000" (platform-api-reference#ranges). */
const DEFAULT_PAGE_SIZE = 200;
const MAX_PAGE_SIZE = 1000;

const STACK = { id: "ee582d3c-717d-4a57-ba5f-8b3a39f3a817", name: "heroku-24" };
const CONTAINER_STACK = { id: "69bee368-352b-4bd0-9b7c-819d860a2588", name: "container" };
/** Stacks `setStack` knows. The heroku-22 id is made up (a stack's id is a uuid in schema.json). */
const STACKS: Record<string, { id: string; name: string }> = {
  [STACK.name]: STACK,
  [CONTAINER_STACK.name]: CONTAINER_STACK,
  "heroku-22": { id: "4b8d2f0c-7c1a-4f5e-9a63-2a1c5e0d9b22", name: "heroku-22" },
};
/** schema.json `app.generation` is an object `{id, name}`; the ids here are made up. */
const GENERATIONS: Record<HerokuGeneration, { id: string; name: HerokuGeneration }> = {
  cedar: { id: "1f6e4a7e-2d8b-4c3a-9e51-0b7d6c2a8f10", name: "cedar" },
  fir: { id: "7a2c9e14-5b3d-4f8a-8c61-3e9f0d1b2a47", name: "fir" },
};
/** A new app's buildpacks (issue 16's default for the world). */
const DEFAULT_BUILDPACKS = ["heroku/nodejs"];
/** Words of Heroku's generated add-on names (`postgresql-curly-12345`); any will do. */
const ADDON_WORDS = ["curly", "shallow", "rugged", "angular", "cubic", "flat", "graceful", "opaque"];
const ALL_PERMISSIONS: HerokuAppPermission[] = ["view", "deploy", "operate", "manage"];
const REGION = { id: "59accabd-516d-4f0e-83e6-6e3757701145", name: "us" };

export class HerokuStandIn extends HttpStandIn {
  /** Controls how promotions created from now on settle. */
  /**
   * How new promotions behave. `releaseDelayMs`: the targets' releases appear only this long after the
   * POST; until then each target is `pending` with `release: null`. Heroku's schema makes
   * `pipeline-promotion-target.release` nullable and its CLI (`pipelines:promote`) waits for it to
   * appear, so a promotion can exist well before any release shows on the target apps. How long that
   * takes at Heroku is not documented; tests choose.
   *
   * `settleAfterMs`: the promotion also settles on its own this long after the POST, whoever polls, as
   * Heroku's do (the release phase ends by time, not because someone looked); its release events go
   * out then. Without it a promotion settles only on its `pollsUntilDone`-th poll, which a follower
   * that waits for events (and polls every few minutes) would not make soon.
   */
  promotionBehaviour: {
    pollsUntilDone: number;
    failTargets: Record<string, TargetFailure>;
    releaseDelayMs?: number;
    settleAfterMs?: number;
  } = {
    pollsUntilDone: 1,
    failTargets: {},
  };
  /** When true every authenticated call answers 403 `two_factor`, as for an account that requires a second factor. */
  requireTwoFactor = false;
  /** Sent as `RateLimit-Remaining` on every response; each authenticated call takes one; at 0 calls get 429. */
  rateLimitRemaining = 4500;
  readonly promotions: StoredPromotion[] = [];
  /** The account that owns the token; it is the `user` of every release. */
  readonly account = { id: randomUUID(), email: "promote-bot@example.com" };
  /**
   * App webhook subscriptions and their deliveries: knobs (`pauseDeliveries`, `dropEvents`,
   * `duplicateDeliveries`, `deliverOutOfOrder`, `delayDeliveries`), `options` (backoff, attempts,
   * timeout) and records (`attempts`, `deliveries`, `events`). See heroku-webhooks.ts.
   */
  readonly webhooks = new HerokuWebhooks();

  private readonly token: string;
  private readonly now: () => Date;
  private readonly pipelines = new Map<string, PipelineRecord>();
  private readonly couplings = new Map<string, CouplingRecord>();
  private readonly apps = new Map<string, AppRecord>();
  private readonly slugs = new Map<string, SlugRecord>();
  private readonly releasesById = new Map<string, HerokuRelease>();
  private readonly streams = new Map<string, string>();
  /** Last state reported by `emitDynoState`, per app and dyno name (for `previous_data`). */
  private readonly dynos = new Map<string, { id: string; state: string }>();
  /** Config vars and add-on plans of every release, by release id. */
  private readonly snapshots = new Map<string, ReleaseSnapshot>();
  /** Add-on service and plan ids are global at Heroku: the same name always has the same id here. */
  private readonly catalogueIds = new Map<string, string>();
  private addonCount = 0;
  /** Per app id: what the token may do (default every permission), and config-vars refusals. */
  private readonly access = new Map<
    string,
    { permissions?: Set<HerokuAppPermission>; noAccess?: boolean; configVarsRefusal?: HerokuApiError | undefined }
  >();

  constructor(options: HerokuStandInOptions = {}) {
    super("Heroku");
    this.token = options.token ?? "heroku-test-token";
    this.now = options.now ?? (() => new Date());
    this.registerRoutes();
  }

  // ---------------------------------------------------------------- world building

  addPipeline(name: string): { id: string; name: string } {
    if (this.findPipeline(name)) throw new Error(`pipeline ${name} already exists`);
    const at = this.timestamp();
    const pipeline: PipelineRecord = { id: randomUUID(), name, created_at: at, updated_at: at };
    this.pipelines.set(pipeline.id, pipeline);
    return { id: pipeline.id, name };
  }

  /** Creates an app; with a pipeline (id or name) it is coupled to it at `stage`. */
  addApp(name: string, pipelineId?: string, stage?: HerokuStage): { id: string; name: string } {
    if (this.findApp(name)) throw new Error(`app ${name} already exists`);
    if (stage && !pipelineId) throw new Error(`addApp(${name}): a stage needs a pipeline`);
    const pipeline = pipelineId === undefined ? undefined : this.findPipeline(pipelineId);
    if (pipelineId !== undefined && !pipeline) throw new Error(`addApp(${name}): unknown pipeline ${pipelineId}`);
    if (pipeline && !stage) throw new Error(`addApp(${name}): give the stage of the app in ${pipeline.name}`);
    const at = this.timestamp();
    const app: AppRecord = {
      id: randomUUID(),
      name,
      stack: STACK.name,
      buildStack: STACK.name,
      generation: "cedar",
      configVars: {},
      buildpacks: [...DEFAULT_BUILDPACKS],
      addons: [],
      created_at: at,
      updated_at: at,
    };
    this.apps.set(app.id, app);
    if (pipeline && stage) {
      const coupling: CouplingRecord = {
        id: randomUUID(),
        pipelineId: pipeline.id,
        appId: app.id,
        stage,
        created_at: at,
        updated_at: at,
      };
      this.couplings.set(coupling.id, coupling);
    }
    return { id: app.id, name };
  }

  /** Creates a slug with that commit and a new succeeded release (version = previous+1) that becomes current; returns the release. */
  deploy(appIdOrName: string, commit: string, opts: DeployOptions = {}): HerokuRelease {
    const app = this.requireApp(appIdOrName);
    let slugId: string | null = null;
    if (opts.container) {
      app.stack = CONTAINER_STACK.name;
      app.buildStack = CONTAINER_STACK.name;
    } else {
      const existing = opts.slugId ? this.slugs.get(opts.slugId) : undefined;
      if (existing && existing.commit !== commit) {
        throw new Error(`slug ${existing.id} already exists with commit ${existing.commit}, not ${commit}`);
      }
      const at = this.timestamp();
      const slug = existing ?? {
        id: opts.slugId ?? randomUUID(),
        appId: app.id,
        commit,
        commit_description: opts.commitDescription ?? null,
        created_at: at,
        updated_at: at,
      };
      this.slugs.set(slug.id, slug);
      slugId = slug.id;
    }
    const release = this.createRelease(app, {
      slugId,
      description: opts.description ?? `Deploy ${commit.slice(0, 7)}`,
      status: opts.status ?? "succeeded",
    });
    return structuredClone(release);
  }

  // ---------------------------------------------------------------- app settings (drift check)

  /**
   * Sets config vars, as `PATCH /apps/{app}/config-vars` (`heroku config:set`) does, and returns the
   * release that makes. "Whenever you deploy code, change a config var, or modify your app's add-on
   * resources, Heroku creates a new release and restarts your app" (Dev Center "Releases"); the CLI
   * reads that release's version after the PATCH (heroku/cli `commands/config/set.ts`: "done, v10").
   * The release keeps the current release's slug and runs the release phase (Dev Center
   * release-phase), so it is an `api:release` create event like any other. Its description is "Set
   * KEY, OTHER config vars", as Heroku's release list shows them today; Dev Center's older example
   * reads "Config add AWS_S3_KEY", and the wording is not in the API schema.
   * An app without a release yet gets no release here (Heroku's first releases have no slug; the
   * stand-in starts an app's history at its first deploy): the vars are set and undefined returned.
   */
  setConfigVars(
    appIdOrName: string,
    vars: Record<string, string>,
    options: ConfigChangeOptions = {},
  ): HerokuRelease | undefined {
    const app = this.requireApp(appIdOrName);
    const keys = Object.keys(vars);
    if (keys.length === 0) throw new Error("setConfigVars: give at least one config var");
    for (const key of keys) {
      // schema.json `config-var` patternProperties: `^\w+$`.
      if (!/^\w+$/.test(key)) throw new Error(`setConfigVars: ${key} is not a config var name Heroku accepts`);
    }
    Object.assign(app.configVars, vars);
    return this.settingsRelease(app, `Set ${keys.join(", ")} config vars`, options.status);
  }

  /**
   * Removes config vars (`PATCH` with `null` values, `heroku config:unset`) and returns the release
   * that makes ("Remove KEY config vars"). Keys the app does not have are ignored; when none of them
   * is set nothing changes and no release is made (what Heroku does then is not documented).
   */
  unsetConfigVars(
    appIdOrName: string,
    keys: readonly string[],
    options: ConfigChangeOptions = {},
  ): HerokuRelease | undefined {
    const app = this.requireApp(appIdOrName);
    const present = keys.filter((key) => Object.hasOwn(app.configVars, key));
    if (present.length === 0) return undefined;
    for (const key of present) delete app.configVars[key];
    return this.settingsRelease(app, `Remove ${present.join(", ")} config vars`, options.status);
  }

  /** A copy of the app's config vars now. */
  configVars(appIdOrName: string): Record<string, string> {
    return { ...this.requireApp(appIdOrName).configVars };
  }

  /**
   * Sets the app's buildpacks in order (as `PUT /apps/{app}/buildpack-installations`): Heroku
   * Buildpack Registry names (`heroku/nodejs`, `heroku-community/apt`) or URLs. No release: "Next
   * release on my-app will use heroku/nodejs" (heroku/cli `lib/buildpacks/buildpacks.ts`
   * `displayUpdate`), the change applies to the next build.
   */
  setBuildpacks(appIdOrName: string, buildpacks: readonly string[]): void {
    const app = this.requireApp(appIdOrName);
    app.buildpacks = [...buildpacks];
    app.updated_at = this.timestamp();
  }

  /**
   * Sets the app's stack. `buildStack` (default the same) is what the next build uses: `heroku
   * stack:set` changes only `build_stack`, and `stack` follows at the next build (Dev Center
   * "Stacks"); pass both to model an app half-way through a stack upgrade.
   */
  setStack(appIdOrName: string, stack: string, buildStack: string = stack): void {
    const app = this.requireApp(appIdOrName);
    for (const name of [stack, buildStack]) {
      if (!STACKS[name]) throw new Error(`setStack: unknown stack ${name} (known: ${Object.keys(STACKS).join(", ")})`);
    }
    app.stack = stack;
    app.buildStack = buildStack;
    app.updated_at = this.timestamp();
  }

  /**
   * Makes the app a Fir-generation app (or back to Cedar). A Fir app uses Cloud Native Buildpacks,
   * configured in the code's `project.toml`, not buildpack installations: the stand-in clears its
   * buildpacks. How Heroku answers `GET /apps/{app}/buildpack-installations` for a Fir app is not
   * documented: the CLI does not ask (it reads the latest release's OCI image, heroku/cli
   * `lib/buildpacks/buildpacks.ts` `fetch`), and heroku/terraform-provider-heroku skips the call for
   * Fir apps and catches errors that mention "Cloud Native Buildpacks" (`resource_heroku_app.go`).
   * The stand-in answers an empty list; Heroku may answer an error instead.
   */
  setGeneration(appIdOrName: string, generation: HerokuGeneration): void {
    const app = this.requireApp(appIdOrName);
    app.generation = generation;
    if (generation === "fir") app.buildpacks = [];
    app.updated_at = this.timestamp();
  }

  /**
   * Provisions an add-on from a plan name as Heroku writes it (`heroku-postgresql:essential-0`:
   * schema.json `plan.name` is "service:plan", `add-on-service.name` the part before the colon).
   * Adding an add-on is a release (Dev Center "Releases"); the stand-in makes one only when the app
   * has a current release, with the current slug and the description "Attach NAME (@ref:ADDON)",
   * Heroku's wording as remembered, not from a schema. The add-on's `configVars` are set on the app
   * in that same release (Heroku Postgres sets `DATABASE_URL`).
   */
  addAddon(appIdOrName: string, planName: string, options: AddAddonOptions = {}): { id: string; name: string } {
    const app = this.requireApp(appIdOrName);
    const colon = planName.indexOf(":");
    if (colon <= 0 || colon === planName.length - 1) {
      throw new Error(`addAddon: give the plan as Heroku names it, "service:plan" (not ${planName})`);
    }
    const serviceName = planName.slice(0, colon);
    if (app.addons.some((a) => a.service.name === serviceName && a.state !== "deprovisioned")) {
      // Heroku allows several add-ons of one service on an app; removeAddon takes a service name,
      // so the stand-in keeps one a service.
      throw new Error(`addAddon: ${app.name} already has ${serviceName}`);
    }
    this.addonCount += 1;
    const name =
      options.name ??
      `${serviceName.replace(/^heroku-/, "")}-${ADDON_WORDS[this.addonCount % ADDON_WORDS.length]}-${String(10_000 + this.addonCount)}`;
    if ([...this.apps.values()].some((a) => a.addons.some((addon) => addon.name === name))) {
      throw new Error(`addAddon: an add-on named ${name} exists (names are globally unique)`);
    }
    const at = this.timestamp();
    const addon: AddonRecord = {
      id: randomUUID(),
      name,
      service: { id: this.catalogueId(`service:${serviceName}`), name: serviceName },
      plan: { id: this.catalogueId(`plan:${planName}`), name: planName },
      state: options.state ?? "provisioned",
      configVarNames: Object.keys(options.configVars ?? {}),
      created_at: at,
      updated_at: at,
    };
    app.addons.push(addon);
    Object.assign(app.configVars, options.configVars ?? {});
    this.settingsRelease(app, `Attach ${attachmentName(serviceName)} (@ref:${name})`);
    return { id: addon.id, name };
  }

  /**
   * Removes the app's add-on of that service (`heroku-postgresql`) or with that add-on name, with the
   * config vars it had set, in a release "Detach NAME (@ref:ADDON)" when the app has one.
   */
  removeAddon(appIdOrName: string, serviceOrName: string): void {
    const app = this.requireApp(appIdOrName);
    const addon = app.addons.find((a) => a.service.name === serviceOrName || a.name === serviceOrName);
    if (!addon) throw new Error(`removeAddon: ${app.name} has no add-on ${serviceOrName}`);
    app.addons = app.addons.filter((a) => a !== addon);
    for (const key of addon.configVarNames) delete app.configVars[key];
    this.settingsRelease(app, `Detach ${attachmentName(addon.service.name)} (@ref:${addon.name})`);
  }

  /**
   * Makes `GET /apps/{app}/config-vars` (and a release's config vars) answer 403 for this app, as for
   * a token whose account may see the app but not its config vars. Dev Center "App Permissions and
   * Allowed Actions": "View config variable values" needs `deploy` or `operate`; every team member has
   * `view` ("Using App Permissions in Enterprise Teams": the deploy permission lets members "View and
   * edit config vars"). The `id` is Heroku's `forbidden`; the message Heroku gives for this case is
   * not published, so the default is the one it gives a token without access to the app ("You do not
   * have access to the app NAME.", heroku CLI output quoted in public issues, e.g.
   * IIC2143/Syllabus-2022-1#69 "Error ID: forbidden"). `forbidden = false` lifts it.
   */
  forbidConfigVars(appIdOrName: string, forbidden = true, message?: string): void {
    const app = this.requireApp(appIdOrName);
    const entry = this.accessOf(app);
    entry.configVarsRefusal = forbidden
      ? new HerokuApiError(403, "forbidden", message ?? `You do not have access to the app ${app.name}.`)
      : undefined;
  }

  /**
   * The token's app permissions on this app (default: all four). `view` is always included. Without
   * `deploy` or `operate`, config vars and the add-on list answer 403 `forbidden`: the app-permissions
   * matrix gives "View config variable values" and "View list of add-ons on an app" to those two, and
   * Heroku words the add-on refusal "You do not have permission to view addon resources on APP. You
   * need to have the deploy or operate permission on this app." (CLI output quoted in
   * g5search/devops-access#105). Where the stand-in enforces nothing else, Heroku would refuse more
   * (deploys, rollbacks, promotions need `deploy`).
   */
  setAppPermissions(appIdOrName: string, permissions: readonly HerokuAppPermission[]): void {
    const app = this.requireApp(appIdOrName);
    this.accessOf(app).permissions = new Set<HerokuAppPermission>(["view", ...permissions]);
  }

  /**
   * The token's account has no access to the app at all: every `/apps/{app}/...` call answers 403
   * `{"id": "forbidden", "message": "You do not have access to the app NAME."}` (the public issues
   * above; the legacy API gave the same words as `error`, mattpolito/paratrooper#71). `restore`
   * (default false) gives the access back.
   */
  revokeAccess(appIdOrName: string, restore = false): void {
    const app = this.requireApp(appIdOrName);
    this.accessOf(app).noAccess = !restore;
  }

  /** Copies of the app's releases, ascending by version. */
  releases(appIdOrName: string): HerokuRelease[] {
    return this.releasesOf(this.requireApp(appIdOrName)).map((r) => structuredClone(r));
  }

  currentRelease(appIdOrName: string): HerokuRelease | undefined {
    const current = this.releasesOf(this.requireApp(appIdOrName)).find((r) => r.current);
    return current && structuredClone(current);
  }

  /** Marks a release as expired (its artifact destroyed by the retention policy, changelog-items/3395). */
  expireRelease(releaseId: string): void {
    const release = this.releasesById.get(releaseId);
    if (!release) throw new Error(`unknown release ${releaseId}`);
    if (release.current) throw new Error("Heroku never expires the current release");
    const previous = release.status;
    release.status = "expired";
    release.eligible_for_rollback = false;
    release.updated_at = this.timestamp();
    this.emitReleaseUpdate(release, previous);
  }

  /**
   * Makes Heroku report a release as not eligible for rollback (and refuse a rollback to it) for a
   * reason other than expiry, which the API does not name.
   */
  markIneligibleForRollback(releaseId: string): void {
    const release = this.releasesById.get(releaseId);
    if (!release) throw new Error(`unknown release ${releaseId}`);
    release.eligible_for_rollback = false;
    release.updated_at = this.timestamp();
  }

  slugCommit(slugId: string): string | null {
    const slug = this.slugs.get(slugId);
    if (!slug) throw new Error(`unknown slug ${slugId}`);
    return slug.commit;
  }

  /** Settles a pending promotion now, whatever polls remain. */
  completePromotion(promotionId: string): void {
    const promotion = this.promotions.find((p) => p.id === promotionId);
    if (!promotion) throw new Error(`unknown promotion ${promotionId}`);
    if (promotion.releasesDue) {
      promotion.releasesDue.at = 0;
      this.releaseDuePromotions();
    }
    if (promotion.status === "pending") this.settle(promotion);
  }

  /**
   * Moves a release to another status, as its release phase ending would (`succeeded` makes it
   * current), and sends the `api:release` update event.
   */
  setReleaseStatus(releaseId: string, status: HerokuRelease["status"]): HerokuRelease {
    const release = this.releasesById.get(releaseId);
    if (!release) throw new Error(`unknown release ${releaseId}`);
    const app = this.requireApp(release.app.id);
    const previous = release.status;
    if (status === "succeeded") {
      for (const r of this.releasesOf(app)) r.current = false;
      release.current = true;
      app.updated_at = this.timestamp();
    }
    release.status = status;
    release.updated_at = this.timestamp();
    this.emitReleaseUpdate(release, previous);
    return structuredClone(release);
  }

  /**
   * Reports a dyno state change to the subscriptions that include `dyno` (Dev Center "Webhook Dyno
   * Events"). The stand-in has no dyno model: the dyno is named `${type}.${index}` (default 1) and runs
   * the app's current release unless `release` (an id or a version) says otherwise.
   */
  emitDynoState(
    appIdOrName: string,
    dyno: {
      type: string;
      state: "starting" | "up" | "down" | "crashed" | "idle" | string;
      index?: number;
      release?: string | number;
      exitStatus?: number | null;
      size?: string;
      command?: string;
    },
  ): WebhookEvent {
    const app = this.requireApp(appIdOrName);
    const release =
      dyno.release === undefined
        ? this.releasesOf(app).find((r) => r.current)
        : this.findRelease(app, String(dyno.release));
    if (!release) throw new Error(`emitDynoState(${app.name}): no such release ${dyno.release ?? "(current)"}`);
    const name = `${dyno.type}.${dyno.index ?? 1}`;
    const key = `${app.id}/${name}`;
    const known = this.dynos.get(key);
    const id = known?.id ?? randomUUID();
    this.dynos.set(key, { id, state: dyno.state });
    // The data follows the example of "Webhook Dyno Events" ("closely mimics the dyno endpoint of the
    // Platform API"): no `type` field there, so a receiver reads the process type from `name`. The
    // example shows `id`, `data`, `created_at` and `webhook_metadata`; `action`, `actor`, `resource` and
    // `previous_data` are assumed from the envelope every other event has (webhooks-docs event-examples).
    return this.webhooks.emit({
      appId: app.id,
      include: "dyno",
      action: known ? "update" : "create",
      resource: "dyno",
      actor: { ...this.account },
      data: {
        id,
        app: { id: app.id, name: app.name },
        name,
        size: dyno.size ?? "Standard-1X",
        state: dyno.state,
        command: dyno.command ?? (dyno.type === "web" ? "npm start" : dyno.type),
        release: { id: release.id, version: release.version },
        management: dyno.type === "run" ? "run:detached" : null,
        exit_status: dyno.exitStatus ?? null,
      },
      previous_data: known ? { state: known.state } : {},
      created_at: this.timestamp(),
    });
  }

  /** Resolves when every queued webhook delivery has succeeded or been given up (see `HerokuWebhooks.idle`). */
  webhooksIdle(): Promise<void> {
    return this.webhooks.idle();
  }

  override async close(): Promise<void> {
    this.webhooks.stop();
    await super.close();
  }

  /**
   * Faults answer before any route runs; give their responses the headers every Heroku answer
   * carries. Getters, because `send` copies the headers only when it answers.
   */
  override fault(fault: Fault): void {
    if (!fault.response) {
      super.fault(fault);
      return;
    }
    const headers: Record<string, string> = { ...fault.response.headers };
    const present = new Set(Object.keys(headers).map((k) => k.toLowerCase()));
    if (!present.has("ratelimit-remaining")) {
      Object.defineProperty(headers, "RateLimit-Remaining", {
        enumerable: true,
        get: () => String(this.rateLimitRemaining),
      });
    }
    if (!present.has("request-id")) {
      Object.defineProperty(headers, "Request-Id", { enumerable: true, get: () => randomUUID() });
    }
    super.fault({ ...fault, response: { ...fault.response, headers } });
  }

  // ---------------------------------------------------------------- routes

  private registerRoutes(): void {
    const endpoints: Array<[method: string, path: string, handler: ApiHandler]> = [
      ["GET", "/pipelines/:pipeline", (req) => this.getPipeline(req)],
      ["GET", "/pipelines/:pipeline_id/pipeline-couplings", (req) => this.listCouplings(req)],
      ["GET", "/pipelines/:pipeline_id/latest-releases", (req) => this.latestReleases(req)],
      ["GET", "/apps/:app/webhooks", (req) => this.listWebhooks(req)],
      ["POST", "/apps/:app/webhooks", (req) => this.createWebhook(req)],
      ["GET", "/apps/:app/webhooks/:id", (req) => ({ status: 200, body: HerokuWebhooks.json(this.webhookParam(req)) })],
      ["PATCH", "/apps/:app/webhooks/:id", (req) => this.updateWebhook(req)],
      ["DELETE", "/apps/:app/webhooks/:id", (req) => this.deleteWebhook(req)],
      ["GET", "/apps/:app", (req) => ({ status: 200, body: this.appJson(this.appParam(req)) })],
      ["GET", "/apps/:app/config-vars", (req) => this.getConfigVars(req)],
      ["GET", "/apps/:app/releases/:release/config-vars", (req) => this.getReleaseConfigVars(req)],
      ["GET", "/apps/:app/buildpack-installations", (req) => this.listBuildpacks(req)],
      ["GET", "/apps/:app/addons", (req) => this.listAddons(req)],
      ["GET", "/apps/:app/releases", (req) => this.listReleases(req)],
      ["POST", "/apps/:app/releases", (req) => this.createReleaseRoute(req)],
      ["GET", "/apps/:app/releases/:release", (req) => this.getRelease(req)],
      ["GET", "/apps/:app/slugs/:slug", (req) => this.getSlug(req)],
      ["POST", "/pipeline-promotions", (req) => this.createPromotion(req)],
      ["GET", "/pipeline-promotions/:id", (req) => this.getPromotion(req)],
      ["GET", "/pipeline-promotions/:id/promotion-targets", (req) => this.listTargets(req)],
    ];
    for (const [method, path, handler] of endpoints) this.route(method, path, this.api(handler));
    // Release-phase output lives on another host in production (release-output.heroku.com) and
    // needs no API token, so it bypasses the API checks.
    this.route("GET", "/streams/:release", (req) => this.withStandardHeaders(this.getStream(req)));

    // Anything else: Heroku's JSON not_found (the base class answers without an `id`).
    const unknown = this.api(() => {
      throw new HerokuApiError(404, "not_found", UNKNOWN_ENDPOINT);
    });
    for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE"]) {
      this.route(method, "/", unknown);
      for (let depth = 1; depth <= 8; depth++) {
        this.route(method, Array.from({ length: depth }, (_, i) => `/:p${i}`).join(""), unknown);
      }
    }
  }

  /** Wraps a handler with what every API call goes through: auth, rate limit, second factor, headers. */
  private api(handler: ApiHandler): RouteHandler {
    return async (req) => {
      let response: StandInResponse;
      // Releases of slow promotions appear when their time has come, whatever is read next.
      this.releaseDuePromotions();
      try {
        if (tokenOf(req.headers.authorization) !== this.token) {
          throw new HerokuApiError(401, "unauthorized", "Invalid credentials provided.");
        }
        if (this.rateLimitRemaining <= 0) {
          throw new HerokuApiError(
            429,
            "rate_limit",
            "Your account reached the API rate limit\nPlease wait a few minutes before making new requests",
          );
        }
        this.rateLimitRemaining = Math.max(0, this.rateLimitRemaining - 1);
        if (this.requireTwoFactor) {
          throw new HerokuApiError(
            403,
            "two_factor",
            "A second authentication factor or pre-authorization is required for this request. Your account has either two-factor or a Yubikey registered.",
          );
        }
        if (req.rawBody && req.body === undefined && req.method !== "GET") {
          throw new HerokuApiError(400, "bad_request", "Request body must be JSON (Content-Type: application/json).");
        }
        response = await handler(req);
      } catch (error) {
        if (!(error instanceof HerokuApiError)) throw error;
        response = error.toResponse();
      }
      return this.withStandardHeaders(response);
    };
  }

  private withStandardHeaders(response: StandInResponse): StandInResponse {
    return {
      ...response,
      headers: {
        "RateLimit-Remaining": String(this.rateLimitRemaining),
        "Request-Id": randomUUID(),
        ...response.headers,
      },
    };
  }

  private getPipeline(req: StandInRequest): StandInResponse {
    const pipeline = this.findPipeline(param(req, "pipeline"));
    if (!pipeline) throw notFound("pipeline");
    return { status: 200, body: this.pipelineJson(pipeline) };
  }

  private listCouplings(req: StandInRequest): StandInResponse {
    // The path takes the pipeline id only (unlike GET /pipelines/{id_or_name}).
    const pipeline = this.pipelines.get(param(req, "pipeline_id"));
    if (!pipeline) throw notFound("pipeline");
    const couplings = [...this.couplings.values()].filter((c) => c.pipelineId === pipeline.id);
    return paginate(couplings, req.headers.range, {
      accepted: ["id"],
      raw: (c) => c.id,
      rank: (_field, value) => value,
      key: (c) => c.id,
      json: (c) => this.couplingJson(c),
    });
  }

  private listReleases(req: StandInRequest): StandInResponse {
    this.releaseDuePromotions();
    const app = this.appParam(req);
    const releases = this.releasesOf(app);
    // Releases list in version order whether the Range names `id` (heroku-client's default
    // `id ..; max=1000`) or `version`; an `id` cursor stands for the version of that release.
    return paginate(releases, req.headers.range, {
      accepted: ["id", "version"],
      raw: (r, field) => (field === "version" ? String(r.version) : r.id),
      rank: (field, value) => {
        if (field === "version") return /^\d+$/.test(value) ? Number(value) : undefined;
        return releases.find((r) => r.id === value)?.version;
      },
      key: (r) => r.version,
      json: (r) => this.releaseJson(r),
    });
  }

  /**
   * `GET /pipelines/{pipeline_id}/latest-releases`: schema.json `pipeline-release` ("Information about
   * the latest release of each app in a pipeline"; link "List latest releases for each app in a
   * pipeline"), an array of releases with `app`. Latest means newest, not current: the schema gives
   * each item its own `current` ("indicates if this release is the current one for the app"), which
   * would say nothing if every item were current, so a pending or failed newest release is what this
   * answers while an older one still runs. One item per coupled app that has a release; the path
   * takes the pipeline id only (the href is `pipeline/definitions/id`, not its identity).
   */
  private latestReleases(req: StandInRequest): StandInResponse {
    const pipeline = this.pipelines.get(param(req, "pipeline_id"));
    if (!pipeline) throw notFound("pipeline");
    const latest = [...this.couplings.values()]
      .filter((c) => c.pipelineId === pipeline.id)
      .map((c) => this.apps.get(c.appId))
      .map((app) => (app ? this.releasesOf(app).at(-1) : undefined))
      .filter((r): r is HerokuRelease => r !== undefined);
    return paginate(latest, req.headers.range, {
      accepted: ["id"],
      raw: (r) => r.id,
      rank: (_field, value) => value,
      key: (r) => r.id,
      json: (r) => this.releaseJson(r),
    });
  }

  // App webhooks. heroku/webhooks-docs still sends `Accept: application/vnd.heroku+json;
  // version=3.webhooks` in every example, as the CLI's webhooks commands do
  // (packages/cli/src/lib/webhooks/base.ts); schema.json now lists `app-webhook` at stability
  // "production" in the plain version=3 API, so the stand-in accepts either Accept header (as it
  // accepts any on other routes).

  private webhookParam(req: StandInRequest): WebhookSubscription {
    const subscription = this.webhooks.get(this.appParam(req).id, param(req, "id"));
    if (!subscription) throw notFound("webhook");
    return subscription;
  }

  private listWebhooks(req: StandInRequest): StandInResponse {
    const app = this.appParam(req);
    // "The only acceptable order value for the Range header is `id`" (webhooks-docs platform-api-reference.md).
    return paginate(this.webhooks.list(app.id), req.headers.range, {
      accepted: ["id"],
      raw: (s) => s.id,
      rank: (_field, value) => value,
      key: (s) => s.id,
      json: (s) => HerokuWebhooks.json(s),
    });
  }

  /**
   * `POST /apps/{app}/webhooks`: 201 with the subscription (webhooks-docs platform-api-reference.md
   * shows `HTTP/1.1 201 Created`). Without `secret`, a generated one comes back once in the
   * `Heroku-Webhook-Secret` header (heroku CLI `webhooks:add`); with one, the stand-in sends no such
   * header (the CLI then warns "no secret found", which suggests Heroku does not echo it). A second
   * subscription to the same URL on the same app is accepted: no Heroku source found says it is
   * refused, so avoiding duplicates is the caller's job.
   */
  private createWebhook(req: StandInRequest): StandInResponse {
    const app = this.appParam(req);
    const checked = validateSubscriptionBody(req.body, false);
    if ("problem" in checked) throw invalidParams(checked.problem);
    const { fields } = checked;
    const generated = typeof fields.secret === "string" ? undefined : generateWebhookSecret();
    const at = this.timestamp();
    const subscription: WebhookSubscription = {
      id: randomUUID(),
      app: { id: app.id, name: app.name },
      include: fields.include ?? [],
      level: fields.level ?? "notify",
      url: fields.url ?? "",
      secret: generated ?? (fields.secret as string),
      authorization: fields.authorization ?? null,
      created_at: at,
      updated_at: at,
    };
    this.webhooks.add(subscription);
    return {
      status: 201,
      headers: generated ? { "Heroku-Webhook-Secret": generated } : {},
      body: HerokuWebhooks.json(subscription),
    };
  }

  /** `PATCH /apps/{app}/webhooks/{id}`: any of the create's fields; `secret: null` leaves the secret as it is. */
  private updateWebhook(req: StandInRequest): StandInResponse {
    const subscription = this.webhookParam(req);
    const checked = validateSubscriptionBody(req.body, true);
    if ("problem" in checked) throw invalidParams(checked.problem);
    const { fields } = checked;
    if (fields.include) subscription.include = fields.include;
    if (fields.level) subscription.level = fields.level;
    if (fields.url) subscription.url = fields.url;
    if (typeof fields.secret === "string") subscription.secret = fields.secret;
    if (fields.authorization !== undefined) subscription.authorization = fields.authorization;
    subscription.updated_at = this.timestamp();
    return { status: 200, body: HerokuWebhooks.json(subscription) };
  }

  /** `DELETE /apps/{app}/webhooks/{id}`: 200 with the removed subscription. */
  private deleteWebhook(req: StandInRequest): StandInResponse {
    const subscription = this.webhookParam(req);
    this.webhooks.remove(subscription.id);
    return { status: 200, body: HerokuWebhooks.json(subscription) };
  }

  /**
   * `GET /apps/{app}/config-vars`: schema.json `config-var` "Info for App", the object itself (name ->
   * value), not a list, so no Range. The PATCH that changes them is not served: tests use
   * `setConfigVars` / `unsetConfigVars`.
   */
  private getConfigVars(req: StandInRequest): StandInResponse {
    const app = this.appParam(req);
    this.checkConfigVarsAccess(app);
    return { status: 200, body: { ...app.configVars } };
  }

  /** `GET /apps/{app}/releases/{id_or_version}/config-vars` ("Info for App Release"): the vars that release was made with. */
  private getReleaseConfigVars(req: StandInRequest): StandInResponse {
    const app = this.appParam(req);
    this.checkConfigVarsAccess(app);
    const release = this.findRelease(app, param(req, "release"));
    if (!release) throw notFound("release");
    return { status: 200, body: { ...(this.snapshots.get(release.id)?.configVars ?? {}) } };
  }

  /**
   * `GET /apps/{app}/buildpack-installations`: an array, in order, of `{ordinal, buildpack: {url,
   * name}}` (schema.json `buildpack-installation`). Official buildpacks read `url:
   * "urn:buildpack:heroku/nodejs"` (the schema: "Either a url (unofficial buildpacks) or an internal
   * urn (heroku official buildpacks)"; the CLI strips `urn:buildpack:` before showing one), other
   * registry buildpacks their registry tarball (the URL the CLI's `registryUrlToName` maps back to a
   * name), and a URL buildpack its URL as both `url` and `name` ("either the Buildpack Registry name
   * or a URL"). Ordinals start at 0 (the schema's example).
   */
  private listBuildpacks(req: StandInRequest): StandInResponse {
    const app = this.appParam(req);
    return { status: 200, body: app.buildpacks.map((buildpack, ordinal) => buildpackJson(buildpack, ordinal)) };
  }

  /**
   * `GET /apps/{app}/addons` ("List By App"): add-ons of schema.json `add-on`, `addon_service` and
   * `plan` as `{id, name}` (the CLI asks `Accept-Expansion: addon_service,plan` for more, which the
   * stand-in ignores). Only the app's own add-ons: at Heroku an add-on attached from another app is
   * listed through attachments (heroku/cli `commands/addons/index.ts` reads `/addon-attachments` for
   * those), which the stand-in does not model.
   */
  private listAddons(req: StandInRequest): StandInResponse {
    const app = this.appParam(req);
    const entry = this.access.get(app.id);
    if (entry?.permissions && !entry.permissions.has("deploy") && !entry.permissions.has("operate")) {
      throw new HerokuApiError(
        403,
        "forbidden",
        `You do not have permission to view addon resources on ${app.name}. You need to have the deploy or operate permission on this app.`,
      );
    }
    return paginate(app.addons, req.headers.range, {
      accepted: ["id"],
      raw: (a) => a.id,
      rank: (_field, value) => value,
      key: (a) => a.id,
      json: (a) => this.addonJson(app, a),
    });
  }

  private checkConfigVarsAccess(app: AppRecord): void {
    const entry = this.access.get(app.id);
    if (entry?.configVarsRefusal) throw entry.configVarsRefusal;
    if (entry?.permissions && !entry.permissions.has("deploy") && !entry.permissions.has("operate")) {
      throw new HerokuApiError(403, "forbidden", `You do not have access to the app ${app.name}.`);
    }
  }

  private getRelease(req: StandInRequest): StandInResponse {
    this.releaseDuePromotions();
    const app = this.appParam(req);
    const release = this.findRelease(app, param(req, "release"));
    if (!release) throw notFound("release");
    return { status: 200, body: this.releaseJson(release) };
  }

  /** `POST /apps/{app}/releases`: `{slug}` releases a slug, `{release}` rolls back to an older release. */
  private createReleaseRoute(req: StandInRequest): StandInResponse {
    const app = this.appParam(req);
    const body = asRecord(req.body);
    const description = typeof body.description === "string" ? body.description : undefined;
    if (typeof body.release === "string") {
      const target = this.findRelease(app, body.release);
      if (!target) throw notFound("release");
      if (target.status === "expired") {
        throw invalidParams(
          `Release v${target.version} has expired: its artifact was destroyed by the release retention policy and it cannot be rolled back to.`,
        );
      }
      if (!target.eligible_for_rollback) {
        throw invalidParams(`Release v${target.version} is not eligible for rollback.`);
      }
      // A rollback brings back the target release's config vars with its code (Dev Center
      // "Releases", Rollback; REFERENCE.md "Found later"); add-ons are not rolled back.
      const snapshot = this.snapshots.get(target.id);
      if (snapshot) app.configVars = { ...snapshot.configVars };
      const release = this.createRelease(app, {
        slugId: target.slug?.id ?? null,
        description: description ?? `Rollback to v${target.version}`,
        status: "succeeded",
      });
      return { status: 201, body: this.releaseJson(release) };
    }
    if (typeof body.slug === "string") {
      const slug = this.slugs.get(body.slug);
      if (!slug) throw notFound("slug");
      const release = this.createRelease(app, {
        slugId: slug.id,
        description: description ?? `Deploy ${slug.commit?.slice(0, 7) ?? slug.id}`,
        status: "succeeded",
      });
      return { status: 201, body: this.releaseJson(release) };
    }
    throw invalidParams("Give either `slug` (a slug id) or `release` (the id of a release to roll back to).");
  }

  private getSlug(req: StandInRequest): StandInResponse {
    const app = this.appParam(req);
    const slug = this.slugs.get(param(req, "slug"));
    // A promoted slug is shared by the apps it was released to.
    const visible = slug && (slug.appId === app.id || this.releasesOf(app).some((r) => r.slug?.id === slug.id));
    if (!slug || !visible) throw notFound("slug");
    return { status: 200, body: this.slugJson(slug) };
  }

  private createPromotion(req: StandInRequest): StandInResponse {
    const body = asRecord(req.body);
    const pipelineId = idOf(body.pipeline);
    const source = asRecord(body.source);
    const sourceAppId = idOf(source.app);
    const sourceReleaseId = source.release === undefined ? undefined : idOf(source.release);
    const rawTargets = Array.isArray(body.targets) ? body.targets : undefined;
    if (!pipelineId) throw invalidParams("Missing pipeline.id.");
    if (!sourceAppId) throw invalidParams("Missing source.app.id.");
    if (source.release !== undefined && !sourceReleaseId) throw invalidParams("source.release needs an id.");
    if (!rawTargets || rawTargets.length === 0) throw invalidParams("Give at least one target app.");
    const targetIds = rawTargets.map((t) => idOf(asRecord(t).app));
    if (targetIds.some((id) => !id)) throw invalidParams("Every target needs app.id.");

    const pipeline = this.pipelines.get(pipelineId);
    if (!pipeline) throw notFound("pipeline");
    const sourceApp = this.apps.get(sourceAppId);
    if (!sourceApp) throw notFound("app");
    const targets = targetIds.map((id) => {
      const app = this.apps.get(id ?? "");
      if (!app) throw notFound("app");
      return app;
    });
    for (const app of [sourceApp, ...targets]) {
      if (!this.couplingOf(app, pipeline)) throw invalidParams(`App ${app.name} is not in pipeline ${pipeline.name}.`);
    }
    if (targets.some((t) => t.id === sourceApp.id)) throw invalidParams("Cannot promote from an app to itself.");

    let release: HerokuRelease | undefined;
    if (sourceReleaseId) {
      release = this.releasesById.get(sourceReleaseId);
      if (!release || release.app.id !== sourceApp.id) {
        throw invalidParams(`Release ${sourceReleaseId} is not a release of ${sourceApp.name}.`);
      }
    } else {
      release = this.releasesOf(sourceApp).find((r) => r.current);
      if (!release) throw invalidParams(`${sourceApp.name} has no release to promote.`);
    }
    if (release.status === "expired") {
      throw invalidParams(`Release v${release.version} of ${sourceApp.name} has expired and cannot be promoted.`);
    }
    if (!release.slug) {
      throw invalidParams(`${sourceApp.name} uses the container stack; pipeline promotion is not supported for it.`);
    }

    const at = this.timestamp();
    const promotion: StoredPromotion = {
      id: randomUUID(),
      pipeline: { id: pipeline.id },
      source: { app: { id: sourceApp.id }, release: { id: release.id } },
      status: "pending",
      created_at: at,
      updated_at: at,
      targets: [],
      pollsRemaining: Math.max(0, this.promotionBehaviour.pollsUntilDone),
      failTargets: { ...this.promotionBehaviour.failTargets },
    };
    // Like Heroku, each target gets its new release at once, pending while its release phase runs.
    const slugId = release.slug.id;
    const commit = this.slugs.get(slugId)?.commit;
    const description = `Promote ${sourceApp.name} v${release.version}${commit ? ` ${commit.slice(0, 7)}` : ""}`;
    const delayMs = this.promotionBehaviour.releaseDelayMs ?? 0;
    if (delayMs > 0) promotion.releasesDue = { at: Date.now() + delayMs, slugId, description };
    promotion.targets = targets.map((app) => ({
      id: randomUUID(),
      app: { id: app.id },
      status: "pending",
      error_message: null,
      release: delayMs > 0 ? null : { id: this.createRelease(app, { slugId, description, status: "pending" }).id },
      pipeline_promotion: { id: promotion.id },
    }));
    this.promotions.push(promotion);
    if (promotion.pollsRemaining === 0 && !promotion.releasesDue) this.settle(promotion);
    const settleAfter = this.promotionBehaviour.settleAfterMs;
    if (settleAfter !== undefined && promotion.status === "pending") {
      setTimeout(() => {
        if (promotion.status === "pending") this.completePromotion(promotion.id);
      }, settleAfter).unref();
    }
    return { status: 201, body: promotionJson(promotion) };
  }

  private getPromotion(req: StandInRequest): StandInResponse {
    this.releaseDuePromotions();
    return { status: 200, body: promotionJson(this.promotionParam(req)) };
  }

  /** Lets the releases of delayed promotions appear whose time has come (as any API call does). */
  revealDueReleases(): void {
    this.releaseDuePromotions();
  }

  /** Creates the target releases of delayed promotions whose time has come. */
  private releaseDuePromotions(): void {
    for (const promotion of this.promotions) {
      const due = promotion.releasesDue;
      if (!due || Date.now() < due.at) continue;
      promotion.releasesDue = undefined;
      for (const target of promotion.targets) {
        const app = this.apps.get(target.app.id);
        if (!app) continue;
        target.release = {
          id: this.createRelease(app, { slugId: due.slugId, description: due.description, status: "pending" }).id,
        };
      }
      if (promotion.pollsRemaining === 0) this.settle(promotion);
    }
  }

  private listTargets(req: StandInRequest): StandInResponse {
    this.releaseDuePromotions();
    const promotion = this.promotionParam(req);
    // Before its releases exist a promotion cannot settle: its targets stay pending with release null.
    if (promotion.status === "pending" && !promotion.releasesDue) {
      if (promotion.pollsRemaining > 0) promotion.pollsRemaining -= 1;
      else this.settle(promotion);
    }
    return paginate(promotion.targets, req.headers.range, {
      accepted: ["id"],
      raw: (t) => t.id,
      rank: (_field, value) => value,
      key: (t) => t.id,
      json: (t) => structuredClone(t),
    });
  }

  private getStream(req: StandInRequest): StandInResponse {
    const output = this.streams.get(param(req, "release"));
    if (output === undefined) return { status: 404, body: "stream not found\n" };
    return { status: 200, body: output };
  }

  // ---------------------------------------------------------------- behaviour

  /** Completes a promotion: each target's pending release succeeds (becomes current) or fails. */
  private settle(promotion: StoredPromotion): void {
    for (const target of promotion.targets) {
      const app = this.apps.get(target.app.id);
      const release = target.release ? this.releasesById.get(target.release.id) : undefined;
      if (!app || !release) throw new Error(`promotion ${promotion.id} lost target ${target.app.id}`);
      const failure = promotion.failTargets[app.id] ?? promotion.failTargets[app.name];
      const at = this.timestamp();
      const previous = release.status;
      release.updated_at = at;
      if (failure) {
        // A failed release phase: the release exists but never becomes current (release-phase docs).
        release.status = "failed";
        release.output_stream_url = `${this.url}/streams/${release.id}`;
        this.streams.set(release.id, failure.output);
        target.status = "failed";
        target.error_message = failure.error_message;
      } else {
        for (const r of this.releasesOf(app)) r.current = false;
        release.status = "succeeded";
        release.current = true;
        app.updated_at = at;
        target.status = "succeeded";
      }
      this.emitReleaseUpdate(release, previous);
    }
    promotion.status = "completed";
    promotion.updated_at = this.timestamp();
  }

  private createRelease(
    app: AppRecord,
    spec: { slugId: string | null; description: string; status: HerokuRelease["status"] },
  ): HerokuRelease {
    const previous = this.releasesOf(app);
    const at = this.timestamp();
    const becomesCurrent = spec.status === "succeeded";
    if (becomesCurrent) {
      for (const r of previous) r.current = false;
    }
    const release: HerokuRelease = {
      id: randomUUID(),
      version: (previous.at(-1)?.version ?? 0) + 1,
      status: spec.status,
      slug: spec.slugId ? { id: spec.slugId } : null,
      current: becomesCurrent,
      eligible_for_rollback: true,
      created_at: at,
      updated_at: at,
      description: spec.description,
      output_stream_url: null,
      app: { id: app.id, name: app.name },
      user: { ...this.account },
    };
    this.releasesById.set(release.id, release);
    this.snapshots.set(release.id, {
      configVars: { ...app.configVars },
      addonPlanNames: app.addons.map((a) => a.plan.name),
    });
    if (becomesCurrent) app.updated_at = at;
    this.webhooks.emit({
      appId: app.id,
      include: "api:release",
      action: "create",
      resource: "release",
      actor: { ...this.account },
      data: this.releaseJson(release),
      previous_data: {},
      created_at: at,
    });
    return release;
  }

  /**
   * The release a config or add-on change makes: the current release's slug, a new version, the
   * app's config as it now is. None while the app has no current release (see `setConfigVars`).
   */
  private settingsRelease(
    app: AppRecord,
    description: string,
    status: HerokuRelease["status"] = "succeeded",
  ): HerokuRelease | undefined {
    app.updated_at = this.timestamp();
    const current = this.releasesOf(app).find((r) => r.current);
    if (!current) return undefined;
    return structuredClone(this.createRelease(app, { slugId: current.slug?.id ?? null, description, status }));
  }

  /**
   * The `api:release` update event of a status change, with the release as the API now returns it and
   * the old status in `previous_data` (webhooks-docs `api-release-update.json` carries the changed
   * field there). The earlier release losing `current` when a new one succeeds sends no event of its
   * own here: Dev Center app-webhooks lists `api:release` update as a status change.
   */
  private emitReleaseUpdate(release: HerokuRelease, previousStatus: HerokuRelease["status"]): void {
    if (previousStatus === release.status) return;
    this.webhooks.emit({
      appId: release.app.id,
      include: "api:release",
      action: "update",
      resource: "release",
      actor: { ...this.account },
      data: this.releaseJson(release),
      previous_data: { status: previousStatus },
      created_at: release.updated_at,
    });
  }

  // ---------------------------------------------------------------- lookups

  private findPipeline(idOrName: string): PipelineRecord | undefined {
    return this.pipelines.get(idOrName) ?? [...this.pipelines.values()].find((p) => p.name === idOrName);
  }

  private findApp(idOrName: string): AppRecord | undefined {
    return this.apps.get(idOrName) ?? [...this.apps.values()].find((a) => a.name === idOrName);
  }

  private requireApp(idOrName: string): AppRecord {
    const app = this.findApp(idOrName);
    if (!app) throw new Error(`unknown app ${idOrName}`);
    return app;
  }

  private appParam(req: StandInRequest): AppRecord {
    const app = this.findApp(param(req, "app"));
    if (!app) throw notFound("app");
    if (this.access.get(app.id)?.noAccess) {
      throw new HerokuApiError(403, "forbidden", `You do not have access to the app ${app.name}.`);
    }
    return app;
  }

  private accessOf(app: AppRecord): {
    permissions?: Set<HerokuAppPermission>;
    noAccess?: boolean;
    configVarsRefusal?: HerokuApiError | undefined;
  } {
    let entry = this.access.get(app.id);
    if (!entry) {
      entry = { permissions: new Set(ALL_PERMISSIONS) };
      this.access.set(app.id, entry);
    }
    return entry;
  }

  private catalogueId(key: string): string {
    let id = this.catalogueIds.get(key);
    if (!id) {
      id = randomUUID();
      this.catalogueIds.set(key, id);
    }
    return id;
  }

  private promotionParam(req: StandInRequest): StoredPromotion {
    const promotion = this.promotions.find((p) => p.id === param(req, "id"));
    if (!promotion) throw notFound("pipeline_promotion", "pipeline promotion");
    return promotion;
  }

  /** `{id_or_version}`: a release id or its version number. */
  private findRelease(app: AppRecord, idOrVersion: string): HerokuRelease | undefined {
    const releases = this.releasesOf(app);
    if (/^\d+$/.test(idOrVersion)) return releases.find((r) => r.version === Number(idOrVersion));
    return releases.find((r) => r.id === idOrVersion);
  }

  private releasesOf(app: AppRecord): HerokuRelease[] {
    return [...this.releasesById.values()].filter((r) => r.app.id === app.id).sort((a, b) => a.version - b.version);
  }

  private couplingOf(app: AppRecord, pipeline: PipelineRecord): CouplingRecord | undefined {
    return [...this.couplings.values()].find((c) => c.appId === app.id && c.pipelineId === pipeline.id);
  }

  private timestamp(): string {
    // Heroku writes times without milliseconds: "2012-01-01T12:00:00Z".
    return this.now()
      .toISOString()
      .replace(/\.\d{3}Z$/, "Z");
  }

  // ---------------------------------------------------------------- bodies

  private pipelineJson(p: PipelineRecord): Record<string, unknown> {
    return {
      created_at: p.created_at,
      id: p.id,
      name: p.name,
      owner: { id: this.account.id, type: "user" },
      updated_at: p.updated_at,
    };
  }

  private couplingJson(c: CouplingRecord): Record<string, unknown> {
    return {
      app: { id: c.appId },
      created_at: c.created_at,
      id: c.id,
      pipeline: { id: c.pipelineId },
      stage: c.stage,
      updated_at: c.updated_at,
    };
  }

  private appJson(app: AppRecord): Record<string, unknown> {
    const stack = STACKS[app.stack] ?? STACK;
    const buildStack = STACKS[app.buildStack] ?? stack;
    const current = this.releasesOf(app).find((r) => r.current);
    return {
      acm: false,
      archived_at: null,
      build_stack: { ...buildStack },
      buildpack_provided_description: app.stack === CONTAINER_STACK.name ? null : "Node.js",
      created_at: app.created_at,
      // schema.json `app.generation`: an object `{id, name}` ("cedar" in its example), read with the
      // plain version=3 Accept header (heroku-go's AppInfo, which heroku/terraform-provider-heroku
      // reads it from). The CLI asks `version=3.sdk` for it (heroku/cli `lib/apps/generation.ts`).
      // For a Fir app Heroku's answer for `stack` is not documented (Fir apps have no classic stack:
      // terraform-provider-heroku refuses `stack` for them); the stand-in keeps the app's stack.
      generation: { ...GENERATIONS[app.generation] },
      git_url: `https://git.heroku.com/${app.name}.git`,
      id: app.id,
      internal_routing: null,
      maintenance: false,
      name: app.name,
      organization: null,
      owner: { email: this.account.email, id: this.account.id },
      region: { ...REGION },
      released_at: current?.created_at ?? null,
      repo_size: null,
      slug_size: null,
      space: null,
      stack: { ...stack },
      team: null,
      updated_at: app.updated_at,
      web_url: `https://${app.name}.herokuapp.com/`,
    };
  }

  private releaseJson(r: HerokuRelease): Record<string, unknown> {
    return {
      // "add-on plans installed on the app for this release" (schema.json `release.addon_plan_names`).
      addon_plan_names: [...(this.snapshots.get(r.id)?.addonPlanNames ?? [])],
      app: { ...r.app },
      artifacts: r.slug ? [{ id: r.slug.id, type: "slug" }] : [],
      created_at: r.created_at,
      current: r.current,
      description: r.description,
      eligible_for_rollback: r.eligible_for_rollback,
      id: r.id,
      output_stream_url: r.output_stream_url,
      slug: r.slug && { ...r.slug },
      status: r.status,
      updated_at: r.updated_at,
      user: { ...r.user },
      version: r.version,
    };
  }

  /** One add-on as schema.json `add-on` lists its properties. */
  private addonJson(app: AppRecord, a: AddonRecord): Record<string, unknown> {
    return {
      actions: [],
      addon_service: { ...a.service },
      app: { id: app.id, name: app.name },
      billed_price: null,
      billing_entity: { id: app.id, name: app.name, type: "app" },
      config_vars: [...a.configVarNames],
      created_at: a.created_at,
      id: a.id,
      name: a.name,
      plan: { ...a.plan },
      provider_id: a.id,
      state: a.state,
      updated_at: a.updated_at,
      web_url: `https://addons-sso.heroku.com/apps/${app.id}/addons/${a.id}`,
    };
  }

  private slugJson(s: SlugRecord): Record<string, unknown> {
    return {
      blob: { method: "get", url: `https://slug-storage.example.com/${s.id}.tar.gz` },
      buildpack_provided_description: "Node.js",
      checksum: `SHA256:${createHash("sha256").update(s.id).digest("hex")}`,
      commit: s.commit,
      commit_description: s.commit_description,
      created_at: s.created_at,
      id: s.id,
      process_types: { web: "npm start" },
      size: 2_048_000,
      stack: { ...STACK },
      updated_at: s.updated_at,
    };
  }
}

function promotionJson(p: StoredPromotion): HerokuPromotion {
  return {
    created_at: p.created_at,
    id: p.id,
    pipeline: { ...p.pipeline },
    source: { app: { ...p.source.app }, release: { ...p.source.release } },
    status: p.status,
    updated_at: p.updated_at,
  };
}

/**
 * A buildpack installation as schema.json `buildpack-installation` has it. `heroku/x` is official:
 * `urn:buildpack:heroku/x`. Other `owner/name` are Buildpack Registry buildpacks, whose URL is their
 * registry tarball (heroku/cli `registryUrlToName`). Anything else is a URL, given as url and name.
 */
function buildpackJson(buildpack: string, ordinal: number): Record<string, unknown> {
  const registryName = /^[\w-]+\/[\w-]+$/.test(buildpack);
  let url = buildpack;
  if (registryName && buildpack.startsWith("heroku/")) url = `urn:buildpack:${buildpack}`;
  else if (registryName) url = `https://buildpack-registry.s3.amazonaws.com/buildpacks/${buildpack}.tgz`;
  return { buildpack: { name: buildpack, url }, ordinal };
}

/** The attachment name Heroku gives a service's first add-on: DATABASE for Postgres, else SERVICE_NAME. */
function attachmentName(service: string): string {
  if (service === "heroku-postgresql") return "DATABASE";
  return service
    .replace(/^heroku-/, "")
    .replace(/-/g, "_")
    .toUpperCase();
}

// ---------------------------------------------------------------- Range pagination

interface RangeSpec {
  field: string;
  start?: { value: string; exclusive: boolean };
  end?: string;
  order: "asc" | "desc";
  max: number;
}

const badRange = () =>
  new HerokuApiError(400, "bad_request", "Invalid `Range` header. Please use format like `id ..; max=10, order=desc`.");

/**
 * Parses a Platform API `Range` header: `<field> [[]<start>..[<end>]][; max=N, order=asc|desc][;]`.
 * Parameters are comma-separated: a second `;` between them is a 400 (martyzz1/heroku3.py#12);
 * a field outside `Accept-Ranges` is a 416 (heroku/cli#1674).
 */
function parseRange(header: string | undefined, accepted: readonly string[]): RangeSpec {
  const fallback = accepted[0] ?? "id";
  if (header === undefined || header.trim() === "") return { field: fallback, order: "asc", max: DEFAULT_PAGE_SIZE };
  const text = header.trim().replace(/;\s*$/, "");
  const semicolon = text.indexOf(";");
  const head = (semicolon < 0 ? text : text.slice(0, semicolon)).trim();
  const params = semicolon < 0 ? "" : text.slice(semicolon + 1).trim();
  if (params.includes(";")) throw badRange();

  const [field = "", bounds = "", ...extra] = head.split(/\s+/);
  if (extra.length > 0) throw badRange();
  if (!accepted.includes(field)) {
    throw new HerokuApiError(
      416,
      "requested_range_not_satisfiable",
      `Requested range ${field} is not allowed, please try \`id\` or another specified in \`Accept-Ranges\`.`,
    );
  }
  const spec: RangeSpec = { field, order: "asc", max: DEFAULT_PAGE_SIZE };
  if (bounds !== "") {
    const match = /^(\]?)([^.\]]*)\.\.([^.]*)$/.exec(bounds);
    if (!match) throw badRange();
    const [, exclusive, start, end] = match;
    // "ranges that include only an end bound ... are no longer supported" (changelog-items/314).
    if (!start && end) throw badRange();
    if (start) spec.start = { value: start, exclusive: exclusive === "]" };
    if (end) spec.end = end;
  }
  if (params !== "") {
    for (const part of params.split(",")) {
      const [key, value, ...rest] = part.split("=").map((s) => s.trim());
      if (rest.length > 0 || !value) throw badRange();
      if (key === "order" && (value === "asc" || value === "desc")) spec.order = value;
      else if (key === "max" && /^\d+$/.test(value) && Number(value) > 0)
        spec.max = Math.min(Number(value), MAX_PAGE_SIZE);
      else throw badRange();
    }
  }
  return spec;
}

interface PageOptions<T> {
  /** Fields listed in `Accept-Ranges`; the first is the default. */
  accepted: string[];
  /** The value of `field` written into Content-Range / Next-Range. */
  raw: (item: T, field: string) => string;
  /** Sort key of a cursor value, or undefined when it names nothing. */
  rank: (field: string, value: string) => number | string | undefined;
  /** Sort key of an item (ascending). */
  key: (item: T) => number | string;
  json: (item: T) => unknown;
}

/** Answers a list endpoint: 206 with `Next-Range` while more items remain, else 200. */
function paginate<T>(items: T[], rangeHeader: string | string[] | undefined, options: PageOptions<T>): StandInResponse {
  const spec = parseRange(Array.isArray(rangeHeader) ? rangeHeader[0] : rangeHeader, options.accepted);
  const dir = spec.order === "desc" ? -1 : 1;
  const compare = (a: number | string, b: number | string) => (a < b ? -dir : a > b ? dir : 0);
  let rest = [...items].sort((a, b) => compare(options.key(a), options.key(b)));
  if (spec.start) {
    const { exclusive } = spec.start;
    const from = options.rank(spec.field, spec.start.value);
    rest =
      from === undefined
        ? []
        : rest.filter((i) => (exclusive ? compare(options.key(i), from) > 0 : compare(options.key(i), from) >= 0));
  }
  if (spec.end !== undefined) {
    const to = options.rank(spec.field, spec.end);
    rest = to === undefined ? [] : rest.filter((i) => compare(options.key(i), to) <= 0);
  }
  const page = rest.slice(0, spec.max);
  const headers: Record<string, string> = { "Accept-Ranges": options.accepted.join(", ") };
  const first = page[0];
  const last = page.at(-1);
  if (first !== undefined && last !== undefined) {
    headers["Content-Range"] = `${spec.field} ${options.raw(first, spec.field)}..${options.raw(last, spec.field)}`;
  }
  if (rest.length > page.length && last !== undefined) {
    const order = spec.order === "desc" ? "order=desc, " : "";
    headers["Next-Range"] =
      `${spec.field} ]${options.raw(last, spec.field)}..${spec.end ?? ""}; ${order}max=${spec.max}`;
    return { status: 206, headers, body: page.map(options.json) };
  }
  return { status: 200, headers, body: page.map(options.json) };
}

// ---------------------------------------------------------------- helpers

/** The token from `Authorization: Basic base64(user:token)` (heroku-client sends `:token`) or `Bearer token`. */
function tokenOf(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const [scheme = "", value = ""] = authorization.split(" ", 2);
  if (scheme.toLowerCase() === "bearer") return value;
  if (scheme.toLowerCase() === "basic") {
    const decoded = Buffer.from(value, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    return colon < 0 ? undefined : decoded.slice(colon + 1);
  }
  return undefined;
}

function param(req: StandInRequest, name: string): string {
  return req.params[name] ?? "";
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function idOf(value: unknown): string | undefined {
  const id = asRecord(value).id;
  return typeof id === "string" && id !== "" ? id : undefined;
}
