/**
 * @module policies
 * Policies: a schedule (times of day, weekdays, time zone) and a retention rule in Azure
 * Backup's shape. The schemas check the shape; the vault checks the meaning (known time zone,
 * valid times, PRODUCT.md's ranges) with core's validatePolicy and answers POLICY_INVALID.
 */
import { Type, type Static } from 'typebox';
import { EntityId, Name, Timestamp } from './common.js';

export const Weekday = Type.Union([
  Type.Literal('mon'),
  Type.Literal('tue'),
  Type.Literal('wed'),
  Type.Literal('thu'),
  Type.Literal('fri'),
  Type.Literal('sat'),
  Type.Literal('sun'),
]);
export const Month = Type.Union([
  Type.Literal('jan'),
  Type.Literal('feb'),
  Type.Literal('mar'),
  Type.Literal('apr'),
  Type.Literal('may'),
  Type.Literal('jun'),
  Type.Literal('jul'),
  Type.Literal('aug'),
  Type.Literal('sep'),
  Type.Literal('oct'),
  Type.Literal('nov'),
  Type.Literal('dec'),
]);
const WeekOfMonth = Type.Union([
  Type.Literal('first'),
  Type.Literal('second'),
  Type.Literal('third'),
  Type.Literal('fourth'),
  Type.Literal('last'),
]);

/** A date 1–28, the last day, or the first…fourth/last given weekday of a month. */
export const DayOfMonth = Type.Union([
  Type.Object({ day: Type.Integer() }, { additionalProperties: false }),
  Type.Object({ day: Type.Literal('last') }, { additionalProperties: false }),
  Type.Object({ weekday: Weekday, week: WeekOfMonth }, { additionalProperties: false }),
]);

export const Schedule = Type.Object(
  {
    /** Local times of day, "HH:MM" or "HH:MM:SS", ascending. */
    times: Type.Array(Type.String({ maxLength: 8 }), { maxItems: 24 }),
    /** Weekdays it runs on; empty: every day. */
    days: Type.Array(Weekday, { maxItems: 7 }),
    /** An IANA time zone such as Europe/Paris. */
    timeZone: Type.String({ maxLength: 64 }),
  },
  { additionalProperties: false },
);

const Count = Type.Integer();

export const Retention = Type.Object(
  {
    keepLast: Type.Optional(Count),
    daily: Type.Optional(Type.Object({ days: Count }, { additionalProperties: false })),
    weekly: Type.Optional(
      Type.Object({ weeks: Count, weekday: Weekday }, { additionalProperties: false }),
    ),
    monthly: Type.Optional(
      Type.Object({ months: Count, on: DayOfMonth }, { additionalProperties: false }),
    ),
    yearly: Type.Optional(
      Type.Object({ years: Count, month: Month, on: DayOfMonth }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
);

export const PolicySpec = Type.Object(
  { schedule: Schedule, retention: Retention },
  { additionalProperties: false },
);
export type PolicySpec = Static<typeof PolicySpec>;

export const Policy = Type.Object({
  id: EntityId,
  vaultId: EntityId,
  name: Name,
  spec: PolicySpec,
  /** How many items use it. */
  items: Type.Integer({ minimum: 0 }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Policy = Static<typeof Policy>;
export const PolicyList = Type.Object({ policies: Type.Array(Policy) });
export type PolicyList = Static<typeof PolicyList>;

export const CreatePolicyRequest = Type.Object(
  { name: Name, spec: PolicySpec },
  { additionalProperties: false },
);
/** Replaces a policy's schedule and retention; every item that uses it follows. */
export const UpdatePolicyRequest = Type.Object(
  { spec: PolicySpec },
  { additionalProperties: false },
);
