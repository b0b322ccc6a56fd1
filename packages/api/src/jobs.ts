/**
 * @module jobs
 * Jobs: every backup and restore (scheduled, on demand or manual) and, later, the vault's own
 * expiry, GC, verify and scrub runs; how agents poll for work, claim it and report on it.
 */
import { Type, type Static } from 'typebox';
import { EntityId, HexId, Name, QueryInteger, Timestamp } from './common.js';
import { MAX_JOB_WARNINGS, MAX_POLL_WAIT_SECONDS } from './routes.js';

/**
 * What a job does. Backups and restores run on an agent; `expire`, `gc`, `verify` and `scrub`
 * are run by the vault itself, with no agent (issue 13 and later).
 */
export const JobKind = Type.Union([
  Type.Literal('backup'),
  Type.Literal('restore'),
  Type.Literal('expire'),
  Type.Literal('gc'),
  Type.Literal('verify'),
  Type.Literal('scrub'),
]);
export type JobKind = Static<typeof JobKind>;

/** Why a job exists: a policy's schedule slot, a request through the API, or a CLI run. */
export const JobTrigger = Type.Union([
  Type.Literal('schedule'),
  Type.Literal('on-demand'),
  Type.Literal('manual'),
]);
export type JobTrigger = Static<typeof JobTrigger>;

export const JobState = Type.Union([
  Type.Literal('queued'),
  Type.Literal('running'),
  Type.Literal('succeeded'),
  Type.Literal('warnings'),
  Type.Literal('failed'),
  Type.Literal('cancelled'),
]);
export type JobState = Static<typeof JobState>;

/** States a job never leaves. */
export const FINISHED_JOB_STATES: readonly JobState[] = [
  'succeeded',
  'warnings',
  'failed',
  'cancelled',
];

export const ConflictMode = Type.Union([
  Type.Literal('overwrite'),
  Type.Literal('skip'),
  Type.Literal('keep-both'),
]);
export type ConflictMode = Static<typeof ConflictMode>;

/** A path on an agent's machine or inside a recovery point. */
const MachinePath = Type.String({ minLength: 1, maxLength: 4096, pattern: '^[^\\x00]+$' });

/** What a restore job restores, and where. */
export const RestoreRequest = Type.Object(
  {
    /** The recovery point's id (64 hex digits). */
    point: HexId,
    /** Paths inside the point (absolute, as backed up); empty or absent: everything. */
    paths: Type.Optional(Type.Array(MachinePath, { maxItems: 1000 })),
    /** An absolute directory on the agent's machine; paths are recreated below it. */
    target: MachinePath,
    conflict: ConflictMode,
  },
  { additionalProperties: false },
);
export type RestoreRequest = Static<typeof RestoreRequest>;

const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

/** Progress as the agent last reported it. */
export const JobProgress = Type.Object({
  bytesDone: Count,
  /** Known once the agent has counted what it will read. */
  bytesTotal: Type.Optional(Count),
  filesDone: Count,
  filesTotal: Type.Optional(Count),
  /** Bytes per second over the last reports. */
  rate: Count,
});
export type JobProgress = Static<typeof JobProgress>;

export const JobWarning = Type.Object({
  path: Type.String({ maxLength: 4096 }),
  message: Type.String({ maxLength: 1024 }),
});
export type JobWarning = Static<typeof JobWarning>;

export const Job = Type.Object({
  id: EntityId,
  vaultId: EntityId,
  kind: JobKind,
  trigger: JobTrigger,
  state: JobState,
  agentId: Type.Optional(EntityId),
  itemId: Type.Optional(EntityId),
  /** The item's name, for display. */
  item: Type.Optional(Name),
  /** The point a backup made, or the point a restore reads. */
  pointId: Type.Optional(HexId),
  /** The schedule slot a scheduled job was queued for. */
  slotAt: Type.Optional(Timestamp),
  restore: Type.Optional(RestoreRequest),
  progress: JobProgress,
  error: Type.Optional(Type.String()),
  warnings: Type.Array(JobWarning),
  warningCount: Count,
  /** Kind-specific outcome, e.g. a restore's counts. */
  result: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  cancelRequested: Type.Boolean(),
  createdAt: Timestamp,
  startedAt: Type.Optional(Timestamp),
  heartbeatAt: Type.Optional(Timestamp),
  endedAt: Type.Optional(Timestamp),
});
export type Job = Static<typeof Job>;
export const JobList = Type.Object({ jobs: Type.Array(Job) });
export type JobList = Static<typeof JobList>;

/** Filters of a job listing; newest first. */
export const JobQuery = Type.Object(
  {
    item: Type.Optional(EntityId),
    agent: Type.Optional(EntityId),
    state: Type.Optional(JobState),
    kind: Type.Optional(JobKind),
    /** Only jobs created at or after this time. */
    since: Type.Optional(Timestamp),
    /** At most this many (1–1000, default 100). */
    limit: Type.Optional(QueryInteger),
  },
  { additionalProperties: false },
);
export type JobQuery = Static<typeof JobQuery>;

/** An agent is online when it polled within this long (two poll waits and a margin). */
export const ONLINE_WINDOW_MS = 2 * MAX_POLL_WAIT_SECONDS * 1000 + 5000;

export const WorkQuery = Type.Object(
  {
    /** Seconds to wait for work before answering with none (0 to MAX_POLL_WAIT_SECONDS). */
    wait: Type.Optional(QueryInteger),
    /** How many queued jobs the agent can start now; with 0 the poll only records contact. */
    want: Type.Optional(QueryInteger),
    /** The agent's program version, shown with its status. */
    version: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);
export type WorkQuery = Static<typeof WorkQuery>;

/**
 * Queued jobs for the agent, oldest first. Cancellation of a running job reaches the agent in
 * the answer to its next progress report.
 */
export const Work = Type.Object({ jobs: Type.Array(Job) });
export type Work = Static<typeof Work>;

/** An agent starts a backup or restore of its own (`coffer backup`, `coffer restore`). */
export const ManualJobRequest = Type.Union([
  Type.Object({ kind: Type.Literal('backup'), item: Name }, { additionalProperties: false }),
  Type.Object(
    { kind: Type.Literal('restore'), restore: RestoreRequest },
    { additionalProperties: false },
  ),
]);
export type ManualJobRequest = Static<typeof ManualJobRequest>;

export const ProgressReport = Type.Object(
  {
    bytesDone: Count,
    bytesTotal: Type.Optional(Count),
    filesDone: Count,
    filesTotal: Type.Optional(Count),
  },
  { additionalProperties: false },
);
export type ProgressReport = Static<typeof ProgressReport>;

/** The answer to a progress report: whether someone asked to cancel the job. */
export const ProgressAnswer = Type.Object({ cancel: Type.Boolean() });
export type ProgressAnswer = Static<typeof ProgressAnswer>;

export const FinishRequest = Type.Object(
  {
    state: Type.Union([
      Type.Literal('succeeded'),
      Type.Literal('warnings'),
      Type.Literal('failed'),
      Type.Literal('cancelled'),
    ]),
    progress: Type.Optional(ProgressReport),
    /** The committed point of a backup. */
    point: Type.Optional(HexId),
    error: Type.Optional(Type.String({ maxLength: 4096 })),
    warnings: Type.Optional(Type.Array(JobWarning, { maxItems: MAX_JOB_WARNINGS })),
    warningCount: Type.Optional(Count),
    result: Type.Optional(Type.Record(Type.String(), Count)),
  },
  { additionalProperties: false },
);
export type FinishRequest = Static<typeof FinishRequest>;
